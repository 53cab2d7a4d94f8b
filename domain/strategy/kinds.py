"""The building blocks of the field tables: number rules (``Num``), field kinds (``Text``,
``Choice``, ``Number``, ``Numbers``, ``Obj``, ``Ref``), ``Field`` itself, the cross-field rules
(``Requires``, ``AnyPresent``) and the helpers that spell values in messages.

The tables themselves are in ``domain.strategy.fields``.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

# the largest integer accepted where one is needed (a period, bars_ago): one cap for strategies
# and charts' indicators
from domain.indicators.spec import MAX_INTEGER as MAX_INTEGER


def fmt(x: float) -> str:
    """A number as a person writes it: ``1`` not ``1.0``, ``0.5``, ``1e-05``."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return str(x)


def show(value: object) -> str:
    """A value as the user wrote it, for ``got ...`` in messages (JSON spelling, short)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        if isinstance(value, float) and math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        text = fmt(value)
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, Mapping):
        return "an object"
    elif isinstance(value, list | tuple):
        return "a list"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def suggest(word: object, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` when ``word`` is close to one of ``choices``, else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass(frozen=True)
class Num:
    """A rule for a number: integer or not, and optional inclusive (``ge``, ``le``) or exclusive
    (``gt``, ``lt``) bounds. Booleans, NaN and infinities are never numbers."""

    integer: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def bounds(self) -> str:
        """``"> 0 and < 100"``, ``">= 1"`` or ``""``."""
        parts = []
        if self.ge is not None:
            parts.append(f">= {fmt(self.ge)}")
        if self.gt is not None:
            parts.append(f"> {fmt(self.gt)}")
        if self.le is not None:
            parts.append(f"<= {fmt(self.le)}")
        if self.lt is not None:
            parts.append(f"< {fmt(self.lt)}")
        return " and ".join(parts)

    def describe(self, noun: bool = False) -> str:
        """``"an integer >= 1"``, ``"> 0 and < 100"`` (``"a number > 0 and < 100"`` with
        ``noun``), ``"a number"``."""
        b = self.bounds()
        if self.integer:
            return f"an integer {b}".rstrip()
        if noun or not b:
            return f"a number {b}".rstrip()
        return b

    def describe_value(self, x: float) -> str:
        """``describe()``, adding the cap on integers when ``x`` is beyond it."""
        if self.integer and abs(x) > MAX_INTEGER:
            return f"{self.describe()} and at most {MAX_INTEGER:,}"
        return self.describe()

    def accepts(self, x: float) -> bool:
        """Whether the finite number ``x`` satisfies the rule (integers at most ``MAX_INTEGER``
        in size)."""
        if self.integer and (not float(x).is_integer() or abs(x) > MAX_INTEGER):
            return False
        return not (
            (self.ge is not None and x < self.ge)
            or (self.gt is not None and x <= self.gt)
            or (self.le is not None and x > self.le)
            or (self.lt is not None and x >= self.lt)
        )


ANY_NUMBER = Num()
BARS_AGO = Num(integer=True, ge=0)


@dataclass(frozen=True)
class Text:
    """A string of ``min_len`` to ``max_len`` characters (``min_len`` counts non-blank text)."""

    min_len: int = 0
    max_len: int | None = None


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    options: tuple[str, ...]


@dataclass(frozen=True)
class Depends:
    """A rule that replaces a number's ``rule`` when the field at ``on`` (a path from the
    document's root) has one of the values in ``rules``; ``suffix`` (``{}`` is that value) ends
    its message: ``must be > 0 and <= 1 for fraction_of_equity``."""

    on: tuple[str, ...]
    rules: Mapping[str, Num]
    suffix: str = " for {}"


@dataclass(frozen=True)
class Number:
    """A number following ``rule``; with ``param`` it may also be a ``"$parameter"``."""

    rule: Num
    param: bool = False
    depends: Depends | None = None


@dataclass(frozen=True)
class Numbers:
    """A list of at least ``min_items`` numbers following ``rule``."""

    rule: Num
    min_items: int = 1


@dataclass(frozen=True)
class Obj:
    """A nested object with its own table; unknown keys are errors."""

    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Ref:
    """A recursive part with its own validator and ``$defs`` schema."""

    name: Literal["condition", "parameters"]


Kind = Text | Choice | Number | Numbers | Obj | Ref


@dataclass(frozen=True)
class Field:
    """One key of an object: its kind, whether it is required, its default (written into the
    normalized document when the key is missing; ``None`` is JSON ``null``), whether ``null``
    is accepted (meaning "not set"), and the description shown in the schema and the manual."""

    name: str
    kind: Kind
    description: str
    required: bool = False
    default: object = None
    nullable: bool = False
    examples: tuple[object, ...] = field(default=())


@dataclass(frozen=True)
class Requires:
    """When the field at ``when`` equals ``equals``, the field at ``needs`` must be set (present
    and not null). The problem is reported at ``when``."""

    when: tuple[str, ...]
    equals: str
    needs: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class AnyPresent:
    """At least one of the fields at ``paths`` must be set; reported at ``paths[0]``."""

    paths: tuple[tuple[str, ...], ...]
    message: str
