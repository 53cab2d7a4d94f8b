"""Backtests: ``runBacktest``, ``cancelBacktest``, ``deleteBacktest``, ``backtest``,
``backtests`` and the ``backtestProgress`` subscription (types in ``graph.backtest_types``).

``runBacktest`` checks the input, creates a queued backtest and hands it to the executor
(``tasks.jobs.submit``), returning at once; problems come back as ``ValidationError`` (paths such as
``input.params.fast``), a strategy that is not the caller's as ``NotFound``. ``backtests`` is a
Relay connection with filters, sorting by creation or by a metric (runs without it last), keyset
cursors and a page cap (``store.backtest_list``). ``backtestProgress`` sends the current state
first, then each event until the run ends (``tasks.messaging.events.follow``).
``deleteBacktest`` removes an ended run with its results and refuses a queued or running one
(``BacktestStillRunning``: cancel it first). A backtest of another
user is NOT_FOUND everywhere; an admin sees all.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graph.audit import audit
from graph.backtest_types import Backtest, PerformanceSummary
from graph.context import Context
from graph.errors import BadUserInput, NotFound
from graph.jobs import (
    JobStage,
    RunStatus,
    cancel_as,
    event_at,
    event_eta,
    event_stage,
    follow_job,
    register_job_type,
)
from graph.series import Series
from graph.sweeps import SweepSubscriptions, market_of
from graph.sync_jobs import EXCHANGE_ARG
from graph.types_common import (
    NotFoundError,
    PageInfo,
    SortDirection,
    ValidationError,
    Window,
    cursor_id,
    cursor_number,
    decode_cursor,
    encode_cursor,
    global_id,
    parse_id,
)
from store import backtests as store
from store.backtest_list import BacktestFilter as StoreFilter
from store.backtest_list import SortKey, count_backtests, list_backtests
from store.models import RunStatus as StoreRunStatus
from store.scope import OwnerScope
from tasks.jobs.submit import (
    BacktestRequest,
    InvalidRequest,
    UnknownStrategy,
    queue_backtest,
)


@strawberry.input
class RunBacktestInput:
    strategy_id: strawberry.ID = strawberry.field(description="A version of your strategy.")
    symbol: str
    timeframe: str
    from_: datetime = strawberry.field(name="from", description="First bar (inclusive).")
    to: datetime = strawberry.field(description="End of the range (exclusive).")
    exchange: str | None = strawberry.field(default=None, description=EXCHANGE_ARG)
    params: JSON | None = strawberry.field(
        default=None, description='Parameter values, e.g. {"fast": 10}; the others keep '
                                  "their value.")
    initial_capital: float | None = strawberry.field(
        default=None, description="Starting equity (default: the strategy's).")
    risk_free_rate: float | None = strawberry.field(
        default=None, description="Annual, for Sharpe and Sortino (0.04 = 4 %; default 0).")


@strawberry.enum
class BacktestSortField(Enum):
    CREATED = "created"
    TOTAL_RETURN = "total_return"
    SHARPE = "sharpe"
    MAX_DRAWDOWN = "max_drawdown"


@strawberry.input(description="Conditions on listed backtests (all must hold).")
class BacktestFilter:
    status: list[RunStatus] | None = None
    exchange: str | None = None
    symbol: str | None = None
    strategy_id: strawberry.ID | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")

    def to_store(self) -> StoreFilter:
        return StoreFilter(
            statuses=tuple(StoreRunStatus(s.value) for s in self.status or ()),
            exchange=None if self.exchange is None else self.exchange.strip().lower(),
            symbol=self.symbol, created_from=self.created_from, created_to=self.created_to,
            strategy_id=None if self.strategy_id is None else parse_id(self.strategy_id,
                                                                       "Strategy"))


@strawberry.input(description="Order of a list: runs without the metric come last either way.")
class BacktestSort:
    field: BacktestSortField = BacktestSortField.CREATED
    direction: SortDirection = SortDirection.DESC


@strawberry.type
class BacktestEdge:
    cursor: str
    node: Backtest


@strawberry.type
class BacktestConnection:
    edges: list[BacktestEdge]
    page_info: PageInfo
    flt: strawberry.Private[StoreFilter]
    owner: strawberry.Private[OwnerScope]

    @strawberry.field(description="How many backtests match the filter, on every page.")
    async def total_count(self) -> int:
        return await count_backtests(self.flt, owner=self.owner)


@strawberry.type(description="One event of a backtest: the first is its current state, the last "
                             "is terminal (kind done, error or cancelled).")
class BacktestEvent:
    backtest_id: strawberry.ID
    seq: int
    kind: str = strawberry.field(description="status, progress, done, error or cancelled.")
    status: RunStatus
    stage: JobStage | None
    progress: float
    eta: float | None = strawberry.field(description="Seconds left (estimated).")
    at: datetime = strawberry.field(description="When it happened (progress: when the engine "
                                                "reported it).")
    equity: Series | None = strawberry.field(description="progress and done: the equity curve "
                                                         "so far, downsampled.")
    summary: PerformanceSummary | None = strawberry.field(description="done: the results.")
    error: str | None

    @classmethod
    def from_event(cls, backtest_id: int, e: dict[str, Any]) -> BacktestEvent:
        equity, summary = e.get("equity"), e.get("summary")
        return cls(backtest_id=global_id("Backtest", backtest_id), seq=int(e.get("seq", 0)),
                   kind=str(e.get("kind", "status")), status=RunStatus(e["status"]),
                   stage=event_stage(e), progress=float(e.get("progress", 0.0)),
                   eta=event_eta(e), at=event_at(e),
                   equity=None if equity is None else Series.from_payload(equity),
                   summary=None if summary is None else PerformanceSummary.from_payload(summary),
                   error=e.get("error"))


RunBacktestResult = Annotated[Backtest | ValidationError | NotFoundError,
                              strawberry.union("RunBacktestResult")]
CancelBacktestResult = Annotated[Backtest | NotFoundError, strawberry.union("CancelBacktestResult")]


@strawberry.type(description="What deleteBacktest removed: the backtest with its results.")
class DeletedBacktest:
    deleted_id: strawberry.ID = strawberry.field(description="The global id it had.")
    strategy_name: str
    symbol: str


@strawberry.type(description="The backtest is queued or running, so it was not deleted: cancel "
                             "it first (cancelBacktest), then delete it once it has ended.")
class BacktestStillRunning:
    message: str
    backtest: Backtest


DeleteBacktestResult = Annotated[DeletedBacktest | BacktestStillRunning | NotFoundError,
                                 strawberry.union("DeleteBacktestResult")]


async def run_backtest(info: Info[Context, None], input: RunBacktestInput) -> RunBacktestResult:
    ctx = info.context
    viewer = ctx.require_write()
    try:
        strategy_id = parse_id(input.strategy_id, "Strategy")
        request = BacktestRequest(strategy_id, await market_of(input), input.params,
                                  input.initial_capital, input.risk_free_rate)
        record = await queue_backtest(viewer.user_id, ctx.scope(), request,
                                      ctx.services.executor, ctx.services.broadcaster,
                                      settings=ctx.services.settings)
    except (NotFound, UnknownStrategy):
        return NotFoundError(message=f"strategy {input.strategy_id} not found")
    except InvalidRequest as err:
        return ValidationError.of_domain(err.problems)
    await audit(ctx, "job.start", target_type="Backtest", target_id=record.id,
                details={"kind": "backtest", "symbol": record.symbol})
    return Backtest.from_record(record)


async def cancel_backtest(info: Info[Context, None], id: strawberry.ID) -> CancelBacktestResult:
    return await cancel_as(info, "backtest", id, Backtest)


async def delete_backtest(info: Info[Context, None], id: strawberry.ID) -> DeleteBacktestResult:
    ctx = info.context
    ctx.require_write()
    key = parse_id(id, "Backtest")
    try:
        deleted = await store.delete_backtest(key, owner=ctx.scope())
    except store.BacktestActive as err:
        return BacktestStillRunning(
            message=f"backtest {id} is {err.record.status.value}: cancel it first",
            backtest=Backtest.from_record(err.record))
    if deleted is None:
        return NotFoundError(message=f"backtest {id} not found")
    await ctx.services.cache.drop_results("backtest", key)
    return DeletedBacktest(deleted_id=global_id("Backtest", key),
                           strategy_name=str(deleted.strategy_snapshot.get("name", "")),
                           symbol=deleted.symbol)


async def load_backtests(ids: Sequence[int], owner: OwnerScope) -> list[Backtest]:
    return [Backtest.from_record(r) for r in await store.get_backtests(ids, owner=owner)]


register_job_type("backtest", Backtest, load_backtests)


async def backtest(info: Info[Context, None], id: strawberry.ID) -> Backtest:
    found = await store.get_backtest(parse_id(id, "Backtest"), owner=info.context.scope())
    if found is None:
        raise NotFound("backtest", id)
    return Backtest.from_record(found)


def _after(cursor: str | None, sort: SortKey, descending: bool) -> tuple[float | None, int] | None:
    if cursor is None:
        return None
    key, desc, value, last_id = decode_cursor(cursor, 4)
    if key != sort.value or desc != descending:
        raise BadUserInput("this cursor belongs to another sort order: keep the same 'sort' "
                           "while paging, or omit 'after'")
    return cursor_number(value, cursor), cursor_id(last_id, cursor)


async def backtests(info: Info[Context, None], filter: BacktestFilter | None = None,
                    sort: BacktestSort | None = None, first: int | None = None,
                    after: str | None = None, last: int | None = None,
                    before: str | None = None) -> BacktestConnection:
    owner = info.context.scope()
    window = Window(first, after, last, before)
    sort = sort or BacktestSort()
    key, descending = SortKey(sort.field.value), sort.direction == SortDirection.DESC
    flt = (filter or BacktestFilter()).to_store()
    page = await list_backtests(flt, owner=owner, sort=key,
                                descending=descending, after=_after(after, key, descending),
                                before=_after(before, key, descending), limit=window.size,
                                backward=window.backward)
    edges = [BacktestEdge(cursor=encode_cursor((key.value, descending, value, row_id)),
                          node=Backtest.from_record(record, summary))
             for record, (value, row_id), summary in zip(page.rows, page.keys, page.summaries,
                                                         strict=True)]
    return BacktestConnection(edges=edges, flt=flt, owner=owner, page_info=window.page_info(
        [e.cursor for e in edges], page.has_next))


async def backtest_progress(info: Info[Context, None], id: strawberry.ID
                            ) -> AsyncGenerator[BacktestEvent, None]:
    key = parse_id(id, "Backtest")
    async for event in follow_job(info, "backtest", key):
        yield BacktestEvent.from_event(key, event)


@strawberry.type
class BacktestQueries:
    backtest: Backtest = strawberry.field(
        resolver=backtest, description="One backtest (NOT_FOUND if it is not yours).")
    backtests: BacktestConnection = strawberry.field(
        resolver=backtests, description="Your backtests: filtered, sorted, a page at a time "
                                        "(Relay connection; default newest first).")


@strawberry.type
class BacktestMutations:
    run_backtest: RunBacktestResult = strawberry.mutation(
        resolver=run_backtest, description="Queue a backtest; returns it at once (follow it "
                                           "with backtestProgress).")
    cancel_backtest: CancelBacktestResult = strawberry.mutation(
        resolver=cancel_backtest,
        description="Cancel a backtest: a queued one at once, a running one at the engine's "
                    "next chunk (its status turns cancelled then). A finished one is returned "
                    "unchanged.")
    delete_backtest: DeleteBacktestResult = strawberry.mutation(
        resolver=delete_backtest,
        description="Delete a backtest that has ended (succeeded, failed or cancelled) with its "
                    "results (summary, trades, equity curve); replays of it stay, unlinked. A "
                    "queued or running one is not deleted (BacktestStillRunning: cancel it "
                    "first, so a run is never lost by a slip); NotFoundError when it is not "
                    "yours.")


@strawberry.type
class BacktestSubscriptions(SweepSubscriptions):
    backtest_progress: AsyncGenerator[BacktestEvent, None] = strawberry.subscription(
        resolver=backtest_progress,
        description="A backtest's events: its current state first, then each change; ends "
                    "when it ends.")
