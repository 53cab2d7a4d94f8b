"""The declarative field tables of a strategy document.

Both the validator (``domain.strategy.document``) and the JSON Schema generator
(``domain.strategy.schema``) read these tables, so the two cannot drift apart. A table is a tuple
of ``Field``; a field's ``kind`` says what it holds (``Text``, ``Choice``, ``Number``, a nested
``Obj`` or a ``Ref`` to a recursive part: conditions and parameters, which have their own code).
Rules that tie two fields together are ``Requires`` and ``AnyPresent`` objects in ``CROSS_RULES``.
The building blocks (and the helpers that spell values in messages) are in ``kinds.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from domain.indicators.api import PRICE_FIELDS
from domain.strategy.kinds import (
    ANY_NUMBER,
    BARS_AGO,
    MAX_INTEGER,
    AnyPresent,
    Choice,
    Depends,
    Field,
    Num,
    Number,
    Numbers,
    Obj,
    Ref,
    Requires,
    Text,
    fmt,
    show,
    suggest,
)

PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What a parameter's name looks like (``fast``, ``rsi_period``, ``_x2``)."""

PARAM_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
"""A reference to a parameter: ``$`` and its name."""

OPS: tuple[str, ...] = (">", "<", ">=", "<=", "crosses_above", "crosses_below")
"""Comparison operators, in the order the manual lists them."""

MAX_DEPTH = 32
"""How deeply conditions may nest (``all``/``any``/``not`` inside one another)."""

MAX_RANGE_VALUES = 1_000_000
"""The most values one parameter's ``range`` may span."""

MAX_GRID_SETS = 1_000_000
"""The most parameter sets ``parameter_grid`` builds (the product of every parameter's count)."""

MAX_INITIAL_CAPITAL = 1_000_000_000_000
"""The largest starting equity (a trillion in the quote currency): far beyond any account, and
far from where sums of equity stop counting cents or overflow."""

INITIAL_CAPITAL = Num(gt=0, le=MAX_INITIAL_CAPITAL)
"""Starting equity, in a strategy document and in a run's request."""

RISK_FREE_RATE = Num(gt=-1, le=1)
"""An annual risk-free rate as a fraction (``0.04`` for 4 %): above -100 %, at most 100 %."""


