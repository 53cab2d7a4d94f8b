"""The Celery tasks: thin wrappers that run the job bodies on the worker process's loop.

=============================  ===========  ==================================================
task                           queue        body
=============================  ===========  ==================================================
``job.run(kind, id)``          the kind's   ``tasks.jobs.lifecycle.run_job``, or the kind's
                                            ``split.start`` (dispatches its parts)
``job.part(kind, id, part)``   the kind's   the kind's ``split.run_part`` (a sweep's chunk)
``market.refresh_watch_list``  sync         ``tasks.market.watch_list.refresh_watch_list`` (beat)
``maintenance.recover``        backtests    ``tasks.jobs.recovery.recover`` (beat)
=============================  ===========  ==================================================

The kinds and their queues are those of ``tasks.jobs.registry``: a new kind needs no task.

A transient error (database or exchange unreachable: ``tasks.jobs.transient``) puts the job back to
``queued`` and the task is retried with exponential backoff (1, 2, 4... s, at most 60 s, with
jitter), at most ``JOB_MAX_RETRIES`` times; then the job fails with a message that says so.
Every other outcome is recorded by the body itself, so the tasks end normally and their
messages are acknowledged.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded
from celery import Task, group
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready

from domain.candles import Candles
from store.settings import get_settings
from tasks import request_ids
from tasks.execution.celery import runtime as worker_runtime
from tasks.execution.celery.app import app
from tasks.execution.celery.runtime import Runtime, close_runtime, runtime
from tasks.execution.compute import warm_up
from tasks.jobs.lease import JobOptions, TransientJobError
from tasks.jobs.lifecycle import CandleReader, finish_job, load_candles, run_job
from tasks.jobs.registry import job_kind
from tasks.jobs.split import Part
from tasks.jobs.transient import is_transient

log = logging.getLogger("tasks.celery")

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0


def backoff_s(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: ``min(cap, base * 2**retries)``, jittered."""
    return float(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** retries) * random.uniform(0.75, 1.0))


def gave_up_message(attempts: int, error: str) -> str:
    return (f"failed after {attempts} attempts on a transient error ({error}); check that the "
            "database and the exchange are reachable, then run it again")


def options(rt: Runtime, kind: str, job_id: int) -> JobOptions:
    async def cancel_requested() -> bool:
        return await rt.cancel_requested(kind, job_id)

    return JobOptions.from_settings(rt.settings, retry_transient=True,
                                    cancel_requested=cancel_requested)


def reader(rt: Runtime) -> CandleReader:
    async def read(exchange: str, symbol: str, timeframe: str, start_ms: int,
                   end_ms: int) -> Candles:
        return await load_candles(exchange, symbol, timeframe, start_ms, end_ms, rt.cache)

    return read


def _execute(task: Task, kind: str, job_id: int,
             body: Callable[[Runtime], Awaitable[Any]]) -> None:
    """Run ``body`` on this process's loop. A transient error (``TransientJobError`` from a
    job body, or a database or exchange error raised before the body could claim its row) is
    retried later with backoff, at most ``JOB_MAX_RETRIES`` times, then the job fails saying
    so; Celery's soft time limit fails the job with a message."""
    request_ids.remember_job(kind, job_id, task.request.get("request_id"))  # sent by send_job
    try:
        rt = runtime()
        rt.run(body(rt))
    except SoftTimeLimitExceeded:
        rt = runtime()
        rt.cancel_pending()
        _fail(rt, kind, job_id, f"stopped: the job did not stop within 30 s of its time limit of "
                                f"{rt.settings.job_time_limit_s:g} s (JOB_TIME_LIMIT)")
    except Exception as err:
        if not (isinstance(err, TransientJobError) or is_transient(err)):
            raise
        retries = int(task.request.retries or 0)
        most = get_settings().job_max_retries
        if retries < most:
            log.warning("%s %s: transient error, retry %s of %s: %s", kind, job_id, retries + 1,
                        most, err)
            raise task.retry(countdown=backoff_s(retries), exc=err, max_retries=None) from err
        _fail(runtime(), kind, job_id, gave_up_message(retries + 1, f"{err}"))


def _fail(rt: Runtime, kind: str, job_id: int, message: str) -> None:
    rt.run(finish_job(kind, job_id, rt.broadcaster, message))


@app.task(name="job.run", bind=True)
def run_job_task(self: Task, kind: str, job_id: int) -> None:
    spec = job_kind(kind)
    if spec.split is None:
        _execute(self, kind, job_id, lambda rt: run_job(
            kind, job_id, rt.broadcaster, options=options(rt, kind, job_id), read=reader(rt),
            settings=rt.settings, cache=rt.cache))
        return
    split = spec.split

    async def dispatch(parts: list[Part]) -> None:
        group(run_part_task.signature((kind, job_id, part), queue=spec.queue)
              for part in parts).apply_async()

    _execute(self, kind, job_id, lambda rt: split.start(
        job_id, rt.broadcaster, options(rt, kind, job_id), rt.settings, dispatch))


@app.task(name="job.part", bind=True)
def run_part_task(self: Task, kind: str, job_id: int, part: Part) -> None:
    split = job_kind(kind).split
    if split is None:
        raise ValueError(f"{kind} jobs are not run in parts")
    _execute(self, kind, job_id, lambda rt: split.run_part(
        job_id, part, rt.broadcaster, options(rt, kind, job_id), reader(rt)))


@app.task(name="market.refresh_watch_list")
def refresh_watch_list() -> dict[str, int]:
    from tasks.market.watch_list import refresh_watch_list as refresh

    rt = runtime()
    return rt.run(refresh(rt.settings, rt.cache))


@app.task(name="maintenance.recover")
def recover() -> dict[str, int]:
    from tasks.execution.celery.executor import send_job
    from tasks.jobs.recovery import recover as recover_jobs

    rt = runtime()

    async def dispatch(kind: str, job_id: int) -> None:
        await send_job(kind, job_id)

    report = rt.run(recover_jobs(rt.settings, rt.broadcaster, dispatch))
    return report.counts()


def _open() -> None:
    """Load the engine and open the connections before the first task arrives (a database
    that is down now is tried again by the first task)."""
    warm_up()
    try:
        runtime()
    except Exception as err:
        log.warning("the worker could not open its connections yet: %s", err)


@worker_process_init.connect
def _open_child(**_: Any) -> None:  # a prefork child
    _open()


@worker_ready.connect
def _open_main(**_: Any) -> None:  # the solo pool runs tasks in the worker's own process
    if worker_runtime.TASKS_IN_MAIN_PROCESS:
        _open()


@worker_process_shutdown.connect
def _close(**_: Any) -> None:
    close_runtime()
