"""The API through the Redis cache (tasks.cache.candles), on both backends: the candles query, a
finished backtest's curves and a finished sweep's table give the same answers from the cache,
counted; ``cacheStats`` (graph.cache, composed into a schema of its own here) is admins' only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
import strawberry

from domain.demo import demo_candles
from domain.engine.records import TRADE_DTYPE
from domain.metrics import METRIC_NAMES
from graph.auth import Viewer
from graph.cache import CacheQueries
from graph.context import Context
from graph.schema import BacktestSchema, extensions
from store import backtest_results, backtests, sweeps
from store import candles as store_candles
from store import leases as store_leases
from store.models import Role, TokenScope
from tasks.cache.candles import STAT_NAMES, NullCache, RedisCache
from tests.graph.conftest import Api

pytestmark = pytest.mark.asyncio

CANDLES = """
query($from: DateTime) {
  candles(exchange: "demo", symbol: "DEMO/USDT", timeframe: "1h", from: $from, limit: 200,
          indicators: [{name: "sma", params: {period: 10}}]) {
    count times close indicators { values }
  }
}"""
BACKTEST = """
query($id: ID!) {
  backtest(id: $id) {
    equityCurve(maxPoints: 50) { times values } drawdownCurve(maxPoints: 50) { times values }
  }
}"""
SWEEP = ("query($id: ID!) { sweep(id: $id) { rows { edges { node { rank params "
         "metrics { sharpe } } } } } }")
STATS = """{ cacheStats { enabled available candles { hits misses hitRate }
                          results { hits misses hitRate } } }"""


@pytest_asyncio.fixture
async def cached(api: Api, redis_url: str) -> AsyncIterator[RedisCache]:
    """``api`` with a Redis cache in its services (as the app builds it with REDIS_URL)."""
    cache = RedisCache(redis_url)
    api.services.cache = cache
    try:
        yield cache
    finally:
        api.services.cache = NullCache()
        await cache.close()


def counts(candles: tuple[int, int] = (0, 0), results: tuple[int, int] = (0, 0)
           ) -> dict[str, int]:
    return dict(zip(STAT_NAMES, (*candles, *results), strict=True))


async def test_the_candles_query_reads_through_the_cache(api: Api, cached: RedisCache) -> None:
    user = await api.user("a@x.io")
    candles = demo_candles(600, "1h", seed=3)
    await store_candles.write_candles("demo", "DEMO/USDT", "1h", candles)
    variables = {"from": "2023-01-10T00:00:00Z"}
    first = await api.gql(CANDLES, variables, token=user.token)
    assert "errors" not in first, first
    misses = (await cached.stats())["candles_misses"]
    assert misses >= 1
    second = await api.gql(CANDLES, variables, token=user.token)
    assert second == first
    assert await cached.stats() == counts(candles=(misses, misses))
    # newer candles of the series: read from the database again, never the old ranges
    newer = demo_candles(700, "1h", seed=3)
    await store_candles.write_candles("demo", "DEMO/USDT", "1h", newer.take(600, 700))
    await cached.invalidate_series("demo", "DEMO/USDT", "1h")
    assert await api.gql(CANDLES, variables, token=user.token) == first
    assert await cached.stats() == counts(candles=(misses, 2 * misses))


async def finished_runs(owner: int) -> tuple[int, int]:
    new = backtests.NewBacktest(owner, None, {"name": "t"}, {}, "demo", "DEMO/USDT", "1h", 0,
                                3_600_000 * 500, 1_000.0)
    record = await backtests.create_backtest(new)
    await store_leases.claim("backtest", record.id, "test", 60.0)
    times = np.arange(500, dtype=np.int64) * 3_600_000
    equity = 1_000.0 + np.cumsum(np.sin(np.arange(500) / 7.0))
    assert await backtest_results.save_results(record.id, backtest_results.Results(
        np.zeros(0, dtype=TRADE_DTYPE), times, equity, dict.fromkeys(METRIC_NAMES, 0.0),
        float(equity[-1])))
    sweep = await sweeps.create_sweep(sweeps.NewSweep(owner, None, {"name": "t"},
                                                      {"fast": [1.0, 2.0]}, "sharpe", "demo",
                                                      "DEMO/USDT", "1h", 0, 3_600_000, 2))
    await store_leases.claim("sweep", sweep.id, "test", 60.0)
    metrics = dict.fromkeys(METRIC_NAMES, 0.25)
    assert await sweeps.save_table(sweep.id, [
        {"rank": 1, "params": {"fast": 2.0}, "metrics": {**metrics, "sharpe": 1.5}},
        {"rank": 2, "params": {"fast": 1.0}, "metrics": {**metrics, "sharpe": None}}])
    return record.id, sweep.id


async def test_finished_curves_and_tables_come_from_the_cache(api: Api,
                                                              cached: RedisCache) -> None:
    user = await api.user("a@x.io")
    backtest_id, sweep_id = await finished_runs(user.id)
    api.services.cache = NullCache()
    plain = [await api.gql(BACKTEST, {"id": str(backtest_id)}, token=user.token),
             await api.gql(SWEEP, {"id": str(sweep_id)}, token=user.token)]
    assert "errors" not in plain[0] and "errors" not in plain[1], plain
    assert plain[1]["data"]["sweep"]["rows"]["edges"][0]["node"]["metrics"]["sharpe"] == 1.5
    api.services.cache = cached
    for _ in range(2):
        assert await api.gql(BACKTEST, {"id": str(backtest_id)}, token=user.token) == plain[0]
        assert await api.gql(SWEEP, {"id": str(sweep_id)}, token=user.token) == plain[1]
    # the two curves of the first query are resolved at once: both read the database
    assert await cached.stats() == counts(results=(3, 3))


@strawberry.type
class Query(CacheQueries):
    pass


SCHEMA = BacktestSchema(query=Query, extensions=extensions())


async def stats_as(api: Api, role: Role) -> dict[str, Any]:
    context = Context(api.services)
    context.set_viewer(Viewer(1, role, TokenScope.READ_WRITE, "jwt"))
    result = await SCHEMA.execute(STATS, context_value=context)
    if result.errors:
        return {"errors": [e.extensions for e in result.errors]}
    assert result.data is not None
    return dict(result.data["cacheStats"])


async def test_cache_stats_are_for_admins(api: Api, cached: RedisCache) -> None:
    assert await cached.get_candles("demo", "DEMO/USDT", "1h", None, None) is None
    assert await cached.put_result("sweep", 1, "table", [1])
    assert await cached.get_result("sweep", 1, "table") == [1]
    assert await stats_as(api, Role.ADMIN) == {
        "enabled": True, "available": True,
        "candles": {"hits": 0, "misses": 1, "hitRate": 0.0},
        "results": {"hits": 1, "misses": 0, "hitRate": 1.0}}
    assert await stats_as(api, Role.TRADER) == {"errors": [{"code": "FORBIDDEN"}]}

    api.services.cache = NullCache()
    off = {"hits": 0, "misses": 0, "hitRate": None}
    assert await stats_as(api, Role.ADMIN) == {"enabled": False, "available": False,
                                               "candles": off, "results": off}
    broken = RedisCache("redis://127.0.0.1:1/0")
    api.services.cache = broken
    try:
        assert await stats_as(api, Role.ADMIN) == {"enabled": True, "available": False,
                                                   "candles": off, "results": off}
    finally:
        await broken.close()
