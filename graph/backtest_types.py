"""GraphQL types of backtests and sweeps: runs, their summaries, trades and curves, events.

Thin over ``store.backtests`` / ``store.sweeps`` records. A backtest's summary is loaded with
the request's DataLoader (``backtest.summary``: one query for every backtest of a response),
its trades page by page (in an order, filtered: ``graph.trade_types``), its analysis on
request (``graph.analysis_types``), its curves from the stored equity blob (through the app's cache,
``tasks.cache.candles``, once the run has succeeded), downsampled on request
(``domain.series``: per bucket the lowest and the highest point, plus the first and the last,
so peaks, troughs and the final value survive). Times of bars are DateTime in lists of objects
and UTC milliseconds in series (parallel float arrays, see ``graph.series`` and ``Series``).
Metrics that are undefined or infinite (a profit factor without losing trades) are null; counts
(``nTrades``) are Int.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.series import downsample_minmax, drawdown
from graph.analysis_types import BacktestAnalysis
from graph.context import Context
from graph.jobs import Job, job_fields
from graph.series import DEFAULT_POINTS, Series, check_points
from graph.sync_jobs import from_ms
from graph.trade_types import (
    TradeColumns,
    TradeConnection,
    TradeFilter,
    TradeOrder,
    backtest_trade_columns,
    backtest_trade_page,
)
from graph.types_common import Window, optional_id
from store import backtest_results as results
from store.backtest_results import F64, I64, Summary
from store.backtests import BacktestRecord
from store.models import RunStatus as StoreRunStatus
from tasks.cache.candles import finished_equity_curve


def _num(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


@strawberry.type(description="Performance of a run: its final equity and every metric (null "
                             "when undefined or infinite). Fractions: 0.25 is 25 %.")
class PerformanceSummary:
    final_equity: float | None
    total_return: float | None
    cagr: float | None
    net_pnl: float | None
    n_trades: int | None = strawberry.field(description="Closed trades (null when unknown).")
    win_rate: float | None
    avg_win: float | None
    avg_loss: float | None
    profit_factor: float | None
    expectancy: float | None
    max_drawdown: float | None
    max_drawdown_duration: float | None = strawberry.field(description="In days.")
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    exposure: float | None
    best_trade: float | None
    worst_trade: float | None
    sqn: float | None
    buy_and_hold_return: float | None

    @classmethod
    def of(cls, final_equity: float | None, metrics: dict[str, Any]) -> PerformanceSummary:
        """From a final equity and ``METRIC_NAMES`` values (floats, NaN or None)."""
        values: dict[str, Any] = {k: _num(v) for k, v in metrics.items()}
        if values.get("n_trades") is not None:
            values["n_trades"] = int(values["n_trades"])  # a count: Int
        return cls(final_equity=_num(final_equity), **values)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PerformanceSummary:
        rest = {k: v for k, v in payload.items() if k != "final_equity"}
        return cls.of(payload.get("final_equity"), rest)


class NotLoaded:
    """The type of :data:`NOT_LOADED`."""


NOT_LOADED = NotLoaded()  # Backtest.loaded_summary when the summary is left to the DataLoader


def _performance(found: Summary | None) -> PerformanceSummary | None:
    return None if found is None else PerformanceSummary.of(found.final_equity, found.metrics)


def summary_loader(info: Info[Context, None]) -> DataLoader[int, Summary | None]:
    return info.context.loader("backtest.summary",
                               lambda: DataLoader(load_fn=results.summaries_for))


@strawberry.type(description="One run of a strategy on a range of market data.")
class Backtest(Job):
    strategy_id: strawberry.ID | None = strawberry.field(
        description="The strategy version run (null once deleted; the snapshot stays).")
    strategy_name: str
    strategy_snapshot: JSON = strawberry.field(description="The document exactly as run.")
    params: JSON = strawberry.field(description="Every parameter's value as run.")
    exchange: str
    symbol: str
    timeframe: str
    from_: datetime = strawberry.field(name="from", description="First bar (inclusive).")
    to: datetime = strawberry.field(description="End of the range (exclusive).")
    initial_capital: float
    risk_free_rate: float
    record: strawberry.Private[BacktestRecord]
    # its summary when the caller loaded it with the record (a list page), else NOT_LOADED
    loaded_summary: strawberry.Private[Summary | NotLoaded | None] = NOT_LOADED

    @classmethod
    def from_record(cls, r: BacktestRecord, summary: Summary | NotLoaded | None = NOT_LOADED
                    ) -> Backtest:
        """``summary``: the run's summary (or None) when already loaded; otherwise
        ``summary`` loads it with the request's DataLoader."""
        return cls(
            **job_fields("backtest", r),
            strategy_id=optional_id("Strategy", r.strategy_id),
            strategy_name=str(r.strategy_snapshot.get("name", "")),
            strategy_snapshot=JSON(r.strategy_snapshot), params=JSON(r.parameters),
            exchange=r.exchange, symbol=r.symbol, timeframe=r.timeframe,
            from_=from_ms(r.start_ms), to=from_ms(r.end_ms), initial_capital=r.initial_capital,
            risk_free_rate=r.risk_free_rate, record=r, loaded_summary=summary)

    @strawberry.field(description="Its performance (null until it has succeeded).")
    def summary(self, info: Info[Context, None]) -> PerformanceSummary | None:
        # Not async: a listed run's summary came with the page and is returned as it is (no
        # coroutine per row); otherwise this returns the DataLoader's awaitable, which
        # graphql-core awaits like an async resolver's result.
        if self.record.status != StoreRunStatus.SUCCEEDED:
            return None
        if not isinstance(self.loaded_summary, NotLoaded):
            return _performance(self.loaded_summary)
        return cast(PerformanceSummary | None, self._load_summary(info))

    async def _load_summary(self, info: Info[Context, None]) -> PerformanceSummary | None:
        return _performance(await summary_loader(info).load(self.record.id))

    @strawberry.field(description="Its trades, a page at a time (Relay connection, forward "
                                  "with first/after or backward with last/before): in trade "
                                  "order, or in orderBy's; only those matching filter (counted "
                                  "by totalCount). A cursor is valid in the order it was given "
                                  "in.")
    async def trades(self, info: Info[Context, None], first: int | None = None,
                     after: str | None = None, last: int | None = None,
                     before: str | None = None, order_by: TradeOrder | None = None,
                     filter: TradeFilter | None = None) -> TradeConnection:
        return await backtest_trade_page(self.record.id, owner=info.context.scope(),
                                         window=Window(first, after, last, before),
                                         order_by=order_by, filter=filter)

    @strawberry.field(description="Every trade at once, as columns (null until it has "
                                  "succeeded): for chart markers and exports.")
    async def trade_columns(self, info: Info[Context, None]) -> TradeColumns | None:
        if self.record.status != StoreRunStatus.SUCCEEDED:
            return None
        return await backtest_trade_columns(self.record.id, owner=info.context.scope())

    @strawberry.field(description="Analysis of its results for a results page: calendar "
                                  "returns, drawdown periods, trades by exit reason and side, a "
                                  "PnL histogram, the buy-and-hold curve (null until it has "
                                  "succeeded).")
    def analysis(self, info: Info[Context, None]) -> BacktestAnalysis | None:
        if self.record.status != StoreRunStatus.SUCCEEDED:
            return None
        return BacktestAnalysis.of(self.record, info)

    @strawberry.field(description="Equity at each bar's close, at most maxPoints points (null "
                                  "until it has succeeded).")
    async def equity_curve(self, info: Info[Context, None],
                           max_points: int = DEFAULT_POINTS) -> Series | None:
        n = check_points(max_points)
        curve = await self._curve(info)
        if curve is None:
            return None
        return Series.of(*downsample_minmax(curve[0], curve[1], n))

    @strawberry.field(description="Drawdown from the running peak at each bar, as a positive "
                                  "fraction (its maximum is maxDrawdown), at most maxPoints "
                                  "points.")
    async def drawdown_curve(self, info: Info[Context, None],
                             max_points: int = DEFAULT_POINTS) -> Series | None:
        n = check_points(max_points)
        curve = await self._curve(info)
        if curve is None:
            return None
        times, equity = curve
        return Series.of(*downsample_minmax(times, drawdown(equity, self.record.initial_capital),
                                           n))

    async def _curve(self, info: Info[Context, None]) -> tuple[I64, F64] | None:
        """The full equity curve of a succeeded run, through the app's cache."""
        if self.record.status != StoreRunStatus.SUCCEEDED:
            return None
        return await finished_equity_curve(info.context.services.cache, self.record.id)
