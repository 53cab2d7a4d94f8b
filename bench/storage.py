"""Storage benchmark on PostgreSQL: the candle bulk path against Tortoise's ORM, same run.

Run with ``.venv/bin/python bench/storage.py [--rows N] [--baseline-rows M]``. It uses
``DATABASE_URL`` when that names a PostgreSQL database (writing under exchange ``bench`` and
deleting those rows afterwards); otherwise it creates a temporary database on ``--server``
(default ``postgres://postgres@127.0.0.1:5432``), migrates it, and drops it at the end.

Figures (targets from issue 3):

* write N candles through ``store.candles.write_candles`` (COPY + INSERT ... SELECT) against
  ``MarketData.bulk_create``: at least 10x faster, and N = 1,000,000 in under 10 s. Both start
  from the same ``Candles`` (building the model objects counts). The ratio that is judged uses
  ``bulk_create(ignore_conflicts=True)``, the ORM's idempotent equivalent of ``write_candles``;
  the plain, non-idempotent ``bulk_create`` is printed too;
* read N candles into the engine's arrays through ``store.candles.read_candles`` (binary COPY
  out, viewed by numpy) against fetching ``MarketData`` objects and building the same arrays:
  at least 10x faster, and under 2 s;
* a sync of 100,000 1m candles from the fake Binance of the tests (``tests/tasks/fake_binance.py``)
  through ccxt into the database: candles per second.

The ORM baselines are slow and memory-hungry (1,000,000 model objects), so by default they run on
``--baseline-rows`` (100,000) rows and their time is scaled linearly to N; the output says so.
Pass ``--baseline-rows`` equal to ``--rows`` to measure them in full.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from pathlib import Path

import asyncpg
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cli  # noqa: E402, F401  (keys numba's cache by the engine's sources)
from domain.candles import Candles  # noqa: E402
from domain.demo import demo_candles  # noqa: E402
from store.candles import delete_candles, read_candles, write_candles  # noqa: E402
from store.db import close_db, db_info, migrate  # noqa: E402
from store.models import MarketData  # noqa: E402
from store.settings import Settings, get_settings  # noqa: E402
from tasks.market.exchange import make_exchange  # noqa: E402
from tasks.market.store import StoreSink  # noqa: E402
from tasks.market.sync import sync  # noqa: E402
from tests.tasks.fake_binance import FakeBinance  # noqa: E402

EXCHANGE = "bench"
TIMEFRAME = "1m"


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(f"{server.rstrip('/')}/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _orm_rows(c: Candles, symbol: str) -> list[MarketData]:
    return [MarketData(exchange=EXCHANGE, symbol=symbol, timeframe=TIMEFRAME, ts=t, open=o,
                       high=h, low=lo, close=cl, volume=v)
            for t, o, h, lo, cl, v in zip(c.ts.tolist(), c.open.tolist(), c.high.tolist(),
                                          c.low.tolist(), c.close.tolist(), c.volume.tolist(),
                                          strict=True)]


async def _orm_read(symbol: str, limit: int) -> Candles:
    objs = await MarketData.filter(exchange=EXCHANGE, symbol=symbol, timeframe=TIMEFRAME
                                   ).order_by("ts").limit(limit)
    n = len(objs)
    cols = {name: np.fromiter((getattr(o, name) for o in objs), dtype=np.float64, count=n)
            for name in ("open", "high", "low", "close", "volume")}
    ts = np.fromiter((o.ts for o in objs), dtype=np.int64, count=n)
    return Candles(ts, cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"],
                   symbol, TIMEFRAME)


def _line(label: str, seconds: float, rows: int, note: str = "") -> None:
    rate = rows / seconds if seconds > 0 else float("inf")
    print(f"  {label:<44} {seconds:8.2f} s  {rate:12,.0f} rows/s  {note}")


async def run(settings: Settings, rows: int, baseline_rows: int) -> bool:
    await migrate(settings)
    info = await db_info()
    print(f"database: {info['url']} ({info['market_data_storage']})")
    print(f"{rows:,} synthetic 1m candles; ORM baselines on {baseline_rows:,} rows"
          + (f", scaled x{rows / baseline_rows:g} to {rows:,}" if baseline_rows != rows else ""))
    candles = demo_candles(n_bars=rows, timeframe=TIMEFRAME, seed=1, symbol="BENCH/USDT")
    base = candles.take(0, baseline_rows)
    await delete_candles(EXCHANGE)
    try:
        print("write")
        t0 = time.perf_counter()
        assert await write_candles(EXCHANGE, "BENCH/USDT", TIMEFRAME, candles) == rows
        bulk_write = time.perf_counter() - t0
        _line("store.candles.write_candles (new rows)", bulk_write, rows)
        t0 = time.perf_counter()
        assert await write_candles(EXCHANGE, "BENCH/USDT", TIMEFRAME, candles) == 0
        _line("write_candles again (all already stored)", time.perf_counter() - t0, rows)
        scaled = "(scaled)" if baseline_rows != rows else ""
        t0 = time.perf_counter()  # from the same Candles: building the objects is part of it
        await MarketData.bulk_create(_orm_rows(base, "ORM/USDT"), batch_size=10_000)
        orm_plain = (time.perf_counter() - t0) * rows / baseline_rows
        _line("MarketData.bulk_create", orm_plain, rows, scaled)
        t0 = time.perf_counter()
        await MarketData.bulk_create(_orm_rows(base, "ORMI/USDT"), batch_size=10_000,
                                     ignore_conflicts=True)
        orm_write = (time.perf_counter() - t0) * rows / baseline_rows
        _line("MarketData.bulk_create(ignore_conflicts)", orm_write, rows,
              f"{scaled} idempotent, like write_candles")

        print("read")
        t0 = time.perf_counter()
        got = await read_candles(EXCHANGE, "BENCH/USDT", TIMEFRAME)
        bulk_read = time.perf_counter() - t0
        assert len(got) == rows and np.array_equal(got.close, candles.close)
        _line("store.candles.read_candles", bulk_read, rows)
        t0 = time.perf_counter()
        orm = await _orm_read("BENCH/USDT", baseline_rows)
        orm_read = (time.perf_counter() - t0) * rows / baseline_rows
        assert np.array_equal(orm.close, base.close)
        _line("MarketData objects -> arrays", orm_read, rows, scaled)
    finally:
        await delete_candles(EXCHANGE)

    print("sync from the fake Binance (ccxt over HTTP on 127.0.0.1, into this database)")
    await _sync_bench(SYNC_CANDLES)
    print(f"  (write speed-up vs plain bulk_create, which is not idempotent: "
          f"{orm_plain / bulk_write:.1f}x)")
    checks = [
        ("write speed-up vs idempotent bulk_create", orm_write / bulk_write, ">= 10x",
         orm_write / bulk_write >= 10),
        ("write time", bulk_write, "< 10 s for 1M", bulk_write * 1_000_000 / rows < 10),
        ("read speed-up vs ORM objects", orm_read / bulk_read, ">= 10x",
         orm_read / bulk_read >= 10),
        ("read time", bulk_read, "< 2 s for 1M", bulk_read * 1_000_000 / rows < 2),
    ]
    print("targets")
    for label, value, target, ok in checks:
        unit = "x" if "speed-up" in label else " s"
        print(f"  {label:<42} {value:8.1f}{unit}  target {target:<14} {'ok' if ok else 'MISSED'}")
    return all(ok for *_, ok in checks)


SYNC_CANDLES = 100_000


async def _sync_bench(n: int) -> float:
    """Sync ``n`` 1m candles from the fake Binance through ccxt into the store; candles/s."""
    fake = FakeBinance(seed=3)
    fake.now_ms = fake.start_ms + n * 60_000 + 30_000  # n closed bars, the next one open
    fake.start()
    exchange = make_exchange("binance", rest_url=fake.rest_url, ws_url=fake.ws_url,
                             config={"rateLimit": 1})
    exchange.timeout_on_exit = 0
    try:
        t0 = time.perf_counter()
        report = await sync(exchange, "BTC/USDT", "1m", fake.start_ms, sink=StoreSink())
        seconds = time.perf_counter() - t0
    finally:
        await exchange.close()
        fake.stop()
        await delete_candles("binance", "BTC/USDT")
    assert report.candles_written == n, report
    _line(f"sync {n:,} candles ({report.pages} pages of 1,000)", seconds, n,
          "ccxt rate limiter at 1 ms; Binance's own 50 ms limit makes real syncs slower")
    return n / seconds


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server for the temporary database")
    args = parser.parse_args()
    baseline_rows = min(args.baseline_rows, args.rows)
    settings = get_settings()
    temp_db = None
    if settings.backend != "postgresql":
        temp_db = f"bt_bench_{secrets.token_hex(4)}"
        await _admin(args.server, f'CREATE DATABASE "{temp_db}"')
        settings = Settings(database_url=f"{args.server.rstrip('/')}/{temp_db}")
    try:
        ok = await run(settings, args.rows, baseline_rows)
    finally:
        await close_db()
        if temp_db:
            await _admin(args.server, f'DROP DATABASE IF EXISTS "{temp_db}" WITH (FORCE)')
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
