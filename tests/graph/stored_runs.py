"""Succeeded backtests stored directly (no engine process): hand-made trades and curves, or a
run of the engine in the test's process, with their candles.

:func:`stored_run` creates the run, claims it and saves its results as the job would
(``store.backtest_results.save_results``); its summary holds ``domain.metrics`` of the curve
and trades given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.engine.records import TRADE_DTYPE
from domain.engine.rules import EXIT_REASONS
from domain.metrics import compute_metrics
from domain.timeframes import periods_per_year, timeframe_ms
from graph.ids import encode_id
from store import backtest_results as results_store
from store import backtests as store
from store.candles import write_candles
from store.leases import claim

EXCHANGE, SYMBOL, TIMEFRAME = "binance", "ANA/USDT", "1d"
CAPITAL = 1_000.0
N_BARS = 100
START_MS = int(datetime(2023, 11, 20, tzinfo=UTC).timestamp() * 1000)

# (entry bar, exit bar, direction, pnl, return, exit reason): ties on pnl (5.0 three times) and
# on return (0.05 twice), a trade at exactly 0, both sides, every exit reason
HAND_TRADES: list[tuple[int, int, int, float, float, str]] = [
    (1, 3, 1, 5.0, 0.05, "signal"),
    (4, 6, -1, -2.0, -0.02, "stop_loss"),
    (7, 9, 1, 5.0, 0.04, "take_profit"),
    (10, 12, -1, 0.0, 0.0, "signal"),
    (13, 15, 1, -7.5, -0.07, "stop_loss"),
    (16, 20, -1, 12.0, 0.1, "trailing_stop"),
    (21, 22, 1, 5.0, 0.05, "signal"),
    (30, 99, 1, -1.0, -0.01, "end_of_data"),
]


@dataclass(frozen=True)
class Run:
    id: int
    gid: str  # its global id
    times: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    trades: npt.NDArray[np.void]
    close: npt.NDArray[np.float64]


def hand_market(seed: int = 7) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64],
                                        npt.NDArray[np.float64]]:
    """Daily bar times from 2023-11-20 (into 2024), an equity curve (rising, with several
    drawdowns, the last one not recovered) and closes."""
    rng = np.random.default_rng(seed)
    times = START_MS + np.arange(N_BARS, dtype=np.int64) * timeframe_ms(TIMEFRAME)
    i = np.arange(N_BARS, dtype=np.float64)
    equity = CAPITAL * (1.0 + 0.002 * i + 0.05 * np.sin(i / 4) + 0.02 * np.sin(1.7 * i)
                        - 0.2 * (i > 95))
    close = (100.0 * np.cumprod(1.0 + rng.normal(0.0, 0.02, N_BARS))).astype(np.float64)
    return times, equity, close


def hand_trades(times: npt.NDArray[np.int64]) -> npt.NDArray[np.void]:
    out = np.zeros(len(HAND_TRADES), dtype=TRADE_DTYPE)
    for i, (entry, exit_, direction, pnl, ret, reason) in enumerate(HAND_TRADES):
        out[i] = (entry, exit_, times[entry], times[exit_], 100.0 + i, 101.0 + i, 1.5,
                  direction, pnl + 0.1, 0.1, pnl, ret, EXIT_REASONS.index(reason))
    return out


async def stored_run(owner: int, times: npt.NDArray[np.int64], equity: npt.NDArray[np.float64],
                     trades: npt.NDArray[np.void], close: npt.NDArray[np.float64] | None, *,
                     symbol: str = SYMBOL, timeframe: str = TIMEFRAME,
                     capital: float = CAPITAL) -> Run:
    """A succeeded backtest of these results; the candles (closes as every price) are stored
    unless ``close`` is None."""
    bar = timeframe_ms(timeframe)
    prices = np.ones_like(equity) if close is None else close
    if close is not None:
        await write_candles(EXCHANGE, symbol, timeframe, Candles(
            times, prices, prices, prices, prices, np.ones_like(prices), symbol, timeframe))
    record = await store.create_backtest(store.NewBacktest(
        owner, None, {"name": "hand"}, {}, EXCHANGE, symbol, timeframe, int(times[0]),
        int(times[-1]) + bar, capital))
    assert await claim("backtest", record.id, "test", 60.0)
    metrics = compute_metrics(equity, np.zeros_like(equity), prices, trades["pnl"],
                              trades["return"], capital, bar, periods_per_year(timeframe))
    saved: Any = results_store.Results(trades=trades, times=times, equity=equity,
                                       metrics=metrics, final_equity=float(equity[-1]))
    assert await results_store.save_results(record.id, saved)
    return Run(record.id, encode_id("Backtest", record.id), times, equity, trades, prices)


async def hand_run(owner: int, **kw: Any) -> Run:
    times, equity, close = hand_market()
    return await stored_run(owner, times, equity, hand_trades(times), close, **kw)
