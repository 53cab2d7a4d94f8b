"""Parameter sets: defaults, grids (order, sizes, overrides, errors) and SimConfig conversions."""

from __future__ import annotations

import math

import pytest

from domain.engine.config import SIZING_FIXED_QUOTE, SIZING_FRACTION, SIZING_RISK_PCT
from domain.errors import Problem, StrategyError
from domain.strategy import (
    default_params,
    parameter_grid,
    parse_strategy,
    range_values,
    resolve_params,
    sim_config,
)
from tests.domain.strategy.helpers import EXAMPLES, doc, load


def test_default_params_in_document_order() -> None:
    s = parse_strategy(doc())
    assert default_params(s) == {"fast": 10, "slow": 50, "level": 30}
    assert list(default_params(s)) == ["fast", "slow", "level"]


def test_grid_is_the_product_first_parameter_slowest() -> None:
    s = parse_strategy(doc())
    grid = parameter_grid(s)
    assert len(grid) == 10 * 3 * 1
    assert grid[0] == {"fast": 5, "slow": 20, "level": 30}
    assert grid[1] == {"fast": 5, "slow": 50, "level": 30}
    assert grid[3] == {"fast": 10, "slow": 20, "level": 30}
    assert grid[-1] == {"fast": 50, "slow": 100, "level": 30}
    assert all(list(g) == ["fast", "slow", "level"] for g in grid)


def test_grid_without_parameters_is_one_empty_set() -> None:
    s = parse_strategy({"name": "x", "entry": {"left": {"price": "close"}, "op": ">", "right": 1},
                        "risk": {"stop_loss_pct": 1}})
    assert parameter_grid(s) == [{}]


def test_grid_overrides_replace_a_parameters_values() -> None:
    s = parse_strategy(doc())
    grid = parameter_grid(s, {"slow": [20.0, 40.0], "level": [25, 35]})
    assert len(grid) == 10 * 2 * 2
    assert grid[:4] == [
        {"fast": 5, "slow": 20.0, "level": 25}, {"fast": 5, "slow": 20.0, "level": 35},
        {"fast": 5, "slow": 40.0, "level": 25}, {"fast": 5, "slow": 40.0, "level": 35},
    ]


def test_example_grid_sizes() -> None:
    sizes = {p.name: len(parameter_grid(parse_strategy(load(p)))) for p in EXAMPLES}
    assert sizes["sma_crossover.json"] == 100
    sma = parse_strategy(load(next(p for p in EXAMPLES if p.name == "sma_crossover.json")))
    assert sma.parameters["fast"].sweep_values() == tuple(range(5, 51, 5))
    assert sma.parameters["slow"].sweep_values() == tuple(range(20, 201, 20))


def test_grid_errors_are_located_at_grid_paths() -> None:
    s = parse_strategy(doc())
    with pytest.raises(StrategyError) as info:
        parameter_grid(s, {"fsat": [1], "fast": [5, 7.5], "slow": []})
    assert info.value.problems == [
        Problem("grid.fsat", "the strategy has no parameter 'fsat'; defined: fast, slow, level"),
        Problem("grid.fast", "must be an integer >= 1 (fast is used as "
                             "entry.all[0].left.period), got 7.5"),
        Problem("grid.slow", "needs at least one value"),
    ]


def test_grid_size_cap() -> None:
    d = doc()
    d["parameters"] = {"a": {"value": 1, "range": {"start": 1, "stop": 2000, "step": 1}},
                       "b": {"value": 1, "range": {"start": 1, "stop": 2000, "step": 1}}}
    d["entry"] = {"left": "$a", "op": ">", "right": "$b"}
    d["exit"] = {"left": {"price": "close"}, "op": "<", "right": 1}
    with pytest.raises(StrategyError) as info:
        parameter_grid(parse_strategy(d))
    assert info.value.problems[0].path == "parameters"
    assert "4,000,000 parameter sets" in info.value.problems[0].message


def test_range_values() -> None:
    assert range_values(5, 50, 5) == tuple(range(5, 51, 5))
    assert range_values(5, 52, 5)[-1] == 50
    assert range_values(0, 1, 0.1) == (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert range_values(1.5, 1.5, 1) == (1.5,)
    assert all(isinstance(x, int) for x in range_values(5.0, 50.0, 5.0))


def test_resolve_params_checks_names_and_values() -> None:
    s = parse_strategy(doc())
    assert resolve_params(s, {"fast": 12.0}) == {"fast": 12.0, "slow": 50, "level": 30}
    with pytest.raises(StrategyError) as info:
        resolve_params(s, {"fast": 12.5, "nope": 1, "level": math.nan})
    assert info.value.problems == [
        Problem("parameters.fast", "must be an integer >= 1 (fast is used as "
                                   "entry.all[0].left.period), got 12.5"),
        Problem("parameters.nope", "unknown parameter 'nope'; defined: fast, slow, level"),
        Problem("parameters.level", "must be a finite number, got NaN"),
    ]


def test_sim_config_defaults() -> None:
    cfg = sim_config(parse_strategy(doc()))
    assert (cfg.direction, cfg.initial_capital, cfg.fee_rate, cfg.slippage_rate) == (
        1, 10_000.0, 0.001, 0.0)
    assert math.isnan(cfg.stop_loss) and math.isnan(cfg.take_profit)
    assert math.isnan(cfg.trailing_stop)
    assert (cfg.sizing_mode, cfg.sizing_value) == (SIZING_FRACTION, 1.0)


def test_sim_config_conversions_and_params() -> None:
    d = doc(side="short", initial_capital=2500,
            risk={"stop_loss_pct": "$sl", "take_profit_pct": 4, "trailing_stop_pct": 1.5,
                  "sizing": {"mode": "risk_pct", "value": "$r"}},
            costs={"fee_bps": "$fee", "slippage_bps": 2.5})
    d["parameters"].update({"sl": 2, "r": 1, "fee": 7.5})
    s = parse_strategy(d)
    cfg = sim_config(s)
    assert cfg.direction == -1 and cfg.initial_capital == 2500.0
    assert cfg.stop_loss == pytest.approx(0.02) and cfg.take_profit == pytest.approx(0.04)
    assert cfg.trailing_stop == pytest.approx(0.015)
    assert cfg.fee_rate == pytest.approx(0.00075) and cfg.slippage_rate == pytest.approx(0.00025)
    assert cfg.sizing_mode == SIZING_RISK_PCT and cfg.sizing_value == 1.0
    other = sim_config(s, {"sl": 5, "fee": 0, "r": 2.5})
    assert other.stop_loss == pytest.approx(0.05) and other.fee_rate == 0.0
    assert other.sizing_value == 2.5
    with pytest.raises(StrategyError, match=r"parameters.sl: must be > 0 and < 100 \(sl is used "
                                            r"as risk.stop_loss_pct\), got 100"):
        sim_config(s, {"sl": 100})


def test_sim_config_fixed_quote() -> None:
    s = parse_strategy(doc(risk={"sizing": {"mode": "fixed_quote", "value": 500}}))
    cfg = sim_config(s)
    assert (cfg.sizing_mode, cfg.sizing_value) == (SIZING_FIXED_QUOTE, 500.0)
