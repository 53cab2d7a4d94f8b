"""A Redis cache of hot candle ranges and finished results, with hit/miss counts.

Two implementations of one protocol, :class:`Cache`, chosen by :func:`cache_from_settings`:
:class:`RedisCache` when ``REDIS_URL`` is set, else :class:`NullCache` (every lookup a miss,
nothing stored, no counts).

**Candle ranges.** The candles of ``(exchange, symbol, timeframe, start_ms, end_ms)`` as
``store.candles.read_candles`` returns them, stored as the raw little-endian bytes of their six
numpy arrays (48 bytes a candle, no per-row encoding) for :data:`CANDLES_TTL_S`. Empty ranges
and ranges over :data:`MAX_CANDLES` candles are not stored. Every key holds the series'
*version*, a Redis counter that :meth:`Cache.invalidate_series` increments after new candles of
that series are stored (:func:`write_candles_and_invalidate`), so a range cached before the
write is never served again (it expires by its TTL). :func:`read_candles_cached` reads the
version *before* the database, so a range read while a write commits is filed under the old
version. A missing version counter starts at the current time in microseconds (not at 0): after
``clear()`` or an eviction it starts above any value it had before, so old entries stay dead.

**Finished results.** JSON-able values or bytes under ``(kind, id, part)``, e.g. a backtest's
equity curve (``"backtest", 12, "equity"``) or a sweep's table (``"sweep", 3, "table"``), one
Redis hash per run for :data:`RESULTS_TTL_S`. Results of a finished run never change;
:meth:`Cache.drop_results` removes a run's parts (for when a run is deleted).
:func:`finished_equity_curve` and :func:`finished_sweep_table` read through the cache.

**Counts.** Every lookup adds to one Redis hash (``HINCRBY``), so the hits and misses of every
process add up: :meth:`Cache.stats` gives ``candles_hits``, ``candles_misses``,
``results_hits``, ``results_misses``; :meth:`Cache.clear` drops every entry and the counts
(``backtest cache stats|clear``, the admin query ``cacheStats``).

**Failures.** A Redis error never fails a read or a write of the data: the lookup is a miss,
the put is skipped, a warning is logged at most every :data:`WARN_EVERY_S`, and lookups skip
Redis for :data:`RETRY_AFTER_S` before trying again. Invalidations and drops always try; one
that fails leaves entries that may be stale until their TTL (logged). ``stats`` and ``clear``
raise :class:`CacheUnavailable` instead: there silence would mislead.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import numpy as np

from domain.candles import Candles
from domain.timeframes import parse_timeframe
from store import backtest_results, series_versions
from store import candles as store_candles
from store import sweeps as store_sweeps
from store.db import active_settings
from store.settings import Settings
from tasks.cache.memory import configure_memory_cache, memory_cache
from tasks.cache.redis_store import (
    CANDLES_TTL_S,
    F64,
    I64,
    KINDS,
    MAX_CANDLES,
    RESULTS_TTL_S,
    RETRY_AFTER_S,
    STAT_NAMES,
    WARN_EVERY_S,
    CacheUnavailable,
    RedisCache,
)

__all__ = ["CANDLES_TTL_S", "KINDS", "MAX_CANDLES", "RESULTS_TTL_S", "RETRY_AFTER_S", "STAT_NAMES",
           "WARN_EVERY_S", "Cache", "CacheUnavailable", "NullCache", "RedisCache",
           "cache_from_settings", "finished_equity_curve", "finished_sweep_table", "open_cache",
           "read_candles_cached", "read_range_cached", "write_candles_and_invalidate"]


class Cache(Protocol):
    @property
    def enabled(self) -> bool:
        """True for a Redis cache (reachable or not), False for :class:`NullCache`."""
        ...

    async def series_version(self, exchange: str, symbol: str, timeframe: str) -> int | None:
        """The series' current version; None when nothing can be cached now."""
        ...

    async def get_candles(self, exchange: str, symbol: str, timeframe: str,
                          start_ms: int | None, end_ms: int | None, *,
                          version: int | None = None) -> Candles | None:
        """The cached range (counted as a hit), or None (a miss). ``version``: as read by
        :meth:`series_version` (default: the current one)."""
        ...

    async def put_candles(self, exchange: str, symbol: str, timeframe: str,
                          start_ms: int | None, end_ms: int | None, candles: Candles, *,
                          version: int | None = None) -> bool:
        """Cache a range read under ``version`` (read it BEFORE reading the database); False
        when not stored (empty, over the size cap, no Redis)."""
        ...

    async def invalidate_series(self, exchange: str, symbol: str, timeframe: str) -> None:
        """New candles of the series were stored: its cached ranges are never served again."""
        ...

    async def count_hit(self, kind: str) -> None:
        """Count a hit of ``kind`` served without asking this cache (this process's memory)."""
        ...

    async def get_result(self, kind: str, ident: int, part: str) -> Any:
        """The cached bytes or JSON value, or None (a miss)."""
        ...

    async def put_result(self, kind: str, ident: int, part: str, payload: Any) -> bool:
        """Cache bytes or a JSON-able value (not None) of a FINISHED run."""
        ...

    async def drop_results(self, kind: str, ident: int) -> None:
        """Forget every cached part of a run (call when it is deleted)."""
        ...

    async def stats(self) -> dict[str, int]:
        """The hit and miss counts of every process (``STAT_NAMES``); empty without Redis."""
        ...

    async def clear(self) -> int:
        """Drop every cached entry, version and count; how many keys were removed."""
        ...

    async def close(self) -> None: ...


