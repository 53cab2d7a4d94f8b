"""What the engine records and what it derives: the runner does not record per-bar cash and
position (``SimResult`` replays the kernel for them) and counts the bars with a position open
instead; the kernel's quiet-bar fast path gives the same results as the general path and the
plain reference on long, sparse signals; the metrics from the count equal those from the
positions; the prefetch hint is harmless."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from domain.demo import demo_candles
from domain.engine import nb
from domain.engine.config import SimConfig
from domain.engine.prefetch import prefetch_nb
from domain.engine.rules import EXIT_END_OF_DATA
from domain.engine.run import metrics_of, run_backtest, simulate
from domain.metrics import compute_metrics
from domain.strategy import parse_strategy
from tests.domain.engine.harness import diff_results, kernel_args, run_ref
from tests.domain.engine.test_properties import (
    LIGHT,
    PROPS,
    Market,
    bar_rows,
    candles_of,
    configs,
    kernel,
    markets,
    to_market,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@st.composite
def sparse_markets(draw: st.DrawFn) -> Market:
    """Long stretches without signals (the kernel's quiet bars), a signal now and then."""
    n = draw(st.integers(50, 400))
    rate = draw(st.sampled_from([0.0, 0.01, 0.05, 0.2]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    entries = (rng.random(n) < rate).tolist()
    exits = (rng.random(n) < rate).tolist()
    return to_market(draw(bar_rows(n)), entries, exits)


def recorded(m: Market, cfg: SimConfig, record: bool) -> tuple[npt.NDArray[np.float64], ...]:
    trades, k, equity, cash, pos = nb.simulate_nb(*kernel_args(*m.args(), cfg), record)
    return trades[:k], equity, cash, pos


@PROPS
@given(m=sparse_markets(), cfg=configs())
def test_sparse_signals_equal_the_reference(m: Market, cfg: SimConfig) -> None:
    diffs = diff_results(kernel(m, cfg), run_ref(*m.args(), cfg), scale=cfg.initial_capital)
    assert not diffs, diffs[:10]


@LIGHT
@given(m=markets(max_n=60) | sparse_markets(), cfg=configs(), chunk=st.integers(1, 50))
def test_runner_derives_cash_position_and_exposure_exactly(
    m: Market, cfg: SimConfig, chunk: int
) -> None:
    trades, equity, cash, pos = recorded(m, cfg, True)
    trades_off, equity_off, cash_off, pos_off = recorded(m, cfg, False)
    # not recording changes nothing else
    np.testing.assert_array_equal(equity_off, equity)
    np.testing.assert_array_equal(trades_off, trades)
    assert cash_off.shape == pos_off.shape == (0,)
    c = candles_of(m)
    for res in (simulate(c, m.entries, m.exits, cfg),
                simulate(c, m.entries, m.exits, cfg, cancel=lambda: False, chunk_bars=chunk)):
        np.testing.assert_array_equal(res.equity, equity)
        assert res.exposed_bars == np.count_nonzero(pos)
        np.testing.assert_array_equal(res.cash, cash)
        np.testing.assert_array_equal(res.position, pos)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_metrics_from_the_count_equal_metrics_from_the_positions(path: Path) -> None:
    s = parse_strategy(json.loads(path.read_text()))
    c = demo_candles(n_bars=3_000, timeframe="1h", seed=3)
    r = run_backtest(s, c)
    closed = r.sim.closed_trades
    assert (closed["exit_reason"] != EXIT_END_OF_DATA).all()
    assert len(closed) == len(r.trades) - int(r.sim.has_open_position)
    want = compute_metrics(r.equity, r.sim.position, c.close, closed["pnl"], closed["return"],
                           r.config.initial_capital, 3_600_000, 8_760.0)
    for got in (r.metrics, metrics_of(r.sim, c, r.config)):
        assert list(got) == list(want)
        np.testing.assert_array_equal(list(got.values()), list(want.values()))  # NaN == NaN


@njit
def _prefetch_all(a: npt.NDArray[np.float64], idx: npt.NDArray[np.int64]) -> float:
    for i in idx:
        prefetch_nb(a, i)
    return a.sum() if a.shape[0] else 0.0


def test_prefetch_is_a_harmless_hint() -> None:
    a = np.arange(10.0)
    idx = np.array([-(2**62), -1, 0, 5, 9, 10, 2**62], dtype=np.int64)
    assert _prefetch_all(a, idx) == 45.0
    assert _prefetch_all(np.empty(0), idx) == 0.0
    np.testing.assert_array_equal(a, np.arange(10.0))
