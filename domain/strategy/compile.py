"""Compile a strategy's conditions into boolean signal arrays.

Each comparison is one fused pass of a numba kernel (``domain.strategy.program_nb``, the same
kernels the sweep's condition programs run); ``all``/``any``/``not`` combine the results with
in-place numpy operations.

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

Indicator outputs and price series are cached by what defines them (indicator, resolved
parameters including the source; price field), so a series used twice or by several parameter
sets is computed once. ``bars_ago`` is applied by the comparison kernels (reading ``i - N``), so
shifted copies are never made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from domain.strategy.program_nb import (
    OPS,
    compare_const_nb,
    compare_consts_nb,
    compare_series_nb,
    mirror_nb,
)

F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Cache = dict[Any, Any]

_CANDLES = ("__candles__",)


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
        op = OPS[c.op]
        out = np.empty(self.n, dtype=np.bool_)
        if isinstance(a, float) and isinstance(b, float):
            compare_consts_nb(op, a, b, out)
        elif isinstance(b, float):
            assert not isinstance(a, float)
            compare_const_nb(op, a[0], a[1], b, out)
        elif isinstance(a, float):
            compare_const_nb(mirror_nb(op), b[0], b[1], a, out)
        else:
            compare_series_nb(op, a[0], a[1], b[0], b[1], out)
        return out

    def operand(self, o: Operand) -> float | tuple[F64, int]:
        """A constant's value, or a series operand's unshifted series and ``bars_ago``."""
        if isinstance(o, Const):
            return resolve(o.value, self.values)
        return self.series(o)[1], int(resolve(o.bars_ago, self.values))

    def series(self, o: Price | Indicator) -> tuple[tuple[Any, ...], F64]:
        if isinstance(o, Price):
            key: tuple[Any, ...] = ("price", o.field)
            base = self.cache.get(key)
            if base is None:
                base = self.cache[key] = np.ascontiguousarray(
                    price_series(self.candles, o.field), dtype=np.float64)
            return key, base
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
            outputs = self.cache[key] = {
                name: np.ascontiguousarray(a, dtype=np.float64)
                for name, a in compute_indicator(o.name, self.candles, params).items()}
        return (*key, o.output), outputs[o.output]


def operand_series(
    o: Price | Indicator, candles: Candles, values: Mapping[str, float], cache: Cache
) -> tuple[tuple[Any, ...], F64]:
    """``(key, series)``: the unshifted series a price or indicator operand reads with the
    parameter values ``values`` (every parameter resolved, as ``resolve_params`` gives them),
    and the hashable key that names it (equal keys, equal series). ``cache`` as in
    ``compile_signals``; ``bars_ago`` is not applied (the caller shifts)."""
    return _Compiler(candles, values, cache).series(o)


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
