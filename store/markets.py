"""Market data read narrowly: the symbols an exchange has candles for, the exchanges a
market is stored under, and closes alone.

:func:`stored_symbols` walks the ``(exchange, symbol, timeframe, ts)`` unique index of
``market_data`` one symbol at a time (a recursive query: a "loose index scan"), so it costs a
few index lookups per symbol whatever the number of candles; ``store.candles.coverage`` counts
every candle and is for reports. :func:`exchanges_with` walks the same index one exchange at a
time and probes each for the symbol and timeframe (a few index lookups per exchange).
:func:`read_closes` reads two columns of a series.
"""

from __future__ import annotations

import numpy as np

from domain.candles import Candles
from domain.timeframes import parse_timeframe
from store import pgcopy
from store.backtest_results import numbered
from store.db import connection, is_postgres

_SYMBOLS = (
    "WITH RECURSIVE s(symbol) AS ("
    " SELECT min(symbol) FROM market_data WHERE exchange = ?"
    " UNION ALL"
    " SELECT (SELECT min(symbol) FROM market_data WHERE exchange = ? AND symbol > s.symbol)"
    " FROM s WHERE s.symbol IS NOT NULL)"
    " SELECT symbol FROM s WHERE symbol IS NOT NULL")


async def stored_symbols(exchange: str) -> list[str]:
    """The symbols with at least one stored candle under ``exchange``, sorted."""
    client = connection()
    rows = await client.execute_query_dict(numbered(is_postgres(client), _SYMBOLS),
                                           [exchange, exchange])
    return [str(r["symbol"]) for r in rows]


_EXCHANGES = (
    "WITH RECURSIVE e(exchange) AS ("
    " SELECT min(exchange) FROM market_data"
    " UNION ALL"
    " SELECT (SELECT min(exchange) FROM market_data WHERE exchange > e.exchange)"
    " FROM e WHERE e.exchange IS NOT NULL)"
    " SELECT exchange FROM e WHERE exchange IS NOT NULL AND EXISTS ("
    "SELECT 1 FROM market_data m WHERE m.exchange = e.exchange AND m.symbol = ?"
    " AND m.timeframe = ?) ORDER BY exchange")


async def exchanges_with(symbol: str, timeframe: str) -> list[str]:
    """The exchanges with at least one stored candle of ``symbol`` and ``timeframe``, sorted
    (``DataError`` for a timeframe the platform does not know)."""
    client = connection()
    rows = await client.execute_query_dict(numbered(is_postgres(client), _EXCHANGES),
                                           [symbol, parse_timeframe(timeframe)])
    return [str(r["exchange"]) for r in rows]


async def read_closes(exchange: str, symbol: str, timeframe: str, start_ms: int,
                      end_ms: int) -> Candles:
    """The stored closes of one market in ``[start_ms, end_ms)``, oldest first, as candles
    whose open, high and low are the close and volume 0 (only ``ts`` and ``close`` are read:
    a third of what ``store.candles.read_candles`` moves), e.g. to convert fees paid in BNB."""
    client = connection()
    postgres = is_postgres(client)
    sql = numbered(postgres, "SELECT ts, close FROM market_data WHERE exchange = ? AND "
                             "symbol = ? AND timeframe = ? AND ts >= ? AND ts < ? ORDER BY ts")
    args = (exchange, symbol, parse_timeframe(timeframe), start_ms, end_ms)
    async with client.acquire_connection() as conn:
        if postgres:
            ts, (close,) = await pgcopy.query(conn, sql, args, n_floats=1)
        else:
            cursor = await conn.execute(sql, args)
            cursor.row_factory = None
            try:
                rows = await cursor.fetchall()
            finally:
                await cursor.close()
            rec = np.array(rows, dtype=[("ts", np.int64), ("close", np.float64)])
            ts, close = np.ascontiguousarray(rec["ts"]), np.ascontiguousarray(rec["close"])
    return Candles(ts, close, close, close, close, np.zeros_like(close), symbol,
                   parse_timeframe(timeframe))
