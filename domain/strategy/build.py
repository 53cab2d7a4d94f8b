"""Build the typed ``Strategy`` from a normalized document that has passed validation."""

from __future__ import annotations

from typing import Any

from domain.indicators.api import INDICATORS
from domain.strategy.model import (
    All,
    AnyOf,
    Compare,
    Condition,
    Const,
    Costs,
    Indicator,
    Not,
    Operand,
    Parameter,
    ParamRef,
    Price,
    Risk,
    Strategy,
    Use,
    Value,
)


def value(x: Any) -> Value:
    """``"$name"`` -> ``ParamRef("name")``; a number stays a number."""
    if isinstance(x, str):
        return ParamRef(x[1:])
    return x  # type: ignore[no-any-return]


def operand(doc: dict[str, Any]) -> Operand:
    if "value" in doc:
        return Const(value(doc["value"]))
    if "price" in doc:
        return Price(doc["price"], value(doc["bars_ago"]))
    spec = INDICATORS[doc["indicator"]]
    params = tuple(
        (p.name, doc[p.name] if p.kind == "source" else value(doc[p.name])) for p in spec.params
    )
    return Indicator(spec.name, params, doc["output"], value(doc["bars_ago"]))


def condition(doc: dict[str, Any]) -> Condition:
    if "all" in doc:
        return All(tuple(condition(c) for c in doc["all"]))
    if "any" in doc:
        return AnyOf(tuple(condition(c) for c in doc["any"]))
    if "not" in doc:
        return Not(condition(doc["not"]))
    return Compare(operand(doc["left"]), doc["op"], operand(doc["right"]))


def _optional(x: Any) -> Value | None:
    return None if x is None else value(x)


def build_strategy(doc: dict[str, Any], uses: dict[str, tuple[Use, ...]]) -> Strategy:
    """The ``Strategy`` of the normalized, valid document ``doc``."""
    integer = {name for name, us in uses.items() if any(u.rule.integer for u in us)}
    parameters = {}
    for name, p in doc["parameters"].items():
        rng = p.get("range")
        parameters[name] = Parameter(
            name,
            p["value"],
            None if rng is None else (rng["start"], rng["stop"], rng["step"]),
            None if p.get("values") is None else tuple(p["values"]),
            name in integer,
        )
    risk, sizing, costs = doc["risk"], doc["risk"]["sizing"], doc["costs"]
    return Strategy(
        name=doc["name"],
        description=doc["description"],
        side=doc["side"],
        parameters=parameters,
        entry=condition(doc["entry"]),
        exit=None if doc["exit"] is None else condition(doc["exit"]),
        risk=Risk(
            _optional(risk["stop_loss_pct"]),
            _optional(risk["take_profit_pct"]),
            _optional(risk["trailing_stop_pct"]),
            sizing["mode"],
            value(sizing["value"]),
        ),
        costs=Costs(value(costs["fee_bps"]), value(costs["slippage_bps"])),
        initial_capital=doc["initial_capital"],
        document=doc,
        uses=uses,
    )
