"""The columnar copy of ``market_data``: ``candle_blocks``, and the reads under it.

Only numpy, the drivers and the standard library (no Tortoise), on a connection the caller
gives: ``store.candles`` uses the ORM's connection; ``store.direct`` opens its own, so that a
command reading candles once (``backtest run``) does not pay for importing and starting the ORM.
Writes go through ``store.candles`` (they keep the blocks equal to ``market_data``).

A run reads hundreds of thousands of bars; one row per bar costs a Python tuple per bar on
SQLite (about 1.2 s for a year of minutes) and a large COPY on PostgreSQL. ``candle_blocks``
holds the same candles as ``market_data`` cut into blocks of a fixed time span
(BLOCK_BARS bars of the timeframe, numbered ``ts // span``), each block one row whose blob
is its columns: int64 ts then float64 open, high, low, close, volume, little-endian. A read
fetches the blocks of its range and slices them: a few rows, no per-bar object.

The blocks are kept equal to market_data: a write updates the blocks of its range in its own
transaction (under the series' lock on PostgreSQL, an IMMEDIATE transaction on SQLite);
a delete drops the blocks it touches. A block that is missing (a database older than the
table, a delete) is built by the read that needs it, from market_data, under the same lock;
a range with no candle has no block and is read from market_data each time (an empty,
indexed read).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.errors import DataError
from domain.timeframes import parse_timeframe, timeframe_ms
from store import pgcopy

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

COLUMNS = ("ts", "open", "high", "low", "close", "volume")
ROW_DTYPE = np.dtype([("ts", np.int64)] + [(c, np.float64) for c in COLUMNS[1:]])
ROWS_ON_LOOP = 20_000
PG_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"


def where_sql(postgres: bool, exchange: str | None, symbol: str | None, timeframe: str | None,
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


async def select_rows(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                       start_ms: int | None, end_ms: int | None,
                       n_floats: int) -> tuple[I64, list[F64]]:
    """ts and the first ``n_floats`` of open, high, low, close, volume, ordered by ts, on a
    connection of the caller's."""
    where, params = where_sql(postgres, exchange, symbol, tf, start_ms, end_ms)
    sql = (f"SELECT {', '.join(COLUMNS[:1 + n_floats])} FROM market_data WHERE "
           + " AND ".join(where) + " ORDER BY ts")
    if postgres:
        return await pgcopy.query(conn, sql, tuple(params), n_floats=n_floats)
    rows = await fetch(conn, False, sql, params)
    dtype = np.dtype(ROW_DTYPE.descr[:1 + n_floats])
    if len(rows) > ROWS_ON_LOOP:  # a large conversion would hold the event loop: a thread
        rec = await asyncio.to_thread(np.array, rows, dtype=dtype)
    else:
        rec = np.array(rows, dtype=dtype) if rows else np.empty(0, dtype=dtype)
    names = COLUMNS[1:1 + n_floats]
    return np.ascontiguousarray(rec["ts"]), [np.ascontiguousarray(rec[c]) for c in names]


BLOCK_BARS = 4096

Columns = tuple[I64, list[F64]]  # ts, then open, high, low, close, volume


def block_span_ms(timeframe: str) -> int:
    """The time span of one block of ``timeframe`` (``1M``: nominal 30-day months)."""
    return timeframe_ms(parse_timeframe(timeframe)) * BLOCK_BARS


def _encode_block(ts: I64, floats: list[F64]) -> bytes:
    n = int(ts.shape[0])
    words = np.empty(6 * n, dtype="<i8")
    words[:n] = ts
    values = words[n:].view("<f8")
    for i, column in enumerate(floats):
        values[i * n:(i + 1) * n] = column
    return words.tobytes()


def _decode_block(data: bytes, n: int) -> Columns:
    words = np.frombuffer(data, dtype="<i8")
    if words.shape[0] != 6 * n:
        raise DataError(f"a stored candle block holds {len(data)} bytes, not {48 * n}: "
                        "the candle_blocks table is damaged (delete its rows to rebuild it)")
    values = words[n:].view("<f8")
    return words[:n], [values[i * n:(i + 1) * n] for i in range(5)]


