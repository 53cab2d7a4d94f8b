"""Market data sync jobs: ``syncMarketData`` starts one, ``syncJob`` reads it and
``marketDataSyncProgress`` follows it live (``graph.market`` puts them in the schema).

A job fetches an exchange's closed candles of one market over ``[since, until)`` into the
store (``tasks.jobs.kinds.sync``). It belongs to the user who started it: another user's job
is ``NOT_FOUND``; an admin sees every job. Cancelling one (``cancelSyncJob``, ``cancelJob``)
returns it at once, still running if it was: it ends ``cancelled`` at its next page.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from graph.audit import audit
from graph.context import Context
from graph.errors import NotFound
from graph.jobs import (
    Job,
    JobStage,
    RunStatus,
    cancel_as,
    event_eta,
    event_stage,
    follow_job,
    job_fields,
    register_job_type,
)
from graph.types_common import (
    NotFoundError,
    PageInfo,
    ValidationError,
    Window,
    encode_cursor,
    global_id,
    parse_id,
)
from store import jobs as store_jobs
from store import sync_jobs as store
from store.scope import OwnerScope
from store.sync_jobs import SyncJobRecord
from tasks.jobs.control import check_quota, start_job
from tasks.jobs.sync_submit import check_sync_request

EXCHANGE_ARG = ("Whose candles (default: the one exchange they are stored under; an error "
                "when none or several hold them).")


def to_ms(at: datetime) -> int:
    """UTC milliseconds of a DateTime argument (one without a zone is taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@strawberry.type(description="A market data sync: what it fetches, how far it got, how it ended.")
class SyncJob(Job):
    exchange: str
    symbol: str
    timeframe: str
    since: datetime
    until: datetime | None = strawberry.field(description="None: up to the last closed bar.")
    stored: int = strawberry.field(description="Candles written so far.")

    @classmethod
    def from_record(cls, r: SyncJobRecord) -> SyncJob:
        return cls(**job_fields("sync", r), exchange=r.exchange, symbol=r.symbol,
                   timeframe=r.timeframe, since=from_ms(r.since_ms),
                   until=None if r.until_ms is None else from_ms(r.until_ms), stored=r.stored)


@strawberry.type(description="One event of a sync job: the first is its current state, the "
                             "last is terminal (kind done, error or cancelled).")
class SyncJobEvent:
    job_id: strawberry.ID
    seq: int
    kind: str = strawberry.field(description="status, progress, done, error or cancelled.")
    status: RunStatus
    stage: JobStage | None
    progress: float
    eta: float | None = strawberry.field(description="Seconds left (estimated).")
    stored: int
    pages: int | None
    error: str | None

    @classmethod
    def from_event(cls, job_id: int, e: dict[str, Any]) -> SyncJobEvent:
        return cls(job_id=global_id("SyncJob", job_id), seq=int(e.get("seq", 0)),
                   kind=str(e.get("kind", "status")),
                   status=RunStatus(str(e.get("status", RunStatus.QUEUED.value))),
                   stage=event_stage(e), progress=float(e.get("progress", 0.0)),
                   eta=event_eta(e), stored=int(e.get("stored", 0)),
                   pages=e.get("pages"), error=e.get("error"))


@strawberry.input
class SyncMarketDataInput:
    symbol: str = strawberry.field(description="BASE/QUOTE, e.g. BTC/USDT.")
    timeframe: str
    since: datetime = strawberry.field(description="First bar to fetch (ISO-8601, UTC).")
    until: datetime | None = strawberry.field(
        default=None, description="Stop before this time (default: up to the last closed bar).")
    exchange: str = "binance"


SyncMarketDataResult = Annotated[SyncJob | ValidationError, strawberry.union("SyncMarketDataResult")]


async def sync_market_data(info: Info[Context, None],
                           input: SyncMarketDataInput) -> SyncMarketDataResult:
    viewer = info.context.require_write()
    exchange, symbol = input.exchange.strip().lower(), input.symbol.strip()
    since = to_ms(input.since)
    until = None if input.until is None else to_ms(input.until)
    problems = check_sync_request(exchange, symbol, input.timeframe, since, until)
    problems += await check_quota(viewer.user_id, info.context.services.settings)
    if problems:
        return ValidationError.of_domain(problems)
    job = await store.create_sync_job(viewer.user_id, exchange, symbol, input.timeframe.strip(),
                                      since, until)
    await start_job("sync", job.id, viewer.user_id, info.context.services.executor,
                    info.context.services.broadcaster)
    await audit(info.context, "job.start", target_type="SyncJob", target_id=job.id,
                details={"kind": "sync", "exchange": exchange, "symbol": symbol})
    return SyncJob.from_record(job)


CancelSyncJobResult = Annotated[SyncJob | NotFoundError, strawberry.union("CancelSyncJobResult")]


async def cancel_sync_job_resolver(info: Info[Context, None],
                                   id: strawberry.ID) -> CancelSyncJobResult:
    return await cancel_as(info, "sync", id, SyncJob)


async def load_sync_jobs(ids: Sequence[int], owner: OwnerScope) -> list[SyncJob]:
    return [SyncJob.from_record(r) for r in await store.get_sync_jobs(list(ids), owner=owner)]


register_job_type("sync", SyncJob, load_sync_jobs, label="sync job")


async def sync_job(info: Info[Context, None], id: strawberry.ID) -> SyncJob:
    job = await store.get_sync_job(parse_id(id, "SyncJob"), owner=info.context.scope())
    if job is None:
        raise NotFound("sync job", id)
    return SyncJob.from_record(job)


@strawberry.type
class SyncJobEdge:
    cursor: str
    node: SyncJob


@strawberry.type(description="A page of market data sync jobs, newest first.")
class SyncJobConnection:
    edges: list[SyncJobEdge]
    page_info: PageInfo
    owner: strawberry.Private[OwnerScope]

    @strawberry.field(description="How many sync jobs there are, on every page.")
    async def total_count(self) -> int:
        return await store_jobs.count_jobs(owner=self.owner, kinds=["sync"])


async def sync_jobs(info: Info[Context, None], first: int | None = None,
                    after: str | None = None, last: int | None = None,
                    before: str | None = None) -> SyncJobConnection:
    owner = info.context.scope()
    window = Window(first, after, last, before)
    rows, more = await store.list_sync_jobs(owner=owner, **window.id_args())
    edges = [SyncJobEdge(cursor=encode_cursor((r.id,)), node=SyncJob.from_record(r))
             for r in rows]
    return SyncJobConnection(edges=edges, owner=owner,
                             page_info=window.page_info([e.cursor for e in edges], more))


async def market_data_sync_progress(info: Info[Context, None], id: strawberry.ID
                                    ) -> AsyncGenerator[SyncJobEvent, None]:
    key = parse_id(id, "SyncJob")
    async for event in follow_job(info, "sync", key):
        yield SyncJobEvent.from_event(key, event)
