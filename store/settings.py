"""Settings: the one place that reads the environment.

Read once, on the first call of :func:`get_settings`, into a frozen :class:`Settings`. Tests and
tools build their own with ``Settings(...)`` or ``Settings.from_env({...})`` and pass it to
:func:`store.db.init_db`; nothing else in the code base looks at ``os.environ``.

Variables:

``DATA_DIR``
    Folder for local data (default ``data``, relative to the working directory).
``DATABASE_URL``
    A Tortoise database URL. Default: the SQLite file ``sqlite://<DATA_DIR>/backtest.sqlite3``.
    PostgreSQL: ``postgres://user:password@host:5432/dbname`` (the asyncpg driver).
``REDIS_URL``
    Optional. When set, progress events travel over Redis pub/sub (``redis://host:6379/0``),
    so every API process sees every job's events; unset keeps them in memory in one process.
``JWT_SECRET``
    The key that signs access and refresh tokens (at least 32 characters). Unset: a random key
    is generated on first start and kept in ``<DATA_DIR>/jwt_secret`` (local use only; set it
    in production, the same on every API process).
``MAX_CONCURRENT_JOBS``
    How many backtests and sweeps run at once in the in-process executor's process pool
    (default: the number of CPUs, at least 1); the rest wait in its queue.
``GRAPHQL_IDE``
    ``1`` serves GraphiQL at ``/graphql`` in a browser and allows introspection; ``0`` switches
    both off. The default of ``GRAPHIQL`` and ``INTROSPECTION`` (see them below).
``EXECUTOR``
    Where backtests, sweeps and syncs run: ``inprocess`` (default: the API process, its
    engine in a process pool) or ``celery`` (Celery workers, ``backtest worker``; needs
    ``REDIS_URL``).
``CELERY_BROKER_URL``
    Optional: the Celery broker (e.g. ``amqp://guest:guest@host:5672//`` for RabbitMQ);
    default ``REDIS_URL``. Results and progress always use ``REDIS_URL``.
``CELERY_VISIBILITY_TIMEOUT``
    Seconds (default 3600) a Redis broker waits for a task's acknowledgement before it hands
    the task to another worker: how long a job whose worker died waits to be run again. Jobs
    longer than this are delivered a second time while they run; the second delivery sees
    the first's live lease and leaves it alone, so it costs nothing but a message.
``JOB_TIME_LIMIT``
    Seconds (default 3600) a backtest, sweep chunk or sync may run before it is stopped and
    failed with a message saying so (Celery's hard limit is 60 s later).
``JOB_HEARTBEAT_S``, ``JOB_STALE_AFTER_S``
    A running job records a heartbeat every ``JOB_HEARTBEAT_S`` seconds (default 10); one whose
    heartbeat is older than ``JOB_STALE_AFTER_S`` (default 60) is taken for dead: requeued,
    or failed after ``JOB_MAX_ATTEMPTS`` (default 3) attempts.
``JOB_MAX_RETRIES``
    Retries (default 3, with exponential backoff) of a job that failed on a transient error
    (database or exchange unreachable) before it fails.
``ENGINE_THREADS``
    Threads of a sweep's kernels in one process (default 0: one per CPU; ``backtest worker``
    sets 1 unless given, each worker process being one unit of parallelism).
``SWEEP_CHUNK_SIZE``
    Parameter sets per sweep chunk on Celery workers (default 1000).
``WATCH_LIST``, ``WATCH_INTERVAL_S``
    Markets ``backtest beat`` keeps up to date, e.g.
    ``binance:BTC/USDT:1h,binance:ETH/USDT:1m``, every ``WATCH_INTERVAL_S`` seconds (default 60).
``RESPONSE_CACHE_MB``
    Memory (default 32 MB, per API process) for answers of backtest queries kept until the
    owner's backtests change (``graph.response_cache``); ``0`` turns that cache off.
``CANDLE_CACHE_MB``
    Memory (default 256 MB, per process) for candle arrays read by runs, so a second run on
    the same market reads nothing (``tasks.cache.memory``); ``0`` turns it off.
``MAX_SWEEP_SETS``
    The most parameter sets one sweep may try (default 100000; ``0``: no cap but the domain's
    own); a larger grid is refused before it is built.
``MAX_QUEUED_JOBS``
    The most jobs (of every kind) one user may have queued or running at once (default 20;
    ``0``: no cap); one more is refused with a message saying so.
``CORS_ORIGINS``
    Web origins (comma-separated, e.g. ``https://app.example.com,http://localhost:5173``)
    whose pages may call the API from a browser: CORS headers and preflight answers for them,
    and websocket handshakes from them. Default: none (no CORS headers; same-origin pages and
    non-browser clients are unaffected). ``*`` allows every origin.
``MAX_REQUEST_BYTES``
    The largest request body the API reads (default 1048576, 1 MB; a multipart upload may add
    the import file's own limit); a larger one is refused with 413 before it is parsed. Also the
    largest subscription payload on a websocket.
``MAX_SUBSCRIPTIONS_PER_USER``
    Subscriptions one user may hold open at once (default 50; ``0``: no cap), in every API
    process together when ``REDIS_URL`` is set, else in the one process; one more is refused
    with the code ``TOO_MANY_SUBSCRIPTIONS``.
``FORWARDED_ALLOW_IPS``
    Not read here: uvicorn's own setting (``backtest serve`` runs uvicorn with proxy headers
    on). Connections from these addresses (default ``127.0.0.1,::1``) may name the client's
    address in ``X-Forwarded-For``; the sign-in throttle's per-IP key is that address.
``ENV``
    ``development`` (default: ``make run``, ``backtest serve`` on a laptop) or ``production``,
    which flips the defaults of ``GRAPHIQL`` and ``INTROSPECTION`` to off.
``GRAPHIQL``, ``INTROSPECTION``
    Separate switches (``1``/``0``) for the GraphiQL playground (``/playground``, and a browser
    opening ``/graphql``) and for schema introspection (``__schema``/``__type``). Default: on in
    development, off with ``ENV=production``; ``GRAPHQL_IDE`` sets the default of both. With
    introspection off, validation errors no longer suggest field names ("Did you mean ...").
``HSTS_MAX_AGE``
    Seconds of ``Strict-Transport-Security`` sent on answers to HTTPS requests (default
    31536000, a year; ``0``: never sent). Behind a TLS proxy, uvicorn takes the scheme from
    ``X-Forwarded-Proto`` for the addresses in ``FORWARDED_ALLOW_IPS``.
``RATE_LIMIT_USER_PER_MIN``, ``RATE_LIMIT_IP_PER_MIN``
    Mutations one user (default 300) and one IP address (default 1200) may send per minute, as a
    budget refilled continuously (a burst may spend a whole minute's budget at once); ``0``
    turns that limit off. Counted in Redis, across API processes, when ``REDIS_URL`` is set
    (in this process otherwise, or while Redis cannot be reached). A refused mutation gets the
    code ``RATE_LIMITED`` with ``extensions.retryAfter`` and a ``Retry-After`` header
    (``graph.rate_limits``).
``RATE_LIMIT_JOB_COST``
    What a mutation that starts work (``run*``, ``sync*``, ``import*``: a backtest, sweep,
    replay, market sync or file import) costs of those budgets (default 2; others cost 1): the
    queue itself is capped by ``MAX_QUEUED_JOBS``.
``MAX_ACCESS_TOKENS_PER_USER``
    Personal access tokens (not revoked, not expired) one user may hold (default 50; ``0``: no
    cap); one more is refused with the code ``QUOTA_EXCEEDED``.
``MASTER_KEY``, ``MASTER_KEY_FILE``, ``MASTER_KEYS_OLD``
    The master key that encrypts exchange API keys (``store.key_vault``: AES-256-GCM envelope
    encryption). ``MASTER_KEY``: base64 of 32 random bytes. Or ``MASTER_KEY_FILE``: a file
    with one such key per line, the first the current one, the others older keys still read.
    ``MASTER_KEYS_OLD``: comma-separated older keys, read only, while ``backtest keys rotate``
    re-wraps every stored key under the current one. Unset: a key is generated on first use
    and kept in ``<DATA_DIR>/master_key`` (mode 0600; local use only: in production set it,
    the same on every API process and worker, and back it up: without it the stored keys are
    lost).
``LOG_FORMAT``
    ``text`` (default: one readable line per record, with its request id) or ``json`` (one JSON
    object per line: ``time``, ``level``, ``logger``, ``message``, ``request_id``...; for log
    collectors), for ``backtest serve`` and ``backtest worker`` (``tasks.request_ids``).
``METRICS``, ``METRICS_TOKEN``
    ``METRICS=1`` serves ``/metrics`` in Prometheus' text format (``graph.metrics``; default
    ``0``: not served). With ``METRICS_TOKEN`` set, only to requests that send
    ``Authorization: Bearer <METRICS_TOKEN>`` (others get a 401).
``PROMETHEUS_MULTIPROC_DIR``
    Not read here: prometheus-client's own. With ``backtest serve --workers N``, an empty folder
    the server may write, so that ``/metrics`` adds up every process (``graph.metrics``).
``BINANCE_REST_URL``, ``BINANCE_WS_URL``
    Optional base URLs of Binance's REST and websocket APIs (testnet, regional endpoints, the
    tests' fake exchange); unset keeps ccxt's own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATA_DIR = "data"
SQLITE_FILE_NAME = "backtest.sqlite3"


@dataclass(frozen=True)
class Settings:
    """Everything the store needs to know about its environment."""

    database_url: str
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    redis_url: str | None = None
    binance_rest_url: str | None = None
    binance_ws_url: str | None = None
    jwt_secret: str | None = None
    master_key: str | None = field(default=None, repr=False)
    master_key_file: str | None = None
    master_keys_old: tuple[str, ...] = field(default=(), repr=False)
    max_concurrent_jobs: int = 0  # 0: one per CPU
    graphql_ide: bool = True
    executor: str = "inprocess"
    celery_broker_url: str | None = None
    visibility_timeout_s: float = 3600.0
    job_time_limit_s: float = 3600.0
    job_heartbeat_s: float = 10.0
    job_stale_after_s: float = 60.0
    job_max_attempts: int = 3
    job_max_retries: int = 3
    sweep_chunk_size: int = 1000
    engine_threads: int = 0
    watch_list: tuple[WatchItem, ...] = ()
    watch_interval_s: float = 60.0
    response_cache_mb: int = 32
    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = 1 << 20
    max_subscriptions_per_user: int = 50  # open at once (graph.subscription_quota); 0: no cap
    max_sweep_sets: int = 100_000  # 0: no cap (but domain.strategy's MAX_GRID_SETS)
    max_queued_jobs: int = 20  # per user, queued or running, every kind; 0: no cap
    candle_cache_mb: int = 256
    log_format: str = "text"  # LOG_FORMAT: text or json (tasks.request_ids)
    metrics: bool = False  # METRICS: serve /metrics (graph.metrics)
    metrics_token: str | None = None  # METRICS_TOKEN: the bearer /metrics asks for, if set
    production: bool = False  # ENV=production: GraphiQL and introspection off unless enabled
    introspection: bool | None = None  # INTROSPECTION; None: as graphql_ide (GRAPHIQL)
    hsts_max_age: int = 31_536_000  # seconds, on HTTPS answers; 0: no HSTS
    rate_limit_user_per_min: int = 300  # mutations per user per minute; 0: no limit
    rate_limit_ip_per_min: int = 1200  # mutations per IP address per minute; 0: no limit
    rate_limit_job_cost: int = 2  # what a job-starting mutation costs of those budgets
    max_access_tokens_per_user: int = 50  # active personal access tokens; 0: no cap

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``); empty values count as unset."""
        source = os.environ if env is None else env
        data_dir = Path(source.get("DATA_DIR") or DEFAULT_DATA_DIR)
        url = source.get("DATABASE_URL") or default_sqlite_url(data_dir)
        production = _choice(source, "ENV", ("development", "production")) == "production"
        tools = _flag(source, "GRAPHQL_IDE", not production)  # default of both switches
        return cls(database_url=url, data_dir=data_dir, redis_url=source.get("REDIS_URL") or None,
                   binance_rest_url=source.get("BINANCE_REST_URL") or None,
                   binance_ws_url=source.get("BINANCE_WS_URL") or None,
                   jwt_secret=source.get("JWT_SECRET") or None,
                   master_key=source.get("MASTER_KEY") or None,
                   master_key_file=source.get("MASTER_KEY_FILE") or None,
                   master_keys_old=tuple(k.strip() for k in
                                         (source.get("MASTER_KEYS_OLD") or "").split(",")
                                         if k.strip()),
                   max_concurrent_jobs=_int(source, "MAX_CONCURRENT_JOBS", 0),
                   graphql_ide=_flag(source, "GRAPHIQL", tools),
                   introspection=_flag(source, "INTROSPECTION", tools),
                   production=production,
                   hsts_max_age=_int(source, "HSTS_MAX_AGE", 31_536_000),
                   rate_limit_user_per_min=_int(source, "RATE_LIMIT_USER_PER_MIN", 300),
                   rate_limit_ip_per_min=_int(source, "RATE_LIMIT_IP_PER_MIN", 1200),
                   rate_limit_job_cost=max(1, _int(source, "RATE_LIMIT_JOB_COST", 2)),
                   max_access_tokens_per_user=_int(source, "MAX_ACCESS_TOKENS_PER_USER", 50),
                   executor=_choice(source, "EXECUTOR", ("inprocess", "celery")),
                   celery_broker_url=source.get("CELERY_BROKER_URL") or None,
                   visibility_timeout_s=_seconds(source, "CELERY_VISIBILITY_TIMEOUT", 3600.0),
                   job_time_limit_s=_seconds(source, "JOB_TIME_LIMIT", 3600.0),
                   job_heartbeat_s=_seconds(source, "JOB_HEARTBEAT_S", 10.0),
                   job_stale_after_s=_seconds(source, "JOB_STALE_AFTER_S", 60.0),
                   job_max_attempts=max(1, _int(source, "JOB_MAX_ATTEMPTS", 3)),
                   job_max_retries=_int(source, "JOB_MAX_RETRIES", 3),
                   sweep_chunk_size=max(1, _int(source, "SWEEP_CHUNK_SIZE", 1000)),
                   engine_threads=_int(source, "ENGINE_THREADS", 0),
                   watch_list=parse_watch_list(source.get("WATCH_LIST") or ""),
                   watch_interval_s=_seconds(source, "WATCH_INTERVAL_S", 60.0),
                   response_cache_mb=_int(source, "RESPONSE_CACHE_MB", 32),
                   cors_origins=parse_origins(source.get("CORS_ORIGINS") or ""),
                   max_request_bytes=max(1, _int(source, "MAX_REQUEST_BYTES", 1 << 20)),
                   max_subscriptions_per_user=_int(source, "MAX_SUBSCRIPTIONS_PER_USER", 50),
                   max_sweep_sets=_int(source, "MAX_SWEEP_SETS", 100_000),
                   max_queued_jobs=_int(source, "MAX_QUEUED_JOBS", 20),
                   candle_cache_mb=_int(source, "CANDLE_CACHE_MB", 256),
                   log_format=_choice(source, "LOG_FORMAT", ("text", "json")),
                   metrics=_flag(source, "METRICS", False),
                   metrics_token=source.get("METRICS_TOKEN") or None)

    @property
    def allows_introspection(self) -> bool:
        """Whether introspection queries are answered (``INTROSPECTION``, default as
        ``GRAPHIQL``)."""
        return self.graphql_ide if self.introspection is None else self.introspection

    @property
    def broker_url(self) -> str | None:
        """The Celery broker: ``CELERY_BROKER_URL``, else ``REDIS_URL``."""
        return self.celery_broker_url or self.redis_url

    @property
    def job_slots(self) -> int:
        """How many jobs may run at once (``MAX_CONCURRENT_JOBS``, default one per CPU)."""
        return self.max_concurrent_jobs or max(1, os.cpu_count() or 1)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"`` (other schemes are rejected by :func:`store.db`)."""
        return backend_of(self.database_url)

    @property
    def safe_database_url(self) -> str:
        """The database URL with its password replaced by ``***`` (for messages and logs)."""
        return redact_url(self.database_url)


