"""Candles for a backtest read from the database by a short-lived command (``backtest run
--symbol ...``): on a connection of their own, without starting the ORM (``store.direct``)."""

from __future__ import annotations

from domain.candles import Candles
from domain.errors import DataError
from store.direct import read_candles_direct
from store.settings import Settings, get_settings


async def load_stored_candles(exchange_id: str, symbol: str, timeframe: str,
                              start_ms: int | None = None, end_ms: int | None = None,
                              settings: Settings | None = None) -> Candles:
    """Stored candles of one market in ``[start_ms, end_ms)``, as the engine's arrays (the
    database of ``settings``, default the environment's).

    Raises ``DataError`` saying how to get data when nothing is stored in that range.
    """
    candles = await read_candles_direct(settings or get_settings(), exchange_id, symbol,
                                        timeframe, start_ms, end_ms)
    if len(candles) == 0:
        raise DataError(
            f"no {exchange_id} {symbol} {timeframe} candles stored in that range: fetch them with "
            f"`backtest data sync {symbol} {timeframe} --since ...` or `backtest data import`; "
            "`backtest data list` shows what is stored")
    return candles
