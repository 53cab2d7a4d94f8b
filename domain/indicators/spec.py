"""What an indicator is called, which parameters it takes and which series it returns.

``ParamSpec`` describes one parameter, ``IndicatorSpec`` one indicator; the registry of every
indicator is ``domain.indicators.api.INDICATORS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.indicators.prices import PRICE_FIELDS

F64 = npt.NDArray[np.float64]
ParamValue = float | int | str
ParamKind = Literal["int", "float", "source"]
Params = Mapping[str, ParamValue]

MAX_INTEGER = 1_000_000_000
"""The largest value of an ``int`` parameter (a period): the cap strategy documents apply to
every integer (``domain.strategy.kinds.MAX_INTEGER`` is this one), so a chart's indicator and a
strategy's accept the same periods."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of an indicator.

    ``kind`` is ``"int"`` (e.g. a period), ``"float"`` (e.g. a band width) or ``"source"`` (the
    name of a price series, one of ``PRICE_FIELDS``). ``minimum`` and ``maximum`` are the
    inclusive bounds of an ``int``/``float`` parameter (``None``: unbounded, and for a source);
    an ``int`` is never above :data:`MAX_INTEGER` whatever ``maximum`` says.
    """

    name: str
    kind: ParamKind
    default: ParamValue
    minimum: float | None = None
    description: str = ""
    maximum: float | None = None

    @property
    def upper(self) -> float | None:
        """The inclusive upper bound that applies: ``maximum``, and :data:`MAX_INTEGER` for an
        ``int``."""
        if self.kind == "int":
            return MAX_INTEGER if self.maximum is None else min(self.maximum, MAX_INTEGER)
        return self.maximum

    def check(self, value: object) -> str | None:
        """``None`` if ``value`` is acceptable, else what is wrong, phrased for the user
        (``"must be an integer >= 1, got -3"``). Integers may be given as integral floats
        (``10.0``); booleans are never numbers."""
        if self.kind == "source":
            if isinstance(value, str) and value in PRICE_FIELDS:
                return None
            return f"must be one of {', '.join(PRICE_FIELDS)}, got {value!r}"
        upper = self.upper
        bound = "" if self.minimum is None else f" >= {_fmt(self.minimum)}"
        if (upper is not None and isinstance(value, int | float) and not isinstance(value, bool)
                and value > upper):  # the cap is only worth a mention to who went beyond it
            bound += f"{' and' if bound else ''} <= {_fmt(upper)}"
        if self.kind == "int":
            expected = f"must be an integer{bound}, got {value!r}"
            if isinstance(value, bool) or not isinstance(value, int | float):
                return expected
            if not math.isfinite(value) or value != int(value):
                return expected
        else:
            expected = f"must be a number{bound}, got {value!r}"
            if isinstance(value, bool) or not isinstance(value, int | float):
                return expected
            if not math.isfinite(value):
                return expected
        if self.minimum is not None and value < self.minimum:
            return expected
        if upper is not None and value > upper:
            return expected
        return None

    def coerce(self, value: ParamValue) -> ParamValue:
        """``value`` converted to the parameter's kind (``int``, ``float`` or ``str``).

        Raises ``ValueError`` with ``check``'s message if it is not acceptable."""
        problem = self.check(value)
        if problem is not None:
            raise ValueError(f"{self.name}: {problem}")
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            return float(value)
        return str(value)


def _fmt(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e16:
        return f"{int(x):,}" if abs(x) >= 10_000 else str(int(x))
    return str(x)


WarmupFn = Callable[[Params], tuple[int, ...]]
ComputeFn = Callable[[Candles, Params], dict[str, F64]]


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator: its name (the ``"indicator"`` key of a strategy operand), a human title,
    its parameters in order, the names of its output series (the first is the default output)
    and a description stating the definition and the convention it follows.

    ``warmup_fn`` maps resolved parameters to the number of leading NaN bars of each output (in
    ``outputs`` order); ``compute_fn`` maps candles and resolved parameters to the outputs. Use
    ``warmup`` and ``domain.indicators.api.compute_indicator`` rather than calling them.
    """

    name: str
    title: str
    params: tuple[ParamSpec, ...]
    outputs: tuple[str, ...]
    description: str
    warmup_fn: WarmupFn = field(repr=False, compare=False)
    compute_fn: ComputeFn = field(repr=False, compare=False)

    @property
    def param_names(self) -> tuple[str, ...]:
        """The parameters' names, in order."""
        return tuple(p.name for p in self.params)

    @property
    def default_output(self) -> str:
        """The output used when an operand names none: the first one."""
        return self.outputs[0]

    def param(self, name: str) -> ParamSpec:
        """The parameter called ``name``; ``KeyError`` if there is none."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def resolve(self, params: Params | None = None) -> dict[str, ParamValue]:
        """Every parameter's concrete value: given ones converted to their kind, missing ones
        their defaults. Raises ``ValueError`` for an unknown parameter name or a bad value."""
        given = dict(params or {})
        unknown = sorted(k for k in given if k not in self.param_names)
        if unknown:
            expected = ", ".join(self.param_names) or "no parameters"
            raise ValueError(
                f"{self.name}: unknown parameter(s) {', '.join(unknown)}; expected {expected}"
            )
        resolved: dict[str, ParamValue] = {}
        for p in self.params:
            try:
                resolved[p.name] = p.coerce(given.get(p.name, p.default))
            except ValueError as err:
                raise ValueError(f"{self.name}.{err}") from None
        return resolved

    def warmup(self, params: Params | None = None, output: str | None = None) -> int:
        """Number of leading NaN bars (on data long enough) for ``params`` (defaults applied).

        With ``output`` that output's count; without it, the count before *every* output is
        defined (the maximum). Raises ``ValueError`` for an unknown output name.
        """
        counts = self.warmup_fn(self.resolve(params))
        assert len(counts) == len(self.outputs)
        if output is None:
            return max(counts)
        if output not in self.outputs:
            raise ValueError(
                f"{self.name} has no output {output!r}; use one of {', '.join(self.outputs)}"
            )
        return counts[self.outputs.index(output)]
