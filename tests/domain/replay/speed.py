"""How fast is a replay? 100,000 transactions over one year of 1-minute candles (525,600 bars).

Not a test (nothing is asserted): ``.venv/bin/python -m tests.domain.replay.speed``. Prints the
best of a few runs of each step, after a warm-up run (numba's compilation, or its cache load).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from domain.candles import Candles
from domain.replay import Fills, ReplayModel, replay_transactions, what_if
from domain.transactions.model import Transaction

N_BARS = 525_600
N_TX = 100_000
MINUTE = 60_000
START = 1_704_067_200_000  # 2024-01-01


def data() -> tuple[Candles, Fills, dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    close = 40_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, N_BARS)))
    open_ = np.concatenate([[40_000.0], close[:-1]])
    high = np.maximum(open_, close) * 1.0005
    low = np.minimum(open_, close) * 0.9995
    ts = START + np.arange(N_BARS, dtype=np.int64) * MINUTE
    candles = Candles(ts, open_, high, low, close, np.ones(N_BARS), "BTC/USDT", "1m")
    t = np.sort(rng.integers(START, START + N_BARS * MINUTE, N_TX))
    bar = (t - START) // MINUTE
    side = np.where(rng.random(N_TX) < 0.5, 1, -1)
    price = close[bar] * (1.0 + rng.normal(0.0, 0.0005, N_TX))
    qty = rng.uniform(0.001, 0.5, N_TX)
    asset = rng.choice(np.array(["USDT", "BTC", "BNB"]), N_TX)
    fee = np.where(asset == "USDT", 0.001 * qty * price,
                   np.where(asset == "BTC", 0.001 * qty, 0.00075 * qty * price / 300.0))
    fills = Fills.from_arrays("BTC/USDT", t, side, price, qty, fee, asset,
                              np.arange(N_TX) + 2)
    return candles, fills, {"BNB": np.full(N_BARS, 300.0)}


def best(fn: Callable[[], object], repeat: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    candles, fills, conv = data()
    txs = [Transaction(int(fills.time_ms[i]), "BTC/USDT", "buy" if fills.side[i] > 0 else "sell",
                       float(fills.price[i]), float(fills.quantity[i]), float(fills.fee[i]),
                       fills.asset_name(int(fills.fee_asset[i])), None, int(fills.row[i]))
           for i in range(N_TX)]
    model = ReplayModel("typical", fee_rate=0.001, slippage_rate=0.0005, delay_bars=3)
    rows = [
        ("replay from Fills (columns)",
         lambda: replay_transactions(fills, candles, 10_000.0, conversions=conv)),
        ("replay from 100k Transaction objects",
         lambda: replay_transactions(txs, candles, 10_000.0, conversions=conv)),
        ("Fills.from_transactions alone", lambda: Fills.from_transactions(txs, "BTC/USDT")),
        ("what_if (actual + model) from Fills",
         lambda: what_if(fills, candles, 10_000.0, model, conversions=conv)),
    ]
    print(f"{N_TX:,} transactions over {N_BARS:,} 1m bars")
    for name, fn in rows:
        print(f"  {name:40s} {best(fn) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
