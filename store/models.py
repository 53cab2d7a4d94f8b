"""Every Tortoise model of the product, in one place.

Times of market events (candles, trades, ranges) are UTC milliseconds in BIGINT columns, as
everywhere in the system; bookkeeping times (created, started, finished) are timezone-aware
datetimes. The schema is created and changed only by the migrations in ``migrations/``
(``tortoise makemigrations`` after editing this file; see ``store/db.py``).

``market_data`` is written and read in bulk by :mod:`store.candles` with raw SQL, never through
these model objects row by row; :class:`MarketData` exists so the migrations own its schema.

The first line of each model's docstring becomes its table comment: keep ";" out of it (Tortoise's
SQLite migration runner splits statements on semicolons). In ``Meta.indexes`` name foreign keys
by their column (``owner_id``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class RunStatus(StrEnum):
    """Life cycle of a backtest or a replay execution."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Role(StrEnum):
    """What a user may do: ``user`` owns its objects only, ``admin`` may read and change all."""

    USER = "user"
    ADMIN = "admin"


class TokenScope(StrEnum):
    """What a personal access token allows."""

    READ = "read"
    READ_WRITE = "read_write"


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=100, default="")
    password_hash = fields.CharField(max_length=255, null=True)  # argon2id
    role = fields.CharEnumField(Role, max_length=16, default=Role.USER)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    credentials: fields.ReverseRelation[ExchangeCredential]
    access_tokens: fields.ReverseRelation[AccessToken]
    strategies: fields.ReverseRelation[Strategy]
    backtests: fields.ReverseRelation[Backtest]
    transactions: fields.ReverseRelation[TransactionRecord]
    transaction_imports: fields.ReverseRelation[TransactionImport]
    replays: fields.ReverseRelation[ReplayExecution]
    sweeps: fields.ReverseRelation[SweepRun]
    sync_jobs: fields.ReverseRelation[SyncJob]

    class Meta:
        table = "users"


class AccessToken(Model):
    """A personal access token for third-party integrations, stored only as its SHA-256 hash."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="access_tokens", on_delete=fields.CASCADE)
    owner_id: int
    name = fields.CharField(max_length=100)
    scope = fields.CharEnumField(TokenScope, max_length=16, default=TokenScope.READ)
    token_hash = fields.CharField(max_length=64, unique=True)  # sha256 hex of the whole token
    prefix = fields.CharField(max_length=16)  # first characters, shown in lists to tell tokens apart
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "access_tokens"
        indexes = (("owner_id", "created_at"),)


class ExchangeCredential(Model):
    """A user's API key for an exchange.

    The ``*_encrypted`` columns hold ciphertext only (encryption arrives with its own issue;
    until then nothing writes them).
    """

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="credentials", on_delete=fields.CASCADE)
    owner_id: int
    exchange = fields.CharField(max_length=32)
    label = fields.CharField(max_length=100, default="")
    api_key_encrypted = fields.BinaryField(null=True)
    api_secret_encrypted = fields.BinaryField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "exchange_credentials"
        unique_together = (("owner", "exchange", "label"),)


class Strategy(Model):
    """A strategy document (the JSON of domain.strategy), each saved edit a new version."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="strategies", on_delete=fields.CASCADE)
    owner_id: int
    name = fields.CharField(max_length=200)
    version = fields.IntField(default=1)
    document: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    backtests: fields.ReverseRelation[Backtest]

    class Meta:
        table = "strategies"
        unique_together = (("owner", "name", "version"),)


