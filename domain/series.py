"""Series for charts: downsampling that keeps extremes, and the drawdown curve of an equity curve.

A chart of a million-bar equity curve needs a few thousand points, but plain decimation (every
k-th point) drops exactly what matters on such a chart: the peaks and the troughs.
:func:`downsample_minmax` keeps, per bucket of consecutive points, the lowest and the highest
(in time order), plus the first and the last point of the series, so the drawn envelope and the
end value are those of the full series.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]


def minmax_indices(values: F64, max_points: int) -> Index:
    """Indices (ascending, unique) of at most ``max_points`` points of ``values`` that keep the
    first and the last point and the minimum and the maximum of each of ``(max_points - 2) // 2``
    equal buckets of the points in between. Every index when the series is short enough;
    ``max_points < 2`` keeps just the last point (an empty series gives no index)."""
    n = int(values.shape[0])
    if n <= max(max_points, 0):
        return np.arange(n, dtype=np.intp)
    if n == 0:
        return np.empty(0, dtype=np.intp)
    if max_points < 2:
        return np.array([n - 1], dtype=np.intp)
    buckets = (max_points - 2) // 2
    inner = values[1:n - 1]
    m = int(inner.shape[0])
    if buckets == 0 or m == 0:
        return np.array([0, n - 1], dtype=np.intp)
    size = math.ceil(m / buckets)
    rows = math.ceil(m / size)
    starts = np.arange(rows, dtype=np.intp) * size
    low = np.full(rows * size, np.inf)
    low[:m] = inner
    high = np.full(rows * size, -np.inf)
    high[:m] = inner
    lows = low.reshape(rows, size).argmin(axis=1) + starts
    highs = high.reshape(rows, size).argmax(axis=1) + starts
    picked = np.concatenate(([0], lows + 1, highs + 1, [n - 1])).astype(np.intp)
    return np.unique(np.minimum(picked, n - 1))


def downsample_minmax(times: npt.NDArray[np.int64] | F64, values: F64,
                      max_points: int) -> tuple[F64, F64]:
    """``(times, values)`` as float64, reduced to at most ``max_points`` points by
    :func:`minmax_indices` (unchanged when already short enough)."""
    if times.shape != values.shape:
        raise ValueError("times and values must have the same length")
    idx = minmax_indices(values, max_points)
    return times[idx].astype(np.float64), values[idx].astype(np.float64)


def drawdown(equity: F64, initial_capital: float) -> F64:
    """Drawdown at each bar as a positive fraction: ``1 - E[t] / peak[t]`` with ``peak[t] =
    max(initial_capital, E[0..t])``, the definition ``domain.metrics`` uses, so the curve's
    maximum is the run's ``max_drawdown``."""
    if equity.shape[0] == 0:
        return np.empty(0, dtype=np.float64)
    peak = np.maximum.accumulate(np.maximum(equity.astype(np.float64), float(initial_capital)))
    with np.errstate(divide="ignore", invalid="ignore"):
        out: F64 = 1.0 - equity / peak
    return out
