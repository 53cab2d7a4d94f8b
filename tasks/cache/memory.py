"""Candle arrays kept in this process's memory: an LRU bounded in bytes, in front of Redis and
the database (``tasks.cache.candles.read_candles_cached``).

A second run on the same market then reads no candle at all: a job's whole range
(``tasks.jobs.lifecycle.JobRun.load_candles``, its arrays in shared memory for the engine's
processes: ``tasks.execution.shipping.share``) and each range another reader asks for
(``read_candles_cached``) are kept under ``(database, exchange, symbol, timeframe, start_ms,
end_ms)`` with the **version** they were read under, and served only while the series still
has that version. The version is a pair:

- the series' version in this process (``store.candles.local_series_version``), bumped by every
  write of new candles and every delete made by this process;
- the series' version in the database (``store.series_versions``), bumped in the same
  transaction as every write of new candles and every delete, whichever process makes it (an
  API worker, a Celery worker, ``backtest data sync`` in a shell): one primary-key lookup per
  read served.

Both are read BEFORE the database, so a range read while a write commits is filed under the
old version and never served after it. A database without the versions' table (not migrated
since) keeps nothing in memory.

The arrays handed out are shared by every reader: treat them as read-only (the engine does).
The size is ``Settings.candle_cache_mb`` (``CANDLE_CACHE_MB``, default 256; 0 turns it off); a
range larger than a quarter of it is not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from domain.candles import Candles

Key = tuple[str, str, str, str, int | None, int | None]
"""(database URL, exchange, symbol, timeframe, start_ms, end_ms)"""
Version = tuple[int, int]

DEFAULT_MB = 256


@dataclass
class _Entry:
    version: Version
    candles: Candles
    size: int


def candles_nbytes(c: Candles) -> int:
    return sum(int(a.nbytes) for a in (c.ts, c.open, c.high, c.low, c.close, c.volume))


class MemoryCandleCache:
    """An LRU of candle ranges of at most ``max_bytes`` bytes (0: off); thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, version: Version) -> Candles | None:
        """The range read under ``version``, or None (absent, or read under another version:
        then it is dropped)."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                if entry is not None:
                    self._drop(key)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.candles

    def put(self, key: Key, version: Version, candles: Candles) -> bool:
        """Keep ``candles`` as read under ``version``; False when not kept (off, empty, or
        larger than a quarter of the cache)."""
        size = candles_nbytes(candles)
        if not self.enabled or len(candles) == 0 or size > self.max_bytes // 4:
            return False
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(version, candles, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                self._drop(next(iter(self._entries)))
        return True

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def resize(self, max_bytes: int) -> None:
        """Change the bound (evicting the oldest entries to fit)."""
        with self._lock:
            self.max_bytes = max(0, int(max_bytes))
            while self._bytes > self.max_bytes and self._entries:
                self._drop(next(iter(self._entries)))


_memory = MemoryCandleCache(DEFAULT_MB * 1024 * 1024)


def memory_cache() -> MemoryCandleCache:
    """This process's cache of candle arrays."""
    return _memory


def configure_memory_cache(megabytes: int) -> MemoryCandleCache:
    """Bound this process's cache to ``megabytes`` (0: off); ``tasks.cache.cache_from_settings``
    calls it with ``Settings.candle_cache_mb``."""
    _memory.resize(max(0, megabytes) * 1024 * 1024)
    return _memory
