"""Finding jobs whose worker vanished, and queued jobs whose message was lost.

:func:`recover` runs periodically: in the API process (both executors, every
``JOB_STALE_AFTER_S / 2`` seconds) and as the ``maintenance.recover`` beat task. Every step is a
conditional update, so several of them running at once do no harm.

* A ``running`` job of any kind (``tasks.jobs.registry``) whose heartbeat is older than ``JOB_STALE_AFTER_S``
  (for a job run in parts, such as a sweep, also ``CELERY_VISIBILITY_TIMEOUT``: its chunks may be waiting in the queue,
  and the broker redelivers a dead worker's chunk by itself) is taken for dead. After fewer
  than ``JOB_MAX_ATTEMPTS`` attempts it is put back to ``queued`` and dispatched again (a
  backtest's results are then written by the new attempt only: ``store.leases``); after that
  many it fails with :data:`GAVE_UP`.
* A ``queued`` job handed to the executor more than ``CELERY_VISIBILITY_TIMEOUT`` ago is
  dispatched again (its message may have been lost with a restarted broker). A second message
  for a job is harmless: only one attempt can claim it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from store import leases as store_leases
from store.models import RunStatus
from store.settings import Settings
from tasks.jobs.lifecycle import finish_job, job_events
from tasks.jobs.registry import job_kinds
from tasks.messaging.broadcast import Broadcaster

log = logging.getLogger("tasks.jobs.recovery")

Dispatch = Callable[[str, int], Awaitable[None]]


def gave_up(attempts: int) -> str:
    return (f"failed: its worker stopped responding {attempts} times (killed, out of memory, or "
            "over the time limit); giving up. Check the workers' logs, then run it again")


@dataclass
class RecoveryReport:
    requeued: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)
    redispatched: list[tuple[str, int]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"requeued": len(self.requeued), "failed": len(self.failed),
                "redispatched": len(self.redispatched)}


async def recover(settings: Settings, broadcaster: Broadcaster, dispatch: Dispatch, *,
                  queued_after_s: float | None = None) -> RecoveryReport:
    """One pass (see the module docstring); ``queued_after_s`` overrides how old a queued job's
    dispatch must be to dispatch it again."""
    report = RecoveryReport()
    stale = settings.job_stale_after_s
    for kind, spec in sorted(job_kinds().items()):
        # a job run in parts may have parts waiting in the broker's queue
        threshold = stale + (settings.visibility_timeout_s if spec.split else 0.0)
        for job in await store_leases.stale_running(kind, threshold):
            if job.attempts >= settings.job_max_attempts:
                if await finish_job(kind, job.job_id, broadcaster, gave_up(job.attempts)):
                    report.failed.append((kind, job.job_id))
                    log.warning("%s %s: gave up after %s attempts", kind, job.job_id,
                                job.attempts)
            elif await store_leases.requeue(kind, job.job_id, threshold):
                report.requeued.append((kind, job.job_id))
                log.warning("%s %s: its worker stopped responding; requeued", kind, job.job_id)
                await job_events(broadcaster, kind, job.job_id, job.owner_id).emit(
                    "status", RunStatus.QUEUED.value, 0.0, stage="queued",
                    retrying="its worker stopped responding; it runs again")
                await dispatch(kind, job.job_id)
        older = settings.visibility_timeout_s if queued_after_s is None else queued_after_s
        for job_id in await store_leases.stale_queued(kind, older):
            await store_leases.mark_dispatched(kind, job_id)
            report.redispatched.append((kind, job_id))
            await dispatch(kind, job_id)
    return report
