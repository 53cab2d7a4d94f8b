"""Numba kernels of the oscillators and Wilder-smoothed indicators: RSI, MACD, Stochastic, ATR, ADX.

Same rules as ``nb.py``: float64 arrays in, new float64 arrays of the input's length out, NaN
during warm-up, no look-ahead, O(n). Parameters are validated by ``api.py`` (periods ``>= 1``).

*Wilder's smoothing* (also called RMA or SMMA) of a series ``v`` with period ``n``: the first
value is the simple average of the first ``n`` values, then ``s = (s * (n - 1) + v) / n``. It is
TradingView's ``ta.rma`` and the smoothing TA-Lib uses in ``RSI``, ``ATR`` and ``ADX``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from domain.indicators.nb import ema_from_nb, rolling_max_nb, rolling_min_nb, sma_from_nb

F64 = npt.NDArray[np.float64]


@njit(cache=True)
def rsi_value_nb(avg_gain: float, avg_loss: float) -> float:
    """``100 - 100 / (1 + avg_gain / avg_loss)``; 100 when ``avg_loss == 0 < avg_gain``; 50 when
    both are 0 (no movement in the whole history: neutral, neither overbought nor oversold)."""
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0.0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


@njit(cache=True)
def rsi_nb(x: F64, n: int) -> F64:
    """Wilder's RSI (TradingView ``ta.rsi``, TA-Lib ``RSI``).

    ``gain[i] = max(x[i] - x[i-1], 0)``, ``loss[i] = max(x[i-1] - x[i], 0)`` for ``i >= 1``; the
    averages are Wilder-smoothed, seeded with the simple averages of ``gain[1..n]`` and
    ``loss[1..n]``; ``rsi = 100 - 100 / (1 + avg_gain / avg_loss)`` (see ``rsi_value_nb`` for the
    zero cases: 100 when ``avg_loss == 0``, 50 when both are 0). Warm-up: ``n`` bars.
    """
    m = x.shape[0]
    out = np.full(m, np.nan)
    if n >= m:
        return out
    ag = 0.0
    al = 0.0
    for i in range(1, n + 1):
        d = x[i] - x[i - 1]
        if d > 0.0:
            ag += d
        else:
            al -= d
    ag /= n
    al /= n
    out[n] = rsi_value_nb(ag, al)
    for i in range(n + 1, m):
        d = x[i] - x[i - 1]
        gain = d if d > 0.0 else 0.0
        loss = -d if d < 0.0 else 0.0
        ag = (ag * (n - 1) + gain) / n
        al = (al * (n - 1) + loss) / n
        out[i] = rsi_value_nb(ag, al)
    return out


@njit(cache=True)
def macd_nb(x: F64, fast: int, slow: int, signal: int) -> tuple[F64, F64, F64]:
    """MACD ``(macd, signal, hist)`` as TradingView's ``ta.macd``.

    ``macd = EMA(x, fast) - EMA(x, slow)`` (both SMA-seeded EMAs, see ``ema_from_nb``), defined
    from bar ``max(fast, slow) - 1``; ``signal = EMA(macd, signal)`` seeded with the mean of the
    first ``signal`` MACD values, defined from bar ``max(fast, slow) + signal - 2``;
    ``hist = macd - signal``. (TA-Lib also hides the MACD line until the signal is defined; here
    each output starts as soon as it is defined.)
    """
    line = ema_from_nb(x, fast, 0) - ema_from_nb(x, slow, 0)
    sig = ema_from_nb(line, signal, max(fast, slow) - 1)
    return line, sig, line - sig


@njit(cache=True)
def stoch_nb(
    high: F64, low: F64, close: F64, k_period: int, d_period: int, smooth_k: int
) -> tuple[F64, F64]:
    """Stochastic oscillator ``(k, d)`` as TradingView's "Stoch" (defaults 14, 3, 3).

    ``raw[i] = 100 * (close[i] - LL) / (HH - LL)`` with ``HH``/``LL`` the highest high / lowest
    low of the last ``k_period`` bars including bar ``i``; ``raw = 50`` when ``HH == LL`` (a flat
    window: the close sits in the middle). ``k = SMA(raw, smooth_k)`` (``smooth_k = 1`` gives the
    fast stochastic, 3 the slow one), ``d = SMA(k, d_period)``. Warm-up: ``k``:
    ``k_period + smooth_k - 2`` bars; ``d``: ``k_period + smooth_k + d_period - 3`` bars.
    """
    m = close.shape[0]
    hh = rolling_max_nb(high, k_period)
    ll = rolling_min_nb(low, k_period)
    raw = np.full(m, np.nan)
    for i in range(k_period - 1, m):
        rng = hh[i] - ll[i]
        raw[i] = 50.0 if rng == 0.0 else 100.0 * (close[i] - ll[i]) / rng
    k = sma_from_nb(raw, smooth_k, k_period - 1)
    d = sma_from_nb(k, d_period, k_period + smooth_k - 2)
    return k, d


@njit(cache=True)
def true_range_nb(high: F64, low: F64, close: F64) -> F64:
    """True range: ``tr[0] = high[0] - low[0]``; ``tr[i] = max(high - low, |high - close[i-1]|,
    |low - close[i-1]|)`` (TradingView ``ta.tr(true)``)."""
    m = close.shape[0]
    tr = np.empty(m)
    for i in range(m):
        r = high[i] - low[i]
        if i > 0:
            pc = close[i - 1]
            r = max(r, abs(high[i] - pc), abs(low[i] - pc))
        tr[i] = r
    return tr


@njit(cache=True)
def atr_nb(high: F64, low: F64, close: F64, n: int) -> F64:
    """Average true range: Wilder's smoothing of ``true_range_nb``, seeded with the mean of
    ``tr[0..n-1]`` (TradingView ``ta.atr``; TA-Lib skips bar 0 and starts one bar later).
    Warm-up: ``n - 1`` bars."""
    m = close.shape[0]
    out = np.full(m, np.nan)
    if n > m:
        return out
    tr = true_range_nb(high, low, close)
    a = 0.0
    for i in range(n):
        a += tr[i]
    a /= n
    out[n - 1] = a
    for i in range(n, m):
        a = (a * (n - 1) + tr[i]) / n
        out[i] = a
    return out


@njit(cache=True)
def adx_nb(high: F64, low: F64, close: F64, n: int) -> tuple[F64, F64, F64]:
    """Wilder's ADX ``(adx, plus_di, minus_di)`` (TA-Lib ``ADX``/``PLUS_DI``/``MINUS_DI``,
    TradingView ``ta.dmi``).

    For ``i >= 1``: ``up = high[i] - high[i-1]``, ``down = low[i-1] - low[i]``;
    ``+DM = up if up > down and up > 0 else 0``, ``-DM = down if down > up and down > 0 else 0``;
    ``TR`` as ``true_range_nb``. ``+DM``, ``-DM`` and ``TR`` are Wilder-smoothed, seeded with
    the means of bars ``1..n``; ``plus_di = 100 * sm(+DM) / sm(TR)``, likewise ``minus_di``
    (both 0 when ``sm(TR) == 0``). ``DX = 100 * |+DI - -DI| / (+DI + -DI)`` (0 when the sum is
    0); ``adx`` is DX Wilder-smoothed, seeded with the mean of the first ``n`` DX values.
    Warm-up: ``plus_di``/``minus_di``: ``n`` bars; ``adx``: ``2 * n - 1`` bars.
    """
    m = close.shape[0]
    adx = np.full(m, np.nan)
    pdi = np.full(m, np.nan)
    mdi = np.full(m, np.nan)
    if n >= m:
        return adx, pdi, mdi
    tr = true_range_nb(high, low, close)
    s_tr = 0.0
    s_p = 0.0
    s_m = 0.0
    dx_sum = 0.0
    a = 0.0
    for i in range(1, m):
        up = high[i] - high[i - 1]
        down = low[i - 1] - low[i]
        p_dm = up if (up > down and up > 0.0) else 0.0
        m_dm = down if (down > up and down > 0.0) else 0.0
        if i <= n:
            s_tr += tr[i]
            s_p += p_dm
            s_m += m_dm
            if i < n:
                continue
            s_tr /= n
            s_p /= n
            s_m /= n
        else:
            s_tr = (s_tr * (n - 1) + tr[i]) / n
            s_p = (s_p * (n - 1) + p_dm) / n
            s_m = (s_m * (n - 1) + m_dm) / n
        pd = 100.0 * s_p / s_tr if s_tr > 0.0 else 0.0
        md = 100.0 * s_m / s_tr if s_tr > 0.0 else 0.0
        pdi[i] = pd
        mdi[i] = md
        total = pd + md
        dx = 100.0 * abs(pd - md) / total if total > 0.0 else 0.0
        if i < 2 * n - 1:
            dx_sum += dx
        elif i == 2 * n - 1:
            a = (dx_sum + dx) / n
            adx[i] = a
        else:
            a = (a * (n - 1) + dx) / n
            adx[i] = a
    return adx, pdi, mdi
