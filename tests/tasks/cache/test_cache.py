"""tasks.cache.candles on a Redis database of the test's own and both database backends: read-through
hits with identical arrays, invalidation by every writer of new candles (the store sink of syncs
and watchers, the sync job, the CLI import), TTL and size cap, finished results, counts shared
by processes, an unreachable Redis, and the null cache."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
import redis
import redis.asyncio

from domain.candles import Candles
from domain.csv import write_candles_csv
from domain.demo import demo_candles
from domain.engine.records import TRADE_DTYPE
from domain.metrics import METRIC_NAMES
from store import backtest_results, backtests, sweeps
from store import candles as store_candles
from store import leases as store_leases
from store.db import close_db, init_db
from store.settings import Settings, get_settings
from store.users import create_user
from tasks.cache.candles import (
    STAT_NAMES,
    Cache,
    CacheUnavailable,
    NullCache,
    RedisCache,
    cache_from_settings,
    finished_equity_curve,
    finished_sweep_table,
    read_candles_cached,
    write_candles_and_invalidate,
)
from tasks.cache.redis_store import decode_candles, encode_candles
from tasks.jobs.lifecycle import run_job
from tasks.market.live_candles import LiveCandles
from tasks.market.store import StoreSink
from tasks.market.sync import sync
from tasks.messaging.broadcast import MemoryBroadcaster
from tests.tasks.conftest import FAST, connect
from tests.tasks.fake_binance import FakeBinance

DEMO = ("demo", "DEMO/USDT", "1h")
BTC = ("binance", "BTC/USDT", "1m")
MIN = 60_000
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest_asyncio.fixture
async def cache(redis_url: str) -> AsyncIterator[RedisCache]:
    c = RedisCache(redis_url)
    try:
        yield c
    finally:
        await c.close()


def same(a: Candles, b: Candles) -> None:
    assert (a.symbol, a.timeframe, len(a)) == (b.symbol, b.timeframe, len(b))
    for name in ("ts", "open", "high", "low", "close", "volume"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.flags.c_contiguous and x.flags.writeable
        np.testing.assert_array_equal(x, y)


def counts(candles: tuple[int, int] = (0, 0), results: tuple[int, int] = (0, 0)
           ) -> dict[str, int]:
    return dict(zip(STAT_NAMES, (*candles, *results), strict=True))


def test_the_candle_format_round_trips() -> None:
    c = demo_candles(1_000, "1h")
    same(decode_candles(encode_candles(c), c.symbol, c.timeframe) or c.take(0, 0), c)
    assert len(encode_candles(c)) == 16 + 48 * 1_000  # the arrays' bytes, nothing per row
    assert decode_candles(b"not candles at all!!", "X", "1h") is None


@pytest.mark.asyncio
async def test_a_hit_after_a_miss_gives_identical_arrays(db: Settings, cache: RedisCache) -> None:
    c = demo_candles(3_000, "1h")
    await store_candles.write_candles(*DEMO, c)
    lo, hi = int(c.ts[100]), int(c.ts[2_000])
    first = await read_candles_cached(cache, *DEMO, lo, hi)
    second = await read_candles_cached(cache, *DEMO, lo, hi)
    same(first, await store_candles.read_candles(*DEMO, lo, hi))
    same(second, first)
    assert await cache.stats() == counts(candles=(1, 1))
    # served by Redis: candles removed behind the cache's back (no invalidation) still come back
    await store_candles.delete_candles(*DEMO)
    same(await read_candles_cached(cache, *DEMO, lo, hi), first)
    assert await cache.stats() == counts(candles=(2, 1))
    # open-ended ranges are ranges of their own; empty ranges are not stored
    assert len(await read_candles_cached(cache, *DEMO)) == 0
    assert len(await read_candles_cached(cache, *DEMO)) == 0
    assert await cache.stats() == counts(candles=(2, 3))


@pytest.mark.asyncio
async def test_new_candles_invalidate_and_a_racing_read_is_never_served(
        db: Settings, cache: RedisCache) -> None:
    c = demo_candles(300, "1h")
    assert await write_candles_and_invalidate(cache, *DEMO, c.take(0, 100)) == 100
    assert len(await read_candles_cached(cache, *DEMO)) == 100
    # a reader took the version, then a writer stored new candles before it cached its range
    version = await cache.series_version(*DEMO)
    stale = await store_candles.read_candles(*DEMO)
    assert await write_candles_and_invalidate(cache, *DEMO, c.take(0, 200)) == 100
    assert await cache.put_candles(*DEMO, None, None, stale, version=version)
    assert len(await read_candles_cached(cache, *DEMO)) == 200
    assert len(await read_candles_cached(cache, *DEMO)) == 200
    assert await cache.stats() == counts(candles=(1, 2))
    # nothing new: the version stays and the cached range with it
    version = await cache.series_version(*DEMO)
    assert await write_candles_and_invalidate(cache, *DEMO, c.take(0, 200)) == 0
    assert await cache.series_version(*DEMO) == version
    assert len(await read_candles_cached(cache, *DEMO)) == 200
    assert await cache.stats() == counts(candles=(2, 2))


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(seed=3).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_a_sync_through_the_store_sink_invalidates(db: Settings, cache: RedisCache,
                                                         fake: FakeBinance) -> None:
    start = fake.start_ms
    async with connect(fake) as ex:
        await sync(ex, "BTC/USDT", "1m", start, start + 100 * MIN, sink=StoreSink(cache),
                   backoff=FAST)
        window = (start, start + 1_000 * MIN)
        assert len(await read_candles_cached(cache, *BTC, *window)) == 100
        assert len(await read_candles_cached(cache, *BTC, *window)) == 100  # a hit
        report = await sync(ex, "BTC/USDT", "1m", start, start + 300 * MIN,
                            sink=StoreSink(cache), backoff=FAST)
    assert report.candles_written == 200
    got = await read_candles_cached(cache, *BTC, *window)
    same(got, await store_candles.read_candles(*BTC, *window))
    assert len(got) == 300
    assert await cache.stats() == counts(candles=(1, 2))


@pytest.mark.asyncio
async def test_a_sync_job_invalidates_with_redis_in_the_settings(
        db: Settings, cache: RedisCache, fake: FakeBinance, redis_url: str) -> None:
    start = fake.start_ms
    first = fake.expected("BTCUSDT", "1m", start, start + 50 * MIN)
    await store_candles.write_candles(*BTC, dataclasses.replace(first, symbol="BTC/USDT"))
    window = (start, start + 500 * MIN)
    assert len(await read_candles_cached(cache, *BTC, *window)) == 50
    owner = await create_user("a@example.com", None)
    from store import sync_jobs

    job = await sync_jobs.create_sync_job(owner.id, "binance", "BTC/USDT", "1m", start,
                                          start + 200 * MIN)
    settings = dataclasses.replace(db, redis_url=redis_url, binance_rest_url=fake.rest_url,
                                   binance_ws_url=fake.ws_url)
    await run_job("sync", job.id, MemoryBroadcaster(), settings=settings)
    assert len(await read_candles_cached(cache, *BTC, *window)) == 200
    assert await cache.stats() == counts(candles=(0, 2))


def test_the_cli_import_invalidates(backend_url: str, redis_url: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.db_commands import cmd_data_import

    monkeypatch.setenv("DATABASE_URL", backend_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    c = demo_candles(400, "1h", symbol="BTC/USDT")
    first, both = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(write_candles_csv(c.take(0, 150)))
    both.write_text(write_candles_csv(c))

    def imported(path: Path) -> None:
        args = argparse.Namespace(file=str(path), symbol="BTC/USDT", timeframe=None,
                                  exchange="binance")
        assert cmd_data_import(args) == 0

    async def read_twice() -> tuple[int, int]:
        await init_db(Settings(database_url=backend_url))
        cache = RedisCache(redis_url)
        try:
            a = await read_candles_cached(cache, "binance", "BTC/USDT", "1h")
            b = await read_candles_cached(cache, "binance", "BTC/USDT", "1h")
            return len(a), len(b)
        finally:
            await cache.close()
            await close_db()

    try:
        imported(first)
        assert asyncio.run(read_twice()) == (150, 150)
        imported(both)
        assert asyncio.run(read_twice()) == (400, 400)
    finally:
        get_settings.cache_clear()
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.hgetall("backtest:cache:stats")
    finally:
        client.close()
    assert {k.decode(): int(v) for k, v in stats.items()} == {"candles_hits": 2,
                                                               "candles_misses": 2}


def test_the_live_watchers_store_through_the_cache() -> None:
    cache = NullCache()
    live = LiveCandles(MemoryBroadcaster(), lambda _: None, cache=cache)
    sink = live.sink_factory()
    assert isinstance(sink, StoreSink) and sink.cache is cache
    shared = LiveCandles.for_settings(Settings(database_url="sqlite://:memory:"),
                                      MemoryBroadcaster(), cache=cache)
    made = shared.sink_factory()
    assert isinstance(made, StoreSink) and made.cache is cache
    assert isinstance(StoreSink().cache, NullCache)


@pytest.mark.asyncio
async def test_ttl_and_size_cap(db: Settings, redis_url: str) -> None:
    c = demo_candles(50, "1h")
    await store_candles.write_candles(*DEMO, c)
    short = RedisCache(redis_url, candles_ttl_s=1, max_candles=40)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert not await short.put_candles(*DEMO, None, None, c)  # over the cap
        assert len(await read_candles_cached(short, *DEMO)) == 50
        assert await client.keys("backtest:cache:candles:*") == []
        part = c.take(0, 40)
        assert await short.put_candles(*DEMO, None, int(c.ts[40]), part)
        (key,) = await client.keys("backtest:cache:candles:*")
        assert 0 < await client.pttl(key) <= 1_000
        same(await short.get_candles(*DEMO, None, int(c.ts[40])) or c, part)
        await asyncio.sleep(1.1)
        assert await short.get_candles(*DEMO, None, int(c.ts[40])) is None
        default = RedisCache(redis_url)
        try:
            assert await default.put_candles(*DEMO, None, int(c.ts[40]), part)
            (key,) = await client.keys("backtest:cache:candles:*")
            assert 3_500 < await client.ttl(key) <= 3_600
        finally:
            await default.close()
    finally:
        await short.close()
        await client.aclose()


async def finished_backtest(owner: int) -> int:
    new = backtests.NewBacktest(owner, None, {"name": "t"}, {}, "demo", "DEMO/USDT", "1h", 0,
                                3_600_000 * 100, 1_000.0)
    record = await backtests.create_backtest(new)
    await store_leases.claim("backtest", record.id, "test", 60.0)
    times = np.arange(100, dtype=np.int64) * 3_600_000
    equity = 1_000.0 + np.cumsum(np.linspace(-1.0, 2.0, 100))
    assert await backtest_results.save_results(record.id, backtest_results.Results(
        np.zeros(0, dtype=TRADE_DTYPE), times, equity, dict.fromkeys(METRIC_NAMES, 0.0),
        float(equity[-1])))
    return record.id


@pytest.mark.asyncio
async def test_finished_results_put_get_drop(db: Settings, cache: RedisCache,
                                             redis_url: str) -> None:
    assert await cache.put_result("backtest", 7, "raw", b"\x00\x01bytes")
    assert await cache.put_result("backtest", 7, "meta", {"a": [1, 2.5, None], "b": "x"})
    assert not await cache.put_result("backtest", 7, "none", None)
    assert await cache.get_result("backtest", 7, "raw") == b"\x00\x01bytes"
    assert await cache.get_result("backtest", 7, "meta") == {"a": [1, 2.5, None], "b": "x"}
    assert await cache.get_result("backtest", 8, "raw") is None
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert 86_000 < await client.ttl("backtest:cache:results:backtest:7") <= 86_400
    finally:
        await client.aclose()
    await cache.drop_results("backtest", 7)
    assert await cache.get_result("backtest", 7, "raw") is None
    assert await cache.get_result("backtest", 7, "meta") is None
    assert await cache.stats() == counts(results=(2, 3))

    owner = (await create_user("a@example.com", None)).id
    backtest_id = await finished_backtest(owner)
    want = await backtest_results.equity_curve(backtest_id)
    assert want is not None
    for _ in range(2):
        got = await finished_equity_curve(cache, backtest_id)
        assert got is not None and got[1].flags.writeable
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    sweep = await sweeps.create_sweep(sweeps.NewSweep(owner, None, {"name": "t"},
                                                      {"fast": [1.0, 2.0]}, "sharpe", "demo",
                                                      "DEMO/USDT", "1h", 0, 3_600_000, 2))
    await store_leases.claim("sweep", sweep.id, "test", 60.0)
    table = [{"rank": 1, "params": {"fast": 2.0}, "metrics": {"sharpe": 1.5}},
             {"rank": 2, "params": {"fast": 1.0}, "metrics": {"sharpe": None}}]
    assert await sweeps.save_table(sweep.id, table)
    assert await finished_sweep_table(cache, sweep.id) == table
    assert await finished_sweep_table(cache, sweep.id) == table
    assert await cache.stats() == counts(results=(4, 5))
    assert await finished_equity_curve(cache, backtest_id + 100) is None  # none: not cached
    assert await cache.stats() == counts(results=(4, 6))


@pytest.mark.asyncio
async def test_counts_add_up_across_processes_and_clear_resets(redis_url: str) -> None:
    a, b = RedisCache(redis_url), RedisCache(redis_url)
    try:
        c = demo_candles(10, "1h")
        assert await a.get_candles(*DEMO, None, None) is None
        assert await a.put_candles(*DEMO, None, None, c)
        assert await b.get_candles(*DEMO, None, None) is not None
        assert await a.get_candles(*DEMO, None, None) is not None
        assert await b.put_result("sweep", 1, "table", [1, 2])
        assert await a.get_result("sweep", 1, "table") == [1, 2]
        assert await a.stats() == await b.stats() == counts(candles=(2, 1), results=(1, 0))
        before = await a.series_version(*DEMO)
        assert await b.clear() >= 4  # the range, the results, the version, the counts
        assert await a.stats() == counts()
        assert await a.get_candles(*DEMO, None, None) is None
        assert await a.get_result("sweep", 1, "table") is None
        after = await a.series_version(*DEMO)
        assert before is not None and after is not None and after > before
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_an_unreachable_redis_is_a_miss_and_logs_once(
        db: Settings, caplog: pytest.LogCaptureFixture) -> None:
    c = demo_candles(100, "1h")
    broken = RedisCache(UNREACHABLE)
    try:
        with caplog.at_level(logging.WARNING, logger="tasks.cache.candles"):
            assert await write_candles_and_invalidate(broken, *DEMO, c) == 100
            for _ in range(3):
                same(await read_candles_cached(broken, *DEMO), c)
            assert await broken.get_candles(*DEMO, None, None) is None
            assert not await broken.put_candles(*DEMO, None, None, c)
            assert await broken.get_result("backtest", 1, "equity") is None
            assert not await broken.put_result("backtest", 1, "equity", b"x")
            await broken.drop_results("backtest", 1)
            await broken.invalidate_series(*DEMO)
        warnings = [r for r in caplog.records if r.name == "tasks.cache.candles"]
        assert len(warnings) == 1 and "127.0.0.1:1" in warnings[0].getMessage()
        with pytest.raises(CacheUnavailable, match="did not answer"):
            await broken.stats()
        with pytest.raises(CacheUnavailable):
            await broken.clear()
    finally:
        await broken.close()


@pytest.mark.asyncio
async def test_the_null_cache_caches_nothing(db: Settings) -> None:
    null: Cache = cache_from_settings(Settings(database_url=db.database_url))
    assert isinstance(null, NullCache) and not null.enabled
    c = demo_candles(20, "1h")
    assert await write_candles_and_invalidate(null, *DEMO, c) == 20
    same(await read_candles_cached(null, *DEMO), c)
    assert await null.series_version(*DEMO) is None
    assert not await null.put_candles(*DEMO, None, None, c)
    assert await null.get_candles(*DEMO, None, None) is None
    assert not await null.put_result("sweep", 1, "table", [1])
    assert await null.get_result("sweep", 1, "table") is None
    await null.drop_results("sweep", 1)
    assert await null.stats() == {} and await null.clear() == 0
    await null.close()
    redis_cache = cache_from_settings(Settings(database_url=db.database_url,
                                               redis_url=UNREACHABLE))
    assert isinstance(redis_cache, RedisCache) and redis_cache.enabled
    await redis_cache.close()


def test_the_cache_commands(redis_url: str, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    from cli.cache_commands import NO_CACHE, register

    parser = argparse.ArgumentParser(prog="backtest")
    register(parser.add_subparsers(dest="command", required=True))

    def backtest(*argv: str) -> str:
        args = parser.parse_args(argv)
        assert args.func(args) == 0
        return capsys.readouterr().out

    async def use() -> None:
        cache = RedisCache(redis_url)
        try:
            await cache.put_candles(*DEMO, None, None, demo_candles(10, "1h"))
            for _ in range(3):
                await cache.get_candles(*DEMO, None, None)
            await cache.get_result("sweep", 1, "table")
        finally:
            await cache.close()

    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert backtest("cache", "stats").strip() == NO_CACHE
        assert backtest("cache", "clear").strip() == NO_CACHE
        monkeypatch.setenv("REDIS_URL", redis_url)
        get_settings.cache_clear()
        asyncio.run(use())
        assert backtest("cache", "stats").splitlines() == [
            "kind     hits  misses  hit rate",
            "candles     3       0    100.0%",
            "results     0       1      0.0%"]
        assert '"candles": {\n    "hits": 3,' in backtest("cache", "stats", "--json")
        assert backtest("cache", "clear").strip() == "cache cleared: 3 keys removed"  # range, version, counts
        assert '"hits": 0' in backtest("cache", "stats", "--json")
        monkeypatch.setenv("REDIS_URL", UNREACHABLE)
        get_settings.cache_clear()
        with pytest.raises(CacheUnavailable, match=r"127\.0\.0\.1:1"):
            backtest("cache", "stats")
    finally:
        get_settings.cache_clear()
