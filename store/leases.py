"""Leases of running jobs: who runs a backtest, sweep or sync, and whether it is still alive.

A job body :func:`claim` s its row before running it: ``queued`` -> ``running`` under a lease (a
token unique to that attempt), ``attempts`` + 1 and a fresh ``heartbeat_at``. It may also take
over a ``running`` row whose heartbeat is older than ``stale_after_s`` (its worker vanished):
that is how a job redelivered after a worker was killed resumes. While it runs, it calls
:func:`heartbeat` every few seconds; False means it lost the lease (another attempt took over,
or the row ended) and must stop without writing. Writes that end a run (``save_results``,
``mark_failed``...) take the lease too, so a stale attempt can never overwrite a newer one's
results (a fencing token).

:func:`release` puts a running row back to ``queued`` (a transient error, to be retried);
:func:`stale_running` and :func:`stale_queued` find the rows the recovery sweep
(``tasks.jobs.recovery``) requeues or fails. For a queued row, ``heartbeat_at`` records when it was
last handed to the executor (:func:`mark_dispatched`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F, Q

from domain.jobs import RunStatus, Stage
from store.jobs import job_model


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StaleJob:
    kind: str
    job_id: int
    attempts: int
    owner_id: int


async def claim(kind: str, job_id: int, lease: str, stale_after_s: float) -> bool:
    """Start running ``job_id`` under ``lease``: from ``queued``, or from ``running`` when the
    current attempt's heartbeat is older than ``stale_after_s``. False: it is not ours to run
    (ended, or running elsewhere and alive)."""
    cutoff = now() - timedelta(seconds=stale_after_s)
    model = job_model(kind)
    stamp = now()
    changed = await model.filter(
        Q(id=job_id) & (Q(status=RunStatus.QUEUED)
                        | Q(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)
                        | Q(status=RunStatus.RUNNING, heartbeat_at__isnull=True))
    ).update(status=RunStatus.RUNNING, stage=Stage.LOADING, lease=lease, heartbeat_at=stamp,
             started_at=stamp, progress=0.0, attempts=F("attempts") + 1)
    return bool(changed)


async def heartbeat(kind: str, job_id: int, lease: str) -> bool:
    """Record that ``lease`` still runs ``job_id``; False when it no longer holds it."""
    changed = await job_model(kind).filter(id=job_id, lease=lease,
                                        status=RunStatus.RUNNING).update(heartbeat_at=now())
    return bool(changed)


async def touch(kind: str, job_id: int) -> None:
    """Record a heartbeat of a running job whatever its lease (sweep chunks share the sweep)."""
    await job_model(kind).filter(id=job_id, status=RunStatus.RUNNING).update(heartbeat_at=now())


async def release(kind: str, job_id: int, lease: str) -> bool:
    """``running`` under ``lease`` -> ``queued`` again (to be retried); False if not held."""
    changed = await job_model(kind).filter(id=job_id, lease=lease, status=RunStatus.RUNNING).update(
        status=RunStatus.QUEUED, stage=Stage.QUEUED, lease=None, progress=0.0,
        heartbeat_at=now())
    return bool(changed)


async def mark_dispatched(kind: str, job_id: int) -> None:
    """Record that a queued job was just handed to the executor."""
    await job_model(kind).filter(id=job_id, status=RunStatus.QUEUED).update(heartbeat_at=now())


async def requeue(kind: str, job_id: int, stale_after_s: float) -> bool:
    """A running job whose heartbeat is stale -> ``queued`` (its lease dropped); False when
    it moved meanwhile (a heartbeat came, or it ended)."""
    cutoff = now() - timedelta(seconds=stale_after_s)
    changed = await job_model(kind).filter(
        Q(id=job_id) & Q(status=RunStatus.RUNNING)
        & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
    ).update(status=RunStatus.QUEUED, stage=Stage.QUEUED, lease=None, progress=0.0,
             heartbeat_at=now())
    return bool(changed)


async def stale_running(kind: str, stale_after_s: float, limit: int = 100) -> list[StaleJob]:
    """Running jobs whose heartbeat is older than ``stale_after_s`` (oldest first)."""
    cutoff = now() - timedelta(seconds=stale_after_s)
    rows = await job_model(kind).filter(
        Q(status=RunStatus.RUNNING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
    ).order_by("id").limit(limit).values_list("id", "attempts", "owner_id")
    return [StaleJob(kind, int(i), int(a), int(o)) for i, a, o in rows]


async def stale_queued(kind: str, older_than_s: float, limit: int = 100) -> list[int]:
    """Queued jobs last handed to the executor more than ``older_than_s`` ago (their message
    may be lost, e.g. with a restarted broker)."""
    cutoff = now() - timedelta(seconds=older_than_s)
    rows = await job_model(kind).filter(
        Q(status=RunStatus.QUEUED) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
    ).order_by("id").limit(limit).values_list("id", flat=True)
    return [int(str(i)) for i in rows]


async def lease_of(kind: str, job_id: int) -> tuple[RunStatus, str | None] | None:
    """The status and lease of a job (None if it does not exist)."""
    rows = await job_model(kind).filter(id=job_id).values_list("status", "lease")
    if not rows:
        return None
    status, lease = rows[0]
    return RunStatus(status), lease
