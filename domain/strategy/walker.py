"""The generic half of the validator: walks values against the field tables of ``fields.py``,
collects every problem with its path, and returns the normalized value (``BAD`` where invalid).

``domain.strategy.document`` extends it with the recursive parts (parameters, conditions,
operands) and the rules that tie fields together.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

from domain.errors import Problem
from domain.strategy.fields import (
    MAX_INTEGER,
    PARAM_REF,
    STRATEGY_FIELDS,
    Choice,
    Field,
    Num,
    Number,
    Numbers,
    Obj,
    Ref,
    Text,
    fmt,
    show,
    suggest,
)
from domain.strategy.model import Use


class _Bad:
    """The normalized value of something invalid (never in a valid document)."""

    def __repr__(self) -> str:
        return "BAD"


BAD: Final = _Bad()


def join(path: str, key: str) -> str:
    """``join("risk", "sizing") == "risk.sizing"``; ``join("", "name") == "name"``."""
    return f"{path}.{key}" if path else key


def field_at(path: Sequence[str]) -> Field | None:
    """The table entry of the field at ``path`` (``("risk", "sizing", "mode")``), if any."""
    fields: tuple[Field, ...] = STRATEGY_FIELDS
    found: Field | None = None
    for key in path:
        found = next((f for f in fields if f.name == key), None)
        if found is None:
            return None
        fields = found.kind.fields if isinstance(found.kind, Obj) else ()
    return found


def lookup(doc: object, path: Sequence[str]) -> object:
    """The raw value at ``path`` in ``doc``, or the table's default when it is missing (or when
    an enclosing value is not an object)."""
    node = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            f = field_at(path)
            return None if f is None else f.default
        node = node[key]
    return node


class Walker:
    """Collects problems; ``uses`` records where each ``$parameter`` is used and with what rule.

    ``param_names`` must be filled (by the parameters' own walk) before references are checked.
    """

    def __init__(self, doc: object) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.param_names: list[str] = []
        self.uses: dict[str, list[Use]] = {}

    def add(self, path: str, message: str) -> None:
        """Record a problem (the same one only once)."""
        p = Problem(path, message)
        if p not in self.problems:
            self.problems.append(p)

    def unknown_keys(self, obj: dict[Any, Any], allowed: Sequence[str], path: str,
                     what: str = "") -> None:
        """A problem for every key of ``obj`` not in ``allowed``."""
        for key in obj:
            if key not in allowed:
                self.add(join(path, str(key)),
                         f"unknown key{what}; the keys here are {', '.join(allowed)}"
                         f"{suggest(key, allowed)}")

    def object_(self, raw: object, fields: tuple[Field, ...], path: str) -> Any:
        """A closed object: each field checked (defaults filled), unknown keys reported."""
        if not isinstance(raw, dict):
            self.add(path, f"must be an object, got {show(raw)}")
            return BAD
        self.unknown_keys(raw, [f.name for f in fields], path)
        out: dict[str, Any] = {}
        for f in fields:
            p = join(path, f.name)
            if f.name not in raw or (raw[f.name] is None and f.nullable):
                if f.required:
                    self.add(p, "is required")
                    out[f.name] = BAD
                elif f.default is not None or f.nullable:
                    out[f.name] = copy.deepcopy(f.default)
                continue
            out[f.name] = self.field(f, raw[f.name], p)
        return out

    def field(self, f: Field, raw: object, path: str) -> Any:
        """One present field's value, checked and normalized."""
        kind = f.kind
        if isinstance(kind, Text):
            return self.text(raw, kind, path)
        if isinstance(kind, Choice):
            if isinstance(raw, str) and raw in kind.options:
                return raw
            self.add(path, f"must be one of {', '.join(kind.options)}, got {show(raw)}"
                           f"{suggest(raw, kind.options)}")
            return BAD
        if isinstance(kind, Number):
            rule, suffix = kind.rule, ""
            if kind.depends is not None:
                on = lookup(self.doc, kind.depends.on)
                if isinstance(on, str) and on in kind.depends.rules:
                    rule, suffix = kind.depends.rules[on], kind.depends.suffix.format(on)
            return self.number(raw, path, rule, kind.param, suffix)
        if isinstance(kind, Numbers):
            return self.numbers(raw, path, kind)
        if isinstance(kind, Obj):
            return self.object_(raw, kind.fields, path)
        assert isinstance(kind, Ref)
        return self.ref(kind, raw, path)

    def ref(self, kind: Ref, raw: object, path: str) -> Any:
        """Recursive parts: implemented by ``document.Validator``."""
        raise NotImplementedError(kind.name)

    def text(self, raw: object, kind: Text, path: str) -> Any:
        if not isinstance(raw, str):
            self.add(path, f"must be a string, got {show(raw)}")
            return BAD
        if len(raw.strip()) < kind.min_len:
            self.add(path, "must not be empty" if kind.min_len == 1
                     else f"must be at least {kind.min_len} characters")
            return BAD
        if kind.max_len is not None and len(raw) > kind.max_len:
            self.add(path, f"must be at most {kind.max_len} characters, got {len(raw)}: shorten it")
            return BAD
        return raw

    def numbers(self, raw: object, path: str, kind: Numbers) -> Any:
        if not isinstance(raw, list):
            self.add(path, f"must be a list of numbers, got {show(raw)}")
            return BAD
        if len(raw) < kind.min_items:
            self.add(path, f"must hold at least {kind.min_items} number(s)")
            return BAD
        out = [self.number(x, f"{path}[{i}]", kind.rule, False) for i, x in enumerate(raw)]
        return BAD if any(x is BAD for x in out) else out

    def number(self, raw: object, path: str, rule: Num, param: bool, suffix: str = "") -> Any:
        """A number following ``rule`` (``int`` when the rule wants an integer), or with ``param``
        a ``"$name"`` reference to a defined parameter (its use is recorded)."""
        if param and isinstance(raw, str) and raw.startswith("$"):
            name = self.param_ref(raw, path)
            if name is None:
                return BAD
            self.uses.setdefault(name, []).append(Use(path, rule, suffix))
            return raw
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            alt = ' or a "$parameter"' if param else ""
            hint = ""
            if isinstance(raw, str) and _is_numeric(raw):
                hint = ": write numbers without quotes"
            self.add(path, f"must be {rule.describe(noun=True)}{alt}{suffix}, got {show(raw)}{hint}")
            return BAD
        try:
            x = float(raw)
        except OverflowError:
            x = math.inf
        if not math.isfinite(x):
            self.add(path, f"must be a finite number, got {show(raw)}")
            return BAD
        if not rule.accepts(x):
            self.add(path, f"must be {rule.describe_value(x)}{suffix}, got {show(raw)}")
            return BAD
        return int(x) if rule.integer else raw

    def param_ref(self, raw: str, path: str) -> str | None:
        """The name in ``"$name"`` if it is a defined parameter; else a problem and ``None``."""
        m = PARAM_REF.fullmatch(raw)
        if m is None:
            self.add(path, f"{show(raw)} is not a parameter reference: write '$' followed by "
                           "the parameter's name, e.g. '$fast'")
            return None
        name = m.group(1)
        if name not in self.param_names:
            defined = (f"defined: {', '.join(self.param_names)}" if self.param_names
                       else "no parameters are defined: add it under \"parameters\"")
            self.add(path, f"unknown parameter '{raw}'; {defined}")
            return None
        return name


def violation(use: Use, name: str, x: float, role: str = "value") -> str | None:
    """What is wrong with parameter ``name`` taking ``x`` given one ``use`` of it, or ``None``.

    ``role`` is ``"value"`` (a value the parameter takes), ``"step"`` (a range's step: only its
    integrality matters) or ``"last"`` (a range's last value, reported at ``range.stop``).
    """
    where = f"({name} is used as {use.path})"
    rule = use.rule
    if role == "step":
        if rule.integer and not float(x).is_integer():
            return f"must be an integer {where}, got {show(x)}"
        return None
    if role == "last":
        bounds = Num(ge=rule.ge, gt=rule.gt, le=rule.le, lt=rule.lt)
        if not bounds.accepts(x) or (rule.integer and abs(x) > MAX_INTEGER):
            return (f"must be {rule.describe_value(x)}{use.suffix} {where}, but the range "
                    f"reaches {fmt(x)}")
        return None
    if not rule.accepts(x):
        return f"must be {rule.describe_value(x)}{use.suffix} {where}, got {show(x)}"
    return None


def _is_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def all_good(values: Iterable[object]) -> bool:
    """Whether none of ``values`` is ``BAD``."""
    return all(v is not BAD for v in values)
