"""Numba kernels that evaluate condition programs (see ``domain.strategy.program``).

A program is a postfix list of instructions, rows ``(op, a, b)`` of an int64 matrix:

* a comparison ``OP_GT`` ... ``OP_CROSS_BELOW`` pushes ``left OP right`` for every bar, with
  ``a``/``b`` the operand slots of its left and right side;
* ``OP_AND`` / ``OP_OR`` pop ``a`` results and push their bar-by-bar and / or;
* ``OP_NOT`` negates the top result; ``OP_FALSE`` pushes all false (a missing ``exit``).

The operands of one parameter set are three rows of tables, indexed by slot: ``rows[s]`` the
row of ``series`` (a ``(n_series, n_bars)`` float64 matrix) holding the slot's unshifted
series, or ``-1`` for a constant; ``shifts[s]`` its ``bars_ago``; ``consts[s]`` the constant's
value. Results live in ``stack``, a ``(depth, n_bars)`` boolean scratch matrix.

Semantics are those of ``domain.strategy.compile`` exactly: a series shifted by ``k`` bars has
NaN at its first ``k`` bars, a comparison with NaN is false (IEEE comparisons are), crossings
are false at bar 0 and wherever a side is NaN now or one bar before, two constants never
cross. ``compare_series_nb`` and ``compare_const_nb`` are also what ``compile_signals`` runs
for each comparison: one fused pass, no temporaries, no shifted copies.
"""

from __future__ import annotations

from numba import njit

OP_GT = 0
OP_LT = 1
OP_GE = 2
OP_LE = 3
OP_CROSS_ABOVE = 4
OP_CROSS_BELOW = 5
OP_AND = 6
OP_OR = 7
OP_NOT = 8
OP_FALSE = 9

ENTRY_ROW = 0
"""The stack row a set's entries are evaluated into (the entry program's base row)."""
EXIT_ROW = 1
"""The stack row a set's exits are evaluated into (rows above it are the exit's scratch)."""

OPS: dict[str, int] = {
    ">": OP_GT, "<": OP_LT, ">=": OP_GE, "<=": OP_LE,
    "crosses_above": OP_CROSS_ABOVE, "crosses_below": OP_CROSS_BELOW,
}


@njit(cache=True)
def mirror_nb(op: int) -> int:
    """The operator with its sides swapped: ``a > b`` is ``b < a``, ``c crosses_above s`` is
    ``s crosses_below c`` (exact for NaN too: both sides of each identity are false). The
    comparison codes come in such pairs, ``2k`` and ``2k + 1``."""
    return op ^ 1


@njit(cache=True)
def _first_nb(op, k, n):  # type: ignore[no-untyped-def]
    """The first bar at which a side shifted by ``k`` (and, for crossings, the bar before)
    exists; ``n`` when there is none."""
    first = k + 1 if op >= OP_CROSS_ABOVE else k
    return min(first, n)


@njit(cache=True)
def compare_series_nb(op, x, kx, y, ky, out):  # type: ignore[no-untyped-def]
    """``out[i] = x[i - kx] OP y[i - ky]`` (false where a shifted index is negative)."""
    n = out.shape[0]
    first = _first_nb(op, max(kx, ky), n)
    out[:first] = False
    m = n - first
    o = out[first:]
    if op >= OP_CROSS_ABOVE:  # views starting one bar before, so bar j of o is j + 1 here
        xs = x[first - 1 - kx: n - kx]
        ys = y[first - 1 - ky: n - ky]
        if op == OP_CROSS_ABOVE:
            for j in range(m):
                o[j] = (xs[j + 1] > ys[j + 1]) & (xs[j] <= ys[j])
        else:
            for j in range(m):
                o[j] = (xs[j + 1] < ys[j + 1]) & (xs[j] >= ys[j])
        return
    xs = x[first - kx: n - kx]
    ys = y[first - ky: n - ky]
    if op == OP_GT:
        for j in range(m):
            o[j] = xs[j] > ys[j]
    elif op == OP_LT:
        for j in range(m):
            o[j] = xs[j] < ys[j]
    elif op == OP_GE:
        for j in range(m):
            o[j] = xs[j] >= ys[j]
    else:
        for j in range(m):
            o[j] = xs[j] <= ys[j]


@njit(cache=True)
def compare_const_nb(op, x, kx, c, out):  # type: ignore[no-untyped-def]
    """``out[i] = x[i - kx] OP c`` (false where ``i - kx`` is negative)."""
    n = out.shape[0]
    first = _first_nb(op, kx, n)
    out[:first] = False
    m = n - first
    o = out[first:]
    if op >= OP_CROSS_ABOVE:
        xs = x[first - 1 - kx: n - kx]
        if op == OP_CROSS_ABOVE:
            for j in range(m):
                o[j] = (xs[j + 1] > c) & (xs[j] <= c)
        else:
            for j in range(m):
                o[j] = (xs[j + 1] < c) & (xs[j] >= c)
        return
    xs = x[first - kx: n - kx]
    if op == OP_GT:
        for j in range(m):
            o[j] = xs[j] > c
    elif op == OP_LT:
        for j in range(m):
            o[j] = xs[j] < c
    elif op == OP_GE:
        for j in range(m):
            o[j] = xs[j] >= c
    else:
        for j in range(m):
            o[j] = xs[j] <= c


@njit(cache=True)
def compare_consts_nb(op, a, b, out):  # type: ignore[no-untyped-def]
    """Two constants: ``a OP b`` on every bar; they never cross."""
    if op == OP_GT:
        out[:] = a > b
    elif op == OP_LT:
        out[:] = a < b
    elif op == OP_GE:
        out[:] = a >= b
    elif op == OP_LE:
        out[:] = a <= b
    else:
        out[:] = False


@njit(cache=True)
def _compare_nb(op, a, b, rows, shifts, consts, series, out):  # type: ignore[no-untyped-def]
    ra = rows[a]
    rb = rows[b]
    if ra >= 0 and rb >= 0:
        compare_series_nb(op, series[ra], shifts[a], series[rb], shifts[b], out)
    elif ra >= 0:
        compare_const_nb(op, series[ra], shifts[a], consts[b], out)
    elif rb >= 0:
        compare_const_nb(mirror_nb(op), series[rb], shifts[b], consts[a], out)
    else:
        compare_consts_nb(op, consts[a], consts[b], out)


@njit(cache=True)
def eval_program_nb(code, rows, shifts, consts, series, stack, base):  # type: ignore[no-untyped-def]
    """Run ``code`` for one parameter set (its ``rows``/``shifts``/``consts`` table rows); the
    result is left in ``stack[base]``, rows above it are scratch."""
    n = stack.shape[1]
    sp = base  # the next free row
    for k in range(code.shape[0]):
        op = code[k, 0]
        if op <= OP_CROSS_BELOW:
            _compare_nb(op, code[k, 1], code[k, 2], rows, shifts, consts, series, stack[sp])
            sp += 1
        elif op <= OP_OR:  # OP_AND or OP_OR
            sp -= code[k, 1]
            dst = stack[sp]
            for c in range(sp + 1, sp + code[k, 1]):
                src = stack[c]
                if op == OP_AND:
                    for i in range(n):
                        dst[i] = dst[i] & src[i]
                else:
                    for i in range(n):
                        dst[i] = dst[i] | src[i]
            sp += 1
        elif op == OP_NOT:
            dst = stack[sp - 1]
            for i in range(n):
                dst[i] = not dst[i]
        else:
            stack[sp, :] = False
            sp += 1
