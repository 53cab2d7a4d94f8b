"""Market data sync jobs: ``syncMarketData`` starts one, ``syncJob`` reads it and
``marketDataSyncProgress`` follows it live (``graph.market`` puts them in the schema).

A job fetches an exchange's closed candles of one market over ``[since, until)`` into the
store (``tasks.jobs.sync``). It belongs to the user who started it: another user's job is
``NOT_FOUND``; an admin sees every job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from graph.context import Context
from graph.errors import NotFound
from graph.types_common import NotFoundError, ValidationError, parse_id
from store import sync_jobs as store
from store.models import RunStatus
from store.sync_jobs import SyncJobRecord
from tasks.jobs.sync import JOB_KIND, cancel_sync_job, check_sync_request, state_event
from tasks.messaging.events import channel, follow


@strawberry.enum(name="SyncJobStatus")
class SyncJobStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


def to_ms(at: datetime) -> int:
    """UTC milliseconds of a DateTime argument (one without a zone is taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@strawberry.type(description="A market data sync: what it fetches, how far it got, how it ended.")
class SyncJob:
    id: strawberry.ID
    exchange: str
    symbol: str
    timeframe: str
    since: datetime
    until: datetime | None = strawberry.field(description="None: up to the last closed bar.")
    status: SyncJobStatus
    progress: float = strawberry.field(description="Fraction done, 0 to 1.")
    stored: int = strawberry.field(description="Candles written so far.")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_record(cls, r: SyncJobRecord) -> SyncJob:
        return cls(id=strawberry.ID(str(r.id)), exchange=r.exchange, symbol=r.symbol,
                   timeframe=r.timeframe, since=from_ms(r.since_ms),
                   until=None if r.until_ms is None else from_ms(r.until_ms),
                   status=SyncJobStatus(r.status.value), progress=r.progress, stored=r.stored,
                   error=r.error, created_at=r.created_at, started_at=r.started_at,
                   finished_at=r.finished_at)


@strawberry.type(description="One event of a sync job: the first is its current state, the "
                             "last is terminal (kind done, error or cancelled).")
class SyncJobEvent:
    job_id: strawberry.ID
    seq: int
    kind: str = strawberry.field(description="status, progress, done, error or cancelled.")
    status: SyncJobStatus
    progress: float
    stored: int
    pages: int | None
    error: str | None

    @classmethod
    def from_event(cls, job_id: int, e: dict[str, Any]) -> SyncJobEvent:
        return cls(job_id=strawberry.ID(str(job_id)), seq=int(e.get("seq", 0)),
                   kind=str(e.get("kind", "status")),
                   status=SyncJobStatus(str(e.get("status", RunStatus.QUEUED.value))),
                   progress=float(e.get("progress", 0.0)), stored=int(e.get("stored", 0)),
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
    if problems:
        return ValidationError.of((f"input.{field}", message) for field, message in problems)
    job = await store.create_sync_job(viewer.user_id, exchange, symbol, input.timeframe.strip(),
                                      since, until)
    await info.context.services.executor.submit_sync(job.id)
    return SyncJob.from_record(job)


CANCEL_WAIT_STEPS = 40  # x 50 ms: how long cancelSyncJob waits for the job to record its end
CancelSyncJobResult = Annotated[SyncJob | NotFoundError, strawberry.union("CancelSyncJobResult")]


async def cancel_sync_job_resolver(info: Info[Context, None],
                                   id: strawberry.ID) -> CancelSyncJobResult:
    ctx = info.context
    ctx.require_write()
    try:
        key = parse_id(id, "sync job")
    except NotFound:
        return NotFoundError(message=f"sync job {id} not found")
    job = await store.get_sync_job(ctx.owner_scope(), key)
    if job is None:
        return NotFoundError(message=f"sync job {id} not found")
    if await cancel_sync_job(job, ctx.services.executor, ctx.services.broadcaster):
        # the cancelled task records its end within moments: answer with the ended job
        for _ in range(CANCEL_WAIT_STEPS):
            job = await store.load_sync_job(key) or job
            if job.finished:
                break
            await asyncio.sleep(0.05)
    return SyncJob.from_record(job)


async def sync_job(info: Info[Context, None], id: strawberry.ID) -> SyncJob:
    job = await store.get_sync_job(info.context.owner_scope(), parse_id(id, "sync job"))
    if job is None:
        raise NotFound("sync job", id)
    return SyncJob.from_record(job)


async def market_data_sync_progress(info: Info[Context, None], job_id: strawberry.ID
                                    ) -> AsyncGenerator[SyncJobEvent, None]:
    key = parse_id(job_id, "sync job")
    if await store.get_sync_job(info.context.owner_scope(), key) is None:
        raise NotFound("sync job", job_id)

    async def stored_state() -> dict[str, Any] | None:
        job = await store.load_sync_job(key)
        return None if job is None else state_event(job)

    events = follow(info.context.services.broadcaster, channel(JOB_KIND, key), stored_state)
    async for event in events:
        yield SyncJobEvent.from_event(key, event)
