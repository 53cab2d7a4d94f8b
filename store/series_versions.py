"""A version per candle series, kept in the database: ``candle_series_versions``.

``store.candles`` bumps a series' version in the same transaction as every change to its
candles (:func:`bump`: a write that stored new candles, a delete), so a copy of candles read
under version ``v`` is exact for as long as :func:`series_version` still answers ``v``, whichever
process (API, worker, a ``backtest data sync`` in a shell) changes them. Stored candles are
otherwise never changed (the first write of a bar wins), and ``store.candles`` is their only
writer. The in-memory cache of candle arrays (``tasks.cache.memory``) reads it, one primary-key
lookup, before each read it serves.

Versions only ever grow: never delete rows of this table (a version back at an earlier value
could match a copy read then).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import asyncpg
from tortoise.exceptions import OperationalError

from store.connection import connection, is_postgres

TABLE = "candle_series_versions"

_BUMP = (f"INSERT INTO {TABLE} (exchange, symbol, timeframe, version) VALUES ({{0}}, {{1}}, "
         "{2}, 1) ON CONFLICT (exchange, symbol, timeframe) DO UPDATE SET version = "
         f"{TABLE}.version + 1")
_BUMP_PG = _BUMP.format("$1", "$2", "$3")
_BUMP_SQLITE = _BUMP.format("?", "?", "?")
_READ = f"SELECT version FROM {TABLE} WHERE exchange = {{}} AND symbol = {{}} AND timeframe = {{}}"


async def bump(conn: Any, postgres: bool, series: Iterable[tuple[str, str, str]]) -> None:
    """Add 1 to the version of each ``(exchange, symbol, timeframe)``, on the caller's
    connection and in its transaction (in key order: two writers lock them in one order)."""
    rows = sorted(set(series))
    if not rows:
        return
    if postgres:
        await conn.executemany(_BUMP_PG, rows)
    else:
        await conn.executemany(_BUMP_SQLITE, rows)


async def series_version(exchange: str, symbol: str, timeframe: str) -> int | None:
    """The series' version (0 before any change); None when this database has no such table
    yet (``backtest db migrate`` adds it): then nothing may be served from memory."""
    client = connection()
    try:
        if is_postgres(client):
            async with client.acquire_connection() as conn:
                value = await conn.fetchval(_READ.format("$1", "$2", "$3"), exchange, symbol,
                                            timeframe)
        else:
            rows = await client.execute_query(_READ.format("?", "?", "?"),
                                              [exchange, symbol, timeframe])
            value = rows[1][0]["version"] if rows[1] else None
    except (asyncpg.UndefinedTableError, sqlite3.OperationalError, OperationalError):
        return None
    return 0 if value is None else int(value)
