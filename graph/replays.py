"""Replays: ``runReplay``, ``cancelReplay``, ``replay``, ``replays`` and the ``replayProgress``
subscription (types in ``graph.replay_types``).

``runReplay`` replays your imported transactions of one symbol (all of them, or those of
``importIds``), or a finished backtest's trades (``backtestId``), over the candles of an
exchange and timeframe, with a what-if model: fills at the actual price or at the open, close
or typical price of the bar, another fee rate (``feeBps``; null keeps the actual fees), a
slippage (``slippageBps``), a delay of ``delayBars`` bars. It checks the input, creates a
queued replay and hands it to the executor (``tasks.jobs.replay_submit``), returning at once;
problems come back as ``ValidationError`` (paths ``input.feeBps``...), a backtest that is not
the caller's as ``NotFound``. The rules are in ``domain/replay/rules.py``. A replay of another
user is NOT_FOUND everywhere; an admin sees all.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from graph.audit import audit
from graph.context import Context
from graph.errors import NotFound
from graph.jobs import cancel_as, follow_job, register_job_type
from graph.replay_types import FillModel, Replay, ReplayEvent
from graph.sync_jobs import to_ms
from graph.types_common import (
    NotFoundError,
    PageInfo,
    ValidationError,
    Window,
    encode_cursor,
    parse_id,
)
from store import jobs as store_jobs
from store import replays as store
from store.scope import OwnerScope
from tasks.jobs.replay_submit import ReplayRequest, UnknownBacktest, queue_replay
from tasks.jobs.submit import InvalidRequest
from tasks.market.resolve import AmbiguousMarket, UnknownMarket, resolve_exchange


@strawberry.input(description="What to replay and how. From transactions: symbol and "
                              "timeframe are needed; from a backtest, every market field "
                              "defaults to the backtest's.")
class RunReplayInput:
    symbol: str | None = strawberry.field(default=None, description="BASE/QUOTE, e.g. BTC/USDT.")
    timeframe: str | None = strawberry.field(default=None, description="Bars to mark to "
                                                                       "market on, e.g. 1h.")
    exchange: str | None = strawberry.field(default=None, description=(
        "Whose candles (default: the backtest's, or the one exchange the market is stored "
        "under; a problem when none or several hold it)."))
    backtest_id: strawberry.ID | None = strawberry.field(
        default=None, description="Replay this finished backtest's trades instead.")
    import_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only the transactions of these imports (default: all).")
    from_: datetime | None = strawberry.field(default=None, name="from", description=(
        "Start (inclusive; default: the bar of the first transaction, or the backtest's)."))
    to: datetime | None = strawberry.field(default=None, description=(
        "End (exclusive; default: after the bar of the last transaction, or the backtest's)."))
    initial_capital: float | None = strawberry.field(
        default=None, description="Starting quote balance (default 10,000, or the backtest's).")
    fill: FillModel = FillModel.ACTUAL
    fee_bps: float | None = strawberry.field(
        default=None, description="Fee on every fill's notional (null: the actual fees).")
    slippage_bps: float = strawberry.field(default=0.0, description="Against the trader.")
    delay_bars: int = strawberry.field(default=0, description="Replay each fill N bars later.")
    risk_free_rate: float | None = strawberry.field(default=None,
                                                    description="Annual, for Sharpe and Sortino.")

    def to_request(self) -> ReplayRequest:
        """The request (``BAD_USER_INPUT`` for a malformed id)."""
        return ReplayRequest(
            symbol=self.symbol, timeframe=self.timeframe, exchange=self.exchange,
            backtest_id=None if self.backtest_id is None else parse_id(self.backtest_id,
                                                                       "Backtest"),
            import_ids=tuple(parse_id(i, "TransactionImport") for i in self.import_ids or ()),
            start_ms=None if self.from_ is None else to_ms(self.from_),
            end_ms=None if self.to is None else to_ms(self.to),
            initial_capital=self.initial_capital, fill=self.fill.value, fee_bps=self.fee_bps,
            slippage_bps=self.slippage_bps, delay_bars=self.delay_bars,
            risk_free_rate=self.risk_free_rate)


@strawberry.type
class ReplayEdge:
    cursor: str
    node: Replay


@strawberry.type
class ReplayConnection:
    edges: list[ReplayEdge]
    page_info: PageInfo
    owner: strawberry.Private[OwnerScope]

    @strawberry.field(description="How many replays there are, on every page.")
    async def total_count(self) -> int:
        return await store_jobs.count_jobs(owner=self.owner, kinds=["replay"])


RunReplayResult = Annotated[Replay | ValidationError | NotFoundError,
                            strawberry.union("RunReplayResult")]
CancelReplayResult = Annotated[Replay | NotFoundError, strawberry.union("CancelReplayResult")]


async def run_replay(info: Info[Context, None], input: RunReplayInput) -> RunReplayResult:
    ctx = info.context
    viewer = ctx.require_write()
    request = input.to_request()
    if request.backtest_id is None and not request.exchange and request.symbol \
            and request.timeframe:
        try:  # from transactions: the exchange the market is stored under
            request = replace(request, exchange=await resolve_exchange(request.symbol,
                                                                       request.timeframe))
        except (UnknownMarket, AmbiguousMarket) as err:
            return ValidationError.of_domain([(err.field, str(err))])
        except DomainError:
            pass  # a bad timeframe: queue_replay says so with the other problems
    try:
        record = await queue_replay(viewer.user_id, ctx.scope(), request,
                                    ctx.services.executor, ctx.services.broadcaster,
                                    settings=ctx.services.settings)
    except UnknownBacktest:
        return NotFoundError(message=f"backtest {input.backtest_id} not found")
    except InvalidRequest as err:
        return ValidationError.of_domain(err.problems)
    await audit(ctx, "job.start", target_type="Replay", target_id=record.id,
                details={"kind": "replay"})
    return Replay.from_record(record)


async def cancel_replay_resolver(info: Info[Context, None],
                                 id: strawberry.ID) -> CancelReplayResult:
    return await cancel_as(info, "replay", id, Replay)


async def load_replays(ids: Sequence[int], owner: OwnerScope) -> list[Replay]:
    return [Replay.from_record(r) for r in await store.get_replays(ids, owner=owner)]


register_job_type("replay", Replay, load_replays)


async def replay(info: Info[Context, None], id: strawberry.ID) -> Replay:
    found = await store.get_replay(parse_id(id, "Replay"), owner=info.context.scope())
    if found is None:
        raise NotFound("replay", id)
    return Replay.from_record(found)


async def replays(info: Info[Context, None], first: int | None = None,
                  after: str | None = None, last: int | None = None,
                  before: str | None = None) -> ReplayConnection:
    owner = info.context.scope()
    window = Window(first, after, last, before)
    rows, more = await store.list_replays(owner=owner, **window.id_args())
    edges = [ReplayEdge(cursor=encode_cursor((r.id,)), node=Replay.from_record(r)) for r in rows]
    return ReplayConnection(edges=edges, owner=owner,
                            page_info=window.page_info([e.cursor for e in edges], more))


async def replay_progress(info: Info[Context, None], id: strawberry.ID
                          ) -> AsyncGenerator[ReplayEvent, None]:
    key = parse_id(id, "Replay")
    async for event in follow_job(info, "replay", key):
        yield ReplayEvent.from_event(key, event)


@strawberry.type
class ReplayQueries:
    replay: Replay = strawberry.field(resolver=replay,
                                      description="One replay (NOT_FOUND if it is not yours).")
    replays: ReplayConnection = strawberry.field(
        resolver=replays, description="Your replays, newest first (Relay connection).")


@strawberry.type
class ReplayMutations:
    run_replay: RunReplayResult = strawberry.mutation(
        resolver=run_replay, description="Queue a replay; returns it at once (follow it with "
                                         "replayProgress).")
    cancel_replay: CancelReplayResult = strawberry.mutation(
        resolver=cancel_replay_resolver, description="Cancel a replay (see cancelBacktest).")


@strawberry.type
class ReplaySubscriptions:
    replay_progress: AsyncGenerator[ReplayEvent, None] = strawberry.subscription(
        resolver=replay_progress,
        description="A replay's events: its current state first, then each change; ends when "
                    "it ends.")
