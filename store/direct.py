"""Reading stored candles on a connection of its own, without the ORM.

A command that reads one range of candles and exits (``backtest run --symbol ...``) would spend
more time importing and starting Tortoise (about 0.3 s) than reading a year of minutes through
``candle_blocks`` (``store.candle_blocks``, 40-90 ms). :func:`read_candles_direct` opens the
driver's connection itself (aiosqlite in autocommit mode, as Tortoise opens it, or asyncpg),
reads and closes it. Everything else goes through ``store.db`` and ``store.candles``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from domain.candles import Candles
from domain.timeframes import parse_timeframe
from store import candle_blocks
from store.errors import (
    DatabaseUnavailable,
    SchemaNotReady,
    UnsupportedDatabase,
    unreachable_message,
)
from store.settings import Settings

_NO_TABLE = ("no such table", "does not exist")


def _not_migrated(settings: Settings, table: str = "market_data") -> SchemaNotReady:
    return SchemaNotReady(f"the database {settings.safe_database_url} has no {table} table: "
                          "run `backtest db migrate` first")


async def read_candles_direct(settings: Settings, exchange: str, symbol: str, timeframe: str,
                              start_ms: int | None = None, end_ms: int | None = None) -> Candles:
    """``store.candles.read_candles`` of the database of ``settings``, on a connection opened
    for it (no Tortoise); :class:`DatabaseUnavailable` or :class:`SchemaNotReady` as
    ``store.db.init_db`` and ``read_candles`` would say them."""
    import asyncpg  # both drivers lazily: a SQLite user never imports asyncpg

    tf = parse_timeframe(timeframe)
    postgres = settings.backend == "postgresql"
    try:
        conn = await _connect(settings, postgres)
    except (OSError, asyncpg.PostgresError, sqlite3.Error) as err:
        raise DatabaseUnavailable(unreachable_message(settings, err)) from err
    try:
        ts, (o, h, lo, c, v) = await candle_blocks.read_blocks(conn, postgres, exchange, symbol,
                                                               tf, start_ms, end_ms)
    except (asyncpg.UndefinedTableError, sqlite3.OperationalError) as err:
        text = str(err)
        table = next((t for t in ("market_data", "candle_blocks") if t in text), None)
        if table is None or not any(s in text for s in _NO_TABLE):
            raise
        raise _not_migrated(settings, table) from err
    finally:
        await conn.close()
    return Candles(ts, o, h, lo, c, v, symbol=symbol, timeframe=tf)


async def _connect(settings: Settings, postgres: bool) -> Any:
    if postgres:
        import asyncpg

        return await asyncpg.connect(settings.database_url, timeout=10)
    if settings.backend != "sqlite":
        raise UnsupportedDatabase(f"DATABASE_URL {settings.safe_database_url}: unsupported "
                                  f"backend {settings.backend!r}")
    import aiosqlite

    path = settings.database_url.split("://", 1)[1].split("?", 1)[0]
    if path in ("", ":memory:") or not Path(path).exists():  # nothing migrated there
        raise _not_migrated(settings)
    return await aiosqlite.connect(path, isolation_level=None)
