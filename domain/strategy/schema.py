"""The JSON Schema (Draft 2020-12) of strategy documents, generated from the validator's tables.

Everything comes from ``domain.strategy.fields`` (fields, their rules, defaults, descriptions
and the cross-field rules) and from the indicator registry (one schema per indicator with its
parameters and outputs), so the schema cannot drift from the validator. A few rules the schema
cannot express are left to the validator and said in the descriptions: ``$parameter``
references must name defined parameters whose values suit where they are used, a range needs
``start <= stop``, and conditions nest at most ``MAX_DEPTH`` levels.

``python -m domain.strategy.schema > docs/strategy.schema.json`` regenerates the committed copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from domain.indicators.api import INDICATORS, PRICE_FIELDS, IndicatorSpec, ParamSpec
from domain.strategy.fields import (
    BARS_AGO,
    CONDITION_FORMS,
    CROSS_RULES,
    MAX_DEPTH,
    MAX_INTEGER,
    OPERAND_FORMS,
    OPS,
    PARAM_NAME,
    PARAMETER_FIELDS,
    STRATEGY_FIELDS,
    AnyPresent,
    Choice,
    Field,
    Num,
    Number,
    Numbers,
    Obj,
    Text,
)
from domain.strategy.walker import field_at

Schema = dict[str, Any]
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def num_schema(rule: Num) -> Schema:
    """``{"type": "integer", "minimum": 1}`` and the like."""
    out: Schema = {"type": "integer" if rule.integer else "number"}
    for key, bound in (("minimum", rule.ge), ("exclusiveMinimum", rule.gt),
                       ("maximum", rule.le), ("exclusiveMaximum", rule.lt)):
        if bound is not None:
            out[key] = bound
    if rule.integer and rule.le is None and rule.lt is None:
        out["maximum"] = MAX_INTEGER
    return out


def _number(rule: Num, param: bool, nullable: bool = False) -> Schema:
    options = [num_schema(rule)]
    if param:
        options.append(_ref("parameterRef"))
    if nullable:
        options.append({"type": "null"})
    return options[0] if len(options) == 1 else {"anyOf": options}


def field_schema(f: Field) -> Schema:
    """One property's schema, with its title, description and default."""
    kind = f.kind
    out: Schema = {"title": _title(f.name), "description": f.description}
    if isinstance(kind, Text):
        out["type"] = "string"
        if kind.min_len:
            out["minLength"] = kind.min_len
            out["pattern"] = r"\S"
        if kind.max_len is not None:
            out["maxLength"] = kind.max_len
    elif isinstance(kind, Choice):
        out["enum"] = list(kind.options)
    elif isinstance(kind, Number):
        out.update(_number(kind.rule, kind.param, f.nullable))
    elif isinstance(kind, Numbers):
        out.update({"type": "array", "minItems": kind.min_items, "items": num_schema(kind.rule)})
    elif isinstance(kind, Obj):
        out.update(object_schema(kind.fields))
    else:
        out.update(_ref(kind.name))
        if f.nullable:
            out = {"title": out.pop("title"), "description": out.pop("description"),
                   "anyOf": [out, {"type": "null"}]}
    if not f.required and (f.default is not None or f.nullable):
        out["default"] = f.default
    return out


def object_schema(fields: Sequence[Field]) -> Schema:
    """A closed object with the given fields."""
    out: Schema = {
        "type": "object",
        "properties": {f.name: field_schema(f) for f in fields},
        "additionalProperties": False,
    }
    required = [f.name for f in fields if f.required]
    if required:
        out["required"] = required
    return out


def _nest(path: Sequence[str], leaf: Schema, required: bool) -> Schema:
    """A schema that applies ``leaf`` at ``path``; with ``required`` every key on the way must
    be present."""
    node = leaf
    for key in reversed(path):
        node = {"properties": {key: node}, **({"required": [key]} if required else {})}
    return node


def _walk(fields: Sequence[Field], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Field]]:
    for f in fields:
        yield (*prefix, f.name), f
        if isinstance(f.kind, Obj):
            yield from _walk(f.kind.fields, (*prefix, f.name))


def _set(path: Sequence[str]) -> Schema:
    return _nest(path, {"not": {"type": "null"}}, required=True)


def _matches(path: Sequence[str], value: str) -> Schema:
    """True when the field at ``path`` equals ``value`` (counting its default when missing)."""
    f = field_at(path)
    default_matches = f is not None and f.default == value
    return _nest(path, {"const": value}, required=not default_matches)


def cross_rules() -> list[Schema]:
    """Rules tying fields together: per-value bounds (``Depends``) and ``CROSS_RULES``."""
    out: list[Schema] = []
    for path, f in _walk(STRATEGY_FIELDS):
        if isinstance(f.kind, Number) and f.kind.depends is not None:
            dep = f.kind.depends
            for value, rule in dep.rules.items():
                then = _number(rule, f.kind.param, f.nullable)
                out.append({"if": _matches(dep.on, value), "then": _nest(path, then, False)})
    for r in CROSS_RULES:
        if isinstance(r, AnyPresent):
            out.append({"description": r.message, "anyOf": [_set(p) for p in r.paths]})
        else:
            out.append({"description": r.message, "if": _matches(r.when, r.equals),
                        "then": _set(r.needs)})
    return out


