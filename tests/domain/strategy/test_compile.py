"""Signals: every operator by hand on tiny series, NaN rules, bars_ago, all/any/not, caching,
many parameter sets, and no look-ahead (hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import domain.strategy.compile as compile_module
from domain.errors import StrategyError
from domain.indicators.api import INDICATORS, compute_indicator
from domain.strategy import (
    Strategy,
    compile_signals,
    compile_signals_many,
    parameter_grid,
    parse_strategy,
)
from tests.domain.strategy.helpers import EXAMPLES, candles, load, random_candles

T, F = True, False
CLOSE = [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0]
C = candles(CLOSE)
PRICE: dict[str, Any] = {"price": "close"}
SMA3: dict[str, Any] = {"indicator": "sma", "period": 3}  # [nan, nan, 2, 7/3, 2, 5/3, 2]


def strat(entry: dict[str, Any], exit_: dict[str, Any] | None = None,
          parameters: dict[str, Any] | None = None) -> Strategy:
    d: dict[str, Any] = {"name": "t", "entry": entry, "parameters": parameters or {},
                         "risk": {"stop_loss_pct": 5}}
    if exit_ is not None:
        d["exit"] = exit_
    return parse_strategy(d)


def entries(cond: dict[str, Any], c: Any = C, params: dict[str, float] | None = None,
            parameters: dict[str, Any] | None = None) -> list[bool]:
    e, x = compile_signals(strat(cond, parameters=parameters), c, params)
    assert e.dtype == np.bool_ and e.shape == (len(c),)
    assert not x.any()
    return [bool(v) for v in e]


def cmp(left: Any, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "op": op, "right": right}


@pytest.mark.parametrize(("op", "expected"), [
    (">", [F, F, T, F, F, F, T]),
    ("<", [T, F, F, F, T, F, F]),
    (">=", [F, T, T, T, F, T, T]),
    ("<=", [T, T, F, T, T, T, F]),
    ("crosses_above", [F, F, T, F, F, F, T]),
    ("crosses_below", [F, F, F, F, T, F, F]),
])
def test_each_operator_against_a_constant(op: str, expected: list[bool]) -> None:
    assert entries(cmp(PRICE, op, 2)) == expected
    assert entries(cmp(PRICE, op, {"value": "$k"}), parameters={"k": 2}) == expected


def test_crosses_between_two_series_and_bars_ago() -> None:
    prev = {"price": "close", "bars_ago": 1}  # [nan, 1, 2, 3, 2, 1, 2]
    assert entries(cmp(PRICE, ">", prev)) == [F, T, T, F, F, T, T]
    assert entries(cmp(PRICE, "crosses_above", prev)) == [F, F, F, F, F, T, F]
    assert entries(cmp(PRICE, "crosses_below", prev)) == [F, F, F, T, F, F, F]
    two = {"price": "close", "bars_ago": "$lag"}
    assert entries(cmp(PRICE, "<", two), parameters={"lag": 2}) == [F, F, F, F, T, F, F]
    assert entries(cmp(PRICE, "<", two), parameters={"lag": 2}, params={"lag": 0}) == [F] * 7


def test_nan_makes_comparisons_false_and_not_true() -> None:
    assert entries(cmp(PRICE, ">", SMA3)) == [F, F, T, F, F, T, T]
    assert entries(cmp(PRICE, "<=", SMA3)) == [F, F, F, T, T, F, F]
    # at i=2 close crosses above, but sma was NaN at i=1: false
    assert entries(cmp(PRICE, "crosses_above", SMA3)) == [F, F, F, F, F, T, F]
    assert entries({"not": cmp(PRICE, ">", SMA3)}) == [T, T, F, T, T, F, F]
    far = {"price": "close", "bars_ago": 100}
    assert entries(cmp(PRICE, ">", far)) == [F] * 7
    assert entries({"not": cmp(PRICE, ">", far)}) == [T] * 7


def test_all_any_not() -> None:
    above1, below3 = cmp(PRICE, ">", 1), cmp(PRICE, "<", 3)
    assert entries({"all": [above1, below3]}) == [F, T, F, T, F, T, F]
    assert entries({"any": [cmp(PRICE, "<", 2), cmp(PRICE, ">", 2)]}) == [T, F, T, F, T, F, T]
    assert entries({"all": [above1]}) == entries(above1)
    assert entries({"not": {"not": above1}}) == entries(above1)
    assert entries({"any": [{"not": above1}, {"all": [above1, below3]}]}) == [T, T, F, T, T, T, F]


def test_constants() -> None:
    assert entries(cmp(1, "<", 2)) == [T] * 7
    assert entries(cmp("$a", ">=", {"value": 2}), parameters={"a": 1}) == [F] * 7
    assert entries(cmp(1, "crosses_below", 2)) == [F] * 7
    assert entries(cmp(3.5, "crosses_above", PRICE)) == [F] * 7
    assert entries(cmp(3, "crosses_above", PRICE)) == [F, F, F, T, F, F, F]
    assert entries(cmp(2.5, "crosses_above", PRICE)) == [F, F, F, T, F, F, F]


def test_price_fields() -> None:
    c = candles([2.0, 2.0, 2.0], high=[3.0, 4.0, 2.0], low=[1.0, 1.0, 2.0],
                open_=[2.0, 9.0, 2.0], volume=[5.0, 1.0, 3.0])
    assert entries(cmp({"price": "hl2"}, ">", PRICE), c) == [F, T, F]
    assert entries(cmp({"price": "hlc3"}, ">", PRICE), c) == [F, T, F]
    assert entries(cmp({"price": "ohlc4"}, ">", 3), c) == [F, T, F]
    assert entries(cmp({"price": "volume"}, ">", {"price": "open"}), c) == [T, F, T]


def test_indicator_outputs_and_params_match_the_registry() -> None:
    c = random_candles(3, 60)
    close = c.close
    cases: list[tuple[str, dict[str, Any]]] = [
        ("bbands", {"period": 5, "stddev": 1.5}), ("macd", {"fast": 3, "slow": 7, "signal": 4}),
        ("stoch", {"k_period": 5}), ("donchian", {"period": 4})]
    for name, params in cases:
        for out in INDICATORS[name].outputs:
            series = compute_indicator(name, c, params)[out]
            ref = {"indicator": name, **params, "output": out}
            assert entries(cmp(ref, ">", PRICE), c) == list(series > close)
            lagged = np.concatenate([[np.nan], series[:-1]])
            assert entries(cmp(PRICE, "<", {**ref, "bars_ago": 1}), c) == list(close < lagged)
    sma_high = compute_indicator("sma", c, {"period": 4, "source": "high"})["value"]
    got = entries(cmp(PRICE, "<=", {"indicator": "sma", "period": 4, "source": "high"}), c)
    assert got == list(close <= sma_high)


def test_exit_and_no_exit() -> None:
    s = strat(cmp(PRICE, ">", 2), cmp(PRICE, "<", 2))
    e, x = compile_signals(s, C)
    assert list(e) == [F, F, T, F, F, F, T] and list(x) == [T, F, F, F, T, F, F]
    e, x = compile_signals(strat(cmp(PRICE, ">", 2)), C)
    assert x.dtype == np.bool_ and x.shape == (7,) and not x.any()


def test_empty_candles() -> None:
    s = strat(cmp(PRICE, "crosses_above", SMA3), cmp(1, ">", 0))
    e, x = compile_signals(s, candles([]))
    assert e.shape == (0,) and x.shape == (0,)


def test_bad_parameter_values_raise() -> None:
    s = parse_strategy(load(next(p for p in EXAMPLES if p.name == "sma_crossover.json")))
    with pytest.raises(StrategyError, match=r"parameters.fast: must be an integer >= 1"):
        compile_signals(s, C, {"fast": 2.5})
    with pytest.raises(StrategyError, match=r"parameters.nope: unknown parameter"):
        compile_signals(s, C, {"nope": 1})


def test_a_cache_belongs_to_one_candle_set() -> None:
    s = strat(cmp(PRICE, ">", SMA3))
    cache: dict[Any, Any] = {}
    first = compile_signals(s, C, cache=cache)
    again = compile_signals(s, C, cache=cache)
    assert np.array_equal(first[0], again[0])
    with pytest.raises(ValueError, match="another candle set"):
        compile_signals(s, candles(CLOSE), cache=cache)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    real = getattr(compile_module, "compute_indicator")  # noqa: B009

    def counted(name: str, c: Any, params: Any) -> Any:
        calls.append((name, dict(params)))
        return real(name, c, params)

    monkeypatch.setattr(compile_module, "compute_indicator", counted)
    return calls


def test_many_equals_one_by_one_and_computes_each_series_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for path in EXAMPLES:
        s = parse_strategy(load(path))
        c = random_candles(5, 400)
        grid = parameter_grid(s)
        e, x = compile_signals_many(s, c, grid)
        assert e.shape == x.shape == (len(grid), 400)
        assert e.dtype == x.dtype == np.bool_
        assert e.flags["C_CONTIGUOUS"] and x.flags["C_CONTIGUOUS"]
        for k, params in enumerate(grid):
            e1, x1 = compile_signals(s, c, params)
            assert np.array_equal(e[k], e1) and np.array_equal(x[k], x1), (path.name, params)
    calls = _counting(monkeypatch)
    s = parse_strategy(load(next(p for p in EXAMPLES if p.name == "sma_crossover.json")))
    compile_signals_many(s, random_candles(1, 300), parameter_grid(s))
    periods = sorted(p["period"] for _, p in calls)
    assert periods == sorted(set(range(5, 51, 5)) | set(range(20, 201, 20)))
    assert isinstance(periods[0], int)


def test_one_series_used_twice_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    s = strat(cmp(SMA3, ">", PRICE), {"any": [cmp(SMA3, "<", 1), cmp(PRICE, ">", SMA3)]})
    compile_signals(s, C)
    assert calls == [("sma", {"period": 3, "source": "close"})]


# -- no look-ahead ------------------------------------------------------------------------------

def _lookahead_strategies() -> list[Strategy]:
    out = []
    for name, spec in INDICATORS.items():
        small = {p.name: 3 for p in spec.params if p.kind == "int"}
        if name == "macd":
            small = {"fast": 3, "slow": 5, "signal": 3}
        for output in spec.outputs:
            ind = {"indicator": name, **small, "output": output}
            out.append(strat(
                {"any": [cmp(ind, "crosses_above", {**ind, "bars_ago": 1}),
                         {"all": [cmp(PRICE, ">", ind), {"not": cmp(ind, "<=", 50)}]}]},
                {"not": cmp(ind, "crosses_below", {"price": "hl2", "bars_ago": 2})},
            ))
    return out


LOOKAHEAD = _lookahead_strategies()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 60), data=st.data())
def test_changing_later_bars_never_changes_earlier_signals(seed: int, n: int,
                                                          data: st.DataObject) -> None:
    t = data.draw(st.integers(0, n - 2), label="t")
    c = random_candles(seed, n)
    other = random_candles(seed + 1, n)
    cols = {}
    for col in ("open", "high", "low", "close", "volume"):
        a = getattr(c, col).copy()
        a[t + 1:] = getattr(other, col)[t + 1:]
        cols[col] = a
    changed = type(c)(c.ts, cols["open"], cols["high"], cols["low"], cols["close"],
                      cols["volume"], c.symbol, c.timeframe)
    for s in LOOKAHEAD:
        e1, x1 = compile_signals(s, c)
        e2, x2 = compile_signals(s, changed)
        assert np.array_equal(e1[: t + 1], e2[: t + 1]), s.document["entry"]
        assert np.array_equal(x1[: t + 1], x2[: t + 1]), s.document["exit"]
