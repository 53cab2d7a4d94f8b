"""Drawdown periods of an equity curve: each stretch of bars under the running peak.

The definitions are ``domain.metrics``' (and ``domain.series.drawdown``'s, whose curve this
reads): the peak at bar ``t`` is ``max(initial_capital, E[0..t])``, the initial capital being
the peak "before the first bar" (bar ``-1``). A period starts at its peak bar (the last bar at
the peak before the equity falls under it), reaches its trough (the first bar at its lowest
equity), and ends at its recovery: the first bar whose equity is back at or above the peak, or
never (it runs to the last bar). Its depth is ``1 - trough / peak`` (a positive fraction, over
1 when the equity turned negative) and its length counts bars from the peak to the recovery
(or to the last bar), so the deepest period's depth is the run's ``max_drawdown`` and the
longest period's length, in bar lengths, its ``max_drawdown_duration``.

Nothing looks ahead: a period's peak, trough and depth up to a bar use the bars up to it, and a
recovery is the first bar back at the peak, so the periods recovered within the first ``k``
bars are the same whether or not later bars exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.analysis.checks import F64, I64, capital, floats
from domain.series import drawdown

NO_BAR = -1  # ``peak``: the initial capital, before the first bar; ``recovery``: not recovered


@dataclass(frozen=True)
class DrawdownPeriods:
    """Drawdown periods, one entry per period in each array (bars are indices into the curve)."""

    peak: I64  # the peak bar (NO_BAR: the initial capital)
    trough: I64  # the first bar at the period's lowest equity
    recovery: I64  # the first bar back at or above the peak (NO_BAR: not recovered)
    peak_equity: F64
    trough_equity: F64
    depth: F64  # 1 - trough_equity / peak_equity
    bars: I64  # from the peak bar to the recovery, or to the last bar when not recovered

    def __len__(self) -> int:
        return int(self.peak.shape[0])

    def take(self, index: npt.NDArray[np.intp]) -> DrawdownPeriods:
        """The periods at ``index``, in that order."""
        return DrawdownPeriods(self.peak[index], self.trough[index], self.recovery[index],
                               self.peak_equity[index], self.trough_equity[index],
                               self.depth[index], self.bars[index])

    def worst(self, top: int) -> DrawdownPeriods:
        """The ``top`` deepest periods, deepest first (the earlier first on equal depths)."""
        if top < 0:
            raise ValueError(f"top must be >= 0, got {top}")
        order = np.lexsort((self.peak, -self.depth))
        return self.take(order[:top])


def drawdown_periods(equity: npt.ArrayLike, initial_capital: float) -> DrawdownPeriods:
    """Every drawdown period of the curve ``equity`` (at each bar's close), in time order;
    see the module docstring."""
    e = floats(equity, "equity")
    cap = capital(initial_capital)
    n = int(e.shape[0])
    depth_at = drawdown(e, cap)
    under = depth_at > 0.0  # E < peak (NaN is never under)
    edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)  # each period's first bar under the peak
    stops = np.flatnonzero(edges == -1)  # the bar after its last one under (n: none)
    # deepest point of each period: the maximum of the drawdown curve over [start, stop)
    padded = np.append(depth_at, 0.0)
    depth = np.maximum.reduceat(padded, np.column_stack((starts, stops)).ravel())[::2] \
        if starts.shape[0] else np.empty(0, dtype=np.float64)
    period_of = np.cumsum(edges[:n] == 1) - 1  # at a bar under the peak: its period
    lowest = np.flatnonzero(under & (depth_at == depth[np.maximum(period_of, 0)])) \
        if starts.shape[0] else np.empty(0, dtype=np.intp)
    _, first = np.unique(period_of[lowest], return_index=True)
    trough = lowest[first].astype(np.int64)
    peak = (starts - 1).astype(np.int64)
    recovered = stops < n
    peak_equity = np.where(peak >= 0, e[np.maximum(peak, 0)], cap) if n else np.empty(0)
    return DrawdownPeriods(
        peak=peak, trough=trough,
        recovery=np.where(recovered, stops, NO_BAR).astype(np.int64),
        peak_equity=peak_equity.astype(np.float64), trough_equity=e[trough], depth=depth,
        bars=(np.where(recovered, stops, n - 1) - peak).astype(np.int64))
