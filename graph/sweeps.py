"""Parameter sweeps: ``runSweep``, ``cancelSweep``, ``sweep``, ``sweeps`` and the
``sweepProgress`` subscription.

A sweep runs every parameter set of a grid on one market range as ONE job
(``domain.engine.sweep.run_sweep`` through ``tasks.jobs.lifecycle.run_sweep_job``); its result is a table
ranked by ``rankBy`` (best first; for drawdowns, lowest first; undefined values last), of which
the best ``tasks.execution.compute.MAX_STORED_SWEEP_ROWS`` rows are kept. The grid maps parameter names
to a list of values or an inclusive range ``{"start", "stop", "step"}``
(``domain.strategy.grid``, as the CLI's ``--grid``); parameters left out keep their own range or
values. A sweep of another user is NOT_FOUND everywhere; an admin sees all.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Protocol, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graph.backtest_types import PerformanceSummary, RunStatus
from graph.context import Context
from graph.errors import NotFound
from graph.sync_jobs import from_ms, to_ms
from graph.types_common import (
    NotFoundError,
    PageInfo,
    ValidationError,
    after_id,
    encode_cursor,
    page_size,
    parse_id,
)
from store import sweeps as store
from store.models import RunStatus as StoreRunStatus
from store.sweeps import SweepRecord
from tasks.cache.candles import finished_sweep_table
from tasks.jobs.state import stored_sweep_state
from tasks.jobs.submit import (
    InvalidRequest,
    Market,
    SweepRequest,
    UnknownStrategy,
    cancel_run,
    queue_sweep,
)
from tasks.messaging.events import channel, follow


class _MarketInput(Protocol):
    exchange: str
    symbol: str
    timeframe: str
    from_: datetime
    to: datetime


def market_of(input: _MarketInput) -> Market:
    """The market range of a run's input (times to UTC ms; no zone means UTC)."""
    return Market(input.exchange, input.symbol, input.timeframe, to_ms(input.from_),
                  to_ms(input.to))


R = TypeVar("R")


async def cancel_job(ctx: Context, kind: str, ident: strawberry.ID,
                     load: Callable[[int], Awaitable[R | None]]) -> R | None:
    """Cancel the caller's ``kind`` run (backtest or sweep) ``ident`` and return it as it is
    then, reloaded with ``load``; None when it does not exist or is not the caller's."""
    ctx.require_write()
    try:
        key = parse_id(ident, kind)
    except NotFound:
        return None
    done = await cancel_run(kind, key, ctx.owner_scope(), ctx.services.executor,
                            ctx.services.broadcaster)
    return None if done is None else await load(key)


@strawberry.enum(description="A metric of domain.metrics, to rank sweeps by.")
class Metric(Enum):
    TOTAL_RETURN = "total_return"
    CAGR = "cagr"
    NET_PNL = "net_pnl"
    N_TRADES = "n_trades"
    WIN_RATE = "win_rate"
    AVG_WIN = "avg_win"
    AVG_LOSS = "avg_loss"
    PROFIT_FACTOR = "profit_factor"
    EXPECTANCY = "expectancy"
    MAX_DRAWDOWN = "max_drawdown"
    MAX_DRAWDOWN_DURATION = "max_drawdown_duration"
    SHARPE = "sharpe"
    SORTINO = "sortino"
    CALMAR = "calmar"
    EXPOSURE = "exposure"
    BEST_TRADE = "best_trade"
    WORST_TRADE = "worst_trade"
    SQN = "sqn"
    BUY_AND_HOLD_RETURN = "buy_and_hold_return"


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


@strawberry.type(description="A parameter sweep run as one job; its result is a ranked table.")
class Sweep:
    id: strawberry.ID
    status: RunStatus
    progress: float
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
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
            id=strawberry.ID(str(r.id)), status=RunStatus(r.status.value), progress=r.progress,
            error=r.error, created_at=r.created_at, started_at=r.started_at,
            finished_at=r.finished_at,
            strategy_id=None if r.strategy_id is None else strawberry.ID(str(r.strategy_id)),
            strategy_snapshot=JSON(r.strategy_snapshot), grid=JSON(r.grid),
            rank_by=Metric(r.rank_by), n_combinations=r.n_combinations, exchange=r.exchange,
            symbol=r.symbol, timeframe=r.timeframe, from_=from_ms(r.start_ms),
            to=from_ms(r.end_ms), record=r)

    @strawberry.field(description="The ranked table, best first (null until it has succeeded).")
    async def rows(self, info: Info[Context, None], first: int = 100) -> list[SweepRow] | None:
        if self.record.status != StoreRunStatus.SUCCEEDED:
            return None
        table = await finished_sweep_table(info.context.services.cache, self.record.id) or []
        capital = float(self.record.strategy_snapshot.get("initial_capital", 0.0))
        return [SweepRow.of(row, capital) for row in table[:max(0, first)]]


