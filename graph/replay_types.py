"""GraphQL types of replays: the run, its comparison totals, per-fill table, curves, events.

Thin over ``store.replays`` / ``store.replay_results`` records. A replay's summaries and
totals come from its ``result`` JSON; its fills and round trips a page at a time; its curves
from the stored blob (decoded once per request and object), downsampled on request like a
backtest's (``domain.series.downsample_minmax``). Money is in the symbol's quote asset.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry

from domain.replay.rules import FILL_MODELS
from domain.series import downsample_minmax, drawdown
from graph.backtest_types import PerformanceSummary
from graph.jobs import Job, JobStage, RunStatus, event_at, event_eta, event_stage, job_fields
from graph.series import DEFAULT_POINTS, Series, check_points
from graph.sync_jobs import from_ms
from graph.trade_types import TradeConnection, trade_page
from graph.transaction_types import Side
from graph.types_common import (
    PageInfo,
    domain_enum,
    global_id,
    offset_cursor,
    offset_window,
    optional_id,
)
from store import replay_results as results
from store.backtest_results import F64, I64
from store.models import RunStatus as StoreRunStatus
from store.replay_results import FillRow
from store.replays import ReplayRecord

if TYPE_CHECKING:
    class FillModel(Enum):
        ACTUAL = "actual"
else:
    FillModel = domain_enum(
        "FillModel", FILL_MODELS,
        "Where a replayed fill's price comes from (domain.replay.rules.FILL_MODELS): ACTUAL "
        "the transaction's own price; OPEN, CLOSE or TYPICAL ((high + low + close) / 3) of the "
        "bar it is replayed in.")


@strawberry.enum
class ReplaySource(Enum):
    TRANSACTIONS = "transactions"
    BACKTEST = "backtest"


def _n(x: Any) -> float | None:
    return None if x is None else float(x)


@strawberry.type(description="Actual against replayed, in quote. slippage + feeAttribution + "
                             "droppedPnl = pnlDifference.")
class ReplayTotals:
    n_fills: int
    n_round_trips: int
    n_dropped: int = strawberry.field(description="Fills the delay pushed past the last bar.")
    dropped_rows: list[int] = strawberry.field(description="Their rows in their files (the "
                                                           "first 1,000).")
    actual_net_pnl: float | None
    replayed_net_pnl: float | None
    actual_fees: float | None
    replayed_fees: float | None
    slippage: float | None = strawberry.field(description="What the actual fills cost more "
                                                          "than the replayed ones (positive: "
                                                          "the actual execution was worse).")
    fee_attribution: float | None = strawberry.field(description="Actual fees - replayed fees.")
    pnl_difference: float | None = strawberry.field(description="Replayed net PnL - actual.")
    dropped_pnl: float | None
    open_position: bool = strawberry.field(description="A position is still open at the end "
                                                       "(marked to the last close).")

    @classmethod
    def from_payload(cls, t: dict[str, Any]) -> ReplayTotals:
        return cls(n_fills=int(t["n_fills"]), n_round_trips=int(t["n_round_trips"]),
                   n_dropped=int(t["n_dropped"]), dropped_rows=list(t["dropped_rows"]),
                   actual_net_pnl=_n(t["actual_net_pnl"]),
                   replayed_net_pnl=_n(t["replayed_net_pnl"]), actual_fees=_n(t["actual_fees"]),
                   replayed_fees=_n(t["replayed_fees"]), slippage=_n(t["slippage"]),
                   fee_attribution=_n(t["fee_attribution"]),
                   pnl_difference=_n(t["pnl_difference"]), dropped_pnl=_n(t["dropped_pnl"]),
                   open_position=bool(t["open_position"]))


@strawberry.type(description="One fill, actual and replayed (replayed fields are null when the "
                             "delay dropped it).")
class ReplayFill:
    seq: int = strawberry.field(description="0-based, in time order.")
    row: int = strawberry.field(description="Its row in its file (0: unknown).")
    time: datetime
    side: Side
    quantity: float = strawberry.field(description="Change of the base position.")
    price: float
    fee: float = strawberry.field(description="Actual fee, in quote.")
    replay_time: datetime | None
    replay_price: float | None
    replay_fee: float | None
    slippage: float | None
    fee_attribution: float | None
    realized_pnl: float | None = strawberry.field(description="Net PnL it realized in the "
                                                              "replay.")

    @classmethod
    def from_row(cls, r: FillRow) -> ReplayFill:
        dropped = r.replay_bar < 0
        return cls(seq=r.seq, row=r.file_row, time=from_ms(r.time),
                   side=Side("buy" if r.side > 0 else "sell"), quantity=r.quantity, price=r.price,
                   fee=r.fee, replay_time=None if dropped else from_ms(r.replay_time),
                   replay_price=r.replay_price, replay_fee=r.replay_fee, slippage=r.slippage,
                   fee_attribution=r.fee_attribution, realized_pnl=r.realized_pnl)


@strawberry.type
class ReplayFillEdge:
    cursor: str
    node: ReplayFill


@strawberry.type
class ReplayFillConnection:
    edges: list[ReplayFillEdge]
    page_info: PageInfo
    total_count: int


def _summary(payload: dict[str, Any] | None) -> PerformanceSummary | None:
    return None if payload is None else PerformanceSummary.from_payload(payload)


@strawberry.type(description="A replay of transactions (or of a backtest's trades) against "
                             "market data, with a what-if model.")
class Replay(Job):
    source: ReplaySource
    backtest_id: strawberry.ID | None
    import_ids: list[strawberry.ID] = strawberry.field(description="Empty: every import.")
    exchange: str
    symbol: str
    timeframe: str
    from_: datetime = strawberry.field(name="from")
    to: datetime
    initial_capital: float
    risk_free_rate: float
    fill: FillModel
    fee_bps: float | None = strawberry.field(description="Null: the actual fees.")
    slippage_bps: float
    delay_bars: int
    record: strawberry.Private[ReplayRecord]
    cached: strawberry.Private[dict[str, Any]]

    @classmethod
    def from_record(cls, r: ReplayRecord) -> Replay:
        p = r.parameters
        fee = p.get("fee_rate")
        return cls(
            **job_fields("replay", r), source=ReplaySource(r.source),
            backtest_id=optional_id("Backtest", r.backtest_id),
            import_ids=[global_id("TransactionImport", i) for i in r.import_ids], exchange=r.exchange,
            symbol=r.symbol, timeframe=r.timeframe, from_=from_ms(r.start_ms),
            to=from_ms(r.end_ms), initial_capital=r.initial_capital,
            risk_free_rate=r.risk_free_rate, fill=FillModel(p.get("fill", "actual")),
            fee_bps=None if fee is None else float(fee) * 10_000,
            slippage_bps=float(p.get("slippage_rate", 0.0)) * 10_000,
            delay_bars=int(p.get("delay_bars", 0)), record=r, cached={})

    @strawberry.field(description="The replayed account's performance (null until succeeded).")
    def summary(self) -> PerformanceSummary | None:
        return _summary((self.record.result or {}).get("summary"))

    @strawberry.field(description="The account as it was (actual fills), for comparison.")
    def actual_summary(self) -> PerformanceSummary | None:
        return _summary((self.record.result or {}).get("actual_summary"))

    @strawberry.field(description="Actual against replayed (null until succeeded).")
    def totals(self) -> ReplayTotals | None:
        found = (self.record.result or {}).get("totals")
        return None if found is None else ReplayTotals.from_payload(found)

    @strawberry.field(description="Every fill, actual and replayed, a page at a time.")
    async def fills(self, first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None
                    ) -> ReplayFillConnection:
        total = await results.count_fills(self.record.id)
        start, end, page = offset_window(total, first, after, last, before)
        rows = await results.fills_page(self.record.id, start - 1 if start > 0 else None,
                                        end - start) if end > start else []
        edges = [ReplayFillEdge(cursor=offset_cursor(r.seq), node=ReplayFill.from_row(r))
                 for r in rows]
        return ReplayFillConnection(edges=edges, total_count=total, page_info=page)

    @strawberry.field(description="The replayed account's round trips (FIFO lots), in order of "
                                  "closing; open lots last, as end_of_data.")
    async def trades(self, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None) -> TradeConnection:
        return await trade_page(results.trades_page, results.count_trades, self.record.id,
                                first, after, last, before)

    async def _curve(self, name: str, max_points: int) -> Series | None:
        n = check_points(max_points)
        if self.record.status != StoreRunStatus.SUCCEEDED:
            return None
        if "curves" not in self.cached:
            self.cached["curves"] = await results.replay_curves(self.record.id)
        found: tuple[I64, dict[str, F64]] | None = self.cached["curves"]
        if found is None:
            return None
        times, curves = found
        if name.endswith("drawdown"):
            source = curves["actual_equity" if name.startswith("actual") else "equity"]
            values = drawdown(source, self.record.initial_capital)
        else:
            values = curves[name]
        return Series.of(*downsample_minmax(times, values, n))

    @strawberry.field(description="Replayed equity at each bar's close.")
    async def equity_curve(self, max_points: int = DEFAULT_POINTS) -> Series | None:
        return await self._curve("equity", max_points)

    @strawberry.field(description="The actual account's equity at each bar's close.")
    async def actual_equity_curve(self, max_points: int = DEFAULT_POINTS) -> Series | None:
        return await self._curve("actual_equity", max_points)

    @strawberry.field(description="Replayed drawdown from the running peak (positive fraction).")
    async def drawdown_curve(self, max_points: int = DEFAULT_POINTS) -> Series | None:
        return await self._curve("drawdown", max_points)

    @strawberry.field(description="The actual account's drawdown.")
    async def actual_drawdown_curve(self, max_points: int = DEFAULT_POINTS) -> Series | None:
        return await self._curve("actual_drawdown", max_points)

    @strawberry.field(description="Replayed realized PnL (net of fees) at each close.")
    async def realized_pnl_curve(self, max_points: int = DEFAULT_POINTS) -> Series | None:
        return await self._curve("realized", max_points)

    @strawberry.field(description="Replayed unrealized PnL of the open lots (before fees).")
    async def unrealized_pnl_curve(self, max_points: int = DEFAULT_POINTS) -> Series | None:
        return await self._curve("unrealized", max_points)

    @strawberry.field(description="Replayed position (base units) at each close.")
    async def position_curve(self, max_points: int = DEFAULT_POINTS) -> Series | None:
        return await self._curve("position", max_points)


@strawberry.type(description="One event of a replay: the first is its current state, the last "
                             "is terminal (kind done, error or cancelled).")
class ReplayEvent:
    replay_id: strawberry.ID
    seq: int
    kind: str = strawberry.field(description="status, progress, done, error or cancelled.")
    status: RunStatus
    stage: JobStage | None
    progress: float
    eta: float | None = strawberry.field(description="Seconds left (estimated).")
    at: datetime = strawberry.field(description="When it happened.")
    equity: Series | None = strawberry.field(description="The replayed equity, downsampled.")
    summary: PerformanceSummary | None = strawberry.field(description="done: the results.")
    totals: ReplayTotals | None = strawberry.field(description="done: actual against replayed.")
    error: str | None

    @classmethod
    def from_event(cls, replay_id: int, e: dict[str, Any]) -> ReplayEvent:
        equity, totals = e.get("equity"), e.get("totals")
        return cls(replay_id=global_id("Replay", replay_id), seq=int(e.get("seq", 0)),
                   kind=str(e.get("kind", "status")), status=RunStatus(e["status"]),
                   stage=event_stage(e), progress=float(e.get("progress", 0.0)),
                   eta=event_eta(e), at=event_at(e),
                   equity=None if equity is None else Series.from_payload(equity),
                   summary=_summary(e.get("summary")),
                   totals=None if totals is None else ReplayTotals.from_payload(totals),
                   error=e.get("error"))
