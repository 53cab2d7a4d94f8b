"""Bounds the domain applies to inputs from outside: indicator periods (the 10^9 strategies
cap), candle CSV times out of years 1..9999, sweep grid sizes counted without building them,
initial capital and risk-free rate."""

from __future__ import annotations

import pytest

from domain.csv import read_candles_csv
from domain.errors import DataError
from domain.indicators import INDICATORS
from domain.indicators.spec import MAX_INTEGER
from domain.strategy import grid_size, parameter_grid, parse_strategy
from domain.strategy.fields import INITIAL_CAPITAL, RISK_FREE_RATE, number_problem
from domain.strategy.kinds import MAX_INTEGER as STRATEGY_MAX_INTEGER


def test_indicator_periods_share_the_strategy_cap() -> None:
    assert MAX_INTEGER == STRATEGY_MAX_INTEGER == 1_000_000_000
    sma = INDICATORS["sma"]
    assert sma.resolve({"period": 1_000_000_000}) == {"period": 1_000_000_000, "source": "close"}
    with pytest.raises(ValueError, match=r"sma.period: must be an integer >= 1 and "
                                         r"<= 1,000,000,000, got 1e\+18"):
        sma.resolve({"period": 1e18})
    with pytest.raises(ValueError, match="<= 1,000,000,000"):
        INDICATORS["macd"].resolve({"slow": 1_000_000_001})
    assert sma.param("period").check(0) == "must be an integer >= 1, got 0"  # as before


@pytest.mark.parametrize("time", [b"9" * 5_000, b"1e300", b"-9999999999999999999",
                                  b"9000000000000000000"])
def test_candle_times_out_of_range_are_data_errors(time: bytes) -> None:
    data = b"time,open,high,low,close,volume\n" + time + b",1,2,0.5,1.5,10\n"
    with pytest.raises(DataError, match=r"row 2: column 'time': the time .* is out of range"):
        read_candles_csv(data, timeframe="1h")


def test_grid_size_counts_without_building() -> None:
    strategy = parse_strategy({
        "name": "g", "parameters": {"fast": {"value": 5, "range": {"start": 2, "stop": 20,
                                                                    "step": 3}},
                                    "slow": {"value": 30, "values": [30, 40, 50]},
                                    "k": {"value": 1}},
        "entry": {"left": {"indicator": "sma", "period": "$fast"}, "op": ">",
                  "right": {"indicator": "sma", "period": "$slow"}},
        "exit": {"left": {"price": "close"}, "op": "<", "right": "$k"}})
    assert grid_size(strategy) == len(parameter_grid(strategy)) == 7 * 3
    overrides = {"slow": [30.0, 40.0]}
    assert grid_size(strategy, overrides) == len(parameter_grid(strategy, overrides)) == 14
    assert grid_size(strategy, {"fast": list(range(1, 1001)), "slow": list(range(1, 1001))}) \
        == 1_000_000


@pytest.mark.parametrize(("value", "ok"), [(1.0, True), (1e12, True), (1e12 + 1, False),
                                           (1e308, False), (0, False), (-5, False),
                                           (float("inf"), False), (True, False), ("1", False)])
def test_initial_capital_bounds(value: object, ok: bool) -> None:
    assert (number_problem(INITIAL_CAPITAL, value) is None) is ok


@pytest.mark.parametrize(("value", "ok"), [(0.04, True), (1.0, True), (-0.99, True),
                                           (-1.0, False), (1.01, False), (1e300, False),
                                           (float("nan"), False)])
def test_risk_free_rate_bounds(value: float, ok: bool) -> None:
    problem = number_problem(RISK_FREE_RATE, value, " (0.04 for 4 %)")
    assert (problem is None) is ok
    if not ok:
        assert problem is not None and problem.startswith("must be a number > -1 and <= 1 "
                                                          "(0.04 for 4 %), got")


def test_a_document_with_a_huge_capital_is_invalid() -> None:
    from domain.errors import StrategyError

    with pytest.raises(StrategyError, match="initial_capital"):
        parse_strategy({"name": "c", "initial_capital": 1e308,
                        "entry": {"left": {"price": "close"}, "op": ">", "right": 1},
                        "exit": {"left": {"price": "close"}, "op": "<", "right": 1}})
