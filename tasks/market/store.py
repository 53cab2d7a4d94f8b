"""Market data jobs against the store: the store as a sync sink, exchanges from the settings,
and candles for a backtest read from the database (``tasks.market.stored``)."""

from __future__ import annotations

from typing import Any

from domain.candles import Candles
from store import candles as store_candles
from store.settings import Settings, get_settings
from tasks.cache.candles import Cache, NullCache, write_candles_and_invalidate
from tasks.market.stored import load_stored_candles as load_stored_candles


class StoreSink:
    """``store.candles`` seen through the ``tasks.market.sync.CandleSink`` protocol.

    The database must be initialised (``store.db.init_db``) while the sink is used. With a
    ``cache``, every write that stores new candles invalidates the series' cached ranges
    (``tasks.cache.candles.write_candles_and_invalidate``).
    """

    def __init__(self, cache: Cache | None = None) -> None:
        self.cache: Cache = cache if cache is not None else NullCache()

    async def last_ts(self, exchange_id: str, symbol: str, timeframe: str) -> int | None:
        return await store_candles.last_ts(exchange_id, symbol, timeframe)

    async def write(self, exchange_id: str, symbol: str, timeframe: str, candles: Candles) -> int:
        return await write_candles_and_invalidate(self.cache, exchange_id, symbol, timeframe,
                                                  candles)

    async def missing_ranges(self, exchange_id: str, symbol: str, timeframe: str, start_ms: int,
                             end_ms: int) -> list[tuple[int, int]]:
        from tasks.market.sync import missing_ranges_of  # lazy: ccxt costs 1 s to import

        stored = await store_candles.read_candles(exchange_id, symbol, timeframe, start_ms, end_ms)
        return missing_ranges_of(stored.ts, timeframe, start_ms, end_ms)


def exchange_from_settings(exchange_id: str = "binance", settings: Settings | None = None) -> Any:
    """A ccxt exchange with the REST/websocket base URLs of ``settings`` (default: the
    environment's; ``BINANCE_REST_URL``, ``BINANCE_WS_URL``; unset keeps ccxt's own). Close it
    with ``await exchange.close()``."""
    from tasks.market.exchange import make_exchange  # lazy: `backtest run` needs no ccxt

    settings = settings or get_settings()
    if exchange_id == "binance":
        return make_exchange(exchange_id, settings.binance_rest_url, settings.binance_ws_url)
    return make_exchange(exchange_id)