def _param_schema(p: ParamSpec) -> Schema:
    out: Schema = {"description": p.description}
    if p.kind == "source":
        out["enum"] = list(PRICE_FIELDS)
    else:
        out.update(_number(Num(integer=p.kind == "int", ge=p.minimum, le=p.maximum), True))
    out["default"] = p.default
    return out


def indicator_schema(spec: IndicatorSpec) -> Schema:
    """One indicator operand: its name, parameters (defaults), outputs and ``bars_ago``."""
    props: Schema = {"indicator": {"const": spec.name}}
    props.update({p.name: _param_schema(p) for p in spec.params})
    props["output"] = {"description": "Which output series (default: the first).",
                       "enum": list(spec.outputs), "default": spec.default_output}
    props["bars_ago"] = _ref("barsAgo")
    return {"title": spec.title, "description": spec.description, "type": "object",
            "properties": props, "required": ["indicator"], "additionalProperties": False}


def _defs() -> Schema:
    names = list(INDICATORS)
    param = object_schema(PARAMETER_FIELDS)
    param["not"] = {"required": ["range", "values"]}
    defs: Schema = {
        "parameterRef": {"title": "Parameter reference", "type": "string",
                         "pattern": r"^\$" + PARAM_NAME.pattern + "$",
                         "description": "\"$name\": the value of a parameter defined under "
                                        "\"parameters\" (it must suit every place it is used)."},
        "parameters": {"title": "Parameters", "type": "object",
                       "propertyNames": {"pattern": "^" + PARAM_NAME.pattern + "$"},
                       "additionalProperties": _ref("parameter")},
        "parameter": {"title": "Parameter", "anyOf": [
            {"type": "number", "description": "Shorthand for {\"value\": n}."}, param],
            "description": "A number, or {\"value\": n} with an optional \"range\" "
                           "(start <= stop, step > 0) or \"values\" for sweeps."},
        "condition": {"title": "Condition",
                      "description": f"Nests at most {MAX_DEPTH} levels deep.",
                      "oneOf": [_ref(f"condition_{k}") for k in CONDITION_FORMS]},
        "operand": {"title": "Operand", "oneOf": [
            {"type": "number", "description": OPERAND_FORMS["number"]},
            {"$ref": "#/$defs/parameterRef", "description": OPERAND_FORMS["param"]},
            _ref("operand_value"), _ref("operand_price"), _ref("indicator")]},
        "operand_value": {"description": OPERAND_FORMS["value"], "type": "object",
                          "properties": {"value": _number(Num(), True)},
                          "required": ["value"], "additionalProperties": False},
        "operand_price": {"description": OPERAND_FORMS["price"], "type": "object",
                          "properties": {"price": {"enum": list(PRICE_FIELDS)},
                                         "bars_ago": _ref("barsAgo")},
                          "required": ["price"], "additionalProperties": False},
        "barsAgo": {"description": "Use the value N bars before the bar being decided on "
                                   "(default 0).", **_number(BARS_AGO, True), "default": 0},
        "indicator": {"title": "Indicator", "description": OPERAND_FORMS["indicator"],
                      "type": "object", "required": ["indicator"],
                      "properties": {"indicator": {"enum": names}},
                      "oneOf": [_ref(f"indicator_{n}") for n in names]},
    }
    for kind, text in CONDITION_FORMS.items():
        if kind in ("all", "any"):
            props: Schema = {kind: {"type": "array", "minItems": 1, "items": _ref("condition")}}
        elif kind == "not":
            props = {"not": _ref("condition")}
        else:
            props = {"left": _ref("operand"), "op": {"enum": list(OPS)},
                     "right": _ref("operand")}
        defs[f"condition_{kind}"] = {"description": text, "type": "object", "properties": props,
                                     "required": list(props), "additionalProperties": False}
    for name, spec in INDICATORS.items():
        defs[f"indicator_{name}"] = indicator_schema(spec)
    return defs


def strategy_json_schema() -> Schema:
    """The JSON Schema of strategy documents (a fresh dict, JSON-serializable)."""
    return {
        "$schema": DRAFT,
        "title": "Strategy document",
        "description": "A trading strategy for the backtester (docs/strategy.md). The validator "
                       "also checks what a schema cannot: $parameter references, ranges with "
                       "start <= stop, and that parameter values suit where they are used.",
        **object_schema(STRATEGY_FIELDS),
        "allOf": cross_rules(),
        "$defs": _defs(),
    }


if __name__ == "__main__":
    print(json.dumps(strategy_json_schema(), indent=2))