class Backtest(Model):
    """One run of a strategy on a range of market data, with what it ran on and how it went."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="backtests", on_delete=fields.CASCADE)
    owner_id: int
    strategy: fields.ForeignKeyNullableRelation[Strategy] = fields.ForeignKeyField(
        "models.Strategy", related_name="backtests", null=True, on_delete=fields.SET_NULL)
    strategy_id: int | None
    strategy_snapshot: fields.JSONField[dict[str, Any]] = fields.JSONField()  # the document exactly as run
    parameters: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # parameter values as run
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    range_start_ms = fields.BigIntField()  # inclusive
    range_end_ms = fields.BigIntField()  # exclusive
    initial_capital = fields.FloatField()
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.QUEUED)
    progress = fields.FloatField(default=0.0)  # 0..1
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    data_fingerprint = fields.CharField(max_length=64, null=True)  # hash of the candles used
    engine_version = fields.CharField(max_length=32, default="")
    risk_free_rate = fields.FloatField(default=0.0)
    # The per-bar equity curve: zlib-compressed little-endian int64 bar times, then float64
    # equity (see store.backtests); written with the results, in the same transaction.
    equity_curve = fields.BinaryField(null=True)
    # The job's lease (store.leases): the attempt that runs it, its last heartbeat, attempts.
    lease = fields.CharField(max_length=64, null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    trades: fields.ReverseRelation[Trade]
    summary: fields.BackwardOneToOneRelation[PerformanceSummary]
    replays: fields.ReverseRelation[ReplayExecution]

    class Meta:
        table = "backtests"
        indexes = (("owner_id", "created_at"), ("owner_id", "status"))


class SweepRun(Model):
    """A parameter sweep run as one job: the grid, the market range, and the ranked table."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sweeps", on_delete=fields.CASCADE)
    owner_id: int
    strategy: fields.ForeignKeyNullableRelation[Strategy] = fields.ForeignKeyField(
        "models.Strategy", related_name="sweeps", null=True, on_delete=fields.SET_NULL)
    strategy_id: int | None
    strategy_snapshot: fields.JSONField[dict[str, Any]] = fields.JSONField()
    grid: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # name -> values
    rank_by = fields.CharField(max_length=32, default="sharpe")
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    range_start_ms = fields.BigIntField()
    range_end_ms = fields.BigIntField()
    n_combinations = fields.IntField(default=0)
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.QUEUED)
    progress = fields.FloatField(default=0.0)
    # [{"params": {...}, "metrics": {...}, "rank": 1}, ...] best first
    result: fields.JSONField[list[dict[str, Any]] | None] = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # The job's lease (store.leases): the attempt that runs it, its last heartbeat, attempts.
    lease = fields.CharField(max_length=64, null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    chunks: fields.ReverseRelation[SweepChunk]

    class Meta:
        table = "sweep_runs"
        indexes = (("owner_id", "created_at"),)


class SweepChunk(Model):
    """The best rows of one chunk of a sweep run on Celery workers, kept until the last chunk
    merges them into the sweep's table (written once per chunk: a redelivered chunk replaces
    its own row)."""

    id = fields.IntField(primary_key=True)
    sweep: fields.ForeignKeyRelation[SweepRun] = fields.ForeignKeyField(
        "models.SweepRun", related_name="chunks", on_delete=fields.CASCADE)
    sweep_id: int
    chunk_index = fields.IntField()
    # [{"index": set index in the grid, "key": rank value, "params": {...}, "metrics": {...}}]
    rows: fields.JSONField[list[dict[str, Any]]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sweep_chunks"
        unique_together = (("sweep_id", "chunk_index"),)


class SyncJob(Model):
    """A market data sync started through the API: what to fetch, how far it got, how it ended."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sync_jobs", on_delete=fields.CASCADE)
    owner_id: int
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    since_ms = fields.BigIntField()
    until_ms = fields.BigIntField(null=True)
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.QUEUED)
    progress = fields.FloatField(default=0.0)
    stored = fields.BigIntField(default=0)  # candles written
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # The job's lease (store.leases): the attempt that runs it, its last heartbeat, attempts.
    lease = fields.CharField(max_length=64, null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        table = "sync_jobs"
        indexes = (("owner_id", "created_at"),)


class Trade(Model):
    """A closed trade of a backtest, its columns those of domain.engine.records.TRADE_DTYPE."""

    id = fields.BigIntField(primary_key=True)
    backtest: fields.ForeignKeyRelation[Backtest] = fields.ForeignKeyField(
        "models.Backtest", related_name="trades", on_delete=fields.CASCADE)
    backtest_id: int
    seq = fields.IntField()  # 0-based position in the backtest's trade list
    entry_idx = fields.BigIntField()
    exit_idx = fields.BigIntField()
    entry_time = fields.BigIntField()  # UTC ms
    exit_time = fields.BigIntField()  # UTC ms
    entry_price = fields.FloatField()
    exit_price = fields.FloatField()
    quantity = fields.FloatField()
    direction = fields.SmallIntField()  # +1 long, -1 short
    gross_pnl = fields.FloatField()
    fees = fields.FloatField()
    pnl = fields.FloatField()
    trade_return = fields.FloatField()  # TRADE_DTYPE "return"
    exit_reason = fields.SmallIntField()  # index into domain.engine.rules.EXIT_REASONS

    class Meta:
        table = "trades"
        unique_together = (("backtest", "seq"),)


class PerformanceSummary(Model):
    """The metrics of one backtest: a column per domain.metrics.METRIC_NAMES entry.

    NULL where a metric is undefined; columns (not JSON) so runs can be sorted and filtered by
    any metric.
    """

    id = fields.IntField(primary_key=True)
    backtest: fields.OneToOneRelation[Backtest] = fields.OneToOneField(
        "models.Backtest", related_name="summary", on_delete=fields.CASCADE)
    backtest_id: int
    final_equity = fields.FloatField()
    total_return = fields.FloatField(null=True)
    cagr = fields.FloatField(null=True)
    net_pnl = fields.FloatField(null=True)
    n_trades = fields.FloatField(null=True)
    win_rate = fields.FloatField(null=True)
    avg_win = fields.FloatField(null=True)
    avg_loss = fields.FloatField(null=True)
    profit_factor = fields.FloatField(null=True)
    expectancy = fields.FloatField(null=True)
    max_drawdown = fields.FloatField(null=True)
    max_drawdown_duration = fields.FloatField(null=True)
    sharpe = fields.FloatField(null=True)
    sortino = fields.FloatField(null=True)
    calmar = fields.FloatField(null=True)
    exposure = fields.FloatField(null=True)
    best_trade = fields.FloatField(null=True)
    worst_trade = fields.FloatField(null=True)
    sqn = fields.FloatField(null=True)
    buy_and_hold_return = fields.FloatField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "performance_summaries"


class MarketData(Model):
    """One OHLCV candle, ts being the bar's open time in UTC milliseconds.

    On PostgreSQL the table gets a BRIN index on ``ts`` or becomes a TimescaleDB hypertable
    (see ``store/pg_extras.py``).
    """

    id = fields.BigIntField(primary_key=True)
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    ts = fields.BigIntField()
    open = fields.FloatField()
    high = fields.FloatField()
    low = fields.FloatField()
    close = fields.FloatField()
    volume = fields.FloatField()

    class Meta:
        table = "market_data"
        unique_together = (("exchange", "symbol", "timeframe", "ts"),)


class TransactionImport(Model):
    """A named batch of imported transactions: one file, stored all or nothing.

    ``n_rows`` transactions were in the file: ``n_stored`` were new, ``n_duplicates`` were
    stored already (by an earlier import) and skipped. Deleting the batch deletes its
    transactions (``store.transactions``).
    """

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="transaction_imports", on_delete=fields.CASCADE)
    owner_id: int
    name = fields.CharField(max_length=200)
    format = fields.CharField(max_length=32)  # domain.transactions.importers.FORMATS
    exchange = fields.CharField(max_length=32)
    filename = fields.CharField(max_length=255, null=True)
    n_rows = fields.IntField(default=0)
    n_stored = fields.IntField(default=0)
    n_duplicates = fields.IntField(default=0)
    first_ts = fields.BigIntField(null=True)  # UTC ms of the oldest transaction in the file
    last_ts = fields.BigIntField(null=True)
    symbols: fields.JSONField[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "transaction_imports"
        indexes = (("owner_id", "created_at"),)


class TransactionRecord(Model):
    """A user's real exchange transaction (fill, deposit, withdrawal, fee), kept for replay.

    Written in bulk by ``store.transaction_imports`` (never row by row). Re-imports store
    nothing twice: a fill with the exchange's trade id (``external_id``) is unique per owner,
    exchange and symbol (trade ids are unique per symbol on Binance); one without is matched
    on ``fingerprint`` (``domain.transactions.model.Transaction.fingerprint``), counting
    occurrences, since identical partial fills are legitimate.
    """

    id = fields.BigIntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="transactions", on_delete=fields.CASCADE)
    owner_id: int
    # the TransactionImport it came with: a plain column, not a foreign key, since the key's
    # check per row made an import of 100,000 rows ~20 % slower (store.transactions deletes a
    # batch's rows with the batch; a user's rows go with the user through owner_id)
    batch_id = fields.IntField(null=True)
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32, null=True)
    kind = fields.CharField(max_length=16)  # trade | deposit | withdrawal | fee
    side = fields.CharField(max_length=4, null=True)  # buy | sell (trades only)
    ts = fields.BigIntField()  # UTC ms
    price = fields.FloatField(null=True)
    quantity = fields.FloatField()
    fee = fields.FloatField(default=0.0)
    fee_asset = fields.CharField(max_length=16, null=True)
    external_id = fields.CharField(max_length=64, null=True)
    fingerprint = fields.CharField(max_length=32, null=True)  # set when external_id is NULL
    file_row = fields.IntField(default=0)  # row (CSV, XLSX) or item (JSON) in its file
    payload: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)  # the exchange's record as received
    imported_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "transaction_histories"
        unique_together = (("owner", "exchange", "symbol", "external_id"),)
        indexes = (("owner_id", "ts"), ("owner_id", "symbol", "ts"))


class ReplayExecution(Model):
    """A replay of a user's transactions against market data, with its status and result.

    ``source`` is ``transactions`` (the owner's stored fills of ``symbol``, optionally only
    some imports: ``parameters.import_ids``) or ``backtest`` (the trades of ``backtest``).
    ``parameters`` holds the what-if model (``fill``, ``fee_rate``, ``slippage_rate``,
    ``delay_bars``); ``result`` the summaries and totals; ``curves``, ``fill_records`` and
    ``trade_records`` the per-bar curves, the per-fill table and the round trips as packed
    little-endian arrays (``store.replay_results``: read a page at a time by byte range).
    """

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="replays", on_delete=fields.CASCADE)
    owner_id: int
    source = fields.CharField(max_length=16, default="transactions")
    backtest: fields.ForeignKeyNullableRelation[Backtest] = fields.ForeignKeyField(
        "models.Backtest", related_name="replays", null=True, on_delete=fields.SET_NULL)
    backtest_id: int | None
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32, null=True)
    timeframe = fields.CharField(max_length=8)
    range_start_ms = fields.BigIntField()
    range_end_ms = fields.BigIntField()
    initial_capital = fields.FloatField(default=10_000.0)
    risk_free_rate = fields.FloatField(default=0.0)
    parameters: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # what-if settings
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.QUEUED)
    progress = fields.FloatField(default=0.0)
    result: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    curves = fields.BinaryField(null=True)
    fill_records = fields.BinaryField(null=True)
    trade_records = fields.BinaryField(null=True)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # The job's lease (store.leases): the attempt that runs it, its last heartbeat, attempts.
    lease = fields.CharField(max_length=64, null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        table = "replay_executions"
        indexes = (("owner_id", "created_at"),)


class AuditLog(Model):
    """Who did what to which object, when (append-only)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL)
    user_id: int | None
    action = fields.CharField(max_length=64)  # e.g. "backtest.run", "credential.create"
    entity_type = fields.CharField(max_length=64, default="")
    entity_id = fields.CharField(max_length=64, null=True)
    details: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    ip_address = fields.CharField(max_length=45, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_log"



ALL_MODELS: tuple[type[Model], ...] = (
    User, AccessToken, ExchangeCredential, Strategy, Backtest, SweepRun, SweepChunk, SyncJob, Trade,
    PerformanceSummary, MarketData, TransactionImport, TransactionRecord, ReplayExecution,
    AuditLog,
)
