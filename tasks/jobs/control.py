"""Starting and cancelling jobs of any kind for a caller (``tasks.jobs.registry``).

:func:`check_quota` says whether a user may queue one more job; :func:`start_job` publishes
a new row's ``queued`` event and hands it to the executor (each kind's submit module creates
the row first: ``tasks.jobs.submit``...). :func:`cancel_job` stops a job the caller may see,
whatever its kind and wherever it runs.
"""

from __future__ import annotations

import logging

from domain.jobs import RunStatus, Stage
from store import jobs as store_jobs
from store.jobs import JobState
from store.scope import OwnerScope
from store.settings import Settings
from tasks import request_ids
from tasks.execution.executor import Executor
from tasks.jobs.lifecycle import finish_job, job_events
from tasks.jobs.registry import job_kind
from tasks.messaging.broadcast import Broadcaster

log = logging.getLogger("tasks.jobs.control")


async def check_quota(owner_id: int, settings: Settings | None) -> list[tuple[str, str]]:
    """What stops ``owner_id`` from queueing one more job (of any kind): ``[("", message)]``
    when they already have ``settings.max_queued_jobs`` queued or running (``MAX_QUEUED_JOBS``),
    else ``[]``. No settings, or a cap of 0, means no cap. Each kind's submit calls it before it
    creates the row (submits racing each other may each see the last free place)."""
    cap = 0 if settings is None else settings.max_queued_jobs
    if cap <= 0:
        return []
    active = await store_jobs.count_jobs(owner=owner_id,
                                         statuses=[RunStatus.QUEUED, RunStatus.RUNNING])
    if active < cap:
        return []
    return [("", f"you already have {active} jobs queued or running, the most one user may have "
                 f"at once ({cap}): wait for some to end, or cancel some (cancelJob)")]


async def start_job(kind: str, job_id: int, owner_id: int, executor: Executor,
                    broadcaster: Broadcaster, request_id: str | None = None) -> None:
    """Publish the ``queued`` event of ``owner_id``'s new row ``kind``/``job_id``, then
    submit it. ``request_id`` (default: the API request being served, ``tasks.request_ids``)
    goes into the ``queued`` event and the job's log lines."""
    spec = job_kind(kind)
    request_id = request_id or request_ids.current_request_id()
    extra = {"request_id": request_id} if request_id else {}
    await job_events(broadcaster, spec.name, job_id, owner_id).emit(
        "status", RunStatus.QUEUED.value, 0.0, stage=Stage.QUEUED.value, eta=None, **extra)
    request_ids.remember_job(spec.name, job_id, request_id)
    log.info("%s %s queued (request %s)", spec.name, job_id, request_id or "-")
    await executor.submit(spec.name, job_id)


async def cancel_job(kind: str, job_id: int, *, owner: OwnerScope, executor: Executor,
                     broadcaster: Broadcaster) -> JobState | None:
    """Cancel job ``kind``/``job_id`` if ``owner`` may see it; its state afterwards, or None
    when not found. A queued job ends ``cancelled`` at once; a running one is asked to stop
    (it ends ``cancelled`` at its next chunk, page or request: follow its events); an ended
    one is left as it is. A job no executor runs (its server stopped) is ended here."""
    spec = job_kind(kind)
    state = await store_jobs.get_state(spec.name, job_id, owner=owner)
    if state is None or state.is_terminal:
        return state
    if not await executor.cancel(spec.name, job_id):  # not in this executor: end the row here
        await finish_job(spec.name, job_id, broadcaster)
    return await store_jobs.get_state(spec.name, job_id, owner=owner)
