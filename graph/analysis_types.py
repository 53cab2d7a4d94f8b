"""``Backtest.analysis``: what a results page shows beyond the summary, computed on the server
from the run's stored results (``domain.analysis``, where every formula and convention is).

Read from the stored equity curve at full resolution (the app's cache,
``tasks.cache.candles.finished_equity_curve``, as ``equityCurve`` reads it), the run's trades
(``store.trade_list``, owner-scoped) and, for the buy-and-hold curve, the market's candles of
the run's range. Each field reads only what it needs, once per analysis object even when
several fields need it; the computations over the curve run in a thread (a year of minutes is
half a million bars), off the event loop. Arguments are bounded (``top``, ``bins``, ``maxPoints``): outside their
range they are ``BAD_USER_INPUT``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import field
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import strawberry
from strawberry.types import Info

from domain.analysis import (
    MONTH,
    SIDES,
    YEAR,
    GroupStats,
    aligned_closes,
    buy_and_hold,
    drawdown_periods,
    group_stats,
    period_returns,
    pnl_histogram,
    side_index,
)
from domain.engine.rules import EXIT_REASONS
from domain.series import minmax_indices
from domain.timeframes import DAY_MS, timeframe_ms
from graph.context import Context
from graph.errors import BadUserInput
from graph.series import DEFAULT_POINTS, Series, check_points
from graph.sync_jobs import from_ms
from graph.trade_types import ExitReason, TradeSide
from store.backtests import BacktestRecord
from store.scope import OwnerScope
from store.trade_list import trade_records
from tasks.cache.candles import Cache, finished_equity_curve, read_candles_cached

DEFAULT_TOP = 5
MAX_TOP = 50
DEFAULT_BINS = 20
MAX_BINS = 100
_TRADE_FIELDS = ("direction", "pnl", "return", "exit_reason")

T = TypeVar("T")
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def check_range(name: str, value: int, high: int) -> int:
    if not 1 <= value <= high:
        raise BadUserInput(f"'{name}' must be between 1 and {high} (got {value})")
    return value


@strawberry.type(description="The return of a calendar month (UTC) holding bars of the run.")
class MonthlyReturn:
    year: int
    month: int = strawberry.field(description="1 to 12.")
    period_return: float | None = strawberry.field(
        name="return", description="Its last equity over the previous month's (the initial "
        "capital for the first), minus 1: a fraction. -1 in the month the equity reached 0, "
        "null after it.")


@strawberry.type(description="The return of a calendar year (UTC) holding bars of the run.")
class YearlyReturn:
    year: int
    period_return: float | None = strawberry.field(
        name="return", description="As a month's, over the year.")


@strawberry.type(description="A stretch of the equity under its running peak (the initial "
                             "capital counting as a peak before the first bar), from the peak "
                             "to the first bar back at or above it.")
class DrawdownPeriod:
    start: datetime = strawberry.field(description="The peak bar's open time (the run's first "
                                                   "bar when the peak is the initial capital).")
    trough: datetime = strawberry.field(description="The first bar at the lowest equity.")
    recovery: datetime | None = strawberry.field(
        description="The first bar back at or above the peak; null: not recovered by the end.")
    depth: float = strawberry.field(description="1 - trough equity / peak equity: a positive "
                                                "fraction (the deepest is maxDrawdown).")
    peak_equity: float
    trough_equity: float
    bars: int = strawberry.field(description="Bars from the peak to the recovery, or to the "
                                             "last bar when not recovered (counting the initial "
                                             "capital as the bar before the first).")
    duration: float = strawberry.field(description="bars times the bar length, in days (the "
                                                   "longest is maxDrawdownDuration).")


@strawberry.type(description="Statistics of a group of closed trades.")
class TradeGroup:
    count: int
    wins: int = strawberry.field(description="Trades with pnl > 0.")
    win_rate: float = strawberry.field(description="wins / count.")
    total_pnl: float = strawberry.field(description="Sum of pnl (net of fees).")
    avg_pnl: float
    avg_return: float = strawberry.field(description="Mean of the trades' return.")

    @staticmethod
    def fields(stats: GroupStats, i: int) -> dict[str, Any]:
        return {"count": int(stats.count[i]), "wins": int(stats.wins[i]),
                "win_rate": float(stats.win_rate[i]), "total_pnl": float(stats.total_pnl[i]),
                "avg_pnl": float(stats.avg_pnl[i]), "avg_return": float(stats.avg_return[i])}


@strawberry.type(description="The trades closed for one reason.")
class TradesByExitReason(TradeGroup):
    exit_reason: ExitReason


@strawberry.type(description="The trades of one side.")
class TradesBySide(TradeGroup):
    side: TradeSide


@strawberry.type(description="A histogram of the trades' pnl: `bins` equal-width bins from the "
                             "lowest pnl to the highest, each holding [edge, next edge), the "
                             "last one its upper edge too (a single distinct pnl v spans "
                             "[v - 0.5, v + 0.5]); no edges nor counts without trades.")
class PnlHistogram:
    edges: list[float] = strawberry.field(description="bins + 1 edges, ascending.")
    counts: list[int] = strawberry.field(description="Trades in each bin.")


@strawberry.type(description="Analysis of a succeeded backtest, from its stored results.")
class BacktestAnalysis:
    record: strawberry.Private[BacktestRecord]
    owner: strawberry.Private[OwnerScope]
    cache: strawberry.Private[Cache]
    reads: strawberry.Private[dict[str, asyncio.Future[Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, record: BacktestRecord, info: Info[Context, None]) -> BacktestAnalysis:
        return cls(record=record, owner=info.context.scope(), cache=info.context.services.cache)

    async def _once(self, name: str, read: Callable[[], Awaitable[T]]) -> T:
        """``read()``'s result, read once for every field of this object that needs it."""
        if name not in self.reads:
            self.reads[name] = asyncio.ensure_future(read())
        result: T = await self.reads[name]
        return result

    async def _curve(self) -> tuple[I64, F64]:
        found = await self._once("curve", lambda: finished_equity_curve(self.cache,
                                                                        self.record.id))
        return found or (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))

    async def _trades(self) -> npt.NDArray[np.void]:
        return await self._once("trades", lambda: trade_records(
            self.record.id, owner=self.owner, fields=_TRADE_FIELDS))

    @strawberry.field(description="Returns of each calendar month (UTC) holding bars of the "
                                  "run, oldest first, from the equity at full resolution.")
    async def monthly_returns(self) -> list[MonthlyReturn]:
        times, equity = await self._curve()
        p = await asyncio.to_thread(period_returns, times, equity, self.record.initial_capital,
                                    MONTH)
        return [MonthlyReturn(year=y, month=m, period_return=_finite(r))
                for y, m, r in zip(p.years.tolist(), p.months.tolist(), p.returns.tolist(),
                                   strict=True)]

    @strawberry.field(description="Returns of each calendar year (UTC), as monthlyReturns.")
    async def yearly_returns(self) -> list[YearlyReturn]:
        times, equity = await self._curve()
        p = await asyncio.to_thread(period_returns, times, equity, self.record.initial_capital,
                                    YEAR)
        return [YearlyReturn(year=y, period_return=_finite(r))
                for y, r in zip(p.years.tolist(), p.returns.tolist(), strict=True)]

    @strawberry.field(description=f"The `top` deepest drawdown periods (1 to {MAX_TOP}), "
                                  "deepest first (the earlier first on equal depths).")
    async def drawdown_periods(self, top: int = DEFAULT_TOP) -> list[DrawdownPeriod]:
        check_range("top", top, MAX_TOP)
        times, equity = await self._curve()
        periods = await asyncio.to_thread(drawdown_periods, equity, self.record.initial_capital)
        worst = periods.worst(top)
        days = timeframe_ms(self.record.timeframe) / DAY_MS
        return [DrawdownPeriod(start=from_ms(int(times[max(peak, 0)])),
                               trough=from_ms(int(times[trough])),
                               recovery=None if recovery < 0 else from_ms(int(times[recovery])),
                               depth=depth, peak_equity=high, trough_equity=low, bars=bars,
                               duration=bars * days)
                for peak, trough, recovery, depth, high, low, bars in zip(
                    worst.peak.tolist(), worst.trough.tolist(), worst.recovery.tolist(),
                    worst.depth.tolist(), worst.peak_equity.tolist(),
                    worst.trough_equity.tolist(), worst.bars.tolist(), strict=True)]

    @strawberry.field(description="The trades grouped by exit reason (reasons with trades "
                                  "only, in ExitReason order).")
    async def by_exit_reason(self) -> list[TradesByExitReason]:
        t = await self._trades()
        stats = group_stats(t["exit_reason"], t["pnl"], t["return"])
        return [TradesByExitReason(exit_reason=ExitReason(EXIT_REASONS[k]),
                                   **TradeGroup.fields(stats, i))
                for i, k in enumerate(stats.keys.tolist())]

    @strawberry.field(description="The trades grouped by side (sides with trades only, LONG "
                                  "first).")
    async def by_side(self) -> list[TradesBySide]:
        t = await self._trades()
        stats = group_stats(side_index(t["direction"]), t["pnl"], t["return"])
        return [TradesBySide(side=TradeSide(SIDES[k]), **TradeGroup.fields(stats, i))
                for i, k in enumerate(stats.keys.tolist())]

    @strawberry.field(description=f"A histogram of the trades' pnl in `bins` bins (1 to "
                                  f"{MAX_BINS}).")
    async def pnl_histogram(self, bins: int = DEFAULT_BINS) -> PnlHistogram:
        check_range("bins", bins, MAX_BINS)
        edges, counts = pnl_histogram((await self._trades())["pnl"], bins)
        return PnlHistogram(edges=edges.tolist(), counts=counts.tolist())

    @strawberry.field(description="The equity of holding the asset instead: the initial capital "
                                  "bought at the first bar's close, where the run's equity "
                                  "starts (no fees; its last value / initialCapital - 1 is "
                                  "buyAndHoldReturn). At the same times as "
                                  "equityCurve(maxPoints), to overlay it point for point. Null "
                                  "when the run's candles are no longer all stored.")
    async def buy_and_hold(self, max_points: int = DEFAULT_POINTS) -> Series | None:
        n = check_points(max_points)
        times, equity = await self._curve()
        r = self.record
        candles = await read_candles_cached(self.cache, r.exchange, r.symbol, r.timeframe,
                                            r.start_ms, r.end_ms)
        points = await asyncio.to_thread(_buy_and_hold_points, times, equity, candles.ts,
                                         candles.close, r.initial_capital, n)
        return None if points is None else Series.of(*points)


def _buy_and_hold_points(times: I64, equity: F64, candle_times: I64, close: F64,
                         initial_capital: float, max_points: int) -> tuple[I64, F64] | None:
    """The buy-and-hold curve at the points ``equityCurve(max_points)`` keeps (the indices
    ``domain.series.downsample_minmax`` picks from the equity), or None (no closes for every
    bar, or no price to start from)."""
    closes = aligned_closes(times, candle_times, close)
    held = None if closes is None else buy_and_hold(closes, initial_capital)
    if held is None:
        return None
    idx = minmax_indices(equity, max_points)
    return times[idx], held[idx]
