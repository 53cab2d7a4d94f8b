"""Numba kernels of compensated sums and of the error-bounded rolling sum behind SMA and VWAP.

``rolling_mean_nb`` slides a plain running sum (one addition per bar, as fast as the naive
loop) and keeps, beside it, a rigorous bound on the rounding error it has accumulated since the
window was last summed exactly. When that bound exceeds ``ROLLING_REL_TOL`` of the sum's
magnitude, the window is summed again exactly (with compensation), so:

    |window sum used - exact window sum| <= ROLLING_REL_TOL * |window sum| + the exact sum's
    own error (O(n * eps^2 * sum|x|), a compensated sum's)

at every bar, with ``ROLLING_REL_TOL = 2**-40`` (about 9.1e-13): the mean is the exact one to
about 12 significant digits, whatever came before. After an extreme value leaves the window
(a 1e16 spike among small numbers, say) the bound trips at once and the sums are exact again;
on ordinary prices it trips about once per ``ROLLING_REL_TOL / eps`` = 8,192 bars.

Cost: O(1) per bar amortized, whatever the period. Each exact re-summation costs ``n``
compensated additions; when the bound trips again within ``n`` bars (sums that keep cancelling
to about 0, or values that keep swinging by many orders of magnitude), the next ``n`` bars
slide an exactly compensated sum (TwoSum of each change, then a compensated addition: error
O(eps^2 * n)) instead, so there are at most two re-summations in any ``n`` consecutive bars.
A NaN or infinite value makes the sums from there on NaN, as in any running sum (candles are
validated finite; indicators pass ``start`` past their own warm-up NaNs).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]

ROLLING_REL_TOL = 2.0**-40
"""Largest rounding error a rolling sum may carry, relative to its magnitude (see above)."""

_U = 2.0**-53  # unit roundoff of float64
# The bound's own increments are rounded (each by at most a relative _U, and summed over at
# most _MAX_PLAIN steps): scaling _U up by 2**-20 keeps the computed bound above the true one.
_U_BOUND = _U * (1.0 + 2.0**-20)
_MAX_PLAIN = 2**24  # bars a plain stretch may run before an exact re-summation regardless


@njit(cache=True)
def neumaier_add_nb(s: float, c: float, v: float) -> tuple[float, float]:
    """Add ``v`` to the compensated sum ``(s, c)``; the sum's value is ``s + c``."""
    t = s + v
    if abs(s) >= abs(v):
        c += (s - t) + v
    else:
        c += (v - t) + s
    return t, c


@njit(cache=True)
def compensated_sum_nb(x: F64, lo: int, hi: int) -> tuple[float, float]:
    """``sum(x[lo:hi])`` as a compensated pair ``(s, c)`` (the sum's value is ``s + c``)."""
    s = 0.0
    c = 0.0
    for j in range(lo, hi):
        s, c = neumaier_add_nb(s, c, x[j])
    return s, c


@njit(cache=True)
def _slide_exact_nb(x: F64, n: int, lo: int, hi: int, s: float, c: float, divisor: float,
                    out: F64) -> tuple[float, float]:
    """Slide the compensated window sum ``(s, c)`` (ending at bar ``lo - 1``) over bars
    ``[lo, hi)``, writing ``out``. The change ``x[i] - x[i-n]`` is formed exactly as a pair
    ``d + e`` (Knuth's branch-free TwoSum) and added with one compensated addition whose
    rounding error is also kept: no drift (error O(eps^2 * n))."""
    for i in range(lo, hi):
        a = x[i]
        b = -x[i - n]
        d = a + b
        bv = d - a
        e = (a - (d - bv)) + (b - bv)
        t = s + d
        tv = t - s
        c += ((s - (t - tv)) + (d - tv)) + e
        s = t
        out[i] = (s + c) / divisor
    return s, c


@njit(cache=True)
def _slide_plain_nb(x: F64, n: int, lo: int, hi: int, total: float, divisor: float,
                    out: F64) -> int:
    """Slide the plain window sum ``total`` (ending at bar ``lo - 1``, exact up to rounding
    once) over bars ``[lo, hi)``, writing ``out``. Returns the first bar whose error bound
    exceeds ``ROLLING_REL_TOL * |sum|`` (its ``out`` must be redone), or ``hi``.

    The bound: ``d = x[i] - x[i-n]`` and ``total + d`` are each rounded to nearest, so each
    adds at most ``eps/2`` times its rounded result's magnitude to the error."""
    err = 2.0 * _U_BOUND * abs(total)  # the exact sum's rounding, and rounding it to one float
    for i in range(lo, hi):
        d = x[i] - x[i - n]
        total += d
        err += _U_BOUND * (abs(d) + abs(total))
        out[i] = total / divisor
        if err > ROLLING_REL_TOL * abs(total):
            return i
    return hi


@njit(cache=True)
def rolling_mean_nb(x: F64, n: int, start: int, divisor: float) -> F64:
    """The sum of the last ``n`` values of ``x`` divided by ``divisor`` (window ends at the bar),
    within ``ROLLING_REL_TOL`` of the exact sum (see the module docstring).

    Only ``x[start:]`` is read (earlier values may be NaN, e.g. the warm-up of another
    indicator); the first value is at ``start + n - 1``, earlier bars are NaN.
    """
    m = x.shape[0]
    out = np.empty(m)
    first = start + n - 1
    out[:min(first, m)] = np.nan
    i = first
    exact_next = False
    while i < m:
        # bar i: the window summed exactly (cost n)
        s, c = compensated_sum_nb(x, i - n + 1, i + 1)
        out[i] = (s + c) / divisor
        i += 1
        if exact_next:  # the bound tripped within n bars last time: n bars of exact sliding
            hi = min(m, i + n)
            s, c = _slide_exact_nb(x, n, i, hi, s, c, divisor, out)
            i = hi
            if i >= m:
                break
        # plain sliding until the bound trips at bar i (redone at the top) or MAX_PLAIN bars
        lo = i
        i = _slide_plain_nb(x, n, lo, min(m, lo + _MAX_PLAIN), s + c, divisor, out)
        exact_next = i - lo < n
    return out


__all__ = ["ROLLING_REL_TOL", "compensated_sum_nb", "neumaier_add_nb", "rolling_mean_nb"]
