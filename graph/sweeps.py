"""Parameter sweeps: ``runSweep``, ``cancelSweep``, ``sweep``, ``sweeps`` and the
``sweepProgress`` subscription.

A sweep runs every parameter set of a grid on one market range as ONE job
(``domain.engine.sweep.run_sweep`` through ``tasks.jobs.lifecycle.run_sweep_job``); its result is a table
ranked by ``rankBy`` (best first; for drawdowns, lowest first; undefined values last), of which
the best ``domain.engine.ranking.MAX_STORED_SWEEP_ROWS`` rows are kept. The grid maps parameter names
to a list of values or an inclusive range ``{"start", "stop", "step"}``
(``domain.strategy.grid``, as the CLI's ``--grid``); parameters left out keep their own range or
values. A sweep of another user is NOT_FOUND everywhere; an admin sees all.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.errors import DomainError
from domain.metrics import METRIC_NAMES
from graph.audit import audit
from graph.backtest_types import PerformanceSummary
from graph.context import Context
from graph.errors import NotFound
from graph.jobs import (
    Job,
    JobStage,
    RunStatus,
    cancel_as,
    event_at,
    event_eta,
    event_stage,
    follow_job,
    job_fields,
    register_job_type,
)
from graph.sync_jobs import EXCHANGE_ARG, from_ms, to_ms
from graph.types_common import (
    NotFoundError,
    PageInfo,
    ValidationError,
    Window,
    encode_cursor,
    global_id,
    offset_cursor,
    offset_window,
    optional_id,
    parse_id,
)
from store import jobs as store_jobs
from store import sweeps as store
from store.models import RunStatus as StoreRunStatus
from store.scope import OwnerScope
from store.sweeps import SweepRecord
from tasks.cache.candles import finished_sweep_table
from tasks.jobs.submit import (
    InvalidRequest,
    Market,
    SweepRequest,
    UnknownStrategy,
    queue_sweep,
)
from tasks.market.resolve import AmbiguousMarket, UnknownMarket, exchange_or_resolved


class _MarketInput(Protocol):
    exchange: str | None
    symbol: str
    timeframe: str
    from_: datetime
    to: datetime


async def market_of(input: _MarketInput) -> Market:
    """The market range of a run's input (times to UTC ms; no zone means UTC); without an
    exchange, the one the market is stored under (``tasks.market.resolve``: an unknown or
    ambiguous market, or a bad timeframe, is ``InvalidRequest``)."""
    try:
        exchange = await exchange_or_resolved(input.exchange, input.symbol, input.timeframe)
    except (UnknownMarket, AmbiguousMarket) as err:
        raise InvalidRequest([(err.field, str(err))]) from None
    except DomainError as err:
        raise InvalidRequest([("timeframe", str(err))]) from None
    return Market(exchange, input.symbol, input.timeframe, to_ms(input.from_), to_ms(input.to))


def _metric_enum() -> type[Enum]:
    """``Metric``: one member per name of ``domain.metrics.METRIC_NAMES``, in its order
    (``SHARPE = "sharpe"``...), so a metric added there is one the API ranks by."""
    enum = Enum("Metric", [(name.upper(), name) for name in METRIC_NAMES])  # type: ignore[misc]
    return strawberry.enum(enum, description="A metric of domain.metrics, to rank sweeps by.")


if TYPE_CHECKING:
    Metric = Enum
else:
    Metric = _metric_enum()


@strawberry.type(description="One parameter set of a sweep with its results.")
class SweepRow:
    rank: int
    params: JSON
    metrics: PerformanceSummary = strawberry.field(
        description="finalEquity is initial capital * (1 + totalReturn).")

    @classmethod
    def of(cls, row: dict[str, Any], initial_capital: float) -> SweepRow:
        metrics = row["metrics"]
        total = metrics.get("total_return")
        final = None if total is None else initial_capital * (1.0 + total)
        return cls(rank=int(row["rank"]), params=JSON(row["params"]),
                   metrics=PerformanceSummary.of(final, metrics))


@strawberry.type
class SweepRowEdge:
    cursor: str
    node: SweepRow


@strawberry.type(description="A page of a sweep's ranked table, best first.")
class SweepRowConnection:
    edges: list[SweepRowEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Rows stored (at most the best "
                                                    "MAX_STORED_SWEEP_ROWS of the grid).")


@strawberry.type(description="A parameter sweep run as one job; its result is a ranked table.")
class Sweep(Job):
    strategy_id: strawberry.ID | None
    strategy_snapshot: JSON
    grid: JSON = strawberry.field(description="Each swept parameter's values.")
    rank_by: Metric
    n_combinations: int
    exchange: str
    symbol: str
    timeframe: str
    from_: datetime = strawberry.field(name="from")
    to: datetime
    record: strawberry.Private[SweepRecord]

    @classmethod
    def from_record(cls, r: SweepRecord) -> Sweep:
        return cls(
            **job_fields("sweep", r),
            strategy_id=optional_id("Strategy", r.strategy_id),
            strategy_snapshot=JSON(r.strategy_snapshot), grid=JSON(r.grid),
            rank_by=Metric(r.rank_by), n_combinations=r.n_combinations, exchange=r.exchange,
            symbol=r.symbol, timeframe=r.timeframe, from_=from_ms(r.start_ms),
            to=from_ms(r.end_ms), record=r)

    @strawberry.field(description="The ranked table, best first, a page at a time (Relay "
                                  "connection; null until it has succeeded).")
    async def rows(self, info: Info[Context, None], first: int | None = None,
                   after: str | None = None, last: int | None = None,
                   before: str | None = None) -> SweepRowConnection | None:
        offset_window(0, first, after, last, before)  # the arguments checked in any status
        if self.record.status != StoreRunStatus.SUCCEEDED:
            return None
        table = await finished_sweep_table(info.context.services.cache, self.record.id) or []
        start, end, page = offset_window(len(table), first, after, last, before)
        capital = float(self.record.strategy_snapshot.get("initial_capital", 0.0))
        return SweepRowConnection(
            edges=[SweepRowEdge(cursor=offset_cursor(i), node=SweepRow.of(table[i], capital))
                   for i in range(start, end)], page_info=page, total_count=len(table))


@strawberry.type
class SweepEdge:
    cursor: str
    node: Sweep


@strawberry.type
class SweepConnection:
    edges: list[SweepEdge]
    page_info: PageInfo
    owner: strawberry.Private[OwnerScope]

    @strawberry.field(description="How many sweeps there are, on every page.")
    async def total_count(self) -> int:
        return await store_jobs.count_jobs(owner=self.owner, kinds=["sweep"])


@strawberry.type(description="One event of a sweep: the first is its current state, the last is "
                             "terminal (kind done, error or cancelled).")
class SweepEvent:
    sweep_id: strawberry.ID
    seq: int
    kind: str = strawberry.field(description="status, progress, done, error or cancelled.")
    status: RunStatus
    stage: JobStage | None
    progress: float
    eta: float | None = strawberry.field(description="Seconds left (estimated).")
    at: datetime = strawberry.field(description="When it happened.")
    done: int | None = strawberry.field(description="progress: parameter sets evaluated.")
    total: int | None
    top: list[SweepRow] | None = strawberry.field(description="done: the best rows.")
    error: str | None

    @classmethod
    def from_event(cls, sweep_id: int, e: dict[str, Any], capital: float) -> SweepEvent:
        """``capital``: the sweep's initial capital (for the final equity of the top rows)."""
        top = e.get("top")
        return cls(
            sweep_id=global_id("Sweep", sweep_id), seq=int(e.get("seq", 0)),
            kind=str(e.get("kind", "status")), status=RunStatus(e["status"]),
            stage=event_stage(e), progress=float(e.get("progress", 0.0)), eta=event_eta(e),
            at=event_at(e), done=e.get("done"), total=e.get("total"),
            top=None if top is None else [SweepRow.of(r, capital) for r in top],
            error=e.get("error"))


