"""Validate and parse strategy documents (the format is described in ``docs/strategy.md``).

``validate_strategy(doc)`` returns every problem at once, each with the path of the value at
fault (``entry.all[1].left.period: must be an integer >= 1, got -3``); ``parse_strategy(doc)``
returns a ``Strategy`` or raises ``StrategyError`` with those problems. ``doc`` is what
``json.loads`` returns; Python booleans are never numbers and NaN or infinities are rejected.

Beyond each field's own rule, the validator checks that every ``"$name"`` names a defined
parameter, that each parameter's value, range and values suit every place it is used (an
integer for a period or ``bars_ago``, the bounds of a stop, ...), that ``risk_pct`` sizing has a
stop-loss, and that a strategy has an exit or at least one stop/target.
"""

from __future__ import annotations

from typing import Any

from domain.errors import Problem, StrategyError
from domain.indicators.api import INDICATORS, PRICE_FIELDS
from domain.strategy.build import build_strategy
from domain.strategy.fields import (
    ANY_NUMBER,
    BARS_AGO,
    CROSS_RULES,
    MAX_DEPTH,
    MAX_RANGE_VALUES,
    OPS,
    PARAM_NAME,
    PARAMETER_FIELDS,
    STRATEGY_FIELDS,
    AnyPresent,
    Num,
    Ref,
    fmt,
    show,
    suggest,
)
from domain.strategy.model import Strategy, range_count, range_values
from domain.strategy.walker import BAD, Walker, all_good, join, violation

_FORMS = 'an object with "all", "any", "not", or "left"/"op"/"right"'
_OPERANDS = 'a number, a "$parameter", or an object with "value", "price" or "indicator"'


