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
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.context import Context
from graph.errors import NotFound
from graph.jobs import cancel_as, follow_job, register_job_type
from graph.replay_types import FillModel, Replay, ReplayEvent
from graph.sync_jobs import to_ms
from graph.types_common import (
    NotFoundError,
    PageInfo,
    ValidationError,
    after_id,
    encode_cursor,
    page_size,
    parse_id,
)
from store import replays as store
from store.scope import OwnerScope
from tasks.jobs.replay_submit import ReplayRequest, UnknownBacktest, queue_replay
from tasks.jobs.submit import InvalidRequest


@strawberry.input(description="What to replay and how. From transactions: symbol and "
                              "timeframe are needed; from a backtest, every market field "
                              "defaults to the backtest's.")
class RunReplayInput:
    symbol: str | None = strawberry.field(default=None, description="BASE/QUOTE, e.g. BTC/USDT.")
    timeframe: str | None = strawberry.field(default=None, description="Bars to mark to "
                                                                       "market on, e.g. 1h.")
    exchange: str | None = strawberry.field(default=None, description="Whose candles (default "
                                                                      "binance, or the "
                                                                      "backtest's).")
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
        """The request (``NOT_FOUND`` for an id that is not a number)."""
        return ReplayRequest(
            symbol=self.symbol, timeframe=self.timeframe, exchange=self.exchange,
            backtest_id=None if self.backtest_id is None else parse_id(self.backtest_id,
                                                                       "backtest"),
            import_ids=tuple(parse_id(i, "import") for i in self.import_ids or ()),
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


RunReplayResult = Annotated[Replay | ValidationError | NotFoundError,
                            strawberry.union("RunReplayResult")]
CancelReplayResult = Annotated[Replay | NotFoundError, strawberry.union("CancelReplayResult")]


async def run_replay(info: Info[Context, None], input: RunReplayInput) -> RunReplayResult:
    ctx = info.context
    viewer = ctx.require_write()
    try:
        request = input.to_request()
    except NotFound as err:
        if input.backtest_id is not None and "backtest" in err.message:
            return NotFoundError(message=f"backtest {input.backtest_id} not found")
        return ValidationError.of_domain([("import_ids", err.message)])
    try:
        record = await queue_replay(viewer.user_id, ctx.scope(), request,
                                    ctx.services.executor, ctx.services.broadcaster)
    except UnknownBacktest:
        return NotFoundError(message=f"backtest {input.backtest_id} not found")
    except InvalidRequest as err:
        return ValidationError.of_domain(err.problems)
    return Replay.from_record(record)


async def cancel_replay_resolver(info: Info[Context, None],
                                 id: strawberry.ID) -> CancelReplayResult:
    return await cancel_as(info, "replay", id, Replay)


async def load_replays(ids: Sequence[int], owner: OwnerScope) -> list[Replay]:
    return [Replay.from_record(r) for r in await store.get_replays(ids, owner=owner)]


register_job_type("replay", Replay, load_replays)


async def replay(info: Info[Context, None], id: strawberry.ID) -> Replay:
    found = await store.get_replay(parse_id(id, "replay"), owner=info.context.scope())
    if found is None:
        raise NotFound("replay", id)
    return Replay.from_record(found)


async def replays(info: Info[Context, None], first: int | None = None,
                  after: str | None = None) -> ReplayConnection:
    rows, more = await store.list_replays(owner=info.context.scope(), after_id=after_id(after),
                                          limit=page_size(first))
    edges = [ReplayEdge(cursor=encode_cursor((r.id,)), node=Replay.from_record(r)) for r in rows]
    return ReplayConnection(edges=edges, page_info=PageInfo(
        has_next_page=more, end_cursor=edges[-1].cursor if edges else None))


async def replay_progress(info: Info[Context, None], id: strawberry.ID
                          ) -> AsyncGenerator[ReplayEvent, None]:
    key = parse_id(id, "replay")
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
