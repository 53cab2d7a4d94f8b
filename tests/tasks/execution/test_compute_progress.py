"""The engine reports progress often enough: every 2 % of the bars on a long backtest, with a
partial equity outline; sweeps after every chunk of sets."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from domain.demo import demo_candles
from domain.engine.run import Progress, run_backtest
from domain.strategy import parse_strategy
from store.curves import decode_curve
from tasks.execution.compute import (
    EVENT_POINTS,
    BacktestTask,
    SweepTask,
    compute_backtest,
    compute_sweep,
    fingerprint,
    series_payload,
)

SMA = json.loads((Path(__file__).resolve().parents[3] / "examples" / "sma_crossover.json")
                 .read_text())


def test_engine_reports_every_min_step_of_the_bars_whatever_the_time() -> None:
    c = demo_candles(10_000, "1m")
    seen: list[int] = []

    def on(p: Progress) -> None:
        seen.append(p.bars_done)

    # chunks of 1 % of the bars, reports every 2 %: every other chunk (time never triggers)
    run_backtest(parse_strategy(SMA), c, progress=on, cancel=lambda: False, chunk_bars=100,
                 min_interval_s=1e9, min_step=0.02)
    assert seen == [*range(200, 10_000, 200), 10_000]


def test_a_long_backtest_reports_every_2_percent_with_partial_equity() -> None:
    c = demo_candles(200_000, "1m")
    payloads: list[dict] = []  # type: ignore[type-arg]
    out = compute_backtest(BacktestTask(SMA, {}, c), payloads.append, lambda: False)
    times, equity = decode_curve(out.curve)
    np.testing.assert_array_equal(times, c.ts)
    fractions = [p["progress"] for p in payloads]
    assert len(payloads) >= 50
    assert fractions[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(fractions))
    assert all(b - a <= 0.02 + 1e-12 for a, b in itertools.pairwise([0.0, *fractions]))
    for p in payloads:
        eq = p["equity"]
        done = round(p["progress"] * len(c))
        assert 2 <= len(eq["times"]) == len(eq["values"]) <= EVENT_POINTS
        assert eq["times"][0] == float(c.ts[0]) and eq["times"][-1] == float(c.ts[done - 1])
        assert eq["values"][-1] == equity[done - 1]
        # the outline keeps the prefix's extremes
        assert min(eq["values"]) == equity[:done].min()
        assert max(eq["values"]) == equity[:done].max()
    # the result does not depend on the reporting
    plain = run_backtest(parse_strategy(SMA), c)
    np.testing.assert_array_equal(equity, plain.equity)
    np.testing.assert_array_equal(out.trades, plain.trades)
    assert out.final_equity == plain.final_equity and out.metrics == plain.metrics
    assert out.data_fingerprint == fingerprint(c)
    assert out.preview == series_payload(c.ts, plain.equity)


def test_a_sweep_reports_after_every_chunk_of_sets() -> None:
    """Chunks of 64 sets: every 2 % or better from 3,200 sets on (10,000 sets: 0.64 %)."""
    c = demo_candles(2_000, "1h")
    grid = {"fast": [float(x) for x in range(2, 42)], "slow": [float(x) for x in range(50, 130)]}
    payloads: list[dict] = []  # type: ignore[type-arg]
    out = compute_sweep(SweepTask(SMA, grid, c, "sharpe"), payloads.append, lambda: False)
    assert out.n_sets == 3_200
    assert len(payloads) == 50
    fractions = [p["progress"] for p in payloads]
    assert fractions[-1] == 1.0
    assert all(b - a <= 0.02 + 1e-12 for a, b in itertools.pairwise([0.0, *fractions]))
