"""Plain-Python reference implementations of every indicator, written from the textbook
definitions with straightforward loops over lists (no numpy, no running sums), independently
of the kernels. They are slow (O(n * period)) and only for tests.

Where the kernels use the "average" form of Wilder's smoothing, ``(s * (n - 1) + v) / n``, the
references use other algebraic forms of the same recursion (``s + (v - s) / n`` or Wilder's
running sums ``S - S / n + v``), so agreement is not a matter of copying the same formula.
"""

from __future__ import annotations

import math

NAN = math.nan
Series = list[float]


def _nans(m: int) -> Series:
    return [NAN] * m


def sma(x: Series, n: int) -> Series:
    out = _nans(len(x))
    for i in range(n - 1, len(x)):
        out[i] = sum(x[i - n + 1 : i + 1]) / n
    return out


def sma_skip_nan(x: Series, n: int) -> Series:
    """SMA of the part of ``x`` after its leading NaNs."""
    start = next((i for i, v in enumerate(x) if not math.isnan(v)), len(x))
    return x[:start] + sma(x[start:], n)


def ema(x: Series, n: int) -> Series:
    """alpha = 2/(n+1), seeded with the mean of the first n values (after leading NaNs)."""
    start = next((i for i, v in enumerate(x) if not math.isnan(v)), len(x))
    out = _nans(len(x))
    if start + n > len(x):
        return out
    e = sum(x[start : start + n]) / n
    out[start + n - 1] = e
    alpha = 2 / (n + 1)
    for i in range(start + n, len(x)):
        e = e + alpha * (x[i] - e)
        out[i] = e
    return out


def wma(x: Series, n: int) -> Series:
    out = _nans(len(x))
    for i in range(n - 1, len(x)):
        window = x[i - n + 1 : i + 1]  # oldest first: weights 1..n
        out[i] = sum((k + 1) * v for k, v in enumerate(window)) / sum(range(1, n + 1))
    return out


def rsi(x: Series, n: int) -> Series:
    out = _nans(len(x))
    if len(x) <= n:
        return out
    gains = [max(x[i] - x[i - 1], 0.0) for i in range(1, len(x))]
    losses = [max(x[i - 1] - x[i], 0.0) for i in range(1, len(x))]
    ag = sum(gains[:n]) / n
    al = sum(losses[:n]) / n
    for i in range(n, len(x)):
        if i > n:
            ag = ag + (gains[i - 1] - ag) / n
            al = al + (losses[i - 1] - al) / n
        if al == 0 and ag == 0:
            out[i] = 50.0
        elif al == 0:
            out[i] = 100.0
        else:
            out[i] = 100 - 100 / (1 + ag / al)
    return out


def macd(x: Series, fast: int, slow: int, signal: int) -> tuple[Series, Series, Series]:
    ef, es = ema(x, fast), ema(x, slow)
    line = [a - b for a, b in zip(ef, es, strict=True)]
    sig = ema(line, signal)
    return line, sig, [a - b for a, b in zip(line, sig, strict=True)]


def bbands(x: Series, n: int, k: float) -> tuple[Series, Series, Series]:
    mid, up, lo = _nans(len(x)), _nans(len(x)), _nans(len(x))
    for i in range(n - 1, len(x)):
        window = x[i - n + 1 : i + 1]
        mean = sum(window) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in window) / n)
        mid[i], up[i], lo[i] = mean, mean + k * sd, mean - k * sd
    return mid, up, lo


def true_range(h: Series, lo: Series, c: Series) -> Series:
    tr = []
    for i in range(len(c)):
        if i == 0:
            tr.append(h[0] - lo[0])
        else:
            tr.append(max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])))
    return tr


def atr(h: Series, lo: Series, c: Series, n: int) -> Series:
    tr = true_range(h, lo, c)
    out = _nans(len(c))
    if len(c) < n:
        return out
    a = sum(tr[:n]) / n
    out[n - 1] = a
    for i in range(n, len(c)):
        a = a + (tr[i] - a) / n
        out[i] = a
    return out


def stoch(
    h: Series, lo: Series, c: Series, k_period: int, d_period: int, smooth_k: int
) -> tuple[Series, Series]:
    raw = _nans(len(c))
    for i in range(k_period - 1, len(c)):
        hh = max(h[i - k_period + 1 : i + 1])
        ll = min(lo[i - k_period + 1 : i + 1])
        raw[i] = 50.0 if hh == ll else 100 * (c[i] - ll) / (hh - ll)
    k = sma_skip_nan(raw, smooth_k)
    return k, sma_skip_nan(k, d_period)


def roc(x: Series, n: int) -> Series:
    out = _nans(len(x))
    for i in range(n, len(x)):
        if x[i - n] != 0:
            out[i] = 100 * (x[i] / x[i - n] - 1)
    return out


def vwap(h: Series, lo: Series, c: Series, v: Series, n: int) -> Series:
    out = _nans(len(c))
    for i in range(n - 1, len(c)):
        js = range(i - n + 1, i + 1)
        vol = sum(v[j] for j in js)
        if vol != 0:
            out[i] = sum((h[j] + lo[j] + c[j]) / 3 * v[j] for j in js) / vol
    return out


def donchian(h: Series, lo: Series, n: int) -> tuple[Series, Series, Series]:
    up, dn, mid = _nans(len(h)), _nans(len(h)), _nans(len(h))
    for i in range(n - 1, len(h)):
        up[i] = max(h[i - n + 1 : i + 1])
        dn[i] = min(lo[i - n + 1 : i + 1])
        mid[i] = (up[i] + dn[i]) / 2
    return up, dn, mid


def obv(c: Series, v: Series) -> Series:
    out = []
    total = 0.0
    for i in range(len(c)):
        if i > 0 and c[i] > c[i - 1]:
            total += v[i]
        elif i > 0 and c[i] < c[i - 1]:
            total -= v[i]
        out.append(total)
    return out


def adx(h: Series, lo: Series, c: Series, n: int) -> tuple[Series, Series, Series]:
    """TA-Lib's formulation: Wilder running sums ``S = S - S/n + v`` seeded with plain sums."""
    m = len(c)
    adx_, pdi, mdi = _nans(m), _nans(m), _nans(m)
    if m <= n:
        return adx_, pdi, mdi
    tr = true_range(h, lo, c)
    pdm, mdm = [0.0] * m, [0.0] * m
    for i in range(1, m):
        up, down = h[i] - h[i - 1], lo[i - 1] - lo[i]
        if up > down and up > 0:
            pdm[i] = up
        if down > up and down > 0:
            mdm[i] = down
    s_tr, s_p, s_m = sum(tr[1 : n + 1]), sum(pdm[1 : n + 1]), sum(mdm[1 : n + 1])
    dxs = []
    for i in range(n, m):
        if i > n:
            s_tr = s_tr - s_tr / n + tr[i]
            s_p = s_p - s_p / n + pdm[i]
            s_m = s_m - s_m / n + mdm[i]
        pdi[i] = 100 * s_p / s_tr if s_tr > 0 else 0.0
        mdi[i] = 100 * s_m / s_tr if s_tr > 0 else 0.0
        total = pdi[i] + mdi[i]
        dxs.append(100 * abs(pdi[i] - mdi[i]) / total if total > 0 else 0.0)
    a = NAN
    for j, dx in enumerate(dxs):
        i = n + j
        if j == n - 1:
            a = sum(dxs[:n]) / n
        elif j >= n:
            a = a + (dx - a) / n
        if j >= n - 1:
            adx_[i] = a
    return adx_, pdi, mdi
