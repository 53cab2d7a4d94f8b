"""``/metrics``: the API's and the deployment's figures in Prometheus' text format
(``prometheus-client``).

Served only with ``METRICS=1`` (otherwise the path is not routed: the web client's page answers
it); with ``METRICS_TOKEN`` set, only to requests sending ``Authorization: Bearer
<METRICS_TOKEN>`` (a 401 otherwise). Keep it off the public ingress either way: scrape the pods
directly.

What each series covers (**process**: this API process; **deployment**: every process, read
from the database or Redis at scrape time, so every API process reports the same value: use
``max``, not ``sum``, across pods):

- ``backtest_graphql_request_duration_seconds{operation, type}`` (histogram, process): time to
  answer each GraphQL operation over HTTP (response-cache hits included), by operation name and
  type (``query``, ``mutation``, ``subscription``). The name label is bounded: ``anonymous``
  for an operation without a name, ``invalid`` for a document that does not parse (its type
  ``unknown``), ``other`` once :data:`MAX_OPERATION_NAMES` names have been seen or for a name
  longer than 64 characters.
- ``backtest_active_subscriptions`` (gauge, process): subscriptions open on this process.
- ``backtest_jobs{kind, status}`` (gauge, deployment): job rows by kind and status.
- ``backtest_job_queue_depth{queue}`` (gauge): jobs waiting. ``EXECUTOR=celery`` on a Redis
  broker: the messages in each Celery queue (deployment); in-process: ``queue="inprocess"``,
  the jobs waiting for a slot of this process's executor (process).
- ``backtest_engine_bars_total``, ``backtest_engine_compute_seconds_total``,
  ``backtest_engine_bars_per_second`` (process: backtests run by this process's in-process
  executor) and, with ``REDIS_URL``, ``backtest_engine_cluster_bars_total``,
  ``backtest_engine_cluster_compute_seconds_total``, ``backtest_engine_cluster_runs_total``
  (deployment, Celery workers included: ``tasks.metrics``). Throughput:
  ``rate(..._bars_total[5m]) / rate(..._compute_seconds_total[5m])``.
- ``backtest_candle_cache_requests_total{layer="memory", result="hit"|"miss"}`` (process: the
  memory LRU, ``tasks.cache.memory``) and, with ``REDIS_URL``, ``{layer="cluster"}`` (every
  process's lookups, counted in Redis: ``tasks.cache``); ``backtest_candle_cache_hit_ratio
  {layer}`` is hits / lookups (absent before the first lookup).

Several API processes (``backtest serve --workers N``): set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory writable by the server (prometheus-client's own variable, read by it at
import): the histogram, the engine counters and the subscriptions gauge (``livesum``) then add
up over the processes, whichever answers the scrape; the memory cache's counts stay those of
the process that answers. Celery workers serve no HTTP: what they do reaches ``/metrics``
through the deployment series above.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import re
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from graphql import GraphQLError, OperationDefinitionNode, parse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graph.schema import MAX_TOKENS
from store.settings import Settings
from tasks import metrics as job_metrics
from tasks.cache.memory import memory_cache

log = logging.getLogger("graph.metrics")

MAX_OPERATION_NAMES = 200
"""How many distinct operation names get their own label; later ones are ``other``."""
SCRAPE_TIMEOUT_S = 2.0
"""How long a scrape waits for each of the database and Redis before leaving its series out."""
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_PARSED_CACHE = 1024  # operation labels of recent query texts (by digest)

REQUEST_LATENCY = Histogram(
    "backtest_graphql_request_duration_seconds",
    "Time to answer a GraphQL operation over HTTP, by operation name and type",
    ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
ACTIVE_SUBSCRIPTIONS = Gauge("backtest_active_subscriptions",
                             "GraphQL subscriptions open on this process",
                             multiprocess_mode="livesum")


class OperationLabels:
    """The ``(operation, type)`` labels of a request, with the name label's cardinality
    bounded (see the module docstring)."""

    def __init__(self, max_names: int = MAX_OPERATION_NAMES) -> None:
        self.max_names = max_names
        self._names: set[str] = set()
        self._parsed: OrderedDict[bytes, tuple[str | None, str]] = OrderedDict()

    def __call__(self, query: str | None, operation_name: str | None) -> tuple[str, str]:
        name, kind = self._operation(query or "", operation_name)
        if name is None:
            return "anonymous", kind
        if kind == "unknown":
            return "invalid", kind
        if name in self._names:
            return name, kind
        if len(self._names) >= self.max_names or not _NAME.fullmatch(name):
            return "other", kind
        self._names.add(name)
        return name, kind

    def _operation(self, query: str, operation_name: str | None) -> tuple[str | None, str]:
        key = hashlib.blake2b(f"{operation_name}\0{query}".encode(), digest_size=16).digest()
        found = self._parsed.get(key)
        if found is None:
            found = _operation_of(query, operation_name)
            self._parsed[key] = found
            while len(self._parsed) > _PARSED_CACHE:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(key)
        return found


def _operation_of(query: str, operation_name: str | None) -> tuple[str | None, str]:
    """The name (None: anonymous) and type of the operation a request runs; type ``unknown``
    when the document does not parse or has no such operation."""
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except (GraphQLError, RecursionError):
        return "", "unknown"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        chosen = [o for o in operations if o.name is not None and o.name.value == operation_name]
    else:
        chosen = operations if len(operations) == 1 else []
    if not chosen:
        return "", "unknown"
    operation = chosen[0]
    return (operation.name.value if operation.name else None), operation.operation.value


operation_labels = OperationLabels()
T = TypeVar("T")
P = ParamSpec("P")


def timed_operation(method: Callable[P, Coroutine[Any, Any, T]]
                    ) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorate the view's ``execute_single(self, ..., request_data)``: its duration goes into
    :data:`REQUEST_LATENCY` under the operation's labels."""

    @functools.wraps(method)
    async def timed(*args: P.args, **kwargs: P.kwargs) -> T:
        request_data = kwargs.get("request_data", args[-1] if args else None)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            return await method(*args, **kwargs)
        finally:
            labels = operation_labels(getattr(request_data, "query", None),
                                      getattr(request_data, "operation_name", None))
            REQUEST_LATENCY.labels(*labels).observe(loop.time() - started)

    return timed


