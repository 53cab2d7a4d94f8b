"""Numba kernels of the moving-average and rolling-window indicators.

Every kernel takes float64 arrays and scalars and returns new float64 arrays of the input's length,
NaN during warm-up. The value at bar ``i`` uses only bars ``<= i`` (no look-ahead). Every kernel is
O(n) in the number of bars, whatever the period.

Rolling sums avoid the drift of a naive running sum. SMA (and VWAP, through ``rolling_sum_nb``)
slide a plain running sum with a rigorous bound on its accumulated rounding error, and sum the
window again exactly whenever that bound exceeds 2**-40 (~9.1e-13) of the sum: see
``nb_sum.py``. Bollinger Bands and WMA compensate each addition (Neumaier's variant of Kahan
summation) and recompute the window from scratch once every ``period`` bars (an O(1)
amortized cost), so rounding errors never accumulate beyond one period. Rolling maxima and minima use a monotonic deque held in an
index array (each bar is pushed and popped at most once).

The oscillators and Wilder-smoothed indicators (RSI, MACD, Stochastic, ATR, ADX) are in
``nb_osc.py``. Parameters are validated by ``api.py``; kernels assume ``period >= 1``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from domain.indicators.nb_sum import compensated_sum_nb, neumaier_add_nb, rolling_mean_nb

F64 = npt.NDArray[np.float64]


@njit(cache=True)
def rolling_sum_nb(x: F64, n: int, start: int) -> F64:
    """Sum of the last ``n`` values of ``x``; see ``rolling_mean_nb``."""
    return rolling_mean_nb(x, n, start, 1.0)


@njit(cache=True)
def sma_from_nb(x: F64, n: int, start: int) -> F64:
    """Simple moving average of ``x[start:]``: ``sum(window) / n``; NaN before ``start + n - 1``."""
    return rolling_mean_nb(x, n, start, float(n))


@njit(cache=True)
def sma_nb(x: F64, n: int) -> F64:
    """SMA: ``mean(x[i-n+1 .. i])``. Warm-up: ``n - 1`` bars."""
    return sma_from_nb(x, n, 0)


@njit(cache=True)
def ema_from_nb(x: F64, n: int, start: int) -> F64:
    """EMA of ``x[start:]`` with ``alpha = 2 / (n + 1)``, seeded with an SMA.

    ``ema[start + n - 1] = mean(x[start .. start + n - 1])`` (the seed), then
    ``ema[i] = alpha * x[i] + (1 - alpha) * ema[i - 1]``; earlier bars are NaN. This is
    TradingView's ``ta.ema`` and TA-Lib's default (SMA-seeded) EMA.
    """
    m = x.shape[0]
    out = np.full(m, np.nan)
    first = start + n - 1
    if first >= m:
        return out
    s, c = compensated_sum_nb(x, start, first + 1)
    e = (s + c) / n
    out[first] = e
    alpha = 2.0 / (n + 1.0)
    for i in range(first + 1, m):
        e = alpha * x[i] + (1.0 - alpha) * e
        out[i] = e
    return out


@njit(cache=True)
def ema_nb(x: F64, n: int) -> F64:
    """EMA (see ``ema_from_nb``). Warm-up: ``n - 1`` bars."""
    return ema_from_nb(x, n, 0)


@njit(cache=True)
def wma_nb(x: F64, n: int) -> F64:
    """Linearly weighted moving average, newest bar weighted ``n``, oldest ``1``.

    ``wma[i] = sum(k * x[i - n + k] for k in 1..n) / (n * (n + 1) / 2)`` (TA-Lib ``WMA``,
    TradingView ``ta.wma``). Warm-up: ``n - 1`` bars. Kept O(n) with the identity
    ``W[i] = W[i-1] + n * x[i] - S[i-1]`` (``S`` the plain window sum), both compensated and
    recomputed every ``n`` bars.
    """
    m = x.shape[0]
    out = np.full(m, np.nan)
    first = n - 1
    denom = n * (n + 1) / 2.0
    s = 0.0
    cs = 0.0
    w = 0.0
    cw = 0.0
    for i in range(first, m):
        if (i - first) % n == 0:
            s = 0.0
            cs = 0.0
            w = 0.0
            cw = 0.0
            for k in range(1, n + 1):
                v = x[i - n + k]
                s, cs = neumaier_add_nb(s, cs, v)
                w, cw = neumaier_add_nb(w, cw, k * v)
        else:
            w, cw = neumaier_add_nb(w, cw, n * x[i])
            w, cw = neumaier_add_nb(w, cw, -s)  # S's parts separately: s + cs would round
            w, cw = neumaier_add_nb(w, cw, -cs)
            s, cs = neumaier_add_nb(s, cs, x[i])
            s, cs = neumaier_add_nb(s, cs, -x[i - n])
        out[i] = (w + cw) / denom
    return out


@njit(cache=True)
def rolling_var_nb(x: F64, n: int) -> F64:
    """Population variance (``ddof=0``) of the last ``n`` values. Warm-up: ``n - 1`` bars.

    Uses shifted sums: every ``n`` bars a reference ``K`` (the current value) is chosen and the
    window's ``sum(x - K)`` and ``sum((x - K)**2)`` are recomputed; in between both are updated
    (compensated) as bars enter and leave. ``var = S2/n - (S1/n)**2``, clamped at 0. The shift
    keeps the price level out of the subtraction, so there is no catastrophic cancellation.
    """
    m = x.shape[0]
    out = np.full(m, np.nan)
    first = n - 1
    k = 0.0
    s1 = 0.0
    c1 = 0.0
    s2 = 0.0
    c2 = 0.0
    for i in range(first, m):
        if (i - first) % n == 0:
            k = x[i]
            s1 = 0.0
            c1 = 0.0
            s2 = 0.0
            c2 = 0.0
            for j in range(i - n + 1, i + 1):
                d = x[j] - k
                s1, c1 = neumaier_add_nb(s1, c1, d)
                s2, c2 = neumaier_add_nb(s2, c2, d * d)
        else:
            d_in = x[i] - k
            d_out = x[i - n] - k
            s1, c1 = neumaier_add_nb(s1, c1, d_in)
            s1, c1 = neumaier_add_nb(s1, c1, -d_out)
            s2, c2 = neumaier_add_nb(s2, c2, d_in * d_in)
            s2, c2 = neumaier_add_nb(s2, c2, -d_out * d_out)
        mean_d = (s1 + c1) / n
        var = (s2 + c2) / n - mean_d * mean_d
        out[i] = var if var > 0.0 else 0.0
    return out


@njit(cache=True)
def bbands_nb(x: F64, n: int, k: float) -> tuple[F64, F64, F64]:
    """Bollinger Bands: ``(middle, upper, lower)``.

    ``middle = SMA(x, n)``, ``upper/lower = middle +/- k * std`` with the population standard
    deviation (``ddof=0``) of the same window, as TradingView's ``ta.bb`` and TA-Lib ``BBANDS``.
    Warm-up: ``n - 1`` bars.
    """
    middle = sma_nb(x, n)
    sd = np.sqrt(rolling_var_nb(x, n))
    return middle, middle + k * sd, middle - k * sd


@njit(cache=True)
def roc_nb(x: F64, n: int) -> F64:
    """Rate of change in percent: ``100 * (x[i] / x[i-n] - 1)``; NaN if ``x[i-n] == 0``.

    Warm-up: ``n`` bars (TA-Lib ``ROC``, TradingView ``ta.roc``).
    """
    m = x.shape[0]
    out = np.full(m, np.nan)
    for i in range(n, m):
        prev = x[i - n]
        if prev != 0.0:
            out[i] = 100.0 * (x[i] / prev - 1.0)
    return out


@njit(cache=True)
def vwap_nb(typical: F64, volume: F64, n: int) -> F64:
    """Rolling VWAP: ``sum(typical * volume) / sum(volume)`` over the last ``n`` bars.

    ``typical`` is the bar's typical price (``hlc3``). A window whose volumes are all zero gives
    NaN (detected with an exact count of non-zero volumes, not by comparing a float sum with 0).
    Warm-up: ``n - 1`` bars.
    """
    m = typical.shape[0]
    out = np.full(m, np.nan)
    pv = rolling_sum_nb(typical * volume, n, 0)
    v = rolling_sum_nb(volume, n, 0)
    nonzero = 0
    for i in range(m):
        if volume[i] != 0.0:
            nonzero += 1
        if i >= n and volume[i - n] != 0.0:
            nonzero -= 1
        if i >= n - 1 and nonzero > 0:
            out[i] = pv[i] / v[i]
    return out


@njit(cache=True)
def rolling_max_nb(x: F64, n: int) -> F64:
    """Maximum of the last ``n`` values (window includes the current bar). Warm-up ``n - 1``."""
    m = x.shape[0]
    out = np.full(m, np.nan)
    dq = np.empty(m, np.int64)
    head = 0
    tail = 0
    for i in range(m):
        while tail > head and x[dq[tail - 1]] <= x[i]:
            tail -= 1
        dq[tail] = i
        tail += 1
        if dq[head] <= i - n:
            head += 1
        if i >= n - 1:
            out[i] = x[dq[head]]
    return out


@njit(cache=True)
def rolling_min_nb(x: F64, n: int) -> F64:
    """Minimum of the last ``n`` values (window includes the current bar). Warm-up ``n - 1``."""
    return -rolling_max_nb(-x, n)


@njit(cache=True)
def donchian_nb(high: F64, low: F64, n: int) -> tuple[F64, F64, F64]:
    """Donchian channel ``(upper, lower, middle)`` over the last ``n`` bars *including* the
    current one (TradingView's ``ta.highest``/``ta.lowest``): ``upper = max(high)``,
    ``lower = min(low)``, ``middle = (upper + lower) / 2``. Warm-up: ``n - 1`` bars.

    Because the window includes the current bar, ``close > upper`` can never be true; compare
    with the previous bar's channel (``bars_ago: 1``) for breakouts.
    """
    upper = rolling_max_nb(high, n)
    lower = rolling_min_nb(low, n)
    return upper, lower, (upper + lower) / 2.0


@njit(cache=True)
def obv_nb(close: F64, volume: F64) -> F64:
    """On-balance volume: ``obv[0] = 0``; then ``+volume`` on an up close, ``-volume`` on a down
    close, unchanged on an equal close. No warm-up."""
    m = close.shape[0]
    out = np.empty(m)
    acc = 0.0
    for i in range(m):
        if i > 0:
            if close[i] > close[i - 1]:
                acc += volume[i]
            elif close[i] < close[i - 1]:
                acc -= volume[i]
        out[i] = acc
    return out