@strawberry.type
class SweepEdge:
    cursor: str
    node: Sweep


@strawberry.type
class SweepConnection:
    edges: list[SweepEdge]
    page_info: PageInfo


@strawberry.type(description="One event of a sweep: the first is its current state, the last is "
                             "terminal (kind done, error or cancelled).")
class SweepEvent:
    sweep_id: strawberry.ID
    seq: int
    kind: str
    status: RunStatus
    progress: float
    at: float = strawberry.field(description="UTC milliseconds.")
    done: int | None = strawberry.field(description="progress: parameter sets evaluated.")
    total: int | None
    top: list[SweepRow] | None = strawberry.field(description="done: the best rows.")
    error: str | None


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
    exchange: str = "binance"
    rank_by: Metric = Metric.SHARPE
    initial_capital: float | None = None


RunSweepResult = Annotated[Sweep | ValidationError | NotFoundError, strawberry.union("RunSweepResult")]
CancelSweepResult = Annotated[Sweep | NotFoundError, strawberry.union("CancelSweepResult")]


async def run_sweep(info: Info[Context, None], input: RunSweepInput) -> RunSweepResult:
    ctx = info.context
    viewer = ctx.require_write()
    try:
        request = SweepRequest(parse_id(input.strategy_id, "strategy"), market_of(input),
                               input.grid, input.rank_by.value, input.initial_capital)
        record = await queue_sweep(viewer.user_id, ctx.owner_scope(), request,
                                   ctx.services.executor, ctx.services.broadcaster)
    except (NotFound, UnknownStrategy):
        return NotFoundError(message=f"strategy {input.strategy_id} not found")
    except InvalidRequest as err:
        return ValidationError.of((f"input.{path}", message) for path, message in err.problems)
    return Sweep.from_record(record)


async def cancel_sweep(info: Info[Context, None], id: strawberry.ID) -> CancelSweepResult:
    record = await cancel_job(info.context, "sweep", id, store.get_sweep)
    if record is None:
        return NotFoundError(message=f"sweep {id} not found")
    return Sweep.from_record(record)


async def sweep(info: Info[Context, None], id: strawberry.ID) -> Sweep:
    found = await store.get_sweep(parse_id(id, "sweep"), info.context.owner_scope())
    if found is None:
        raise NotFound("sweep", id)
    return Sweep.from_record(found)


async def sweeps(info: Info[Context, None], first: int | None = None,
                 after: str | None = None) -> SweepConnection:
    owner = info.context.owner_scope()
    rows, more = await store.list_sweeps(owner, after_id=after_id(after), limit=page_size(first))
    edges = [SweepEdge(cursor=encode_cursor((r.id,)), node=Sweep.from_record(r)) for r in rows]
    return SweepConnection(edges=edges, page_info=PageInfo(
        has_next_page=more, end_cursor=edges[-1].cursor if edges else None))


async def sweep_progress(info: Info[Context, None], id: strawberry.ID
                         ) -> AsyncGenerator[SweepEvent, None]:
    key = parse_id(id, "sweep")
    found = await store.get_sweep(key, info.context.owner_scope())
    if found is None:
        raise NotFound("sweep", id)
    capital = float(found.strategy_snapshot.get("initial_capital", 0.0))
    events = follow(info.context.services.broadcaster, channel("sweep", key),
                    lambda: stored_sweep_state(key))
    async for e in events:
        top = e.get("top")
        yield SweepEvent(
            sweep_id=strawberry.ID(str(key)), seq=int(e.get("seq", 0)), kind=str(e["kind"]),
            status=RunStatus(e["status"]), progress=float(e.get("progress", 0.0)),
            at=float(e.get("at", 0.0)) * 1000, done=e.get("done"), total=e.get("total"),
            top=None if top is None else [SweepRow.of(r, capital) for r in top],
            error=e.get("error"))


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
