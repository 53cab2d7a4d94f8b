"""Analysis of a finished backtest, for its results page: calendar returns, drawdown periods,
trade breakdowns and a PnL histogram, and the buy-and-hold benchmark.

Pure numpy over what a run stores: its equity curve at full resolution (bar open times in UTC
ms, equity at each bar's close), its closed trades and the market's closes. Every value at a
bar uses that bar and the bars before it only (a drawdown's recovery is the first bar back at
its peak); conventions follow ``domain.metrics`` (the initial capital is the peak before the
first bar, a win is a trade with pnl > 0, ruin stops returns).

- :mod:`domain.analysis.periods`: monthly and yearly returns;
- :mod:`domain.analysis.drawdowns`: every drawdown period, and the worst ones;
- :mod:`domain.analysis.trades`: statistics per group of trades (exit reason, side), histogram;
- :mod:`domain.analysis.benchmark`: the buy-and-hold equity curve.
"""

from domain.analysis.benchmark import aligned_closes, buy_and_hold
from domain.analysis.drawdowns import DrawdownPeriods, drawdown_periods
from domain.analysis.periods import MONTH, YEAR, PeriodReturns, period_returns
from domain.analysis.trades import SIDES, GroupStats, group_stats, pnl_histogram, side_index

__all__ = [
    "MONTH",
    "SIDES",
    "YEAR",
    "DrawdownPeriods",
    "GroupStats",
    "PeriodReturns",
    "aligned_closes",
    "buy_and_hold",
    "drawdown_periods",
    "group_stats",
    "period_returns",
    "pnl_histogram",
    "side_index",
]
