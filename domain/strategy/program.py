"""A strategy's conditions as one flat "array program" shared by every parameter set.

A parameter sweep evaluates the same condition trees many times; only the operands change from
one set to the next (``$fast`` picks another SMA, ``$level`` another constant). So the trees
are compiled once into postfix instruction lists (``Program``: the op codes are in
``domain.strategy.program_nb``) whose leaves name operand *slots*, and each parameter set is
bound to a row of operand tables (``Bound``): which series a slot reads (a row of a matrix of
every distinct series the sets need, each computed once), its ``bars_ago`` shift, or its
constant value. ``domain.engine.sweep_nb`` evaluates a set's program over all bars inside its
parallel loop, so no ``(n_sets, n_bars)`` signal matrices are built.

``program_signals`` evaluates a bound set the way the sweep does and returns ``(entries,
exits)``; they equal ``compile_signals`` exactly (same semantics, same series, IEEE
comparisons), which ``tests/domain/strategy/test_program.py`` checks on random strategies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.strategy.compile import Cache, operand_series
from domain.strategy.model import (
    All,
    AnyOf,
    Compare,
    Condition,
    Const,
    Not,
    Operand,
    ParamRef,
    Price,
    Strategy,
)
from domain.strategy.params import resolve, resolve_params
from domain.strategy.program_nb import (
    ENTRY_ROW,
    EXIT_ROW,
    OP_AND,
    OP_FALSE,
    OP_NOT,
    OP_OR,
    OPS,
    eval_program_nb,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

@dataclass(frozen=True)
class Program:
    """The compiled conditions of a strategy.

    ``entry``/``exit`` are ``(n_instructions, 3)`` int64 matrices of ``(op, a, b)`` rows (see
    ``domain.strategy.program_nb``); a strategy without ``exit`` gets ``[OP_FALSE]``. ``slots``
    lists every comparison side in order (a leaf's ``a``/``b`` index it). ``depth`` is the
    number of stack rows evaluating both needs: the entry program runs from row ``ENTRY_ROW``,
    the exit program from row ``EXIT_ROW``.
    """

    entry: I64
    exit: I64
    slots: tuple[Operand, ...]
    depth: int


class _Emitter:
    def __init__(self) -> None:
        self.slots: list[Operand] = []

    def emit(self, c: Condition, code: list[tuple[int, int, int]]) -> int:
        """Append ``c``'s instructions to ``code``; return the stack rows they need."""
        if isinstance(c, Compare):
            a, b = len(self.slots), len(self.slots) + 1
            self.slots += [c.left, c.right]
            code.append((OPS[c.op], a, b))
            return 1
        if isinstance(c, Not):
            depth = self.emit(c.child, code)
            code.append((OP_NOT, 0, 0))
            return depth
        assert isinstance(c, All | AnyOf)
        op = OP_AND if isinstance(c, All) else OP_OR
        depth = self.emit(c.children[0], code)
        for child in c.children[1:]:  # pairwise, so the stack grows with nesting, not width
            depth = max(depth, 1 + self.emit(child, code))
            code.append((op, 2, 0))
        return depth


def _matrix(code: list[tuple[int, int, int]]) -> I64:
    return np.array(code, dtype=np.int64).reshape(len(code), 3)


def compile_program(strategy: Strategy) -> Program:
    """The ``Program`` of ``strategy``'s entry and exit conditions."""
    em = _Emitter()
    entry: list[tuple[int, int, int]] = []
    exit_: list[tuple[int, int, int]] = []
    entry_depth = em.emit(strategy.entry, entry)
    if strategy.exit is None:
        exit_.append((OP_FALSE, 0, 0))
        exit_depth = 1
    else:
        exit_depth = em.emit(strategy.exit, exit_)
    depth = max(ENTRY_ROW + entry_depth, EXIT_ROW + exit_depth)
    return Program(_matrix(entry), _matrix(exit_), tuple(em.slots), depth)


@dataclass(frozen=True)
class Bound:
    """Operand tables of ``n_sets`` parameter sets (rows in the order the sets were given).

    ``series`` is ``(n_series, n_bars)`` float64, every distinct unshifted series the sets
    read; ``rows``/``shifts``/``consts`` are ``(n_sets, n_slots)``: the series row of each
    slot (``-1`` for a constant), its ``bars_ago`` and its constant value (0 for a series).
    """

    series: F64
    rows: I64
    shifts: I64
    consts: F64

    @property
    def n_sets(self) -> int:
        return int(self.rows.shape[0])


def _refs(o: Operand) -> tuple[str, ...]:
    """The parameters an operand's series or value depends on."""
    if isinstance(o, Const):
        values: tuple[object, ...] = (o.value,)
    elif isinstance(o, Price):
        values = (o.bars_ago,)
    else:
        values = (*(v for _, v in o.params), o.bars_ago)
    return tuple(v.name for v in values if isinstance(v, ParamRef))


def bind(
    program: Program,
    strategy: Strategy,
    candles: Candles,
    param_sets: Sequence[Mapping[str, float]],
    *,
    max_series: int | None = None,
    cache: Cache | None = None,
) -> Bound:
    """Bind the first parameter sets of ``param_sets`` to operand tables.

    Every set is bound unless ``max_series`` is given: then binding stops before a set once
    ``max_series`` distinct series are held (at least one set is bound), and ``Bound.n_sets``
    tells how many were. Series are computed through ``domain.strategy.compile`` (``cache``
    as there: one dict per candle set), so they are the very arrays ``compile_signals`` uses.
    Raises ``StrategyError`` for a bad parameter value, like ``resolve_params``.
    """
    cache = {} if cache is None else cache
    slots = program.slots
    refs = [_refs(o) for o in slots]
    found: dict[tuple[Any, ...], int] = {}  # series key -> row
    memo: dict[tuple[Any, ...], tuple[int, int, float]] = {}  # (slot, its params) -> entry
    arrays: list[F64] = []
    rows = np.empty((len(param_sets), len(slots)), dtype=np.int64)
    shifts = np.empty_like(rows)
    consts = np.empty(rows.shape, dtype=np.float64)
    k = 0
    for params in param_sets:
        if max_series is not None and k and len(arrays) >= max_series:
            break
        values = resolve_params(strategy, params)
        for s, o in enumerate(slots):
            mk = (s, *(values[name] for name in refs[s]))
            entry = memo.get(mk)
            if entry is None:
                if isinstance(o, Const):
                    entry = (-1, 0, resolve(o.value, values))
                else:
                    key, base = operand_series(o, candles, values, cache)
                    row = found.get(key)
                    if row is None:
                        row = found[key] = len(arrays)
                        arrays.append(base)
                    entry = (row, int(resolve(o.bars_ago, values)), 0.0)
                memo[mk] = entry
            rows[k, s], shifts[k, s], consts[k, s] = entry
        k += 1
    series = np.empty((len(arrays), len(candles)), dtype=np.float64)
    for row, base in enumerate(arrays):
        series[row] = base
    return Bound(series, rows[:k], shifts[:k], consts[:k])


def program_signals(program: Program, bound: Bound, k: int) -> tuple[Bools, Bools]:
    """``(entries, exits)`` of the ``k``-th bound set, evaluated by the program kernels (the
    sweep runs the same evaluation inside its parallel loop)."""
    n = bound.series.shape[1]
    stack = np.empty((program.depth, n), dtype=np.bool_)
    rows, shifts, consts = bound.rows[k], bound.shifts[k], bound.consts[k]
    eval_program_nb(program.entry, rows, shifts, consts, bound.series, stack, ENTRY_ROW)
    eval_program_nb(program.exit, rows, shifts, consts, bound.series, stack, EXIT_ROW)
    return stack[ENTRY_ROW].copy(), stack[EXIT_ROW].copy()
