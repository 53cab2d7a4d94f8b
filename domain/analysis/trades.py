"""Statistics of groups of trades (by exit reason, by side) and a histogram of their PnL.

A win is a trade with pnl > 0 (``domain.metrics``: a trade at exactly 0 counts in the group but
is neither a win nor a loss). Sums are exact to the last bit (``math.fsum``: correctly rounded,
whatever the order or the number of trades); averages are those sums over the group's count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.analysis.checks import F64, I64, floats, ints, same_length

SIDES: tuple[str, ...] = ("long", "short")  # side_index's numbering


def side_index(direction: npt.ArrayLike) -> I64:
    """The index in :data:`SIDES` of each trade's ``direction`` (+1 long, -1 short)."""
    out: I64 = np.where(ints(direction, "direction") > 0, 0, 1).astype(np.int64)
    return out


@dataclass(frozen=True)
class GroupStats:
    """Per group of trades, groups in ascending key order (only keys with trades)."""

    keys: I64
    count: I64
    wins: I64  # trades with pnl > 0
    total_pnl: F64  # exact sum of the group's pnl, correctly rounded
    total_return: F64  # likewise, of its returns

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def win_rate(self) -> F64:
        out: F64 = self.wins / self.count
        return out

    @property
    def avg_pnl(self) -> F64:
        out: F64 = self.total_pnl / self.count
        return out

    @property
    def avg_return(self) -> F64:
        out: F64 = self.total_return / self.count
        return out


def group_stats(keys: npt.ArrayLike, pnl: npt.ArrayLike, returns: npt.ArrayLike) -> GroupStats:
    """Statistics of the trades grouped by ``keys`` (an integer per trade: an exit reason's
    code, :func:`side_index`...), from each trade's net ``pnl`` and ``returns``. Meant for a
    few groups: one pass over the trades per group."""
    k = ints(keys, "keys")
    p = floats(pnl, "pnl")
    r = floats(returns, "returns")
    same_length(keys=k, pnl=p, returns=r)
    present = np.unique(k)
    masks = [k == key for key in present.tolist()]
    return GroupStats(
        keys=present.astype(np.int64),
        count=np.array([int(m.sum()) for m in masks], dtype=np.int64),
        wins=np.array([int((p[m] > 0.0).sum()) for m in masks], dtype=np.int64),
        total_pnl=np.array([math.fsum(p[m].tolist()) for m in masks], dtype=np.float64),
        total_return=np.array([math.fsum(r[m].tolist()) for m in masks], dtype=np.float64))


def pnl_histogram(pnl: npt.ArrayLike, bins: int) -> tuple[F64, I64]:
    """``(edges, counts)`` of ``bins`` equal-width bins from the lowest to the highest value
    (numpy's ``histogram``: each bin holds ``[edge, next edge)``, the last one its upper edge
    too; a single distinct value ``v`` spans ``[v - 0.5, v + 0.5]``): ``bins + 1`` edges and
    ``bins`` counts adding up to the number of values. No values: no edges and no counts."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    x = floats(pnl, "pnl")
    if x.shape[0] == 0:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)
    if not np.isfinite(x).all() or not math.isfinite(float(x.max()) - float(x.min())):
        raise ValueError("pnl values must be finite, and their range too")
    counts, edges = np.histogram(x, bins=bins)
    return edges.astype(np.float64), counts.astype(np.int64)
