"""``cacheStats``: the hit and miss counts of the Redis cache (``tasks.cache.candles``), admins only.

The counts are those of every process using the same Redis (API servers, workers, the CLI),
since the cache was last cleared (``backtest cache clear``). Without ``REDIS_URL`` the cache is
off (``enabled`` false, counts 0); when Redis does not answer, ``available`` is false.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.context import Context
from tasks.cache.candles import CacheUnavailable


@strawberry.type(description="Lookups of one kind of cached data: hits and misses.")
class CacheCounts:
    hits: int
    misses: int

    @strawberry.field(description="hits / (hits + misses); null before any lookup.")
    def hit_rate(self) -> float | None:
        total = self.hits + self.misses
        return self.hits / total if total else None


@strawberry.type(description="The cache of candle ranges and finished results (Redis), counted "
                             "over every process since it was last cleared.")
class CacheStats:
    enabled: bool = strawberry.field(description="A cache is configured (REDIS_URL).")
    available: bool = strawberry.field(description="Redis answered (counts are 0 otherwise).")
    candles: CacheCounts = strawberry.field(description="Candle ranges (charts, backtests).")
    results: CacheCounts = strawberry.field(description="Finished results: equity curves, "
                                                        "sweep tables.")


async def cache_stats(info: Info[Context, None]) -> CacheStats:
    info.context.require_admin()
    cache = info.context.services.cache
    try:
        stats = await cache.stats()
    except CacheUnavailable:
        stats, available = {}, False
    else:
        available = cache.enabled

    def counts(kind: str) -> CacheCounts:
        return CacheCounts(hits=stats.get(f"{kind}_hits", 0),
                           misses=stats.get(f"{kind}_misses", 0))

    return CacheStats(enabled=cache.enabled, available=available, candles=counts("candles"),
                      results=counts("results"))


@strawberry.type
class CacheQueries:
    cache_stats: CacheStats = strawberry.field(
        resolver=cache_stats, description="Hits and misses of the cache (admins only: "
                                          "FORBIDDEN otherwise).")