class NullCache:
    """No cache: every lookup is a miss, nothing is stored, nothing is counted."""

    enabled = False

    async def series_version(self, exchange: str, symbol: str, timeframe: str) -> int | None:
        return None

    async def get_candles(self, exchange: str, symbol: str, timeframe: str,
                          start_ms: int | None, end_ms: int | None, *,
                          version: int | None = None) -> Candles | None:
        return None

    async def put_candles(self, exchange: str, symbol: str, timeframe: str,
                          start_ms: int | None, end_ms: int | None, candles: Candles, *,
                          version: int | None = None) -> bool:
        return False

    async def invalidate_series(self, exchange: str, symbol: str, timeframe: str) -> None:
        return None

    async def count_hit(self, kind: str) -> None:
        return None

    async def get_result(self, kind: str, ident: int, part: str) -> Any:
        return None

    async def put_result(self, kind: str, ident: int, part: str, payload: Any) -> bool:
        return False

    async def drop_results(self, kind: str, ident: int) -> None:
        return None

    async def stats(self) -> dict[str, int]:
        return {}

    async def clear(self) -> int:
        return 0

    async def close(self) -> None:
        return None



def cache_from_settings(settings: Settings) -> Cache:
    """A :class:`RedisCache` on ``settings.redis_url`` when set, else a :class:`NullCache`;
    this process's memory cache of candle arrays sized by ``settings.candle_cache_mb`` (valid
    by the series' versions in the database, with or without Redis: ``tasks.cache.memory``)."""
    configure_memory_cache(settings.candle_cache_mb)
    return RedisCache(settings.redis_url) if settings.redis_url else NullCache()


@contextlib.asynccontextmanager
async def open_cache(settings: Settings) -> AsyncIterator[Cache]:
    """:func:`cache_from_settings`, closed when the ``async with`` block ends."""
    cache = cache_from_settings(settings)
    try:
        yield cache
    finally:
        await cache.close()


Reader = Callable[[], Awaitable[Candles]]


