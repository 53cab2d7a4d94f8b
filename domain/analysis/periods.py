"""Returns per calendar period (UTC months and years) of an equity curve.

A bar belongs to the period in which it *opens* (its time in a run's curve): with bars aligned
on their timeframe (``domain.timeframes``), a bar opening in January closes at the latest at
February's first instant, so its equity is January's last. A weekly bar crossing a month's end
counts in the month it opened in.

A period's return compounds the bars it holds: its last equity over the previous period's last
equity, minus 1; the first period starts from the initial capital (as ``domain.metrics``' first
bar return does), so the returns compound to the total return. Only periods holding at least
one bar are listed: after a gap in the data, a period starts from the last equity before it.

Ruin, as in ``domain.metrics``: the period holding the first bar whose equity is <= 0 returns
-1 (everything lost, even when that equity is negative) and later periods have no return
(NaN): there is no capital left to earn one on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.analysis.checks import F64, I64, capital, floats, ints, same_length

MONTH = "M"
YEAR = "Y"
EPOCH_YEAR = 1970


@dataclass(frozen=True)
class PeriodReturns:
    """Returns of the calendar periods (``unit``: :data:`MONTH` or :data:`YEAR`) holding at
    least one bar, oldest first."""

    unit: str
    periods: I64  # months (or years) since 1970-01 (1970), as numpy's datetime64 counts them
    returns: F64  # fractions (0.25 is 25 %); NaN after ruin

    def __len__(self) -> int:
        return int(self.periods.shape[0])

    @property
    def years(self) -> I64:
        base = self.periods // 12 if self.unit == MONTH else self.periods
        out: I64 = base + EPOCH_YEAR
        return out

    @property
    def months(self) -> I64:
        """Month numbers, 1 to 12 (monthly periods only)."""
        if self.unit != MONTH:
            raise ValueError("yearly periods have no month")
        out: I64 = self.periods % 12 + 1
        return out


def period_returns(times: npt.ArrayLike, equity: npt.ArrayLike, initial_capital: float,
                   unit: str) -> PeriodReturns:
    """The return of each calendar ``unit`` (:data:`MONTH` or :data:`YEAR`, UTC) of the curve
    ``equity`` (at each bar's close) whose bars open at ``times`` (UTC ms, ascending); see the
    module docstring."""
    if unit not in (MONTH, YEAR):
        raise ValueError(f"unit must be {MONTH!r} or {YEAR!r}, got {unit!r}")
    t = ints(times, "times")
    e = floats(equity, "equity")
    same_length(times=t, equity=e)
    cap = capital(initial_capital)
    n = int(e.shape[0])
    if n == 0:
        return PeriodReturns(unit, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
    keys = t.astype("datetime64[ms]").astype(f"datetime64[{unit}]").astype(np.int64)
    step = np.diff(keys)
    if (step < 0).any():
        raise ValueError("times must be in ascending order")
    ends = np.append(np.flatnonzero(step), n - 1)  # each period's last bar
    end_equity = e[ends]
    start_equity = np.concatenate(([cap], end_equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        returns: F64 = end_equity / start_equity - 1.0
    ruined = np.flatnonzero(e <= 0.0)
    if ruined.shape[0]:
        first = int(np.searchsorted(ends, ruined[0]))  # the period of the first ruined bar
        returns[first] = -1.0
        returns[first + 1:] = np.nan
    return PeriodReturns(unit, keys[ends], returns)
