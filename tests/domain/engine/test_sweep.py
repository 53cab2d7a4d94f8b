"""Sweeps: each set's metrics equal a single run's, ranking, chunking, memory-bounded batches,
cancellation, progress and per-set risk parameters."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.candles import Candles
from domain.demo import demo_candles
from domain.engine.run import run_backtest
from domain.engine.sweep import LOWER_IS_BETTER, SweepResult, rank_order, run_sweep
from domain.errors import Cancelled, DataError
from domain.metrics import METRIC_NAMES
from domain.strategy import Strategy, parameter_grid, parse_strategy
from tests.domain.strategy.test_program import PARAMETERS, conditions

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@cache
def data() -> Candles:
    return demo_candles(n_bars=3_000, timeframe="1h", seed=5)


def example(name: str) -> Strategy:
    return parse_strategy(json.loads((ROOT / "examples" / name).read_text()))


def assert_metrics_close(got: np.ndarray, expected: np.ndarray, what: Any) -> None:
    assert np.array_equal(np.isnan(got), np.isnan(expected)), what
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0, equal_nan=True, err_msg=str(what))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_set_equals_a_single_backtest(path: Path) -> None:
    s = parse_strategy(json.loads(path.read_text()))
    grid = parameter_grid(s)
    result = run_sweep(s, data(), grid)
    assert result.metrics.shape == (len(grid), len(METRIC_NAMES))
    assert (result.metrics[:, METRIC_NAMES.index("n_trades")] > 0).any()
    for k, params in enumerate(grid):
        single = run_backtest(s, data(), params)
        expected = np.array([single.metrics[m] for m in METRIC_NAMES])
        assert_metrics_close(result.metrics[k], expected, (path.name, params))
    by_params = {tuple(r.params.values()): r.metrics for r in result.rows}
    for k, params in enumerate(grid):
        row = np.array([by_params[tuple(params.values())][m] for m in METRIC_NAMES])
        assert_metrics_close(row, result.metrics[k], params)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(entry=conditions(2), exit_=st.one_of(st.none(), conditions(2)),
       seed=st.integers(0, 1000), n=st.integers(1, 300), side=st.sampled_from(["long", "short"]))
def test_random_strategies_equal_single_backtests(entry: Any, exit_: Any, seed: int, n: int,
                                                  side: str) -> None:
    doc: dict[str, Any] = {"name": "t", "side": side, "parameters": PARAMETERS, "entry": entry,
                           "risk": {"stop_loss_pct": 5, "trailing_stop_pct": 3}}
    if exit_ is not None:
        doc["exit"] = exit_
    s = parse_strategy(doc)
    c = demo_candles(n_bars=n, timeframe="1h", seed=seed)
    grid = parameter_grid(s)[::7]
    result = run_sweep(s, c, grid, chunk_sets=5)
    for k, params in enumerate(grid):
        single = run_backtest(s, c, params)
        expected = np.array([single.metrics[m] for m in METRIC_NAMES])
        assert_metrics_close(result.metrics[k], expected, (doc, params))


def test_per_set_risk_parameters() -> None:
    s = example("bollinger_breakout.json")  # stop_loss_pct is "$stop"
    grid = [{"period": 20, "width": 2.0, "stop": stop} for stop in (0.5, 1, 2, 3, 5, 50)]
    result = run_sweep(s, data(), grid, rank_by="total_return")
    returns = result.metrics[:, METRIC_NAMES.index("total_return")]
    assert len(set(returns.tolist())) > 1  # the stop changes the outcome
    for k, params in enumerate(grid):
        single = run_backtest(s, data(), params)
        expected = np.array([single.metrics[m] for m in METRIC_NAMES])
        assert_metrics_close(result.metrics[k], expected, params)


def _key(r: Any, metric: str) -> float:
    v = r.metrics[metric]
    return float("inf") if np.isnan(v) else (v if metric in LOWER_IS_BETTER else -v)


@pytest.mark.parametrize("metric", ["sharpe", "max_drawdown", "max_drawdown_duration",
                                    "profit_factor", "avg_loss"])
def test_ranking_best_first_nan_last(metric: str) -> None:
    s = example("rsi_mean_reversion.json")
    result = run_sweep(s, data(), parameter_grid(s), rank_by=metric)
    assert result.rank_by == metric
    assert [r.rank for r in result.rows] == list(range(1, len(result.rows) + 1))
    keys = [_key(r, metric) for r in result.rows]
    assert keys == sorted(keys)
    assert result.top(3) == result.rows[:3]


def test_rank_order_is_stable_with_nan_last() -> None:
    v = np.array([1.0, np.nan, 3.0, 1.0, -2.0])
    assert rank_order(v, "sharpe").tolist() == [2, 0, 3, 4, 1]
    assert rank_order(v, "max_drawdown").tolist() == [4, 0, 3, 2, 1]


def _same(a: SweepResult, b: SweepResult) -> None:
    np.testing.assert_array_equal(a.metrics, b.metrics)
    assert [r.params for r in a.rows] == [r.params for r in b.rows]


def test_chunks_and_series_batches_change_nothing() -> None:
    s = example("sma_crossover.json")
    grid = parameter_grid(s, {"fast": [5, 10, 15], "slow": [20, 40, 60, 80]})
    whole = run_sweep(s, data(), grid, chunk_sets=1000)
    _same(whole, run_sweep(s, data(), grid, chunk_sets=3))
    _same(whole, run_sweep(s, data(), grid, chunk_sets=1))
    # room for 2 series per kernel call: every chunk runs in several batches
    _same(whole, run_sweep(s, data(), grid, max_series_bytes=2 * 8 * len(data())))


def test_progress_is_monotone_up_to_the_total() -> None:
    s = example("donchian_short.json")
    grid = parameter_grid(s)
    seen: list[tuple[int, int]] = []
    run_sweep(s, data(), grid, chunk_sets=4, progress=lambda done, total: seen.append((done, total)))
    assert all(total == len(grid) for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(set(done)) == len(done) and done[-1] == len(grid)
    assert len(seen) == -(-len(grid) // 4)


def test_cancel_raises_between_chunks() -> None:
    s = example("sma_crossover.json")
    grid = parameter_grid(s)
    with pytest.raises(Cancelled):
        run_sweep(s, data(), grid, cancel=lambda: True)
    calls: list[int] = []

    def cancel_second() -> bool:
        calls.append(1)
        return len(calls) >= 2

    seen: list[int] = []
    with pytest.raises(Cancelled):
        run_sweep(s, data(), grid, chunk_sets=10, cancel=cancel_second,
                  progress=lambda done, _total: seen.append(done))
    assert seen == [10]


def test_bad_inputs() -> None:
    s = example("sma_crossover.json")
    with pytest.raises(DataError, match="unknown metric"):
        run_sweep(s, data(), [{}], rank_by="nope")
    with pytest.raises(DataError, match="no parameter sets"):
        run_sweep(s, data(), [])
    with pytest.raises(ValueError, match="finite"):
        run_sweep(s, data(), [{}], risk_free_rate=float("nan"))


def test_each_series_is_computed_once_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import domain.strategy.compile as compile_module

    calls: list[int] = []
    real = compile_module.compute_indicator

    def counted(name: str, c: Any, params: Any) -> Any:
        calls.append(int(params["period"]))
        return real(name, c, params)

    monkeypatch.setattr(compile_module, "compute_indicator", counted)
    s = example("sma_crossover.json")
    grid = parameter_grid(s, {"fast": [5, 10, 15], "slow": [20, 40, 60, 80]})
    run_sweep(s, data(), grid, chunk_sets=2)
    assert sorted(calls) == [5, 10, 15, 20, 40, 60, 80]
