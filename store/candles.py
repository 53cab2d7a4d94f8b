"""Candle bulk I/O on ``market_data``: arrays in, arrays out, no ORM object per row.

Every function works on the connection opened by :func:`store.db.init_db`, SQLite or PostgreSQL:

* PostgreSQL (asyncpg): writes COPY the columns in PostgreSQL's binary format, built with numpy,
  straight into ``market_data`` when no row of the series is stored in the batch's time range
  (appending, a first import); otherwise into a temporary table, then ``INSERT ... SELECT`` the
  rows not stored yet (an anti-join;
  ``ON CONFLICT DO NOTHING`` as the fallback, see ``_write_pg``); reads COPY the query result out
  in binary and view it as a numpy record array. No Python object per row either way.
* SQLite (aiosqlite): ``executemany`` with ``INSERT OR IGNORE`` in one transaction; reads fetch
  tuples into a numpy record array.

Writes are idempotent: (exchange, symbol, timeframe, ts) is unique, so writing the same candles
twice stores them once. Ranges are ``[start_ms, end_ms)`` in UTC milliseconds.

Do not call these inside a Tortoise ``in_transaction()`` block: they take their own connection
(and on SQLite its lock) and run their own transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import aiosqlite
import asyncpg
import numpy as np
import numpy.typing as npt
from tortoise.exceptions import OperationalError

from domain.candles import Candles, find_gaps, validate_candles
from domain.errors import DataError
from domain.timeframes import parse_timeframe, period_index
from store import pgcopy
from store.db import active_settings, connection, is_postgres
from store.errors import SchemaNotReady

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

KEY_MAX_LEN = 32  # exchange and symbol columns are VARCHAR(32)
_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
_ROW_DTYPE = np.dtype([("ts", np.int64)] + [(c, np.float64) for c in _COLUMNS[1:]])


@dataclass(frozen=True)
class Coverage:
    """What ``market_data`` holds for one (exchange, symbol, timeframe).

    ``missing`` lists the absent bars between ``first_ts`` and ``last_ts`` as
    ``(first_missing_ts, last_missing_ts)`` ranges, both inclusive (UTC ms).
    """

    exchange: str
    symbol: str
    timeframe: str
    first_ts: int
    last_ts: int
    count: int
    missing: list[tuple[int, int]]

    @property
    def missing_bars(self) -> int:
        """How many bars the ``missing`` ranges hold."""
        if not self.missing:
            return 0
        a = np.array(self.missing, dtype=np.int64)
        p0, p1 = period_index(a[:, 0], self.timeframe), period_index(a[:, 1], self.timeframe)
        return int((p1 - p0 + 1).sum())


@asynccontextmanager
async def _schema_errors() -> AsyncIterator[None]:
    try:
        yield
    except (asyncpg.UndefinedTableError, sqlite3.OperationalError, OperationalError) as err:
        text = str(err)
        if "market_data" not in text or not ("no such table" in text or "does not exist" in text):
            raise
        url = active_settings().safe_database_url
        raise SchemaNotReady(f"the database {url} has no market_data table: run "
                             "`backtest db migrate` first") from err


def _where(postgres: bool, exchange: str | None, symbol: str | None, timeframe: str | None,
           start_ms: int | None = None, end_ms: int | None = None,
           ) -> tuple[list[str], list[object]]:
    """SQL conditions and their parameters for the given filters (``None``: no condition)."""
    conditions = (("exchange =", exchange), ("symbol =", symbol),
                  ("timeframe =", parse_timeframe(timeframe) if timeframe else None),
                  ("ts >=", start_ms), ("ts <", end_ms))
    where: list[str] = []
    params: list[object] = []
    for condition, value in conditions:
        if value is not None:
            params.append(value)
            where.append(f"{condition} " + (f"${len(params)}" if postgres else "?"))
    return where, params


def _prepared(exchange: str, symbol: str, timeframe: str, candles: Candles) -> Candles:
    tf = parse_timeframe(timeframe)
    for what, value in (("exchange", exchange), ("symbol", symbol)):
        if not value or len(value) > KEY_MAX_LEN:
            raise DataError(f"{what} {value!r}: give 1 to {KEY_MAX_LEN} characters")
    for what, mine, given in (("symbol", candles.symbol, symbol),
                              ("timeframe", candles.timeframe, tf)):
        if mine and mine != given:
            raise DataError(f"the candles are {what} {mine!r} but are being stored as {given!r}")
    prepared = replace(candles, symbol=symbol, timeframe=tf)
    validate_candles(prepared)
    return prepared


async def write_candles(exchange: str, symbol: str, timeframe: str, candles: Candles) -> int:
    """Store ``candles`` under (exchange, symbol, timeframe); return how many rows were new.

    The candles are validated first (``domain.candles.validate_candles``: sorted, unique, on
    the timeframe's boundaries, finite, consistent OHLC); rows already stored are left as they
    are (the first write wins).
    """
    c = _prepared(exchange, symbol, timeframe, candles)
    if len(c) == 0:
        return 0
    client = connection()
    async with _schema_errors(), client.acquire_connection() as conn:
        if is_postgres(client):
            return await _write_pg(conn, exchange, symbol, c.timeframe, c)
        return await _write_sqlite(conn, exchange, symbol, c.timeframe, c)


_PG_TEMP = (
    "CREATE TEMPORARY TABLE _candles_in (ts BIGINT, open DOUBLE PRECISION, high DOUBLE PRECISION,"
    " low DOUBLE PRECISION, close DOUBLE PRECISION, volume DOUBLE PRECISION) ON COMMIT DROP")
_PG_INSERT = (
    "INSERT INTO market_data (exchange, symbol, timeframe, ts, open, high, low, close, volume) "
    "SELECT $1::varchar, $2::varchar, $3::varchar, t.ts, t.open, t.high, t.low, t.close, "
    "t.volume FROM _candles_in t")
# Rows already stored are skipped by an anti-join on the batch's time range (one range scan),
# not by ON CONFLICT: speculative insertion checks the unique index once more per row and made
# 1M-row writes about 2-3x slower. The per-series advisory lock keeps concurrent writers of one
# series from racing between the anti-join and the insert; should anything else have inserted
# the same rows meanwhile, the unique violation sends the batch through ON CONFLICT DO NOTHING.
_PG_NEW_ONLY = (
    " WHERE NOT EXISTS (SELECT 1 FROM market_data m WHERE m.exchange = $1 AND m.symbol = $2"
    " AND m.timeframe = $3 AND m.ts >= $4::bigint AND m.ts <= $5::bigint AND m.ts = t.ts)")
_PG_ON_CONFLICT = " ON CONFLICT (exchange, symbol, timeframe, ts) DO NOTHING"


_PG_ANY_IN_RANGE = (
    "SELECT EXISTS (SELECT 1 FROM market_data WHERE exchange = $1 AND symbol = $2"
    " AND timeframe = $3 AND ts >= $4::bigint AND ts <= $5::bigint)")
_PG_COLUMNS = ["exchange", "symbol", "timeframe", "ts", "open", "high", "low", "close", "volume"]


async def _write_pg(conn: asyncpg.Connection, exchange: str, symbol: str, tf: str,
                    c: Candles) -> int:
    floats = [c.open, c.high, c.low, c.close, c.volume]
    first, last = int(c.ts[0]), int(c.ts[-1])
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                           f"market_data|{exchange}|{symbol}|{tf}")
        # The usual case (appending, a first import): nothing of this series is stored in the
        # batch's time range, so every row is new and COPY goes straight into the table. The
        # lock keeps the check valid until commit for writers going through this function.
        if not await conn.fetchval(_PG_ANY_IN_RANGE, exchange, symbol, tf, first, last):
            await conn.copy_to_table("market_data", columns=_PG_COLUMNS, format="binary",
                                     source=pgcopy.encode(c.ts, floats, (exchange, symbol, tf)))
            return len(c)
        data = pgcopy.encode(c.ts, floats)
        await conn.execute(_PG_TEMP)
        await conn.copy_to_table("_candles_in", source=data, format="binary")
        await conn.execute("ANALYZE _candles_in")  # row count and range for the planner
        try:
            async with conn.transaction():  # a savepoint
                status: str = await conn.execute(_PG_INSERT + _PG_NEW_ONLY, exchange, symbol,
                                                 tf, first, last)
        except asyncpg.UniqueViolationError:
            status = await conn.execute(_PG_INSERT + _PG_ON_CONFLICT, exchange, symbol, tf)
    return int(status.rsplit(" ", 1)[1])  # "INSERT 0 <rows>"


async def _write_sqlite(db: aiosqlite.Connection, exchange: str, symbol: str, tf: str,
                        c: Candles) -> int:
    n = len(c)
    rows = zip([exchange] * n, [symbol] * n, [tf] * n, c.ts.tolist(), c.open.tolist(),
               c.high.tolist(), c.low.tolist(), c.close.tolist(), c.volume.tolist(), strict=True)
    before = db.total_changes  # Tortoise opens it in autocommit mode: one explicit transaction
    await db.execute("BEGIN")
    try:
        await db.executemany(
            "INSERT OR IGNORE INTO market_data (exchange, symbol, timeframe, ts, open, high, low, "
            "close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    except BaseException:
        await db.rollback()
        raise
    await db.commit()
    return int(db.total_changes - before)


async def read_candles(exchange: str, symbol: str, timeframe: str, start_ms: int | None = None,
                       end_ms: int | None = None) -> Candles:
    """The stored candles with ``start_ms <= ts < end_ms`` (``None``: open side), oldest first,
    as contiguous int64/float64 arrays. Nothing stored gives empty candles."""
    tf = parse_timeframe(timeframe)
    async with _schema_errors():
        ts, (o, h, lo, c, v) = await _select(exchange, symbol, tf, start_ms, end_ms, n_floats=5)
    return Candles(ts, o, h, lo, c, v, symbol=symbol, timeframe=tf)


_ROWS_ON_LOOP = 20_000


async def _select(exchange: str, symbol: str, tf: str, start_ms: int | None, end_ms: int | None,
                  n_floats: int) -> tuple[I64, list[F64]]:
    """ts and the first ``n_floats`` of open, high, low, close, volume, ordered by ts."""
    client = connection()
    postgres = is_postgres(client)
    where, params = _where(postgres, exchange, symbol, tf, start_ms, end_ms)
    sql = (f"SELECT {', '.join(_COLUMNS[:1 + n_floats])} FROM market_data WHERE "
           + " AND ".join(where) + " ORDER BY ts")
    async with client.acquire_connection() as conn:
        if postgres:
            return await pgcopy.query(conn, sql, tuple(params), n_floats=n_floats)
        cursor = await conn.execute(sql, params)
        cursor.row_factory = None  # plain tuples (Tortoise sets sqlite3.Row on the connection)
        try:
            rows = await cursor.fetchall()
        finally:
            await cursor.close()
    dtype = np.dtype(_ROW_DTYPE.descr[:1 + n_floats])
    if len(rows) > _ROWS_ON_LOOP:  # a large conversion would hold the event loop: a thread
        rec = await asyncio.to_thread(np.array, rows, dtype=dtype)
    else:
        rec = np.array(rows, dtype=dtype) if rows else np.empty(0, dtype=dtype)
    names = _COLUMNS[1:1 + n_floats]
    return np.ascontiguousarray(rec["ts"]), [np.ascontiguousarray(rec[c]) for c in names]


async def last_ts(exchange: str, symbol: str, timeframe: str) -> int | None:
    """Open time of the newest stored candle, or ``None`` when there is none."""
    client = connection()
    where, params = _where(is_postgres(client), exchange, symbol, timeframe)
    async with _schema_errors():
        rows = await client.execute_query_dict(
            "SELECT max(ts) AS ts FROM market_data WHERE " + " AND ".join(where), params)
    value = rows[0]["ts"] if rows else None
    return None if value is None else int(value)


async def coverage(exchange: str | None = None, symbol: str | None = None,
                   timeframe: str | None = None) -> list[Coverage]:
    """First and last candle, count and missing ranges of every stored series matching the
    filters (``None`` matches all), sorted by exchange, symbol, timeframe."""
    client = connection()
    where, params = _where(is_postgres(client), exchange, symbol, timeframe)
    sql = ("SELECT exchange, symbol, timeframe, min(ts) AS first, max(ts) AS last, "
           "count(*) AS n FROM market_data" + (" WHERE " + " AND ".join(where) if where else "")
           + " GROUP BY exchange, symbol, timeframe ORDER BY exchange, symbol, timeframe")
    async with _schema_errors():
        groups = await client.execute_query_dict(sql, params)
        out = []
        for g in groups:
            ex, sym, tf = str(g["exchange"]), str(g["symbol"]), str(g["timeframe"])
            first, last, n = int(g["first"]), int(g["last"]), int(g["n"])
            out.append(Coverage(ex, sym, tf, first, last, n,
                                await _missing(ex, sym, tf, first, last, n)))
    return out


async def _missing(exchange: str, symbol: str, tf: str, first: int, last: int,
                   n: int) -> list[tuple[int, int]]:
    ends = period_index(np.array([first, last], dtype=np.int64), tf)
    if int(ends[1] - ends[0]) + 1 == n:  # as many rows as bars between first and last: no gap
        return []
    ts, _ = await _select(exchange, symbol, tf, None, None, n_floats=0)
    zeros = np.broadcast_to(np.float64(0.0), ts.shape)  # find_gaps looks at ts only
    return find_gaps(Candles(ts, zeros, zeros, zeros, zeros, zeros, symbol, tf))


async def delete_candles(exchange: str, symbol: str | None = None, timeframe: str | None = None,
                         start_ms: int | None = None, end_ms: int | None = None) -> int:
    """Delete the matching candles (``None`` matches all; range ``[start_ms, end_ms)``);
    return how many were deleted. For tests and administration."""
    client = connection()
    where, params = _where(is_postgres(client), exchange, symbol, timeframe, start_ms, end_ms)
    async with _schema_errors():
        deleted, _ = await client.execute_query(
            "DELETE FROM market_data WHERE " + " AND ".join(where), params)
    return int(deleted)
