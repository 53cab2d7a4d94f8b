"""Condition programs: on random strategies (every operator, all/any/not nesting, bars_ago,
constants, $params, several indicators and price fields) and random candles, the program
evaluator's entries/exits equal ``compile_signals`` exactly for every parameter set.

Both run the comparison kernels of ``domain.strategy.program_nb``, so each is also checked
against ``reference_signals``, a plain numpy evaluation of the rules written independently
(shifted copies, whole-array comparisons), which catches a bug the two would share."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.candles import Candles
from domain.indicators.api import INDICATORS, PRICE_FIELDS, compute_indicator, price_series
from domain.strategy import (
    All,
    AnyOf,
    Compare,
    Condition,
    Const,
    Not,
    Operand,
    Price,
    Strategy,
    bind,
    compile_program,
    compile_signals,
    parameter_grid,
    parse_strategy,
    program_signals,
    resolve_params,
)
from domain.strategy.params import resolve
from domain.strategy.program_nb import OP_AND, OP_FALSE, OP_NOT, OPS
from tests.domain.strategy.helpers import EXAMPLES, candles, load, random_candles

OP_NAMES = tuple(OPS)
PARAMETERS: dict[str, Any] = {
    "p": {"value": 3, "values": [2, 3, 5]},
    "q": {"value": 1, "values": [1, 4]},
    "lag": {"value": 0, "values": [0, 1, 3, 100]},
    "lvl": {"value": 50.0, "values": [30.0, 100.5]},
}
INDICATOR_NAMES = ("sma", "ema", "rsi", "bbands", "macd", "donchian", "stoch", "atr", "obv")


def _series(o: Operand, c: Candles, values: dict[str, float]) -> Any:
    if isinstance(o, Const):
        return resolve(o.value, values)
    if isinstance(o, Price):
        base = price_series(c, o.field)
    else:
        spec = INDICATORS[o.name]
        params: dict[str, float | int | str] = {}
        for name, v in o.params:
            if isinstance(v, str):
                params[name] = v
            else:
                x = resolve(v, values)
                params[name] = int(x) if spec.param(name).kind == "int" else x
        base = compute_indicator(o.name, c, params)[o.output]
    k = min(int(resolve(o.bars_ago, values)), len(c))
    return np.concatenate([np.full(k, np.nan), base[: len(c) - k]])


def _reference(cond: Condition, c: Candles, values: dict[str, float]) -> Any:
    n = len(c)
    if isinstance(cond, Not):
        return ~_reference(cond.child, c, values)
    if isinstance(cond, All | AnyOf):
        parts = [_reference(child, c, values) for child in cond.children]
        return np.logical_and.reduce(parts) if isinstance(cond, All) else np.logical_or.reduce(parts)
    assert isinstance(cond, Compare)
    a = np.broadcast_to(_series(cond.left, c, values), (n,))
    b = np.broadcast_to(_series(cond.right, c, values), (n,))
    with np.errstate(invalid="ignore"):
        if cond.op in (">", "<", ">=", "<="):
            return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[cond.op]
        out = np.zeros(n, dtype=np.bool_)
        if isinstance(cond.left, Const) and isinstance(cond.right, Const):
            return out
        if cond.op == "crosses_above":
            out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
        else:
            out[1:] = (a[1:] < b[1:]) & (a[:-1] >= b[:-1])
        return out


def reference_signals(s: Strategy, c: Candles, params: dict[str, float]) -> tuple[Any, Any]:
    """The signals by the rules of ``docs/strategy.md``, in plain numpy."""
    values = resolve_params(s, params)
    exits = np.zeros(len(c), dtype=np.bool_) if s.exit is None else _reference(s.exit, c, values)
    return _reference(s.entry, c, values), exits


@st.composite
def operands(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(("const", "param", "price", "indicator", "indicator")))
    if kind == "const":
        return draw(st.sampled_from([0, 1, 50, 100.5, -3.25]))
    if kind == "param":
        return draw(st.sampled_from(["$lvl", {"value": "$lvl"}, {"value": 30}]))
    lag = draw(st.sampled_from([0, 0, 1, 2, "$lag"]))
    if kind == "price":
        return {"price": draw(st.sampled_from(PRICE_FIELDS)), "bars_ago": lag}
    name = draw(st.sampled_from(INDICATOR_NAMES))
    spec = INDICATORS[name]
    out: dict[str, Any] = {"indicator": name, "bars_ago": lag,
                           "output": draw(st.sampled_from(spec.outputs))}
    for p in spec.params:
        if p.kind == "int":
            out[p.name] = draw(st.sampled_from([2, 3, "$p", "$q"]))
        elif p.kind == "float":
            out[p.name] = draw(st.sampled_from([1.5, "$lvl"]))
        elif draw(st.booleans()):
            out[p.name] = draw(st.sampled_from(PRICE_FIELDS))
    return out


def conditions(depth: int = 3) -> st.SearchStrategy[Any]:
    leaf = st.builds(lambda a, op, b: {"left": a, "op": op, "right": b},
                     operands(), st.sampled_from(OP_NAMES), operands())
    if depth == 0:
        return leaf
    inner = conditions(depth - 1)
    return st.one_of(
        leaf, leaf,
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    )


def assert_program_equals_compile(doc: dict[str, Any], c: Any,
                                  grid: list[dict[str, float]] | None = None) -> None:
    s = parse_strategy(doc)
    grid = parameter_grid(s) if grid is None else grid
    program = compile_program(s)
    bound = bind(program, s, c, grid)
    assert bound.n_sets == len(grid)
    for k, params in enumerate(grid):
        e, x = program_signals(program, bound, k)
        e1, x1 = compile_signals(s, c, params)
        assert np.array_equal(e, e1), (doc, params)
        assert np.array_equal(x, x1), (doc, params)
        e2, x2 = reference_signals(s, c, params)
        assert np.array_equal(e, e2), (doc, params)
        assert np.array_equal(x, x2), (doc, params)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(entry=conditions(), exit_=st.one_of(st.none(), conditions()),
       seed=st.integers(0, 2**32 - 1), n=st.integers(1, 50))
def test_random_strategies_equal_compile_signals(entry: Any, exit_: Any, seed: int,
                                                 n: int) -> None:
    doc: dict[str, Any] = {"name": "t", "parameters": PARAMETERS, "entry": entry,
                           "risk": {"stop_loss_pct": 5}}
    if exit_ is not None:
        doc["exit"] = exit_
    assert_program_equals_compile(doc, random_candles(seed, n))


def test_examples_equal_compile_signals() -> None:
    for path in EXAMPLES:
        assert_program_equals_compile(load(path), random_candles(7, 300))


@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize(("left", "right"), [
    ({"price": "close"}, {"indicator": "sma", "period": 2, "bars_ago": 1}),
    ({"price": "close", "bars_ago": 2}, 2),
    (2, {"price": "close", "bars_ago": 1}),
    (2, 3),
    (3, {"value": 3}),
])
def test_each_operator_and_operand_kind(op: str, left: Any, right: Any) -> None:
    c = candles([1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, np.nan, 2.0, 2.0])
    for cond in ({"left": left, "op": op, "right": right},
                 {"not": {"left": left, "op": op, "right": right}}):
        doc = {"name": "t", "entry": cond, "exit": cond, "risk": {"stop_loss_pct": 5}}
        assert_program_equals_compile(doc, c)


def test_program_shape() -> None:
    cmp = {"left": {"price": "close"}, "op": ">", "right": 1}
    doc = {"name": "t", "entry": {"all": [cmp, {"not": cmp}, cmp]},
           "risk": {"stop_loss_pct": 5}}
    p = compile_program(parse_strategy(doc))
    assert p.entry.tolist() == [[OPS[">"], 0, 1], [OPS[">"], 2, 3], [OP_NOT, 0, 0],
                                [OP_AND, 2, 0], [OPS[">"], 4, 5], [OP_AND, 2, 0]]
    assert p.exit.tolist() == [[OP_FALSE, 0, 0]]
    assert len(p.slots) == 6
    assert p.depth == 2  # two rows for the entry, one for the exit on top of row 1


def test_distinct_series_are_bound_once_and_max_series_stops_early() -> None:
    s = parse_strategy(load(next(p for p in EXAMPLES if p.name == "sma_crossover.json")))
    grid = parameter_grid(s)
    c = random_candles(2, 120)
    program = compile_program(s)
    bound = bind(program, s, c, grid)
    assert bound.series.shape == (18, 120)  # sma 5..50 step 5 and 20..200 step 20
    assert bound.rows.shape == bound.shifts.shape == bound.consts.shape == (100, 4)
    part = bind(program, s, c, grid, max_series=5)
    assert 1 <= part.n_sets < 100 and part.series.shape[0] <= 5 + len(program.slots)
    assert np.array_equal(part.series[part.rows], bound.series[bound.rows[: part.n_sets]],
                          equal_nan=True)
    one = bind(program, s, c, grid, max_series=1)
    assert one.n_sets == 1


def test_no_candles() -> None:
    doc = {"name": "t", "risk": {"stop_loss_pct": 5},
           "entry": {"left": {"price": "close"}, "op": "crosses_above",
                     "right": {"indicator": "sma", "period": 3}},
           "exit": {"any": [{"left": 1, "op": "<", "right": 2},
                            {"left": {"price": "low", "bars_ago": 2}, "op": ">", "right": 1}]}}
    assert_program_equals_compile(doc, candles([]))
