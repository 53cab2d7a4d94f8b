"""Starting and cancelling jobs of any kind for a caller (``tasks.jobs.registry``).

:func:`start_job` publishes a new row's ``queued`` event and hands it to the executor (each
kind's submit module creates the row first: ``tasks.jobs.submit``...). :func:`cancel_job`
stops a job the caller may see, whatever its kind and wherever it runs.
"""

from __future__ import annotations

from domain.jobs import RunStatus, Stage
from store import jobs as store_jobs
from store.jobs import JobState
from store.scope import OwnerScope
from tasks.execution.executor import Executor
from tasks.jobs.lifecycle import finish_job, job_events
from tasks.jobs.registry import job_kind
from tasks.messaging.broadcast import Broadcaster


async def start_job(kind: str, job_id: int, owner_id: int, executor: Executor,
                    broadcaster: Broadcaster) -> None:
    """Publish the ``queued`` event of ``owner_id``'s new row ``kind``/``job_id``, then
    submit it."""
    spec = job_kind(kind)
    await job_events(broadcaster, spec.name, job_id, owner_id).emit(
        "status", RunStatus.QUEUED.value, 0.0, stage=Stage.QUEUED.value, eta=None)
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