class Validator(Walker):
    """The whole document: the field tables plus parameters, conditions and operands."""

    def __init__(self, doc: object) -> None:
        super().__init__(doc)
        # per parameter: (path, number, role) of each value to check against its uses
        self.candidates: dict[str, list[tuple[str, float, str]]] = {}

    def run(self) -> Any:
        """Walk the document; returns the normalized document (``BAD`` parts where invalid)."""
        if not isinstance(self.doc, dict):
            self.add("", f"a strategy document must be a JSON object, got {show(self.doc)}")
            return BAD
        norm = self.object_(self.doc, STRATEGY_FIELDS, "")
        self.check_uses()
        for rule in CROSS_RULES:
            if isinstance(rule, AnyPresent):
                if all(_get(norm, p) is None for p in rule.paths):
                    self.add(".".join(rule.paths[0]), rule.message)
            elif _get(norm, rule.when) == rule.equals and _get(norm, rule.needs) is None:
                self.add(".".join(rule.when), rule.message)
        return norm

    def ref(self, kind: Ref, raw: object, path: str) -> Any:
        if kind.name == "parameters":
            return self.parameters(raw, path)
        return self.condition(raw, path, 1)

    # -- parameters ------------------------------------------------------------------------------

    def parameters(self, raw: object, path: str) -> Any:
        if not isinstance(raw, dict):
            self.add(path, f"must be an object of named parameters, got {show(raw)}")
            return BAD
        out: dict[str, Any] = {}
        for name, spec in raw.items():
            p = join(path, str(name))
            if not isinstance(name, str) or not PARAM_NAME.fullmatch(name):
                self.add(p, "is not a valid parameter name: use letters, digits and underscores, "
                            "not starting with a digit")
                continue
            self.param_names.append(name)
            out[name] = self.parameter(name, spec, p)
        return out

    def parameter(self, name: str, spec: object, path: str) -> Any:
        cands = self.candidates.setdefault(name, [])
        if not isinstance(spec, dict):
            if isinstance(spec, bool) or not isinstance(spec, int | float):
                self.add(path, 'must be a number or an object {"value": n} with an optional '
                               f'"range" or "values", got {show(spec)}')
                return BAD
            x = self.number(spec, path, ANY_NUMBER, False)
            if x is BAD:
                return BAD
            cands.append((path, x, "value"))
            return {"value": x}
        norm = self.object_(spec, PARAMETER_FIELDS, path)
        if norm is BAD:
            return BAD
        if "range" in norm and "values" in norm:
            self.add(path, "give either range or values, not both")
            return BAD
        if norm["value"] is not BAD:
            cands.append((join(path, "value"), norm["value"], "value"))
        rng = norm.get("range")
        if isinstance(rng, dict) and all_good((rng["start"], rng["stop"])):
            start, stop, step = rng["start"], rng["stop"], rng["step"]
            p = join(path, "range")
            if start > stop:
                self.add(p, f"start must be <= stop, got start {fmt(start)} > stop {fmt(stop)}")
                return BAD
            if step is BAD:
                return BAD
            count = range_count(start, stop, step)
            if count > MAX_RANGE_VALUES:
                self.add(p, f"spans {count:,} values, more than the {MAX_RANGE_VALUES:,} allowed: "
                            "use a larger step or a narrower range")
                return BAD
            last = range_values(start, stop, step)[-1]
            cands.extend([(join(p, "start"), start, "value"), (join(p, "step"), step, "step"),
                          (join(p, "stop"), last, "last")])
        values = norm.get("values")
        if isinstance(values, list):
            cands.extend((f"{path}.values[{i}]", v, "value") for i, v in enumerate(values))
        return norm if all_good(norm.values()) else BAD

    def check_uses(self) -> None:
        """Each parameter's values against the rule of every place it is used (one problem per
        value: the first place whose rule it breaks)."""
        for name, uses in self.uses.items():
            for path, x, role in self.candidates.get(name, []):
                for use in uses:
                    message = violation(use, name, x, role)
                    if message is not None:
                        self.add(path, message)
                        break

    # -- conditions and operands -----------------------------------------------------------------

    def condition(self, raw: object, path: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            self.add(path, f"conditions nest more than {MAX_DEPTH} levels deep: simplify them")
            return BAD
        if not isinstance(raw, dict):
            self.add(path, f"must be a condition ({_FORMS}), got {show(raw)}")
            return BAD
        forms = [k for k in ("all", "any", "not") if k in raw]
        if any(k in raw for k in ("left", "op", "right")):
            forms.append("left/op/right")
        if len(forms) != 1:
            if forms:
                self.add(path, f"mixes {' and '.join(forms)}: a condition is exactly one of all, "
                               "any, not or a comparison (left/op/right); nest them instead")
            else:
                keys = ", ".join(repr(str(k)) for k in raw) or "no keys"
                self.add(path, f"must be a condition ({_FORMS}), got an object with {keys}")
            return BAD
        form = forms[0]
        if form in ("all", "any"):
            self.unknown_keys(raw, [form], path)
            items, p = raw[form], join(path, form)
            if not isinstance(items, list):
                self.add(p, f"must be a list of conditions, got {show(items)}")
                return BAD
            if not items:
                self.add(p, "must hold at least one condition")
                return BAD
            children = [self.condition(c, f"{p}[{i}]", depth + 1) for i, c in enumerate(items)]
            return {form: children} if all_good(children) else BAD
        if form == "not":
            self.unknown_keys(raw, ["not"], path)
            child = self.condition(raw["not"], join(path, "not"), depth + 1)
            return BAD if child is BAD else {"not": child}
        self.unknown_keys(raw, ["left", "op", "right"], path)
        out: dict[str, Any] = {}
        for key in ("left", "op", "right"):
            p = join(path, key)
            if key not in raw:
                self.add(p, "is required: a comparison needs left, op and right")
                out[key] = BAD
            elif key == "op":
                op = raw[key]
                if isinstance(op, str) and op in OPS:
                    out[key] = op
                else:
                    self.add(p, f"must be one of {', '.join(OPS)}, got {show(op)}"
                                f"{suggest(op, OPS)}")
                    out[key] = BAD
            else:
                out[key] = self.operand(raw[key], p)
        return out if all_good(out.values()) else BAD

    def operand(self, raw: object, path: str) -> Any:
        if isinstance(raw, str) and not raw.startswith("$"):
            hint = ""
            if raw in PRICE_FIELDS:
                hint = f'; for the {raw} price write {{"price": "{raw}"}}'
            elif raw in INDICATORS:
                hint = f'; for the indicator write {{"indicator": "{raw}"}}'
            self.add(path, f"must be {_OPERANDS}, got {show(raw)}{hint}")
            return BAD
        if not isinstance(raw, dict):
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                self.add(path, f"must be {_OPERANDS}, got {show(raw)}")
                return BAD
            value = self.number(raw, path, ANY_NUMBER, True)
            return BAD if value is BAD else {"value": value}
        kinds = [k for k in ("value", "price", "indicator") if k in raw]
        if len(kinds) != 1:
            self.add(path, f"must be {_OPERANDS}" if not kinds else
                     f"has {' and '.join(kinds)}: an operand is one of a value, a price or an "
                     "indicator")
            return BAD
        if kinds[0] == "value":
            self.unknown_keys(raw, ["value"], path, " for a constant")
            value = self.number(raw["value"], join(path, "value"), ANY_NUMBER, True)
            return BAD if value is BAD else {"value": value}
        if kinds[0] == "price":
            self.unknown_keys(raw, ["price", "bars_ago"], path, " for a price")
            field = raw["price"]
            out: dict[str, Any] = {"price": field, "bars_ago": self.bars_ago(raw, path)}
            if not (isinstance(field, str) and field in PRICE_FIELDS):
                self.add(join(path, "price"), f"must be one of {', '.join(PRICE_FIELDS)}, got "
                                              f"{show(field)}{suggest(field, PRICE_FIELDS)}")
                return BAD
            return out if all_good(out.values()) else BAD
        return self.indicator(raw, path)

    def indicator(self, raw: dict[Any, Any], path: str) -> Any:
        name = raw["indicator"]
        spec = INDICATORS.get(name) if isinstance(name, str) else None
        if spec is None:
            names = list(INDICATORS)
            self.add(join(path, "indicator"), f"unknown indicator {show(name)}; use one of: "
                                              f"{', '.join(names)}{suggest(name, names)}")
            return BAD
        allowed = ["indicator", *spec.param_names, "output", "bars_ago"]
        self.unknown_keys(raw, allowed, path, f" for {spec.name}")
        out: dict[str, Any] = {"indicator": spec.name}
        for ps in spec.params:
            p = join(path, ps.name)
            value = raw.get(ps.name, ps.default)
            if ps.kind == "source":
                if not (isinstance(value, str) and value in PRICE_FIELDS):
                    self.add(p, f"must be one of {', '.join(PRICE_FIELDS)}, got {show(value)}"
                                f"{suggest(value, PRICE_FIELDS)}")
                    value = BAD
            else:
                rule = Num(integer=ps.kind == "int", ge=ps.minimum, le=ps.maximum)
                value = self.number(value, p, rule, True)
            out[ps.name] = value
        output = raw.get("output", spec.default_output)
        if not (isinstance(output, str) and output in spec.outputs):
            self.add(join(path, "output"),
                     f"unknown output {show(output)} of {spec.name}; its outputs: "
                     f"{', '.join(spec.outputs)}{suggest(output, spec.outputs)}")
            output = BAD
        out["output"] = output
        out["bars_ago"] = self.bars_ago(raw, path)
        return out if all_good(out.values()) else BAD

    def bars_ago(self, raw: dict[Any, Any], path: str) -> Any:
        if "bars_ago" not in raw:
            return 0
        return self.number(raw["bars_ago"], join(path, "bars_ago"), BARS_AGO, True)


def _get(doc: Any, path: tuple[str, ...]) -> Any:
    node = doc
    for key in path:
        if not isinstance(node, dict):
            return BAD
        node = node.get(key)
    return node


def _analyze(doc: object) -> tuple[list[Problem], Strategy | None]:
    v = Validator(doc)
    norm = v.run()
    if v.problems:
        return v.problems, None
    uses = {name: tuple(u) for name, u in v.uses.items()}
    return [], build_strategy(norm, uses)


def validate_strategy(doc: object) -> list[Problem]:
    """Every problem of the strategy document ``doc`` (empty when it is valid)."""
    return _analyze(doc)[0]


def parse_strategy(doc: object) -> Strategy:
    """The ``Strategy`` of the document ``doc``; raises ``StrategyError`` listing every problem."""
    problems, strategy = _analyze(doc)
    if strategy is None:
        raise StrategyError(problems)
    return strategy
