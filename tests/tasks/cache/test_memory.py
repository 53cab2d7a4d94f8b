"""tasks.cache.memory: the LRU of candle arrays bounded in bytes, and read_candles_cached
through it: served while the series' versions stay (this process's own, and the database's,
which every process's writes and deletes move), with or without Redis."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from domain.demo import demo_candles
from store import candles as store_candles
from store.settings import Settings
from tasks.cache.candles import (
    NullCache,
    RedisCache,
    cache_from_settings,
    read_candles_cached,
    write_candles_and_invalidate,
)
from tasks.cache.memory import (
    MemoryCandleCache,
    candles_nbytes,
    configure_memory_cache,
    memory_cache,
)

DEMO = ("demo", "DEMO/USDT", "1h")
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[MemoryCandleCache]:
    memory = memory_cache()
    size = memory.max_bytes
    memory.clear()
    configure_memory_cache(64)
    try:
        yield memory
    finally:
        memory.clear()
        memory.resize(size)


def key(i: int) -> tuple[str, str, str, str, int | None, int | None]:
    return ("db", "x", "A/B", "1h", i, None)


def test_the_lru_is_bounded_in_bytes_and_checks_versions() -> None:
    c = demo_candles(1_000, "1h")
    size = candles_nbytes(c)
    assert size == 48_000
    lru = MemoryCandleCache(4 * size + 10)
    for i in range(4):
        assert lru.put(key(i), (1, 0), c)
    assert len(lru) == 4 and lru.nbytes == 4 * size
    assert lru.get(key(0), (1, 0)) is c  # now the most recent
    assert lru.put(key(4), (1, 0), c)  # evicts the least recent: key 1
    assert lru.get(key(1), (1, 0)) is None and lru.get(key(0), (1, 0)) is c
    assert lru.nbytes == 4 * size
    assert lru.get(key(2), (2, 0)) is None  # another version: a miss, and dropped
    assert lru.get(key(2), (1, 0)) is None and len(lru) == 3
    assert not lru.put(key(9), (1, 0), demo_candles(2_000, "1h"))  # over a quarter of it
    assert not lru.put(key(9), (1, 0), c.take(0, 0))  # empty
    lru.resize(size)
    assert len(lru) == 1 and lru.nbytes == size
    off = MemoryCandleCache(0)
    assert not off.enabled and not off.put(key(0), (1, 0), c) and off.get(key(0), (1, 0)) is None


@pytest.mark.asyncio
async def test_without_redis_every_processes_writes_invalidate(
        db: Settings, fresh_memory: MemoryCandleCache, monkeypatch: pytest.MonkeyPatch) -> None:
    null = cache_from_settings(Settings(database_url=db.database_url, candle_cache_mb=64))
    # on without Redis: the database's series versions see every process's writes
    assert isinstance(null, NullCache) and fresh_memory.max_bytes == 64 * 1024 * 1024
    c = demo_candles(400, "1h")
    await write_candles_and_invalidate(null, *DEMO, c.take(0, 200))
    lo, hi = int(c.ts[0]), int(c.ts[-1]) + 1
    first = await read_candles_cached(null, *DEMO, lo, hi)
    assert len(first) == 200
    assert await read_candles_cached(null, *DEMO, lo, hi) is first  # from memory
    await write_candles_and_invalidate(null, *DEMO, c.take(0, 200))  # nothing new
    assert await read_candles_cached(null, *DEMO, lo, hi) is first
    await store_candles.write_candles(*DEMO, c.take(200, 300))  # any writer of this process
    second = await read_candles_cached(null, *DEMO, lo, hi)
    assert len(second) == 300
    np.testing.assert_array_equal(second.close, c.close[:300])
    await store_candles.delete_candles(*DEMO, int(c.ts[250]), None)
    assert len(third := await read_candles_cached(null, *DEMO, lo, hi)) == 250
    # another process's write and delete: this process's own version does not move, the
    # database's does
    with monkeypatch.context() as m:
        m.setattr(store_candles, "_bump", lambda *_: None)
        await store_candles.write_candles(*DEMO, c.take(300, 400))
        fourth = await read_candles_cached(null, *DEMO, lo, hi)
        assert fourth is not third and len(fourth) == 350
        assert await read_candles_cached(null, *DEMO, lo, hi) is fourth
        await store_candles.delete_candles(*DEMO, int(c.ts[0]), int(c.ts[10]))
        assert len(await read_candles_cached(null, *DEMO, lo, hi)) == 340
    configure_memory_cache(0)  # off: every read goes to the database
    hits = fresh_memory.hits
    a = await read_candles_cached(null, *DEMO, lo, hi)
    assert await read_candles_cached(null, *DEMO, lo, hi) is not a and fresh_memory.hits == hits


@pytest.mark.asyncio
async def test_with_redis_the_database_version_counts(db: Settings, redis_url: str,
                                                      fresh_memory: MemoryCandleCache) -> None:
    here, broken = RedisCache(redis_url), RedisCache(UNREACHABLE)
    try:
        c = demo_candles(100, "1h")
        await store_candles.write_candles(*DEMO, c)
        first = await read_candles_cached(here, *DEMO)
        assert await read_candles_cached(here, *DEMO) is first
        # Redis silent: the database's version still says whether the copy is exact
        hits = fresh_memory.hits
        assert await read_candles_cached(broken, *DEMO) is first
        assert fresh_memory.hits == hits + 1
        await store_candles.delete_candles(*DEMO, int(c.ts[50]), None)
        assert len(await read_candles_cached(broken, *DEMO)) == 50
    finally:
        for cache in (here, broken):
            await cache.close()