def _empty() -> Columns:
    return np.empty(0, dtype=np.int64), [np.empty(0, dtype=np.float64) for _ in range(5)]


def _concat(parts: list[Columns]) -> Columns:
    """The parts one after another, as new contiguous (writable) arrays."""
    if not parts:
        return _empty()
    ts = np.concatenate([p[0] for p in parts]).astype(np.int64, copy=False)
    return ts, [np.concatenate([p[1][i] for p in parts]).astype(np.float64, copy=False)
                for i in range(5)]


def _between(cols: Columns, start_ms: int | None, end_ms: int | None) -> Columns:
    ts, floats = cols
    a = 0 if start_ms is None else int(np.searchsorted(ts, start_ms, side="left"))
    b = len(ts) if end_ms is None else int(np.searchsorted(ts, end_ms, side="left"))
    if a == 0 and b == len(ts):
        return cols
    return ts[a:b], [f[a:b] for f in floats]


async def fetch(conn: Any, postgres: bool, sql: str, params: list[object]) -> list[Any]:
    if postgres:
        return list(await conn.fetch(sql, *params))
    cursor = await conn.execute(sql, params)
    cursor.row_factory = None  # plain tuples (Tortoise sets sqlite3.Row on the connection)
    try:
        return list(await cursor.fetchall())
    finally:
        await cursor.close()


def _ph(postgres: bool, n: int) -> list[str]:
    return [f"${i + 1}" if postgres else "?" for i in range(n)]


async def _stored_blocks(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                         lo: int, hi: int) -> dict[int, Columns]:
    """The stored blocks numbered ``lo..hi``, decoded (read-only views of their bytes)."""
    p = _ph(postgres, 5)
    rows = await fetch(conn, postgres,
                        f"SELECT block, n, data FROM candle_blocks WHERE exchange = {p[0]} AND "
                        f"symbol = {p[1]} AND timeframe = {p[2]} AND block >= {p[3]} AND "
                        f"block <= {p[4]}", [exchange, symbol, tf, lo, hi])
    return {int(r[0]): _decode_block(bytes(r[2]), int(r[1])) for r in rows}


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers as runs of consecutive ones: ``(first, last)``."""
    runs: list[tuple[int, int]] = []
    for k in numbers:
        if runs and runs[-1][1] == k - 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    return runs


def _split(cols: Columns, span: int) -> dict[int, Columns]:
    """Candles (sorted) as blocks: number -> the block's columns (views)."""
    ts, floats = cols
    if len(ts) == 0:
        return {}
    numbers = ts // span
    cuts = np.flatnonzero(np.diff(numbers)) + 1
    edges = [0, *cuts.tolist(), len(ts)]
    return {int(numbers[a]): (ts[a:b], [f[a:b] for f in floats])
            for a, b in itertools.pairwise(edges)}


async def _rows_of_blocks(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                          numbers: list[int]) -> dict[int, Columns]:
    """The candles of market_data in the blocks ``numbers`` (those with any)."""
    span = block_span_ms(tf)
    found: dict[int, Columns] = {}
    for first, last in _runs(sorted(numbers)):
        cols = await select_rows(conn, postgres, exchange, symbol, tf, first * span,
                                  (last + 1) * span, 5)
        found.update(_split(cols, span))
    return found


async def _put_blocks(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                      blocks: dict[int, Columns]) -> None:
    rows = [(exchange, symbol, tf, k, len(ts), _encode_block(ts, floats))
            for k, (ts, floats) in sorted(blocks.items()) if len(ts)]
    if not rows:
        return
    p = _ph(postgres, 6)
    values = f"VALUES ({', '.join(p)})"
    columns = "(exchange, symbol, timeframe, block, n, data)"
    if postgres:
        await conn.executemany(
            f"INSERT INTO candle_blocks {columns} {values} ON CONFLICT (exchange, symbol, "
            "timeframe, block) DO UPDATE SET n = EXCLUDED.n, data = EXCLUDED.data", rows)
    else:
        await conn.executemany(f"INSERT OR REPLACE INTO candle_blocks {columns} {values}", rows)