@strawberry.input
class RunSweepInput:
    strategy_id: strawberry.ID
    grid: JSON = strawberry.field(description='Parameter -> [values] or {"start", "stop", '
                                              '"step"}, e.g. {"fast": {"start": 5, "stop": 50, '
                                              '"step": 5}, "slow": [100, 200]}.')
    symbol: str
    timeframe: str
    from_: datetime = strawberry.field(name="from")
    to: datetime
    exchange: str | None = strawberry.field(default=None, description=EXCHANGE_ARG)
    rank_by: Metric = Metric("sharpe")
    initial_capital: float | None = None


RunSweepResult = Annotated[Sweep | ValidationError | NotFoundError, strawberry.union("RunSweepResult")]
CancelSweepResult = Annotated[Sweep | NotFoundError, strawberry.union("CancelSweepResult")]


async def run_sweep(info: Info[Context, None], input: RunSweepInput) -> RunSweepResult:
    ctx = info.context
    viewer = ctx.require_write()
    try:
        request = SweepRequest(parse_id(input.strategy_id, "Strategy"), await market_of(input),
                               input.grid, input.rank_by.value, input.initial_capital)
        record = await queue_sweep(viewer.user_id, ctx.scope(), request,
                                   ctx.services.executor, ctx.services.broadcaster,
                                   settings=ctx.services.settings)
    except (NotFound, UnknownStrategy):
        return NotFoundError(message=f"strategy {input.strategy_id} not found")
    except InvalidRequest as err:
        return ValidationError.of_domain(err.problems)
    await audit(ctx, "job.start", target_type="Sweep", target_id=record.id,
                details={"kind": "sweep"})
    return Sweep.from_record(record)


