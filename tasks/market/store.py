"""Market data jobs against the store: the store as a sync sink, exchanges from the settings,
and candles for a backtest read from the database."""

from __future__ import annotations

from typing import Any

from domain.candles import Candles
from domain.errors import DataError
from store import candles as store_candles
from store.db import close_db, init_db
from store.settings import Settings, get_settings
from tasks.cache.candles import Cache, NullCache, write_candles_and_invalidate


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


async def load_stored_candles(exchange_id: str, symbol: str, timeframe: str,
                              start_ms: int | None = None, end_ms: int | None = None) -> Candles:
    """Stored candles of one market in ``[start_ms, end_ms)``, as the engine's arrays.

    Raises ``DataError`` saying how to get data when nothing is stored in that range.
    """
    await init_db()
    try:
        candles = await store_candles.read_candles(exchange_id, symbol, timeframe, start_ms, end_ms)
    finally:
        await close_db()
    if len(candles) == 0:
        raise DataError(
            f"no {exchange_id} {symbol} {timeframe} candles stored in that range: fetch them with "
            f"`backtest data sync {symbol} {timeframe} --since ...` or `backtest data import`; "
            "`backtest data list` shows what is stored")
    return candles
