"""Validation: every rule reports its exact path and message; all problems come at once."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.errors import Problem, StrategyError
from domain.strategy import parse_strategy, validate_strategy
from tests.domain.strategy.helpers import BASE, EXAMPLES, doc, load

Doc = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    """A mutation setting ``value`` at a dotted path (``[i]`` indexes lists)."""

    def apply(d: Doc) -> None:
        keys: list[str | int] = []
        for part in path.split("."):
            name, *idx = part.replace("]", "").split("[")
            keys.append(name)
            keys.extend(int(i) for i in idx)
        node: Any = d
        for k in keys[:-1]:
            node = node[k]
        if value is _DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value

    return apply


_DELETE = object()
SMA_M3 = {"indicator": "sma", "period": -3}
ALL_INDICATORS = "sma, ema, wma, rsi, macd, bbands, atr, stoch, roc, vwap, donchian, obv, adx"
NEVER_CLOSES = ("the strategy never closes a position: add an exit condition or at least one of "
                "risk.stop_loss_pct, risk.take_profit_pct, risk.trailing_stop_pct")

CASES: list[tuple[str, list[Callable[[Doc], None]], str, str]] = [
    ("negative period", [_set("entry.all[1].left", SMA_M3)],
     "entry.all[1].left.period", "must be an integer >= 1, got -3"),
    ("fractional period", [_set("entry.all[1].left", {"indicator": "ema", "period": 2.5})],
     "entry.all[1].left.period", "must be an integer >= 1, got 2.5"),
    ("sizing fraction > 1", [_set("risk", {"sizing": {"value": 1.5}})],
     "risk.sizing.value", "must be > 0 and <= 1 for fraction_of_equity, got 1.5"),
    ("sizing risk_pct > 100", [_set("risk", {"stop_loss_pct": 2,
                                             "sizing": {"mode": "risk_pct", "value": 150}})],
     "risk.sizing.value", "must be > 0 and <= 100 for risk_pct, got 150"),
    ("fixed quote 0", [_set("risk", {"sizing": {"mode": "fixed_quote", "value": 0}})],
     "risk.sizing.value", "must be > 0 for fixed_quote, got 0"),
    ("step 0", [_set("parameters.fast.range.step", 0)],
     "parameters.fast.range.step", "must be > 0, got 0"),
    ("step negative", [_set("parameters.fast.range.step", -5)],
     "parameters.fast.range.step", "must be > 0, got -5"),
    ("start > stop", [_set("parameters.fast.range", {"start": 50, "stop": 5, "step": 5})],
     "parameters.fast.range", "start must be <= stop, got start 50 > stop 5"),
    ("range too big", [_set("parameters.fast.range", {"start": 1, "stop": 1e9, "step": 1})],
     "parameters.fast.range", "spans 1,000,000,000 values, more than the 1,000,000 allowed: use "
                              "a larger step or a narrower range"),
    ("range and values", [_set("parameters.slow.range", {"start": 1, "stop": 2, "step": 1})],
     "parameters.slow", "give either range or values, not both"),
    ("missing value", [_set("parameters.slow", {"values": [1, 2]})],
     "parameters.slow.value", "is required"),
    ("empty values", [_set("parameters.slow.values", [])],
     "parameters.slow.values", "must hold at least 1 number(s)"),
    ("bad parameter name", [_set("parameters", {"9x": 1})],
     "parameters.9x", "is not a valid parameter name: use letters, digits and underscores, not "
                      "starting with a digit"),
    ("parameter bool", [_set("parameters.level", True)],
     "parameters.level", 'must be a number or an object {"value": n} with an optional "range" '
                         'or "values", got true'),
    ("unknown $param", [_set("exit.left.period", "$fsat")],
     "exit.left.period", "unknown parameter '$fsat'; defined: fast, slow, level"),
    ("no parameters", [_set("parameters", {})],
     "exit.left.period", 'unknown parameter \'$fast\'; no parameters are defined: add it under '
                         '"parameters"'),
    ("malformed $ref", [_set("exit.left.period", "$9")],
     "exit.left.period", "'$9' is not a parameter reference: write '$' followed by the "
                         "parameter's name, e.g. '$fast'"),
    ("non-integer param value", [_set("parameters.fast.value", 10.5)],
     "parameters.fast.value", "must be an integer >= 1 (fast is used as "
                              "entry.all[0].left.period), got 10.5"),
    ("non-integer range step", [_set("parameters.fast.range.step", 2.5)],
     "parameters.fast.range.step", "must be an integer (fast is used as "
                                   "entry.all[0].left.period), got 2.5"),
    ("non-integer range start", [_set("parameters.fast.range.start", 0.5)],
     "parameters.fast.range.start", "must be an integer >= 1 (fast is used as "
                                    "entry.all[0].left.period), got 0.5"),
    ("non-integer values", [_set("parameters.slow.values", [20, 50.5])],
     "parameters.slow.values[1]", "must be an integer >= 1 (slow is used as "
                                  "entry.all[0].right.period), got 50.5"),
    ("shorthand out of bounds", [_set("parameters.level", 0),
                                 _set("entry.all[1].left", {"indicator": "rsi",
                                                            "period": "$level"})],
     "parameters.level", "must be an integer >= 1 (level is used as entry.all[1].left.period), "
                         "got 0"),
    ("param beyond a stop's bound", [_set("parameters.sl", 150),
                                     _set("risk", {"stop_loss_pct": "$sl"})],
     "parameters.sl", "must be > 0 and < 100 (sl is used as risk.stop_loss_pct), got 150"),
    ("range beyond a bound", [_set("parameters.sl", {"value": 50, "range": {
        "start": 50, "stop": 160, "step": 50}}), _set("risk", {"stop_loss_pct": "$sl"})],
     "parameters.sl.range.stop", "must be > 0 and < 100 (sl is used as risk.stop_loss_pct), but "
                                 "the range reaches 150"),
    ("param sizing by mode", [_set("parameters.f", 2),
                              _set("risk", {"sizing": {"value": "$f"}})],
     "parameters.f", "must be > 0 and <= 1 for fraction_of_equity (f is used as "
                     "risk.sizing.value), got 2"),
    ("huge period", [_set("exit.left.period", 10**20)],
     "exit.left.period", "must be an integer >= 1 and at most 1,000,000,000, got "
                         "100000000000000000000"),
    ("huge period parameter", [_set("parameters.fast.range.stop", 2e9),
                               _set("parameters.fast.range.step", 1e9)],
     "parameters.fast.range.stop", "must be an integer >= 1 and at most 1,000,000,000 (fast is "
                                   "used as entry.all[0].left.period), but the range reaches "
                                   "1000000005"),
    ("bars_ago negative", [_set("exit.left.bars_ago", -1)],
     "exit.left.bars_ago", "must be an integer >= 0, got -1"),
    ("bars_ago bool", [_set("exit.left.bars_ago", True)],
     "exit.left.bars_ago", 'must be an integer >= 0 or a "$parameter", got true'),
    ("bars_ago param fraction", [_set("parameters.lag", 1.5),
                                 _set("exit.right", {"price": "close", "bars_ago": "$lag"})],
     "parameters.lag", "must be an integer >= 0 (lag is used as exit.right.bars_ago), got 1.5"),
    ("unknown indicator", [_set("exit.left.indicator", "smaa")],
     "exit.left.indicator", f"unknown indicator 'smaa'; use one of: {ALL_INDICATORS} (did you "
                            "mean 'sma'?)"),
    ("unknown output", [_set("exit.left.output", "upper")],
     "exit.left.output", "unknown output 'upper' of sma; its outputs: value"),
    ("unknown indicator key", [_set("exit.left.perod", 3)],
     "exit.left.perod", "unknown key for sma; the keys here are indicator, period, source, "
                        "output, bars_ago (did you mean 'period'?)"),
    ("bad source", [_set("exit.left.source", "adj_close")],
     "exit.left.source", "must be one of open, high, low, close, volume, hl2, hlc3, ohlc4, got "
                         "'adj_close' (did you mean 'close'?)"),
    ("source not a param", [_set("exit.left.source", "$fast")],
     "exit.left.source", "must be one of open, high, low, close, volume, hl2, hlc3, ohlc4, got "
                         "'$fast'"),
    ("bad price", [_set("exit.right", {"price": "closee"})],
     "exit.right.price", "must be one of open, high, low, close, volume, hl2, hlc3, ohlc4, got "
                         "'closee' (did you mean 'close'?)"),
    ("bare price name", [_set("exit.right", "close")],
     "exit.right", 'must be a number, a "$parameter", or an object with "value", "price" or '
                   '"indicator", got \'close\'; for the close price write {"price": "close"}'),
    ("two operand kinds", [_set("exit.right", {"price": "close", "value": 1})],
     "exit.right", "has value and price: an operand is one of a value, a price or an indicator"),
    ("bars_ago on a constant", [_set("exit.right", {"value": 1, "bars_ago": 1})],
     "exit.right.bars_ago", "unknown key for a constant; the keys here are value"),
    ("NaN operand", [_set("exit.right", math.nan)],
     "exit.right", "must be a finite number, got NaN"),
    ("bool operand", [_set("exit.right", False)],
     "exit.right", 'must be a number, a "$parameter", or an object with "value", "price" or '
                   '"indicator", got false'),
    ("unknown op", [_set("exit.op", "=>")],
     "exit.op", "must be one of >, <, >=, <=, crosses_above, crosses_below, got '=>' (did you "
                "mean '>'?)"),
    ("missing right", [_set("exit.right", _DELETE)],
     "exit.right", "is required: a comparison needs left, op and right"),
    ("empty all", [_set("entry", {"all": []})],
     "entry.all", "must hold at least one condition"),
    ("all not a list", [_set("entry", {"any": {"not": 1}})],
     "entry.any", "must be a list of conditions, got an object"),
    ("mixed forms", [_set("entry", {"all": [BASE["exit"]], "left": 1, "op": ">", "right": 2})],
     "entry", "mixes all and left/op/right: a condition is exactly one of all, any, not or a "
              "comparison (left/op/right); nest them instead"),
    ("not a condition", [_set("exit", {"when": 1})],
     "exit", 'must be a condition (an object with "all", "any", "not", or "left"/"op"/"right"), '
             "got an object with 'when'"),
    ("unknown top key", [_set("stop_loss_pct", 2)],
     "stop_loss_pct", "unknown key; the keys here are name, description, side, parameters, "
                      "entry, exit, risk, costs, initial_capital"),
    ("unknown nested key", [_set("risk", {"stop_los_pct": 2})],
     "risk.stop_los_pct", "unknown key; the keys here are stop_loss_pct, take_profit_pct, "
                          "trailing_stop_pct, sizing (did you mean 'stop_loss_pct'?)"),
    ("name missing", [_set("name", _DELETE)], "name", "is required"),
    ("name empty", [_set("name", "  ")], "name", "must not be empty"),
    ("name too long", [_set("name", "x" * 201)],
     "name", "must be at most 200 characters, got 201: shorten it"),
    ("name not a string", [_set("name", 5)], "name", "must be a string, got 5"),
    ("side", [_set("side", "sideways")], "side", "must be one of long, short, got 'sideways'"),
    ("side null", [_set("side", None)], "side", "must be one of long, short, got null"),
    ("entry missing", [_set("entry", _DELETE)], "entry", "is required"),
    ("stop loss 100", [_set("risk", {"stop_loss_pct": 100})],
     "risk.stop_loss_pct", "must be > 0 and < 100, got 100"),
    ("trailing 0", [_set("risk", {"trailing_stop_pct": 0})],
     "risk.trailing_stop_pct", "must be > 0 and < 100, got 0"),
    ("short target 100", [_set("side", "short"), _set("risk", {"take_profit_pct": 100})],
     "risk.take_profit_pct", "must be > 0 and < 100 for side short, got 100"),
    ("fee too high", [_set("costs", {"fee_bps": 1000})],
     "costs.fee_bps", "must be >= 0 and < 1000, got 1000"),
    ("fee as text", [_set("costs", {"fee_bps": "10"})],
     "costs.fee_bps", 'must be a number >= 0 and < 1000 or a "$parameter", got \'10\': write '
                      "numbers without quotes"),
    ("fee bool", [_set("costs", {"slippage_bps": True})],
     "costs.slippage_bps", 'must be a number >= 0 and < 1000 or a "$parameter", got true'),
    ("capital inf", [_set("initial_capital", math.inf)],
     "initial_capital", "must be a finite number, got Infinity"),
    ("capital 0", [_set("initial_capital", 0)], "initial_capital",
     "must be > 0 and <= 1000000000000, got 0"),
    ("capital 1e308", [_set("initial_capital", 1e308)], "initial_capital",
     "must be > 0 and <= 1000000000000, got 1e+308"),
    ("capital not a param", [_set("initial_capital", "$fast")],
     "initial_capital", "must be a number > 0 and <= 1000000000000, got '$fast'"),
    ("risk_pct without stop", [_set("risk", {"sizing": {"mode": "risk_pct", "value": 1}})],
     "risk.sizing.mode", "risk_pct sizing needs risk.stop_loss_pct (the size is what makes the "
                         "loss at the stop equal that percent of equity): set stop_loss_pct or "
                         "choose another mode"),
    ("no way out", [_set("exit", _DELETE)], "exit", NEVER_CLOSES),
    ("null exit, null stops", [_set("exit", None), _set("risk", {"stop_loss_pct": None})],
     "exit", NEVER_CLOSES),
    ("risk not an object", [_set("risk", [])], "risk", "must be an object, got a list"),
]


@pytest.mark.parametrize(("changes", "path", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_rule_reports_path_and_message(changes: list[Callable[[Doc], None]], path: str,
                                            message: str) -> None:
    d = doc()
    for change in changes:
        change(d)
    problems = validate_strategy(d)
    assert Problem(path, message) in problems, "\n".join(map(str, problems))
    with pytest.raises(StrategyError) as info:
        parse_strategy(d)
    assert info.value.problems == problems
    assert f"{path}: {message}" in str(info.value)


def test_the_base_document_and_every_example_is_valid() -> None:
    assert validate_strategy(doc()) == []
    assert len(EXAMPLES) >= 3
    for path in EXAMPLES:
        assert validate_strategy(load(path)) == [], path.name


def test_many_problems_at_once_in_document_order() -> None:
    d = doc(name="", side="up", initial_capital=-1)
    d["entry"]["all"][1]["left"] = SMA_M3
    d["exit"]["left"]["period"] = "$fsat"
    d["costs"] = {"fee_bps": True, "extra": 1}
    problems = validate_strategy(d)
    assert [p.path for p in problems] == [
        "name", "side", "entry.all[1].left.period", "exit.left.period", "costs.extra",
        "costs.fee_bps", "initial_capital",
    ]


def test_not_an_object() -> None:
    assert validate_strategy([1]) == [
        Problem("", "a strategy document must be a JSON object, got a list")]
    assert str(validate_strategy(None)[0]) == "a strategy document must be a JSON object, got null"


def test_depth_limit() -> None:
    cond: Any = BASE["exit"]
    for _ in range(40):
        cond = {"not": cond}
    problems = validate_strategy(doc(exit=cond))
    assert len(problems) == 1
    assert problems[0].path == "exit" + ".not" * 32
    assert problems[0].message == "conditions nest more than 32 levels deep: simplify them"


def test_defaults_filled_and_normalized_document_round_trips() -> None:
    d = doc()
    before = copy.deepcopy(d)
    s = parse_strategy(d)
    assert d == before, "parsing must not modify its input"
    norm = s.document
    assert norm["side"] == "long" and norm["description"] == ""
    assert norm["risk"] == {"stop_loss_pct": None, "take_profit_pct": None,
                            "trailing_stop_pct": None,
                            "sizing": {"mode": "fraction_of_equity", "value": 1.0}}
    assert norm["costs"] == {"fee_bps": 10, "slippage_bps": 0}
    assert norm["initial_capital"] == 10000
    assert norm["parameters"]["level"] == {"value": 30}
    assert norm["entry"]["all"][1] == {
        "left": {"indicator": "rsi", "period": 14, "source": "close", "output": "value",
                 "bars_ago": 0},
        "op": ">", "right": {"value": "$level"}}
    again = parse_strategy(json.loads(json.dumps(norm)))
    assert again == s and again.document == norm


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).name)
def test_examples_round_trip(path: Path) -> None:
    s = parse_strategy(load(path))
    assert parse_strategy(json.loads(json.dumps(s.document))) == s


def test_integral_floats_are_integers_where_needed() -> None:
    d = doc()
    d["exit"]["left"]["period"] = 10.0
    s = parse_strategy(d)
    assert s.document["exit"]["left"]["period"] == 10
    assert isinstance(s.document["exit"]["left"]["period"], int)


def test_parsed_model() -> None:
    from domain.strategy import All, Compare, Const, Indicator, ParamRef

    s = parse_strategy(doc())
    assert s.name == "test" and s.side == "long" and s.direction == 1
    assert list(s.parameters) == ["fast", "slow", "level"]
    assert s.parameters["fast"].integer and not s.parameters["level"].integer
    assert s.parameters["fast"].range == (5, 50, 5)
    assert s.parameters["slow"].values == (20, 50, 100)
    assert isinstance(s.entry, All)
    first = s.entry.children[0]
    assert isinstance(first, Compare) and first.op == "crosses_above"
    assert first.left == Indicator("sma", (("period", ParamRef("fast")), ("source", "close")),
                                   "value", 0)
    second = s.entry.children[1]
    assert isinstance(second, Compare) and second.right == Const(ParamRef("level"))
    assert s.risk.stop_loss_pct is None and s.risk.sizing_mode == "fraction_of_equity"


def test_the_manuals_example_is_valid() -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "strategy.md").read_text()
    example = json.loads(text.split("```json", 1)[1].split("```", 1)[0])
    s = parse_strategy(example)
    assert s.parameters["slow"].sweep_values() == (20, 50, 100)
    assert s.risk.trailing_stop_pct is None