def _int(source: Mapping[str, str], name: str, default: int) -> int:
    raw = source.get(name) or ""
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: must be a whole number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r}: must be >= 0")
    return value


def _seconds(source: Mapping[str, str], name: str, default: float) -> float:
    raw = (source.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: must be a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name}={raw!r}: must be a number of seconds > 0")
    return value


def _choice(source: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = (source.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise ValueError(f"{name}={raw!r}: use one of {', '.join(choices)}")
    return raw


@dataclass(frozen=True)
class WatchItem:
    """One market of the watch list that ``backtest beat`` keeps up to date."""

    exchange: str
    symbol: str
    timeframe: str


def parse_watch_list(raw: str) -> tuple[WatchItem, ...]:
    """``binance:BTC/USDT:1h,binance:ETH/USDT:1m`` -> the items (``WATCH_LIST``)."""
    items = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        pieces = part.split(":")
        if len(pieces) != 3 or not all(p.strip() for p in pieces):
            raise ValueError(f"WATCH_LIST: {part!r} is not exchange:SYMBOL:timeframe "
                             "(e.g. binance:BTC/USDT:1h)")
        exchange, symbol, timeframe = (p.strip() for p in pieces)
        items.append(WatchItem(exchange.lower(), symbol.upper(), timeframe))
    return tuple(items)


def parse_origins(raw: str) -> tuple[str, ...]:
    """``https://a.example.com, http://localhost:5173`` -> the origins (``CORS_ORIGINS``),
    without trailing slashes; ``*`` stands for every origin."""
    origins = []
    for part in raw.split(","):
        origin = part.strip().rstrip("/")
        if not origin:
            continue
        if origin != "*":
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(f"CORS_ORIGINS: {origin!r} is not an origin such as "
                                 "https://app.example.com (scheme, host and optional port)")
        origins.append(origin)
    return tuple(origins)


def _flag(source: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (source.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: use 1 or 0")


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite://{(data_dir / SQLITE_FILE_NAME).as_posix()}"


def backend_of(url: str) -> str:
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgres", "postgresql", "asyncpg"):
        return "postgresql"
    return scheme


def redact_url(url: str) -> str:
    """``postgres://u:secret@h/db`` -> ``postgres://u:***@h/db``; other URLs unchanged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on the first call."""
    return Settings.from_env()