def number_problem(rule: Num, value: object, example: str = "") -> str | None:
    """What is wrong with ``value`` as a number obeying ``rule`` (``None`` when it does), for a
    request's field such as ``initial_capital``; ``example`` is appended to the message."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"must be {rule.describe(noun=True)}{example}, got {show(value)}"
    if not rule.accepts(value):
        return f"must be {rule.describe(noun=True)}{example}, got {show(value)}"
    return None


def _pct(text: str) -> str:
    return text + " May be a \"$parameter\". null or absent: not used."


SIZING_FIELDS: tuple[Field, ...] = (
    Field("mode", Choice(("fraction_of_equity", "fixed_quote", "risk_pct")),
          "How much each entry buys or sells: a fraction of equity, a fixed amount of the quote "
          "currency, or the size that loses `value` percent of equity if the stop-loss is hit.",
          default="fraction_of_equity"),
    Field("value", Number(Num(gt=0), param=True, depends=Depends(("risk", "sizing", "mode"), {
        "fraction_of_equity": Num(gt=0, le=1),
        "fixed_quote": Num(gt=0),
        "risk_pct": Num(gt=0, le=100),
    })), "fraction_of_equity: 0 < x <= 1; fixed_quote: x > 0 (quote currency); risk_pct: "
         "0 < x <= 100 (percent of equity), needs risk.stop_loss_pct. May be a \"$parameter\".",
          default=1.0),
)

RISK_FIELDS: tuple[Field, ...] = (
    Field("stop_loss_pct", Number(Num(gt=0, lt=100), param=True),
          _pct("Stop-loss distance from the entry price, in percent (0 < x < 100)."),
          nullable=True),
    Field("take_profit_pct", Number(Num(gt=0), param=True, depends=Depends(
        ("side",), {"short": Num(gt=0, lt=100)}, " for side {}")),
          _pct("Take-profit distance from the entry price, in percent (x > 0; < 100 for shorts)."),
          nullable=True),
    Field("trailing_stop_pct", Number(Num(gt=0, lt=100), param=True),
          _pct("Trailing-stop distance from the best price since entry, in percent (0 < x < 100)."),
          nullable=True),
    Field("sizing", Obj(SIZING_FIELDS), "Position sizing.",
          default={"mode": "fraction_of_equity", "value": 1.0}),
)

COSTS_FIELDS: tuple[Field, ...] = (
    Field("fee_bps", Number(Num(ge=0, lt=1000), param=True),
          "Fee in basis points (1 bps = 0.01%) of each fill's notional, entry and exit (0 <= x < "
          "1000). May be a \"$parameter\".", default=10),
    Field("slippage_bps", Number(Num(ge=0, lt=1000), param=True),
          "Slippage in basis points applied against the trader to market fills (0 <= x < 1000). "
          "May be a \"$parameter\".", default=0),
)

STRATEGY_FIELDS: tuple[Field, ...] = (
    Field("name", Text(1, 200), "The strategy's name (1 to 200 characters).", required=True),
    Field("description", Text(), "Free text.", default=""),
    Field("side", Choice(("long", "short")), "The direction every trade takes.", default="long"),
    Field("parameters", Ref("parameters"),
          "Named numbers referenced as \"$name\" anywhere a number may be a parameter; a range "
          "or a list of values makes the parameter part of a sweep's grid.", default={}),
    Field("entry", Ref("condition"),
          "Opens a position (when flat) at the next bar's open when true at a bar's close.",
          required=True),
    Field("exit", Ref("condition"),
          "Closes the position at the next bar's open when true at a bar's close. Optional, but "
          "a strategy needs an exit or at least one of the stops/target.", nullable=True),
    Field("risk", Obj(RISK_FIELDS), "Stops, target and position sizing.",
          default={"stop_loss_pct": None, "take_profit_pct": None, "trailing_stop_pct": None,
                   "sizing": {"mode": "fraction_of_equity", "value": 1.0}}),
    Field("costs", Obj(COSTS_FIELDS), "Trading costs.",
          default={"fee_bps": 10, "slippage_bps": 0}),
    Field("initial_capital", Number(INITIAL_CAPITAL),
          "Starting equity in the quote currency (x > 0 and at most a trillion, 1e12).",
          default=10000),
)
"""The top level of a strategy document, in the order the normalized document lists keys."""

RANGE_FIELDS: tuple[Field, ...] = (
    Field("start", Number(ANY_NUMBER), "First value.", required=True),
    Field("stop", Number(ANY_NUMBER),
          "Last value, included when start + k * step lands on it (start <= stop).",
          required=True),
    Field("step", Number(Num(gt=0)), "Distance between values (> 0).", required=True),
)

PARAMETER_FIELDS: tuple[Field, ...] = (
    Field("value", Number(ANY_NUMBER), "The value used by a single backtest.", required=True),
    Field("range", Obj(RANGE_FIELDS),
          "The values a sweep tries: start, start + step, ... up to stop. Not with `values`."),
    Field("values", Numbers(ANY_NUMBER),
          "The values a sweep tries, a non-empty list of numbers. Not with `range`."),
)
"""One parameter in its object form (``values`` is a list of such numbers)."""

CROSS_RULES: tuple[Requires | AnyPresent, ...] = (
    Requires(("risk", "sizing", "mode"), "risk_pct", ("risk", "stop_loss_pct"),
             "risk_pct sizing needs risk.stop_loss_pct (the size is what makes the loss at the "
             "stop equal that percent of equity): set stop_loss_pct or choose another mode"),
    AnyPresent((("exit",), ("risk", "stop_loss_pct"), ("risk", "take_profit_pct"),
                ("risk", "trailing_stop_pct")),
               "the strategy never closes a position: add an exit condition or at least one of "
               "risk.stop_loss_pct, risk.take_profit_pct, risk.trailing_stop_pct"),
)

CONDITION_FORMS: Mapping[str, str] = {
    "all": "{\"all\": [condition, ...]}: true when every child is true (at least one child).",
    "any": "{\"any\": [condition, ...]}: true when at least one child is true (at least one "
           "child).",
    "not": "{\"not\": condition}: the negation of its child (a comparison that is false because "
           "of a NaN operand becomes true).",
    "compare": "{\"left\": operand, \"op\": OP, \"right\": operand}: a comparison, false when "
               "either operand is NaN (crosses_* look at this bar and the one before).",
}

OPERAND_FORMS: Mapping[str, str] = {
    "number": "A constant.",
    "param": "A constant: the value of a parameter, \"$name\".",
    "value": "{\"value\": number or \"$name\"}: a constant.",
    "price": "{\"price\": FIELD, \"bars_ago\": N}: a price series of the candles.",
    "indicator": "{\"indicator\": NAME, PARAM: value, ..., \"output\": OUT, \"bars_ago\": N}: an "
                 "indicator's output series.",
}

__all__ = [
    "ANY_NUMBER",
    "BARS_AGO",
    "CONDITION_FORMS",
    "COSTS_FIELDS",
    "CROSS_RULES",
    "MAX_DEPTH",
    "MAX_GRID_SETS",
    "MAX_INTEGER",
    "MAX_RANGE_VALUES",
    "OPERAND_FORMS",
    "OPS",
    "PARAMETER_FIELDS",
    "PARAM_NAME",
    "PARAM_REF",
    "PRICE_FIELDS",
    "RISK_FIELDS",
    "SIZING_FIELDS",
    "STRATEGY_FIELDS",
    "AnyPresent",
    "Choice",
    "Depends",
    "Field",
    "Num",
    "Number",
    "Numbers",
    "Obj",
    "Ref",
    "Requires",
    "Text",
    "fmt",
    "show",
    "suggest",
]
