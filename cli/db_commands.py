"""``backtest db ...`` and ``backtest data import|list``: the database from the command line.

Each command opens the database named by ``DATABASE_URL`` (default: the SQLite file under
``DATA_DIR``), does its work in one ``asyncio.run`` and always closes the connection. Expected
failures (an unreachable server, missing tables, a bad file) raise ``DomainError`` or
``UsageError`` with a message that says what to do; ``cli.main`` prints it.

Arguments read from ``args`` (``getattr`` defaults in brackets):

* ``cmd_db_migrate``: ``seed_demo`` [False] also writes the demo candles when they are missing.
* ``cmd_db_info``: ``json`` [False] prints the ``store.db.db_info()`` dict as JSON.
* ``cmd_data_import``: ``file``, ``symbol``, ``timeframe`` [None: inferred], ``exchange``
  ["binance"].
* ``cmd_data_list``: ``exchange``, ``symbol``, ``timeframe`` [None: all], ``json`` [False].
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from cli.errors import UsageError
from cli.inputs import iso, load_candles
from domain.timeframes import parse_timeframe
from store.candles import Coverage, coverage
from store.db import close_db, database, db_info, migrate
from store.seed import DEMO_EXCHANGE, DEMO_SYMBOL, DEMO_TIMEFRAME, seed_demo_if_empty
from store.settings import get_settings
from tasks.cache.candles import open_cache, write_candles_and_invalidate

T = TypeVar("T")
DEFAULT_EXCHANGE = "binance"


def with_db(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` in one ``asyncio.run`` with the database of ``DATABASE_URL`` open (always
    closed after)."""

    async def run() -> T:
        async with database():
            return await work()

    return asyncio.run(run())


def table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """``rows`` under ``header`` in aligned columns (the columns in ``right`` right-aligned)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                  for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in [header, *rows])


def cmd_db_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations (and the PostgreSQL extras of market_data)."""
    seed = bool(getattr(args, "seed_demo", False))

    async def run() -> tuple[list[str], dict[str, Any], int]:
        try:
            applied = await migrate()
            seeded = await seed_demo_if_empty() if seed else 0
            if seeded:
                async with open_cache(get_settings()) as cache:
                    await cache.invalidate_series(DEMO_EXCHANGE, DEMO_SYMBOL, DEMO_TIMEFRAME)
            return applied, await db_info(), seeded
        finally:
            await close_db()

    applied, info, seeded = asyncio.run(run())
    where = f"{info['backend']} {info['url']}"
    if applied:
        print(f"{where}: applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print(f"{where}: up to date ({len(info['migrations']['applied'])} migration(s) applied)")
    print(f"market data: {info['market_data_storage']}")
    if seeded:
        print(f"seeded {seeded:,} demo candles ({DEMO_EXCHANGE} {DEMO_SYMBOL})")
    return 0


def cmd_db_info(args: argparse.Namespace) -> int:
    """Print the backend, the URL (no password), how market data is stored, and the tables."""
    info = with_db(db_info)
    if getattr(args, "json", False):
        print(json.dumps(info, indent=2))
        return 0
    migrations = info["migrations"]
    lines = [
        f"backend:      {info['backend']} ({info['server_version'].split(' on ')[0]})",
        f"url:          {info['url']}",
        f"market data:  {info['market_data_storage']}",
    ]
    if info["timescaledb"] is not None:
        lines.append(f"timescaledb:  {info['timescaledb']}")
    lines.append(f"migrations:   {len(migrations['applied'])} applied, "
                 f"{len(migrations['pending'])} pending"
                 + (" (run `backtest db migrate`)" if migrations["pending"] else ""))
    rows = [[name, "missing" if n is None else f"{n:,}"] for name, n in info["tables"].items()]
    print("\n".join(lines))
    print("tables:")
    print("\n".join("  " + line for line in table(["table", "rows"], rows, {1}).splitlines()))
    return 0


def cmd_data_import(args: argparse.Namespace) -> int:
    """Read a candle CSV (a Binance kline dump or a plain CSV) and store it in the database."""
    symbol = (args.symbol or "").strip()
    if not symbol:
        raise UsageError("--symbol is required, e.g. --symbol BTC/USDT")
    exchange = (getattr(args, "exchange", None) or DEFAULT_EXCHANGE).strip()
    tf = parse_timeframe(args.timeframe) if getattr(args, "timeframe", None) else None
    candles = load_candles(args.file, symbol=symbol, timeframe=tf)
    if len(candles) == 0:
        raise UsageError(f"{args.file}: no candles in the file")

    async def work() -> int:
        async with open_cache(get_settings()) as cache:  # new candles invalidate cached ranges
            return await write_candles_and_invalidate(cache, exchange, symbol,
                                                      candles.timeframe, candles)

    new = with_db(work)
    print(f"{args.file}: {len(candles):,} {candles.timeframe} candles of {exchange} {symbol}, "
          f"{new:,} new, {len(candles) - new:,} already stored "
          f"({iso(int(candles.ts[0]))} .. {iso(int(candles.ts[-1]))})")
    return 0


def _gaps(c: Coverage) -> str:
    return f"{len(c.missing)} ({c.missing_bars:,} bars)" if c.missing else "0"


def cmd_data_list(args: argparse.Namespace) -> int:
    """Print what market data is stored: one row per exchange, symbol and timeframe."""
    tf = getattr(args, "timeframe", None)

    async def work() -> list[Coverage]:
        return await coverage(getattr(args, "exchange", None), getattr(args, "symbol", None),
                              parse_timeframe(tf) if tf else None)

    series = with_db(work)
    if getattr(args, "json", False):
        print(json.dumps([{
            "exchange": c.exchange, "symbol": c.symbol, "timeframe": c.timeframe,
            "first": iso(c.first_ts), "last": iso(c.last_ts), "count": c.count,
            "missing": [[iso(a), iso(b)] for a, b in c.missing]} for c in series], indent=2))
        return 0
    if not series:
        print("no market data stored yet: add some with `backtest data import FILE --symbol ...` "
              "or `backtest data sync SYMBOL TIMEFRAME --since DATE`")
        return 0
    header = ["exchange", "symbol", "timeframe", "first", "last", "count", "gaps"]
    rows = [[c.exchange, c.symbol, c.timeframe, iso(c.first_ts), iso(c.last_ts), f"{c.count:,}",
             _gaps(c)] for c in series]
    print(table(header, rows, {5}))
    return 0
