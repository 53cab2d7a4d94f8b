"""Market data sync jobs started through the API: what to fetch, how far it got, how it ended.

A job goes ``queued -> running -> succeeded | failed | cancelled``; ``tasks.jobs.sync`` moves it
along. Reads take ``owner_id`` (the caller's user id, or ``None`` for an admin): another owner's
job is reported missing, as for an unknown id. The job runner itself uses the unscoped
:func:`load_sync_job`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from store.models import RunStatus, SyncJob

FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


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

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _record(row: SyncJob) -> SyncJobRecord:
    return SyncJobRecord(row.id, row.owner_id, row.exchange, row.symbol, row.timeframe,
                         int(row.since_ms), None if row.until_ms is None else int(row.until_ms),
                         RunStatus(row.status), float(row.progress), int(row.stored), row.error,
                         row.created_at, row.started_at, row.finished_at)


async def create_sync_job(owner_id: int, exchange: str, symbol: str, timeframe: str,
                          since_ms: int, until_ms: int | None = None) -> SyncJobRecord:
    """A new queued job (inputs checked by the caller)."""
    row = await SyncJob.create(owner_id=owner_id, exchange=exchange, symbol=symbol,
                               timeframe=timeframe, since_ms=since_ms, until_ms=until_ms)
    return _record(row)


async def get_sync_job(owner_id: int | None, job_id: int) -> SyncJobRecord | None:
    """The job ``job_id`` when it belongs to ``owner_id`` (any owner for None), else None."""
    query = SyncJob.filter(id=job_id)
    if owner_id is not None:
        query = query.filter(owner_id=owner_id)
    row = await query.first()
    return None if row is None else _record(row)


async def load_sync_job(job_id: int) -> SyncJobRecord | None:
    """The job ``job_id`` whoever owns it (for the job runner, never for a request)."""
    return await get_sync_job(None, job_id)


async def set_progress(job_id: int, progress: float, stored: int) -> None:
    await SyncJob.filter(id=job_id).update(progress=min(1.0, max(0.0, progress)), stored=stored)


async def finish(job_id: int, status: RunStatus, *, stored: int | None = None,
                 error: str | None = None) -> SyncJobRecord | None:
    """Record how the job ended (``status`` one of the finished ones); returns the row, or None
    when it had ended already (nothing changed)."""
    if status not in FINISHED:
        raise ValueError(f"{status} is not a finished status")
    changes: dict[str, object] = {"status": status, "error": error,
                                  "finished_at": datetime.now(UTC), "lease": None}
    if status == RunStatus.SUCCEEDED:
        changes["progress"] = 1.0
    if stored is not None:
        changes["stored"] = stored
    changed = await SyncJob.filter(
        id=job_id, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).update(**changes)
    return await load_sync_job(job_id) if changed else None
