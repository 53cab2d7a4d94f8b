"""The Celery executor (``EXECUTOR=celery``): the API hands job ids to Celery workers.

It implements ``tasks.execution.executor.Executor``: ``submit(kind, id)`` records the dispatch time on
the row and sends the ``job.run`` task (``tasks.execution.celery.tasks``) to its queue; the workers run the same job bodies as the
in-process executor and publish progress on Redis, where the API's subscriptions read it.

``cancel(kind, id)``: a queued job is left to the caller to mark cancelled (returns False, as
for a job this executor does not run; its message is revoked, and a worker that still receives
it finds the row no longer queued); a running one gets its cancel flag set in Redis
(``tasks.execution.celery.runtime.request_cancel``), which its worker polls, and its messages revoked.

While the API runs, :func:`tasks.jobs.recovery.recover` runs every ``JOB_STALE_AFTER_S / 2`` seconds:
jobs whose worker vanished are requeued or failed, lost messages sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import redis.asyncio as aioredis
from celery import Celery

from store import leases as store_leases
from store.models import RunStatus
from store.settings import Settings
from tasks import request_ids
from tasks.execution.celery.app import app, make_app
from tasks.execution.celery.runtime import request_cancel
from tasks.jobs.recovery import recover
from tasks.jobs.registry import job_kind
from tasks.messaging.broadcast import Broadcaster

log = logging.getLogger("tasks.execution.celery.executor")

RUN_TASK = "job.run"
TASK_IDS_TTL_S = 7 * 24 * 3600
_TASK_IDS_PREFIX = "backtest:tasks:"


def _ids_key(kind: str, job_id: int) -> str:
    return f"{_TASK_IDS_PREFIX}{kind}:{job_id}"


async def send_job(kind: str, job_id: int, client: aioredis.Redis | None = None,
                   sender: Celery = app) -> str:
    """Send the task that runs job ``kind``/``job_id`` with ``sender``; its task id (kept in
    Redis for :meth:`CeleryExecutor.cancel`'s revoke when ``client`` is given)."""
    task_id = f"{kind}-{job_id}-{uuid.uuid4().hex[:12]}"
    if client is not None:
        key = _ids_key(kind, job_id)
        async with client.pipeline(transaction=False) as pipe:
            pipe.sadd(key, task_id)
            pipe.expire(key, TASK_IDS_TTL_S)
            await pipe.execute()
    request_id = request_ids.current_request_id()  # the worker's log lines of the job carry it
    await asyncio.to_thread(sender.send_task, RUN_TASK, args=[kind, job_id], task_id=task_id,
                            queue=job_kind(kind).queue,
                            headers={"request_id": request_id} if request_id else None)
    return task_id


class CeleryExecutor:
    """Jobs on Celery workers (see the module docstring)."""

    def __init__(self, settings: Settings, broadcaster: Broadcaster) -> None:
        self.app = make_app(settings)
        self.settings = settings
        self.broadcaster = broadcaster
        self._redis = aioredis.Redis.from_url(settings.redis_url or "")
        self._recovery: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._recovery = asyncio.create_task(self._recover_forever())

    async def _recover_forever(self) -> None:
        period = max(1.0, self.settings.job_stale_after_s / 2)
        while True:
            await asyncio.sleep(period)
            try:
                await recover(self.settings, self.broadcaster, self._dispatch)
            except Exception as err:  # the database or Redis away: try again next time
                log.warning("recovering stuck jobs failed: %s", err)

    async def _dispatch(self, kind: str, job_id: int) -> None:
        await send_job(kind, job_id, self._redis, self.app)

    async def stop(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
        await self._redis.aclose()
        await asyncio.to_thread(self.app.close)

    async def submit(self, kind: str, job_id: int) -> None:
        await store_leases.mark_dispatched(kind, job_id)
        await send_job(kind, job_id, self._redis, self.app)

    async def cancel(self, kind: str, job_id: int) -> bool:
        state = await store_leases.lease_of(kind, job_id)
        if state is None:
            return False
        status, _ = state
        task_ids = [t.decode() if isinstance(t, bytes) else str(t)
                    for t in await self._redis.smembers(_ids_key(kind, job_id))]
        if status == RunStatus.RUNNING:
            await request_cancel(self._redis, kind, job_id)
        if task_ids:
            await asyncio.to_thread(self.app.control.revoke, task_ids)
        return status == RunStatus.RUNNING
