"""GraphQL types of backtests and sweeps: runs, their summaries, trades and curves, events.

Thin over ``store.backtests`` / ``store.sweeps`` records. A backtest's summary is loaded with
the request's DataLoader (``backtest.summary``: one query for every backtest of a response),
its trades page by page, its curves from the stored equity blob (through the app's cache,
``tasks.cache.candles``, once the run has succeeded), downsampled on request
(``domain.series``: per bucket the lowest and the highest point, plus the first and the last,
so peaks, troughs and the final value survive). Times of bars are DateTime in lists of objects
and UTC milliseconds in series (parallel float arrays, see ``graph.series`` and ``Series``).
Metrics that are undefined or infinite (a profit factor without losing trades) are null; counts
(``nTrades``) are Int. A trade's ``side`` and ``exitReason`` are enums generated from the
domain's lists (``domain.engine.rules.EXIT_REASONS``).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.engine.rules import EXIT_REASONS
from domain.series import downsample_minmax, drawdown
from graph.context import Context
from graph.errors import BadUserInput
from graph.jobs import Job, job_fields
from graph.series import float_column
from graph.sync_jobs import from_ms
from graph.types_common import (
    PageInfo,
    domain_enum,
    offset_cursor,
    offset_window,
    optional_id,
)
from store import backtest_results as results
from store.backtest_results import F64, I64, Summary, TradeRow
from store.backtests import BacktestRecord
from store.models import RunStatus as StoreRunStatus
from tasks.cache.candles import finished_equity_curve

DEFAULT_POINTS = 1_000
MAX_POINTS = 100_000


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


@strawberry.type(description="A chart series as parallel columnar arrays (not a connection: "
                             "every point at once, downsampled to maxPoints): `times` are UTC "
                             "epoch milliseconds, `values` the series at those times. Every "
                             "chart series of the API (curves, candles, indicators) follows this "
                             "columnar convention; object times elsewhere are DateTime.")
class Series:
    times: list[float]
    values: list[float]

    @classmethod
    def of(cls, times: Any, values: Any) -> Series:
        # a FloatColumn of finite floats (nullable=False refuses others) is a list[float]
        return cls(times=cast(list[float], float_column(times, nullable=False)),
                   values=cast(list[float], float_column(values, nullable=False)))

    @classmethod
    def from_payload(cls, payload: dict[str, list[float]]) -> Series:
        return cls.of(payload["times"], payload["values"])


if TYPE_CHECKING:
    from enum import Enum as ExitReason
    from enum import Enum as TradeSide
else:
    ExitReason = domain_enum("ExitReason", EXIT_REASONS,
                             "Why a trade was closed (domain.engine.rules.EXIT_REASONS).")
    TradeSide = domain_enum("TradeSide", ("long", "short"), "A trade's direction.")


@strawberry.type(description="A closed trade (the last one may be a position closed at the end "
                             "of the data: exitReason end_of_data).")
class Trade:
    seq: int = strawberry.field(description="0-based position in the run's trade list.")
    entry_time: datetime = strawberry.field(description="Open time of the entry bar.")
    exit_time: datetime
    entry_price: float
    exit_price: float
    quantity: float
    direction: int = strawberry.field(description="+1 long, -1 short (see side).")
    side: TradeSide
    gross_pnl: float
    fees: float
    pnl: float = strawberry.field(description="Net of fees.")
    trade_return: float = strawberry.field(name="return",
                                           description="pnl / (quantity * entry price).")
    exit_reason: ExitReason

    @classmethod
    def from_row(cls, r: TradeRow) -> Trade:
        return cls(seq=r.seq, entry_time=from_ms(r.entry_time), exit_time=from_ms(r.exit_time),
                   entry_price=r.entry_price, exit_price=r.exit_price, quantity=r.quantity,
                   direction=r.direction, side=TradeSide("long" if r.direction > 0 else "short"),
                   gross_pnl=r.gross_pnl, fees=r.fees, pnl=r.pnl,
                   trade_return=r.trade_return,
                   exit_reason=ExitReason(EXIT_REASONS[r.exit_reason]))


@strawberry.type
class TradeEdge:
    cursor: str
    node: Trade


@strawberry.type(description="A page of a run's trades, in trade order.")
class TradeConnection:
    edges: list[TradeEdge]
    page_info: PageInfo
    total_count: int


async def trade_page(rows_page: Any, count: Any, run_id: int, first: int | None,
                     after: str | None, last: int | None, before: str | None
                     ) -> TradeConnection:
    """A page of the trades of run ``run_id`` (numbered 0, 1, 2... by ``seq``), forward or
    backward: ``rows_page(run_id, after_seq, limit)`` and ``count(run_id)`` read them."""
    total = await count(run_id)
    start, end, info = offset_window(total, first, after, last, before)
    rows = await rows_page(run_id, start - 1 if start > 0 else None, end - start) \
        if end > start else []
    edges = [TradeEdge(cursor=offset_cursor(r.seq), node=Trade.from_row(r)) for r in rows]
    return TradeConnection(edges=edges, total_count=total, page_info=info)


def check_points(value: int) -> int:
    if not 2 <= value <= MAX_POINTS:
        raise BadUserInput(f"'maxPoints' must be between 2 and {MAX_POINTS:,} (got {value})")
    return value


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
                                  "with first/after or backward with last/before).")
    async def trades(self, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None) -> TradeConnection:
        return await trade_page(results.trades_page, results.count_trades, self.record.id,
                                first, after, last, before)

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
