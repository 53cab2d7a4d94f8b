"""Compile a strategy's conditions into boolean signal arrays, vectorized with numpy.

Semantics (the execution kernel relies on them; see ``domain.engine.rules``):

* ``entries[i]`` / ``exits[i]`` are the conditions evaluated with data up to and including bar
  ``i``'s close, never a later bar.
* A comparison with NaN on either side at bar ``i`` is false (indicator warm-up, ``bars_ago``
  before the first bar).
* ``crosses_above`` at ``i``: ``left[i] > right[i] and left[i-1] <= right[i-1]``; false at
  ``i = 0`` and wherever either side is NaN at ``i`` or ``i-1``. ``crosses_below`` mirrors it
  (``<`` now, ``>=`` before).
* ``bars_ago: N`` shifts a series right by N bars (the first N values are NaN).
* ``all``/``any`` are the element-wise and/or of their children; ``not`` negates its child's
  booleans, so a comparison that is false because of NaN becomes true under ``not``.
* ``exits`` is all false when the strategy has no ``exit``.

Indicator outputs, price series and shifted series are cached by what defines them (indicator,
resolved parameters including the source; price field; output; bars_ago), so a series used twice
or by several parameter sets is computed once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.indicators.api import INDICATORS, compute_indicator, price_series
from domain.strategy.model import (
    All,
    AnyOf,
    Compare,
    Condition,
    Const,
    Indicator,
    Not,
    Operand,
    Price,
    Strategy,
)
from domain.strategy.params import resolve, resolve_params

F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Series = float | F64
Cache = dict[Any, Any]

_CANDLES = ("__candles__",)

_Cmp = Callable[..., Any]
_COMPARE: dict[str, _Cmp] = {
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}
# op -> (comparison now, comparison on the bar before)
_CROSS: dict[str, tuple[_Cmp, _Cmp]] = {
    "crosses_above": (np.greater, np.less_equal),
    "crosses_below": (np.less, np.greater_equal),
}


class _Compiler:
    def __init__(self, candles: Candles, values: Mapping[str, float], cache: Cache) -> None:
        owner = cache.setdefault(_CANDLES, candles)
        if owner is not candles:
            raise ValueError("this cache holds series of another candle set: use one cache per "
                             "candle set")
        self.candles = candles
        self.n = len(candles)
        self.values = values
        self.cache = cache

    def condition(self, c: Condition) -> Bools:
        """A fresh boolean array (the caller may modify it in place)."""
        if isinstance(c, Compare):
            return self.compare(c)
        if isinstance(c, Not):
            out = self.condition(c.child)
            return np.logical_not(out, out=out)
        combine = np.logical_and if isinstance(c, All) else np.logical_or
        assert isinstance(c, All | AnyOf)
        out = self.condition(c.children[0])
        for child in c.children[1:]:
            combine(out, self.condition(child), out=out)
        return out

    def compare(self, c: Compare) -> Bools:
        a = self.operand(c.left)
        b = self.operand(c.right)
        n = self.n
        scalar = isinstance(a, float) and isinstance(b, float)
        if c.op in _COMPARE:
            if scalar:
                return np.full(n, bool(_COMPARE[c.op](a, b)))
            out = np.empty(n, dtype=np.bool_)
            _COMPARE[c.op](a, b, out=out)
            return out
        if scalar or n == 0:  # two constants never cross
            return np.zeros(n, dtype=np.bool_)
        now, before = _CROSS[c.op]
        out = np.empty(n, dtype=np.bool_)
        now(a, b, out=out)
        a_prev = a if isinstance(a, float) else a[:-1]
        b_prev = b if isinstance(b, float) else b[:-1]
        tail = out[1:]
        np.logical_and(tail, before(a_prev, b_prev), out=tail)
        out[0] = False
        return out

    def operand(self, o: Operand) -> Series:
        if isinstance(o, Const):
            return resolve(o.value, self.values)
        if isinstance(o, Price):
            key: tuple[Any, ...] = ("price", o.field)
            base = self.cache.get(key)
            if base is None:
                base = self.cache[key] = price_series(self.candles, o.field)
        else:
            key, base = self.indicator(o)
        return self.shifted(key, base, int(resolve(o.bars_ago, self.values)))

    def indicator(self, o: Indicator) -> tuple[tuple[Any, ...], F64]:
        spec = INDICATORS[o.name]
        params: dict[str, float | int | str] = {}
        for name, v in o.params:
            kind = spec.param(name).kind
            if kind == "source":
                assert isinstance(v, str)
                params[name] = v
            else:
                assert not isinstance(v, str)
                x = resolve(v, self.values)
                params[name] = int(x) if kind == "int" else x
        key = ("indicator", o.name, tuple(params.items()))
        outputs = self.cache.get(key)
        if outputs is None:
            outputs = self.cache[key] = compute_indicator(o.name, self.candles, params)
        return (*key, o.output), outputs[o.output]

    def shifted(self, key: tuple[Any, ...], base: F64, k: int) -> F64:
        if k == 0:
            return base
        skey = ("shift", key, k)
        out: F64 | None = self.cache.get(skey)
        if out is None:
            out = np.empty(self.n, dtype=np.float64)
            k = min(k, self.n)
            out[:k] = np.nan
            out[k:] = base[: self.n - k]
            self.cache[skey] = out
        return out


def compile_signals(
    strategy: Strategy,
    candles: Candles,
    params: Mapping[str, float] | None = None,
    cache: Cache | None = None,
) -> tuple[Bools, Bools]:
    """``(entries, exits)``: boolean arrays of ``len(candles)``, true where the entry / exit
    condition holds at that bar's close (the rules are in this module's docstring).

    ``params`` overrides parameter values (the others keep their ``value``); a bad value raises
    ``StrategyError`` at ``parameters.NAME``. ``cache`` (a dict, one per candle set) lets
    several calls share computed series; pass the same dict for the same ``candles`` only.
    """
    values = resolve_params(strategy, params)
    comp = _Compiler(candles, values, {} if cache is None else cache)
    entries = comp.condition(strategy.entry)
    if strategy.exit is None:
        return entries, np.zeros(len(candles), dtype=np.bool_)
    return entries, comp.condition(strategy.exit)


def compile_signals_many(
    strategy: Strategy,
    candles: Candles,
    param_sets: Sequence[Mapping[str, float]],
) -> tuple[Bools, Bools]:
    """``(entries, exits)`` for many parameter sets: C-contiguous boolean arrays of shape
    ``(len(param_sets), len(candles))``, row ``k`` equal to ``compile_signals(strategy,
    candles, param_sets[k])``. Each distinct series (an indicator with given parameters, a
    shift) is computed once for all sets."""
    n = len(candles)
    entries = np.empty((len(param_sets), n), dtype=np.bool_)
    exits = np.zeros((len(param_sets), n), dtype=np.bool_)
    cache: Cache = {}
    for k, params in enumerate(param_sets):
        values = resolve_params(strategy, params)
        comp = _Compiler(candles, values, cache)
        entries[k] = comp.condition(strategy.entry)
        if strategy.exit is not None:
            exits[k] = comp.condition(strategy.exit)
    return entries, exits
