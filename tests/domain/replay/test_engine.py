"""THE property: a backtest's trades, exported as transactions and replayed with the engine's
own fill and fee model, give back that backtest's per-bar equity and total PnL to the cent,
its trades and its metrics.

Two fill models reproduce a backtest: ``actual`` (the exported prices, which already hold the
engine's slippage) with the engine's fee rate, for any strategy (stops included); and ``open``
with the engine's slippage, for signal-only strategies (every fill is at a bar's open).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.demo import demo_candles
from domain.engine.config import SimConfig
from domain.engine.rules import EXIT_END_OF_DATA
from domain.engine.run import BacktestResult, SimResult, run_backtest, simulate
from domain.replay import (
    Replay,
    ReplayModel,
    replay_metrics,
    replay_transactions,
    transactions_from_trades,
)
from domain.strategy import parse_strategy
from tests.domain.engine.test_properties import Market, candles_of, configs, markets
from tests.domain.replay.data import LIGHT, PROPS, SYMBOL, bar_rows, make_candles

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
CENT = 0.005


def replay_backtest(sim: SimResult, candles: Any, cfg: SimConfig, model: ReplayModel) -> Replay:
    txs = transactions_from_trades(sim.trades, SYMBOL, cfg.fee_rate)
    return replay_transactions(txs, candles, cfg.initial_capital, model=model, symbol=SYMBOL)


def assert_reproduces(r: Replay, sim: SimResult, capital: float) -> None:
    assert np.abs(r.equity - sim.equity).max() < CENT
    assert abs(r.net_pnl - (float(sim.equity[-1]) - capital)) < CENT
    assert abs(math.fsum(r.trades["pnl"].tolist()) - math.fsum(sim.trades["pnl"].tolist())) < CENT
    # the same round trips: one per engine trade, at the same bars and prices
    got, want = r.trades, sim.trades
    assert len(got) == len(want)
    for name in ("entry_idx", "exit_idx", "entry_time", "exit_time", "direction"):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    for name in ("entry_price", "exit_price", "quantity", "return"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-12, err_msg=name)
    for name in ("gross_pnl", "fees", "pnl"):
        assert np.abs(got[name] - want[name]).max(initial=0.0) < CENT, name
    np.testing.assert_array_equal(got["exit_reason"] == EXIT_END_OF_DATA,
                                  want["exit_reason"] == EXIT_END_OF_DATA)
    np.testing.assert_array_equal(r.position != 0.0, sim.position != 0.0)


def assert_same_metrics(got: dict[str, float], want: dict[str, float]) -> None:
    assert list(got) == list(want)
    np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-6, atol=1e-9,
                               equal_nan=True)


@PROPS
@given(m=markets(), cfg=configs())
def test_actual_fills_reproduce_any_backtest(m: Market, cfg: SimConfig) -> None:
    c = candles_of(m)
    sim = simulate(c, m.entries, m.exits, cfg)
    r = replay_backtest(sim, c, cfg, ReplayModel("actual", fee_rate=cfg.fee_rate))
    assert_reproduces(r, sim, cfg.initial_capital)


@PROPS
@given(m=markets(), cfg=configs(stops=False))
def test_open_fills_with_slippage_reproduce_a_signal_backtest(m: Market, cfg: SimConfig) -> None:
    c = candles_of(m)
    sim = simulate(c, m.entries, m.exits, cfg)
    model = ReplayModel("open", fee_rate=cfg.fee_rate, slippage_rate=cfg.slippage_rate)
    assert_reproduces(replay_backtest(sim, c, cfg, model), sim, cfg.initial_capital)


def sma_document(fast: int, slow: int, side: str, fee_bps: float, slip_bps: float,
                 fraction: float) -> dict[str, Any]:
    def sma(period: int) -> dict[str, Any]:
        return {"indicator": "sma", "period": period}

    return {
        "name": "sma", "side": side,
        "entry": {"left": sma(fast), "op": "crosses_above", "right": sma(slow)},
        "exit": {"left": sma(fast), "op": "crosses_below", "right": sma(slow)},
        "risk": {"sizing": {"mode": "fraction_of_equity", "value": fraction}},
        "costs": {"fee_bps": fee_bps, "slippage_bps": slip_bps},
        "initial_capital": 10_000,
    }


def check_backtest(b: BacktestResult, model: ReplayModel) -> None:
    r = replay_backtest(b.sim, b.candles, b.config, model)
    assert_reproduces(r, b.sim, b.config.initial_capital)
    assert_same_metrics(replay_metrics(r), b.metrics)


@LIGHT
@given(rows=st.integers(30, 150).flatmap(bar_rows), fast=st.integers(2, 5),
       slow=st.integers(6, 12), side=st.sampled_from(["long", "short"]),
       fee=st.sampled_from([0.0, 10.0]) | st.floats(0.0, 50.0),
       slip=st.sampled_from([0.0, 5.0]) | st.floats(0.0, 50.0),
       fraction=st.sampled_from([1.0, 0.5]) | st.floats(0.05, 1.0),
       fill=st.sampled_from(["actual", "open"]))
def test_a_strategy_backtest_is_reproduced_with_its_metrics(
    rows: list[tuple[float, float, float, float]], fast: int, slow: int, side: str, fee: float,
    slip: float, fraction: float, fill: str
) -> None:
    s = parse_strategy(sma_document(fast, slow, side, fee, slip, fraction))
    b = run_backtest(s, make_candles(rows, "1h"))
    cfg = b.config
    slippage = cfg.slippage_rate if fill == "open" else 0.0
    check_backtest(b, ReplayModel(fill, fee_rate=cfg.fee_rate, slippage_rate=slippage))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_examples_are_reproduced_with_their_metrics(path: Path) -> None:
    s = parse_strategy(json.loads(path.read_text()))
    c = demo_candles(n_bars=3_000, timeframe="1h", seed=7)
    b = run_backtest(s, c)
    assert len(b.trades) > 3
    check_backtest(b, ReplayModel("actual", fee_rate=b.config.fee_rate))