async def cancel_sweep(info: Info[Context, None], id: strawberry.ID) -> CancelSweepResult:
    return await cancel_as(info, "sweep", id, Sweep)


async def load_sweeps(ids: Sequence[int], owner: OwnerScope) -> list[Sweep]:
    return [Sweep.from_record(r) for r in await store.get_sweeps(ids, owner=owner)]


register_job_type("sweep", Sweep, load_sweeps)


async def sweep(info: Info[Context, None], id: strawberry.ID) -> Sweep:
    found = await store.get_sweep(parse_id(id, "Sweep"), owner=info.context.scope())
    if found is None:
        raise NotFound("sweep", id)
    return Sweep.from_record(found)


async def sweeps(info: Info[Context, None], first: int | None = None,
                 after: str | None = None, last: int | None = None,
                 before: str | None = None) -> SweepConnection:
    owner = info.context.scope()
    window = Window(first, after, last, before)
    rows, more = await store.list_sweeps(owner=owner, **window.id_args())
    edges = [SweepEdge(cursor=encode_cursor((r.id,)), node=Sweep.from_record(r)) for r in rows]
    return SweepConnection(edges=edges, owner=owner,
                           page_info=window.page_info([e.cursor for e in edges], more))


async def sweep_progress(info: Info[Context, None], id: strawberry.ID
                         ) -> AsyncGenerator[SweepEvent, None]:
    key = parse_id(id, "Sweep")
    capital: float | None = None  # the rows' initial capital: read with the first top rows
    async for e in follow_job(info, "sweep", key):
        top = e.get("top")
        if top is not None and capital is None:
            found = await store.get_sweep(key, owner=info.context.scope())
            capital = 0.0 if found is None else float(
                found.strategy_snapshot.get("initial_capital", 0.0))
        yield SweepEvent.from_event(key, e, capital or 0.0)


@strawberry.type
class SweepQueries:
    sweep: Sweep = strawberry.field(resolver=sweep,
                                    description="One sweep (NOT_FOUND if it is not yours).")
    sweeps: SweepConnection = strawberry.field(
        resolver=sweeps, description="Your sweeps, newest first (Relay connection).")


@strawberry.type
class SweepMutations:
    run_sweep: RunSweepResult = strawberry.mutation(
        resolver=run_sweep, description="Queue a parameter sweep; returns it at once (follow "
                                         "it with sweepProgress).")
    cancel_sweep: CancelSweepResult = strawberry.mutation(
        resolver=cancel_sweep, description="Cancel a sweep (see cancelBacktest).")


@strawberry.type
class SweepSubscriptions:
    sweep_progress: AsyncGenerator[SweepEvent, None] = strawberry.subscription(
        resolver=sweep_progress,
        description="A sweep's events: its current state first, then each change; ends when "
                    "it ends.")