async def read_candles_cached(cache: Cache, exchange: str, symbol: str, timeframe: str,
                              start_ms: int | None = None, end_ms: int | None = None, *,
                              memory: bool = True) -> Candles:
    """``store.candles.read_candles`` through this process's memory (``tasks.cache.memory``;
    not with ``memory=False``), then the cache: a hit, or read and cached in both. The arrays
    may be shared with other readers: do not modify them."""

    async def read() -> Candles:
        version = await cache.series_version(exchange, symbol, timeframe)
        found = None
        if version is not None:
            found = await cache.get_candles(exchange, symbol, timeframe, start_ms, end_ms,
                                            version=version)
        if found is None:
            found = await store_candles.read_candles(exchange, symbol, timeframe, start_ms,
                                                     end_ms)
            if version is not None:
                await cache.put_candles(exchange, symbol, timeframe, start_ms, end_ms, found,
                                        version=version)
        return found

    if not memory:
        return await read()
    return await read_range_cached(cache, exchange, symbol, timeframe, start_ms, end_ms, read)


async def read_range_cached(cache: Cache, exchange: str, symbol: str, timeframe: str,
                            start_ms: int | None, end_ms: int | None, read: Reader) -> Candles:
    """The candles of a range from this process's memory while the series' versions are
    those they were read under, else ``read()`` (kept in memory). A job reads a whole run's
    range this way, ``read`` reading it in parts (``tasks.jobs.lifecycle``)."""
    memory = memory_cache()
    if not memory.enabled:
        return await read()
    # the versions read BEFORE the database: a range read during a write is filed as stale
    local = store_candles.local_series_version(exchange, symbol, timeframe)
    stored = await series_versions.series_version(exchange, symbol, timeframe)
    if stored is None:  # a database not migrated yet: no version, no memory
        return await read()
    key = (active_settings().database_url, exchange, symbol, parse_timeframe(timeframe),
           start_ms, end_ms)
    held = memory.get(key, (local, stored))
    if held is not None:
        await cache.count_hit("candles")  # the counts stay those of every lookup
        return held
    found = await read()
    memory.put(key, (local, stored), found)
    return found


async def write_candles_and_invalidate(cache: Cache, exchange: str, symbol: str,
                                       timeframe: str, candles: Candles) -> int:
    """``store.candles.write_candles``, then the series' cached ranges invalidated when any
    row was new; how many rows were new. Every writer of new candles goes through this."""
    new = await store_candles.write_candles(exchange, symbol, timeframe, candles)
    if new:
        await cache.invalidate_series(exchange, symbol, timeframe)
    return new


def _encode_curve(times: I64, equity: F64) -> bytes:
    return times.astype("<i8").tobytes() + equity.astype("<f8").tobytes()


def _decode_curve(data: bytes) -> tuple[I64, F64] | None:
    if len(data) % 16:
        return None
    n = len(data) // 16
    raw = bytearray(data)
    times = np.frombuffer(raw, dtype="<i8", count=n).astype(np.int64, copy=False)
    return times, np.frombuffer(raw, dtype="<f8", offset=8 * n).astype(np.float64, copy=False)


async def finished_equity_curve(cache: Cache, backtest_id: int) -> tuple[I64, F64] | None:
    """``store.backtest_results.equity_curve`` of a SUCCEEDED backtest, through the cache."""
    hit = await cache.get_result("backtest", backtest_id, "equity")
    found = _decode_curve(hit) if isinstance(hit, bytes) else None
    if found is not None:
        return found
    curve = await backtest_results.equity_curve(backtest_id)
    if curve is not None:
        await cache.put_result("backtest", backtest_id, "equity", _encode_curve(*curve))
    return curve


async def finished_sweep_table(cache: Cache, sweep_id: int) -> list[dict[str, Any]] | None:
    """``store.sweeps.sweep_table`` of a SUCCEEDED sweep, through the cache."""
    hit = await cache.get_result("sweep", sweep_id, "table")
    if isinstance(hit, list):
        return hit
    table = await store_sweeps.sweep_table(sweep_id)
    if table is not None:
        await cache.put_result("sweep", sweep_id, "table", table)
    return table