_tracked: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def track_subscription(task: asyncio.Task[Any] | None) -> None:
    """A subscription started as ``task``: counted in :data:`ACTIVE_SUBSCRIPTIONS` until it
    ends."""
    if task is None or task.done() or task in _tracked:
        return
    _tracked.add(task)
    ACTIVE_SUBSCRIPTIONS.inc()
    task.add_done_callback(lambda _: ACTIVE_SUBSCRIPTIONS.dec())


def multiprocess() -> bool:
    """Whether prometheus-client keeps its values in ``PROMETHEUS_MULTIPROC_DIR`` (set when it
    was imported)."""
    return values.ValueClass is not values.MutexValue


@dataclass
class Snapshot:
    """What a scrape read from the database, Redis and the executor (see the module
    docstring); a part that could not be read stays None and its series are left out."""

    jobs: dict[tuple[str, str], int] | None = None
    queues: dict[str, int] | None = None
    engine: dict[str, float] | None = None
    cache: dict[str, int] | None = None
    errors: list[str] = field(default_factory=list)

    def collect(self) -> Iterator[Metric]:
        if self.jobs is not None:
            jobs = GaugeMetricFamily("backtest_jobs", "Job rows by kind and status "
                                     "(every owner)", labels=["kind", "status"])
            for (kind, status), count in sorted(self.jobs.items()):
                jobs.add_metric([kind, status], count)
            yield jobs
        if self.queues is not None:
            depth = GaugeMetricFamily("backtest_job_queue_depth", "Jobs waiting to run, by queue",
                                      labels=["queue"])
            for queue, count in sorted(self.queues.items()):
                depth.add_metric([queue], count)
            yield depth
        if self.engine is not None:
            for name, key, text in (("bars", "bars", "Candles (bars) simulated"),
                                    ("compute_seconds", "seconds", "Seconds of compute"),
                                    ("runs", "runs", "Backtests finished")):
                yield CounterMetricFamily(f"backtest_engine_cluster_{name}",
                                          f"{text} by every process's finished backtests",
                                          value=self.engine[key])
        memory = memory_cache()
        layers = [("memory", memory.hits, memory.misses)]
        if self.cache is not None:
            layers.append(("cluster", self.cache.get("candles_hits", 0),
                           self.cache.get("candles_misses", 0)))
        requests = CounterMetricFamily("backtest_candle_cache_requests",
                                       "Candle cache lookups by layer and result",
                                       labels=["layer", "result"])
        ratio = GaugeMetricFamily("backtest_candle_cache_hit_ratio",
                                  "Candle cache hits / lookups, by layer", labels=["layer"])
        for layer, hits, misses in layers:
            requests.add_metric([layer, "hit"], hits)
            requests.add_metric([layer, "miss"], misses)
            if hits + misses:
                ratio.add_metric([layer], hits / (hits + misses))
        yield requests
        yield ratio
        errors = GaugeMetricFamily("backtest_metrics_scrape_errors",
                                   "Parts of this scrape that could not be read",
                                   labels=["part"])
        for part in self.errors:
            errors.add_metric([part], 1)
        yield errors


