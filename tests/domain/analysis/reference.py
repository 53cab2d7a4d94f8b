"""Plain-Python references of ``domain.analysis``, written from its docstrings.

Deliberately naive: Python floats, lists and dicts, one bar or one trade at a time, calendar
periods from ``datetime``, exact sums with ``fractions.Fraction``. Nothing is shared with the
code under test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def calendar(ms: int) -> tuple[int, int]:
    """(year, month) of a UTC time in milliseconds."""
    at = EPOCH + timedelta(milliseconds=ms)
    return at.year, at.month


def period_returns(times: Sequence[int], equity: Sequence[float], cap: float,
                   monthly: bool) -> list[tuple[int, int | None, float | None]]:
    """``[(year, month or None, return or None)]``, oldest first."""
    out: list[tuple[int, int | None, float | None]] = []
    keys: list[tuple[int, int | None]] = []
    last: list[float] = []
    for ms, e in zip(times, equity, strict=True):
        year, month = calendar(ms)
        key = (year, month if monthly else None)
        if not keys or keys[-1] != key:
            keys.append(key)
            last.append(e)
        else:
            last[-1] = e
    ruined_in = None
    for ms, e in zip(times, equity, strict=True):
        if e <= 0:
            year, month = calendar(ms)
            ruined_in = keys.index((year, month if monthly else None))
            break
    previous = cap
    for i, (key, end) in enumerate(zip(keys, last, strict=True)):
        r: float | None
        if ruined_in is not None and i > ruined_in:
            r = None
        elif ruined_in is not None and i == ruined_in:
            r = -1.0
        else:
            r = end / previous - 1.0
        out.append((key[0], key[1], r))
        previous = end
    return out


@dataclass(frozen=True)
class Period:
    peak: int  # -1: the initial capital
    trough: int
    recovery: int | None
    peak_equity: float
    trough_equity: float
    depth: float
    bars: int


def drawdown_periods(equity: Sequence[float], cap: float) -> list[Period]:
    """Every stretch under the running peak, in time order."""
    out: list[Period] = []
    peak, peak_i = cap, -1
    trough_i: int | None = None  # set while under the peak
    for t, e in enumerate(equity):
        if trough_i is None:
            if e >= peak:
                peak, peak_i = e, t
            else:
                trough_i = t
        elif e >= peak:
            out.append(_period(equity, peak, peak_i, trough_i, t))
            trough_i = None
            peak, peak_i = e, t
        elif e < equity[trough_i]:
            trough_i = t
    if trough_i is not None:
        out.append(_period(equity, peak, peak_i, trough_i, None))
    return out


def _period(equity: Sequence[float], peak: float, peak_i: int, trough_i: int,
            recovery: int | None) -> Period:
    trough = equity[trough_i]
    end = len(equity) - 1 if recovery is None else recovery
    return Period(peak_i, trough_i, recovery, peak, trough, 1.0 - trough / peak, end - peak_i)


def worst(periods: list[Period], top: int) -> list[Period]:
    return sorted(periods, key=lambda p: (-p.depth, p.peak))[:top]


@dataclass(frozen=True)
class Group:
    key: int
    count: int
    wins: int
    total_pnl: float
    total_return: float


def group_stats(keys: Sequence[int], pnl: Sequence[float],
                returns: Sequence[float]) -> list[Group]:
    groups: dict[int, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return [Group(k, len(ix), sum(1 for i in ix if pnl[i] > 0),
                  float(sum((Fraction(pnl[i]) for i in ix), Fraction(0))),
                  float(sum((Fraction(returns[i]) for i in ix), Fraction(0))))
            for k, ix in sorted(groups.items())]


def histogram_counts(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """How many values fall in each [edge, next edge), the last bin closed."""
    counts = [0] * (len(edges) - 1)
    for x in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= x < edges[i + 1] or (last and x == edges[i + 1]):
                counts[i] += 1
                break
    return counts


def buy_and_hold(close: Sequence[float], cap: float) -> list[float] | None:
    if not close or not (math.isfinite(close[0]) and close[0] > 0):
        return None
    return [cap * (c / close[0]) for c in close]