async def blocks_before_write(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                               c: Candles) -> dict[int, Columns]:
    """What the blocks a write of ``c`` touches hold before it (inside its transaction)."""
    span = block_span_ms(tf)
    lo, hi = int(c.ts[0]) // span, int(c.ts[-1]) // span
    stored = await _stored_blocks(conn, postgres, exchange, symbol, tf, lo, hi)
    missing = [k for k in range(lo, hi + 1) if k not in stored]
    if missing:
        stored.update(await _rows_of_blocks(conn, postgres, exchange, symbol, tf, missing))
    return stored


async def blocks_after_write(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                              c: Candles, before: dict[int, Columns]) -> None:
    """Store the blocks touched by a write of ``c``: what they held, plus the candles of ``c``
    at times they did not hold (the first write wins, as in market_data)."""
    span = block_span_ms(tf)
    written = _split((c.ts, [c.open, c.high, c.low, c.close, c.volume]), span)
    merged: dict[int, Columns] = {}
    for k, (ts, floats) in written.items():
        old = before.get(k)
        if old is None or len(old[0]) == 0:
            merged[k] = (ts, floats)
            continue
        old_ts = old[0]
        if ts[0] > old_ts[-1]:  # appending: the usual case
            merged[k] = _concat([old, (ts, floats)])
            continue
        keep = ~np.isin(ts, old_ts)
        both = _concat([old, (ts[keep], [f[keep] for f in floats])])
        order = np.argsort(both[0], kind="stable")
        merged[k] = (both[0][order], [f[order] for f in both[1]])
    await _put_blocks(conn, postgres, exchange, symbol, tf, merged)


async def _build_blocks(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                        missing: list[int]) -> dict[int, Columns]:
    """Build the blocks ``missing`` from market_data and store them, fenced against writers
    of the series; the candles of those blocks."""
    if postgres:
        async with conn.transaction():
            await conn.execute(PG_LOCK, f"market_data|{exchange}|{symbol}|{tf}")
            built = await _rows_of_blocks(conn, True, exchange, symbol, tf, missing)
            await _put_blocks(conn, True, exchange, symbol, tf, built)
        return built
    try:
        await conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # locked by another process for too long: just read
        return await _rows_of_blocks(conn, False, exchange, symbol, tf, missing)
    try:
        built = await _rows_of_blocks(conn, False, exchange, symbol, tf, missing)
        await _put_blocks(conn, False, exchange, symbol, tf, built)
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()
    return built


async def _edge(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                start_ms: int | None, end_ms: int | None, last: bool) -> int | None:
    where, params = where_sql(postgres, exchange, symbol, tf, start_ms, end_ms)
    rows = await fetch(conn, postgres, "SELECT ts FROM market_data WHERE " + " AND ".join(where)
                        + (" ORDER BY ts DESC LIMIT 1" if last else " ORDER BY ts LIMIT 1"),
                        params)
    return int(rows[0][0]) if rows else None



async def read_blocks(conn: Any, postgres: bool, exchange: str, symbol: str, tf: str,
                      start_ms: int | None, end_ms: int | None) -> Columns:
    """The candles of ``[start_ms, end_ms)`` through the blocks (building the missing ones),
    on a connection of the caller's (aiosqlite in autocommit mode, or asyncpg)."""
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        return _empty()
    span = block_span_ms(tf)
    # the range narrowed to the stored candles: two reads of the unique index
    first = await _edge(conn, postgres, exchange, symbol, tf, start_ms, end_ms, last=False)
    if first is None:
        return _empty()
    last = await _edge(conn, postgres, exchange, symbol, tf, start_ms, end_ms, last=True)
    assert last is not None
    lo, hi = first // span, last // span
    blocks = await _stored_blocks(conn, postgres, exchange, symbol, tf, lo, hi)
    missing = [k for k in range(lo, hi + 1) if k not in blocks]
    if missing:
        blocks.update(await _build_blocks(conn, postgres, exchange, symbol, tf, missing))
    parts = [_between(blocks[k], start_ms, end_ms) for k in sorted(blocks)]
    if sum(len(p[0]) for p in parts) > ROWS_ON_LOOP * 10:  # ~20 ms of copying: a thread
        return await asyncio.to_thread(_concat, parts)
    return _concat(parts)