class _Collectors:
    """A registry's collector yielding the metrics of several sources."""

    def __init__(self, *sources: Iterable[Metric] | Callable[[], Iterable[Metric]]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from (source() if callable(source) else source)


async def _read(snapshot: Snapshot, part: str, reading: Awaitable[T]) -> T | None:
    try:
        return await asyncio.wait_for(reading, SCRAPE_TIMEOUT_S)
    except Exception as err:  # a scrape reports what it can; the error kind is logged
        log.warning("metrics: %s not read (%s)", part, type(err).__name__)
        snapshot.errors.append(part)
        return None


async def snapshot(settings: Settings, services: Any) -> Snapshot:
    """Read the deployment's figures (job counts, queue depths, engine and cache totals)."""
    found = Snapshot()
    executor = getattr(services, "executor", None)

    async def queues() -> dict[str, int]:
        if settings.executor == "celery" and settings.broker_url:
            from tasks.execution.celery.app import queues as celery_queues

            return await job_metrics.celery_queue_depths(settings.broker_url, celery_queues())
        waiting = getattr(executor, "queued", None)
        return {} if waiting is None else {"inprocess": len(waiting)}

    async def cache_stats() -> dict[str, int] | None:
        cache = getattr(services, "cache", None)
        return None if cache is None or not cache.enabled else await cache.stats()

    readings: list[Awaitable[Any]] = [_read(found, "jobs", job_metrics.job_status_counts()),
                                      _read(found, "queues", queues())]
    if settings.redis_url:
        readings += [_read(found, "engine", job_metrics.engine_totals(settings.redis_url)),
                     _read(found, "cache", cache_stats())]
    results = await asyncio.gather(*readings)
    found.jobs, found.queues = results[0], results[1]
    if settings.redis_url:
        found.engine, found.cache = results[2], results[3]
    return found


def render(found: Snapshot) -> bytes:
    """The text exposition of this process's (or, in multiprocess mode, every process's)
    metrics and of ``found``."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Collectors(REGISTRY.collect))
    registry.register(_Collectors(found.collect))
    return generate_latest(registry)


def authorized(settings: Settings, header: str | None) -> bool:
    """Whether a request with this ``Authorization`` header may read ``/metrics``."""
    if not settings.metrics_token:
        return True
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.metrics_token.encode())


def metrics_routes(settings: Settings, services: Any) -> list[Route]:
    """``/metrics`` when ``METRICS=1`` (see the module docstring), else nothing."""
    if not settings.metrics:
        return []

    async def endpoint(request: Request) -> Response:
        if not authorized(settings, request.headers.get("authorization")):
            return JSONResponse({"error": "/metrics needs Authorization: Bearer "
                                          "<METRICS_TOKEN>"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        found = await snapshot(settings, services)
        return Response(render(found), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", endpoint, methods=["GET"])]
