"""Metrics of jobs, recorded where they run and read where ``/metrics`` is served
(``graph.metrics`` exposes them; this module knows no HTTP).

**Engine throughput.** :func:`record_engine_run` is called when a backtest's results are saved
(``tasks.jobs.kinds.backtest``): the candles (bars) the engine went through and the seconds its
compute stage took. It adds them to this process's Prometheus metrics
(``backtest_engine_bars_total``, ``backtest_engine_compute_seconds_total``, and the histogram
``backtest_engine_bars_per_second`` of single runs) and, when ``REDIS_URL`` is set, to the Redis
hash :data:`ENGINE_KEY` shared by every process (API processes and Celery workers alike, which
serve no HTTP), which :func:`engine_totals` reads: so ``/metrics`` on any API process reports
the throughput of the whole deployment, wherever the backtests ran. A Redis failure is logged,
never raised (a metric must not fail a run).

**Queue depth.** :func:`celery_queue_depths`: the messages waiting in each Celery queue
(``LLEN`` of the queue's list on a Redis broker; other brokers are not measured).

**Jobs by kind and status.** :func:`job_status_counts`: grouped counts of every job table.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from prometheus_client import Counter, Histogram

from store import jobs as store_jobs

log = logging.getLogger("tasks.metrics")

ENGINE_KEY = "backtest:metrics:engine"
"""The Redis hash of the engine's totals over every process: ``bars``, ``seconds``, ``runs``."""

ENGINE_BARS = Counter("backtest_engine_bars",
                      "Candles (bars) simulated by finished backtests in this process")
ENGINE_SECONDS = Counter("backtest_engine_compute_seconds",
                         "Seconds of the compute stage of finished backtests in this process")
ENGINE_RATE = Histogram("backtest_engine_bars_per_second",
                        "Bars per second of each finished backtest in this process "
                        "(its bars / its compute stage's seconds)",
                        buckets=(1e3, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8))


async def record_engine_run(bars: int, seconds: float, redis_url: str | None) -> None:
    """A backtest finished: ``bars`` candles through the engine in ``seconds`` (see the module
    docstring)."""
    if bars <= 0 or seconds <= 0:
        return
    ENGINE_BARS.inc(bars)
    ENGINE_SECONDS.inc(seconds)
    ENGINE_RATE.observe(bars / seconds)
    if not redis_url:
        return
    try:
        async with (aioredis.Redis.from_url(redis_url, socket_timeout=2.0) as client,
                    client.pipeline(transaction=False) as pipe):
            pipe.hincrbyfloat(ENGINE_KEY, "bars", float(bars))
            pipe.hincrbyfloat(ENGINE_KEY, "seconds", float(seconds))
            pipe.hincrby(ENGINE_KEY, "runs", 1)
            await pipe.execute()
    except (aioredis.RedisError, OSError) as err:
        log.warning("engine metrics not recorded in Redis: %s", type(err).__name__)


async def engine_totals(redis_url: str) -> dict[str, float]:
    """The engine's totals over every process (``bars``, ``seconds``, ``runs``; 0 before the
    first run)."""
    async with aioredis.Redis.from_url(redis_url, socket_timeout=2.0) as client:
        raw = await client.hgetall(ENGINE_KEY)
    found = {(k.decode() if isinstance(k, bytes) else str(k)): float(v) for k, v in raw.items()}
    return {name: found.get(name, 0.0) for name in ("bars", "seconds", "runs")}


async def celery_queue_depths(broker_url: str, queue_names: tuple[str, ...]) -> dict[str, int]:
    """Messages waiting in each of ``queue_names`` on a Redis broker (``LLEN``); empty for
    another broker (RabbitMQ: use its own exporter)."""
    if not broker_url.startswith(("redis://", "rediss://", "unix://")):
        return {}
    async with (aioredis.Redis.from_url(broker_url, socket_timeout=2.0) as client,
                client.pipeline(transaction=False) as pipe):
        for name in queue_names:
            pipe.llen(name)
        lengths = await pipe.execute()
    return {name: int(n) for name, n in zip(queue_names, lengths, strict=True)}


async def job_status_counts() -> dict[tuple[str, str], int]:
    """Rows of every job table by ``(kind, status)``, every owner (``store.jobs``)."""
    return await store_jobs.status_counts()
