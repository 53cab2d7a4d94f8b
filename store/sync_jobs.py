"""Market data sync jobs started through the API: what to fetch, how far it got, how it ended.

A job goes ``queued -> running -> succeeded | failed | cancelled`` like every job
(``store.jobs``); ``tasks.jobs.kinds.sync`` runs it. Reads take ``owner`` (``store.scope``):
another owner's job is reported missing, as for an unknown id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.jobs import TERMINAL, RunStatus, Stage
from store import jobs as store_jobs
from store.keyset import id_desc, page_of
from store.models import SyncJob
from store.scope import OwnerScope, scoped


@dataclass(frozen=True)
class SyncJobRecord:
    id: int
    owner_id: int
    exchange: str
    symbol: str
    timeframe: str
    since_ms: int
    until_ms: int | None
    status: RunStatus
    progress: float  # 0..1
    stored: int  # candles written so far
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    stage: Stage  # done once it has ended (store.jobs.stage_of)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


def _record(row: SyncJob) -> SyncJobRecord:
    return SyncJobRecord(row.id, row.owner_id, row.exchange, row.symbol, row.timeframe,
                         int(row.since_ms), None if row.until_ms is None else int(row.until_ms),
                         RunStatus(row.status), float(row.progress), int(row.stored), row.error,
                         row.created_at, row.started_at, row.finished_at,
                         stage=store_jobs.stage_of(RunStatus(row.status), row.stage))


async def create_sync_job(owner_id: int, exchange: str, symbol: str, timeframe: str,
                          since_ms: int, until_ms: int | None = None) -> SyncJobRecord:
    """A new queued job (inputs checked by the caller)."""
    row = await SyncJob.create(owner_id=owner_id, exchange=exchange, symbol=symbol,
                               timeframe=timeframe, since_ms=since_ms, until_ms=until_ms)
    return _record(row)


async def get_sync_job(job_id: int, *, owner: OwnerScope) -> SyncJobRecord | None:
    """The job ``job_id`` when ``owner`` may see it, else None."""
    row = await scoped(SyncJob.filter(id=job_id), owner).first()
    return None if row is None else _record(row)


async def get_sync_jobs(ids: list[int], *, owner: OwnerScope) -> list[SyncJobRecord]:
    """The jobs with these ids that ``owner`` may see, in the order of ``ids``."""
    by_id = {r.id: _record(r) for r in await scoped(SyncJob.filter(id__in=ids), owner)}
    return [by_id[i] for i in ids if i in by_id]


async def list_sync_jobs(*, owner: OwnerScope, after_id: int | None = None,
                         limit: int = 20, before_id: int | None = None,
                         backward: bool = False) -> tuple[list[SyncJobRecord], bool]:
    """Newest first (by id): at most ``limit`` jobs with ``id < after_id``, and whether more
    follow (``backward``: those nearest above ``before_id``, ``store.keyset``)."""
    query = id_desc(scoped(SyncJob.all(), owner), after_id=after_id, before_id=before_id,
                    backward=backward)
    rows, more = page_of(await query.limit(limit + 1), limit, backward)
    return [_record(r) for r in rows], more


async def mark_succeeded(job_id: int, stored: int, *, lease: str | None = None) -> bool:
    """A running job -> ``succeeded`` with ``stored`` candles written; False when it was no
    longer running (under ``lease`` when given)."""
    return await store_jobs.finish("sync", job_id, RunStatus.SUCCEEDED, lease=lease,
                                   stored=stored)
