"""Candle sets for the indicator tests: seeded random walks and a hypothesis strategy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

from domain.candles import Candles


def arrays_candles(
    o: Sequence[float],
    h: Sequence[float],
    lo: Sequence[float],
    c: Sequence[float],
    v: Sequence[float],
) -> Candles:
    """Candles from plain lists (timestamps 0, 60000, ...)."""
    n = len(c)
    return Candles(
        ts=np.arange(n, dtype=np.int64) * 60_000,
        open=np.array(o, dtype=np.float64),
        high=np.array(h, dtype=np.float64),
        low=np.array(lo, dtype=np.float64),
        close=np.array(c, dtype=np.float64),
        volume=np.array(v, dtype=np.float64),
    )


def hlc_candles(bars: Sequence[tuple[float, float, float]], volume: float = 1.0) -> Candles:
    """Candles from ``(high, low, close)`` triples; open = close, constant volume."""
    h = [b[0] for b in bars]
    lo = [b[1] for b in bars]
    c = [b[2] for b in bars]
    return arrays_candles(c, h, lo, c, [volume] * len(bars))


def random_candles(seed: int, n: int, level: float = 100.0) -> Candles:
    """A geometric random walk with consistent OHLC and positive volume."""
    rng = np.random.default_rng(seed)
    close = level * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    open_ = np.concatenate([[level], close[:-1]]) if n else close.copy()
    high = np.maximum(open_, close) * (1.0 + rng.uniform(0.0, 0.01, n))
    low = np.minimum(open_, close) * (1.0 - rng.uniform(0.0, 0.01, n))
    volume = rng.uniform(0.5, 50.0, n)
    return arrays_candles(
        open_.tolist(), high.tolist(), low.tolist(), close.tolist(), volume.tolist()
    )


def with_flat_stretches(c: Candles) -> Candles:
    """``c`` with a flat run (open = high = low = close) over bars 10-29 and zero volume over
    bars 15-44: exercises RSI 0/0, Stochastic and ADX on no range, VWAP on no volume."""
    o, h, lo, cl, v = (a.copy() for a in (c.open, c.high, c.low, c.close, c.volume))
    if len(cl) > 10:
        level = cl[9]
        for a in (o, h, lo, cl):
            a[10:30] = level
    v[15:45] = 0.0
    return Candles(c.ts, o, h, lo, cl, v)


@st.composite
def candles_st(
    draw: st.DrawFn, min_size: int = 0, max_size: int = 40, min_volume: int = 0
) -> Candles:
    """Small candle sets on a quarter grid: exact in binary, full of ties and flat stretches
    (equal closes, high == low windows, zero volumes) that exercise the edge cases. A drawn
    "spread" of 0 gives a completely flat series."""
    spread = draw(st.sampled_from([0, 1, 3, 36]))
    wick = draw(st.sampled_from([0, 1, 6]))
    vmax = draw(st.sampled_from([min_volume, max(min_volume, 1), 5]))
    bar = st.tuples(
        st.integers(4, 4 + spread),  # open, quarters
        st.integers(4, 4 + spread),  # close
        st.integers(0, wick),  # high above max(open, close)
        st.integers(0, min(wick, 3)),  # low below min(open, close)
        st.integers(min_volume, vmax),  # volume
    )
    bars = draw(st.lists(bar, min_size=min_size, max_size=max_size))
    o = [b[0] / 4 for b in bars]
    c = [b[1] / 4 for b in bars]
    h = [max(b[0], b[1]) / 4 + b[2] / 4 for b in bars]
    lo = [min(b[0], b[1]) / 4 - b[3] / 4 for b in bars]
    v = [float(b[4]) for b in bars]
    return arrays_candles(o, h, lo, c, v)
