"""The periodic market sync of ``backtest beat``: keep the ``WATCH_LIST`` markets up to date.

Every ``WATCH_INTERVAL_S`` seconds the beat sends ``market.refresh_watch_list``; a worker runs
:func:`refresh_watch_list`, which brings each market's stored candles up to the last closed bar
(``tasks.market.sync.sync`` into the store, from the last stored candle; a market with none starts
:data:`FIRST_SYNC_BARS` bars back). New candles invalidate the market's cached ranges. A Redis
lock per market (expiring by itself) keeps two refreshes of one market from overlapping when a
refresh takes longer than the interval; a market whose refresh fails is logged and counted, and
the others go on.
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis

from domain.timeframes import timeframe_ms
from store import candles as store_candles
from store.settings import Settings, WatchItem
from tasks.cache.candles import Cache
from tasks.market.store import StoreSink, exchange_from_settings
from tasks.market.sync import sync

log = logging.getLogger("tasks.market.watch_list")

FIRST_SYNC_BARS = 1000
LOCK_TTL_S = 600


async def refresh_market(item: WatchItem, settings: Settings, cache: Cache) -> int:
    """Bring one market up to date; the number of candles written."""
    last = await store_candles.last_ts(item.exchange, item.symbol, item.timeframe)
    step = timeframe_ms(item.timeframe)
    since = last + step if last is not None else int(time.time() * 1000) - FIRST_SYNC_BARS * step
    client = exchange_from_settings(item.exchange, settings)
    try:
        report = await sync(client, item.symbol, item.timeframe, since, None,
                            sink=StoreSink(cache))
    finally:
        await client.close()
    return report.candles_written


async def refresh_watch_list(settings: Settings, cache: Cache) -> dict[str, int]:
    """Refresh every market of ``settings.watch_list``; counts of markets ``refreshed``,
    ``skipped`` (another refresh holds it) and ``failed``, and ``candles`` written."""
    counts = {"refreshed": 0, "skipped": 0, "failed": 0, "candles": 0}
    lock_client = aioredis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        for item in settings.watch_list:
            key = f"backtest:watch-lock:{item.exchange}:{item.symbol}:{item.timeframe}"
            if lock_client is not None and not await lock_client.set(key, b"1", nx=True,
                                                                     ex=LOCK_TTL_S):
                counts["skipped"] += 1
                continue
            try:
                counts["candles"] += await refresh_market(item, settings, cache)
                counts["refreshed"] += 1
            except Exception as err:
                counts["failed"] += 1
                log.warning("refreshing %s %s %s failed: %s", item.exchange, item.symbol,
                            item.timeframe, err)
            finally:
                if lock_client is not None:
                    await lock_client.delete(key)
    finally:
        if lock_client is not None:
            await lock_client.aclose()
    return counts
