"""Transaction replay benchmark on PostgreSQL: import 100,000 transactions and replay them over
one year of 1-minute candles, end to end, against a plain-Python replay of the same data.

Run with ``.venv/bin/python bench/replay.py [--transactions N] [--bars M] [--server URL]``. It
creates a temporary database on ``--server`` (default ``postgres://postgres@127.0.0.1:5432``),
migrates it and drops it at the end. Setup (not timed): BTC/USDT and BNB/USDT 1m candles
(525,600 each) stored under the exchange ``bench``, a user, and a plain CSV of N fills at random
times of the year (buys and sells, fees in USDT, BTC or BNB, with trade ids).

Timed, end to end (target: under 5 s):

* **import**: ``tasks.imports.transactions.import_transactions`` on the CSV's bytes: parse and
  check every row, look up what is stored, COPY the batch into ``transaction_histories``;
* **replay**: ``tasks.jobs.replay_submit.queue_replay`` then ``tasks.jobs.lifecycle.run_job("replay", ...)``
  (in a thread, as a Celery worker runs it): read the fills and both candle series back, replay
  the account as it was and a what-if (typical price, 10 bps fee, 5 bps slippage, 1 bar
  delay), compute both accounts' metrics, save the curves, the per-fill table (N rows) and the
  round trips in one transaction.

The baseline, measured in the same run: a plain-Python replay of the same transactions over the
same candles in memory (no database): FIFO lots in a deque, the same fee conversions and fill
model, per-bar equity, realized and unrealized PnL, for the actual account and the what-if, as
the job computes them. Its final equities are checked against the job's.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import secrets
import sys
import time
from collections import deque
from pathlib import Path

import asyncpg
import numpy as np

from tasks.jobs.lifecycle import run_job

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


import cli  # noqa: E402, F401  (keys numba's cache by the engine's sources)
from domain.candles import Candles  # noqa: E402
from domain.replay import Fills, ReplayModel, align_prices, what_if  # noqa: E402
from domain.transactions.importers import parse_transactions  # noqa: E402
from domain.transactions.model import Transaction  # noqa: E402
from store import replays as store_replays  # noqa: E402
from store.candles import read_candles, write_candles  # noqa: E402
from store.db import close_db, migrate  # noqa: E402
from store.scope import ALL_OWNERS  # noqa: E402
from store.settings import Settings  # noqa: E402
from store.transactions import read_fills  # noqa: E402
from store.users import create_user  # noqa: E402
from tasks.imports.transactions import ImportRequest, import_transactions  # noqa: E402
from tasks.jobs.replay_submit import ReplayRequest, queue_replay  # noqa: E402
from tasks.messaging.broadcast import MemoryBroadcaster  # noqa: E402

START = 1_704_067_200_000  # 2024-01-01
MINUTE = 60_000
EXCHANGE = "bench"
MODEL = {"fill": "typical", "fee_bps": 10.0, "slippage_bps": 5.0, "delay_bars": 1}


def make_candles(n: int, price: float, seed: int, symbol: str) -> Candles:
    rng = np.random.default_rng(seed)
    close = price * np.exp(np.cumsum(rng.normal(0.0, 0.0008, n)))
    open_ = np.concatenate([[price], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.0005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.0005, n))
    ts = START + np.arange(n, dtype=np.int64) * MINUTE
    return Candles(ts, open_, high, low, close, rng.uniform(1, 10, n), symbol, "1m")


def make_csv(n: int, btc: Candles) -> bytes:
    rng = np.random.default_rng(7)
    t = np.sort(rng.integers(START, int(btc.ts[-1]) + MINUTE, n))
    bar = (t - START) // MINUTE
    price = btc.close[bar] * (1 + rng.normal(0, 0.0003, n))
    qty = rng.uniform(0.001, 0.2, n)
    side = np.where(rng.random(n) < 0.5, "buy", "sell")
    asset = rng.choice(np.array(["USDT", "BTC", "BNB"]), n)
    fee = np.where(asset == "USDT", 0.001 * qty * price,
                   np.where(asset == "BTC", 0.001 * qty, 0.00075 * qty * price / 300.0))
    lines = ["timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id"]
    lines += [f"{a},BTC/USDT,{b},{c!r},{d!r},{e!r},{f},{i}" for i, (a, b, c, d, e, f) in
              enumerate(zip(t.tolist(), side.tolist(), price.tolist(), qty.tolist(),
                            fee.tolist(), asset.tolist(), strict=True))]
    return ("\n".join(lines) + "\n").encode()


def plain_replay(txs: list[Transaction], c: Candles, bnb: Candles, capital: float, fill: str,
                 fee_rate: float | None, slip: float, delay: int) -> tuple[float, list[float]]:
    """The replay in plain Python (see the module docstring): final equity and the per-bar
    equity."""
    ts, op, hi, lo, cl = (a.tolist() for a in (c.ts, c.open, c.high, c.low, c.close))
    bnb_close = dict(zip(bnb.ts.tolist(), bnb.close.tolist(), strict=True))
    n = len(ts)
    fills = []
    for tx in txs:
        j = bisect.bisect_right(ts, tx.time_ms) - 1
        k = j + delay
        if k >= n:
            continue
        s = 1.0 if tx.side == "buy" else -1.0
        base_fee = tx.fee if tx.fee_asset == "BTC" else 0.0
        q = tx.quantity - s * base_fee
        p = {"actual": tx.price, "open": op[k], "close": cl[k],
             "typical": (hi[k] + lo[k] + cl[k]) / 3.0}[fill] * (1.0 + s * slip)
        if fee_rate is not None:
            f = fee_rate * q * p
        elif tx.fee_asset == "USDT":
            f = tx.fee
        elif tx.fee_asset == "BTC":
            f = tx.fee * p
        else:
            f = tx.fee * bnb_close[ts[k]]
        fills.append((k, s * q, p, f))
    lots: deque[list[float]] = deque()  # [signed quantity, price]
    cash, pos, cost, realized = capital, 0.0, 0.0, 0.0
    equity: list[float] = []
    i = 0
    for j in range(n):
        while i < len(fills) and fills[i][0] == j:
            _, dq, p, f = fills[i]
            i += 1
            cash -= dq * p + f
            realized -= f
            left = dq
            while left and lots and (lots[0][0] > 0) != (left > 0):
                lot = lots[0]
                take = min(abs(lot[0]), abs(left))
                d = 1.0 if lot[0] > 0 else -1.0
                realized += d * take * (p - lot[1])
                cost -= d * take * lot[1]
                lot[0] -= d * take
                left += d * take
                if abs(lot[0]) <= 1e-12:
                    lots.popleft()
            if abs(left) > 1e-12:
                lots.append([left, p])
                cost += left * p
            pos += dq
        unrealized = pos * cl[j] - cost
        equity.append(capital + realized + unrealized)
        assert abs(equity[-1] - (cash + pos * cl[j])) < 1e-6 * max(1.0, abs(cash))
    return equity[-1], equity


async def run(settings: Settings, n_tx: int, n_bars: int) -> bool:
    await migrate(settings)
    btc = make_candles(n_bars, 42_000.0, 1, "BTC/USDT")
    bnb = make_candles(n_bars, 300.0, 2, "BNB/USDT")
    print(f"setup: storing {n_bars:,} 1m candles of BTC/USDT and of BNB/USDT ...", flush=True)
    await write_candles(EXCHANGE, "BTC/USDT", "1m", btc)
    await write_candles(EXCHANGE, "BNB/USDT", "1m", bnb)
    user = await create_user("bench@x.io", None)
    data = make_csv(n_tx, btc)

    t0 = time.perf_counter()
    batch = await import_transactions(ImportRequest(user.id, data, "plain_csv", "bench",
                                                    "bench.csv", EXCHANGE), settings)
    t1 = time.perf_counter()
    events = MemoryBroadcaster()
    record = await queue_replay(user.id, user.id, ReplayRequest(
        symbol="BTC/USDT", timeframe="1m", exchange=EXCHANGE, **MODEL), _Nowhere(), events)  # type: ignore[arg-type]
    await run_job("replay", record.id, events)
    t2 = time.perf_counter()
    done = await store_replays.get_replay(record.id, owner=ALL_OWNERS)
    assert done is not None and done.result is not None, done
    if done.error:
        print(f"replay failed: {done.error}")
        return False
    assert batch.n_stored == n_tx

    # where the time goes (measured again, separately)
    p0 = time.perf_counter()
    txs = parse_transactions(data, "plain_csv")
    p1 = time.perf_counter()
    await read_fills("BTC/USDT", (), done.start_ms, done.end_ms, owner=user.id)
    p2 = time.perf_counter()
    await read_candles(EXCHANGE, "BTC/USDT", "1m", done.start_ms, done.end_ms)
    p3 = time.perf_counter()

    # the baseline: plain Python, in memory, the actual account and the what-if
    candles = btc.slice_time(done.start_ms, done.end_ms)
    fills = Fills.from_transactions(txs, "BTC/USDT")
    conversions = {"BNB": align_prices(candles, bnb)}
    model = ReplayModel("typical", 0.001, 0.0005, 1)
    what_if(fills, candles, 10_000.0, model, conversions=conversions)  # numba's cache loaded
    c0 = time.perf_counter()
    what_if(fills, candles, 10_000.0, model, conversions=conversions)
    c1 = time.perf_counter()
    b0 = time.perf_counter()
    actual, _ = plain_replay(txs, candles, bnb, 10_000.0, "actual", None, 0.0, 0)
    replayed, _ = plain_replay(txs, candles, bnb, 10_000.0, "typical", 0.001, 0.0005, 1)
    b1 = time.perf_counter()
    got = done.result
    agree = (abs(got["actual_summary"]["final_equity"] - actual) < 1e-6 * abs(actual)
             and abs(got["summary"]["final_equity"] - replayed) < 1e-6 * abs(replayed))

    total, base = t2 - t0, b1 - b0
    print(f"{n_tx:,} transactions, {len(candles):,} 1m bars, PostgreSQL")
    print(f"  import (parse + store)         {t1 - t0:7.2f} s   (parse alone {p1 - p0:.2f} s)")
    print(f"  replay job (load, replay, save) {t2 - t1:6.2f} s   (fills read {p2 - p1:.2f} s, "
          f"candles read {p3 - p2:.2f} s per series)")
    print(f"  end to end                     {total:7.2f} s   target < 5 s: "
          f"{'met' if total < 5 else 'NOT met'}")
    print(f"  plain-Python replay (memory)   {base:7.2f} s   (actual + what-if)")
    print(f"  ratio end to end / plain-Python replay: {total / base:.2f}x")
    print(f"  the replay computation alone (what_if, in memory): {c1 - c0:.3f} s, "
          f"{base / (c1 - c0):.0f}x faster than the plain-Python replay")
    print(f"  final equities agree with the plain-Python replay: {'yes' if agree else 'NO'} "
          f"(actual {actual:,.2f}, what-if {replayed:,.2f})")
    return agree and total < 5


class _Nowhere:
    """The bench runs the job itself."""

    async def submit_replay(self, replay_id: int) -> None:
        return None


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(f"{server.rstrip('/')}/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--bars", type=int, default=525_600, help="1m bars (a year: 525,600)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server for the temporary database")
    args = parser.parse_args()
    temp_db = f"bt_bench_{secrets.token_hex(4)}"
    await _admin(args.server, f'CREATE DATABASE "{temp_db}"')
    try:
        ok = await run(Settings(database_url=f"{args.server.rstrip('/')}/{temp_db}"),
                       args.transactions, args.bars)
    finally:
        await close_db()
        await _admin(args.server, f'DROP DATABASE IF EXISTS "{temp_db}" WITH (FORCE)')
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
