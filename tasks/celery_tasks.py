"""The Celery tasks: thin wrappers that run the job bodies on the worker process's loop.

===========================  ==========  ====================================================
task                         queue       body
===========================  ==========  ====================================================
``backtest.run(id)``         backtests   ``tasks.jobs.run_backtest_job``
``sweep.run(id)``            sweeps      ``tasks.sweep_chunks.start_sweep`` (dispatches chunks)
``sweep.chunk(...)``         sweeps      ``tasks.sweep_chunks.run_chunk``
``market.sync(id)``          sync        ``tasks.sync_jobs.run_sync_job``
``market.refresh_watch_list`` sync       ``tasks.watch_list.refresh_watch_list`` (beat)
``replay.run(id)``           replays     ``tasks.replay_jobs.run_replay_job``
``maintenance.recover``      backtests   ``tasks.recovery.recover`` (beat)
===========================  ==========  ====================================================

A transient error (database or exchange unreachable: ``tasks.transient``) puts the job back to
``queued`` and the task is retried with exponential backoff (1, 2, 4... s, at most 60 s, with
jitter), at most ``JOB_MAX_RETRIES`` times; then the job fails with a message that says so.
Every other outcome is recorded by the body itself, so the tasks end normally and their
messages are acknowledged.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded
from celery import Task, group
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready

from domain.candles import Candles
from store import sync_jobs as store_sync_jobs
from store.models import RunStatus
from tasks import worker_runtime
from tasks.celery_app import app
from tasks.compute import warm_up
from tasks.jobs import (
    CandleReader,
    JobOptions,
    TransientJobError,
    finish_cancelled,
    job_events,
    load_candles,
    run_backtest_job,
)
from tasks.sweep_chunks import Chunk, run_chunk, start_sweep
from tasks.worker_runtime import Runtime, close_runtime, runtime

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


def _retry_or_fail(task: Task, kind: str, job_id: int, err: TransientJobError) -> None:
    """Retry the task later, or fail the job when its retries are used up."""
    rt = runtime()
    retries = int(task.request.retries or 0)
    if retries < rt.settings.job_max_retries:
        raise task.retry(countdown=backoff_s(retries), exc=err, max_retries=None)
    message = gave_up_message(retries + 1, str(err))
    if kind == "sync":
        rt.run(_end_sync(rt, job_id, RunStatus.FAILED, message))
    else:
        rt.run(finish_cancelled(kind, job_id, rt.broadcaster, message))


def _on_time_limit(rt: Runtime, kind: str, job_id: int) -> None:
    """Celery's soft time limit interrupted the loop: stop what ran, fail the job."""
    rt.cancel_pending()
    message = (f"stopped: the job did not stop within 30 s of its time limit of "
               f"{rt.settings.job_time_limit_s:g} s (JOB_TIME_LIMIT)")
    if kind == "sync":
        rt.run(_end_sync(rt, job_id, RunStatus.FAILED, message))
    else:
        rt.run(finish_cancelled(kind, job_id, rt.broadcaster, message))


@app.task(name="backtest.run", bind=True)
def run_backtest(self: Task, backtest_id: int) -> None:
    rt = runtime()
    try:
        rt.run(run_backtest_job(backtest_id, rt.broadcaster,
                                options=options(rt, "backtest", backtest_id), read=reader(rt)))
    except TransientJobError as err:
        _retry_or_fail(self, "backtest", backtest_id, err)
    except SoftTimeLimitExceeded:
        _on_time_limit(rt, "backtest", backtest_id)


async def _dispatch_chunks(chunks: list[Chunk]) -> None:
    group(run_sweep_chunk.s(c.sweep_id, c.index, c.start, c.stop, c.n_chunks)
          for c in chunks).apply_async()


@app.task(name="sweep.run", bind=True)
def run_sweep(self: Task, sweep_id: int) -> None:
    rt = runtime()
    try:
        rt.run(start_sweep(sweep_id, rt.broadcaster, options(rt, "sweep", sweep_id),
                           rt.settings.sweep_chunk_size, _dispatch_chunks))
    except TransientJobError as err:
        _retry_or_fail(self, "sweep", sweep_id, err)


@app.task(name="sweep.chunk", bind=True)
def run_sweep_chunk(self: Task, sweep_id: int, index: int, start: int, stop: int,
                    n_chunks: int) -> None:
    rt = runtime()
    chunk = Chunk(sweep_id, index, start, stop, n_chunks)
    try:
        rt.run(run_chunk(chunk, rt.broadcaster, options(rt, "sweep", sweep_id), reader(rt)))
    except TransientJobError as err:
        retries = int(self.request.retries or 0)
        if retries < rt.settings.job_max_retries:
            raise self.retry(countdown=backoff_s(retries), exc=err, max_retries=None) from err
        rt.run(finish_cancelled("sweep", sweep_id, rt.broadcaster,
                                gave_up_message(retries + 1, str(err))))
    except SoftTimeLimitExceeded:
        _on_time_limit(rt, "sweep", sweep_id)


async def _end_sync(rt: Runtime, job_id: int, status: RunStatus, error: str) -> None:
    job = await store_sync_jobs.finish(job_id, status, error=error)
    if job is not None:
        await job_events(rt.broadcaster, "sync", job_id).emit(
            "error", status.value, job.progress, job_id=job_id, stored=job.stored, error=error)


@app.task(name="market.sync", bind=True)
def run_sync(self: Task, job_id: int) -> None:
    from tasks.sync_jobs import run_sync_job

    rt = runtime()
    try:
        rt.run(run_sync_job(job_id, rt.broadcaster, settings=rt.settings,
                            options=options(rt, "sync", job_id)))
    except TransientJobError as err:
        _retry_or_fail(self, "sync", job_id, err)
    except SoftTimeLimitExceeded:
        _on_time_limit(rt, "sync", job_id)


@app.task(name="market.refresh_watch_list")
def refresh_watch_list() -> dict[str, int]:
    from tasks.watch_list import refresh_watch_list as refresh

    rt = runtime()
    return rt.run(refresh(rt.settings, rt.cache))


@app.task(name="replay.run", bind=True)
def run_replay(self: Task, replay_id: int) -> None:
    from tasks.replay_jobs import run_replay_job

    rt = runtime()
    try:
        rt.run(run_replay_job(replay_id, rt.broadcaster, options=options(rt, "replay", replay_id)))
    except TransientJobError as err:
        _retry_or_fail(self, "replay", replay_id, err)
    except SoftTimeLimitExceeded:
        _on_time_limit(rt, "replay", replay_id)


@app.task(name="maintenance.recover")
def recover() -> dict[str, int]:
    from tasks.celery_executor import send_job
    from tasks.recovery import recover as recover_jobs

    rt = runtime()

    async def dispatch(kind: str, job_id: int) -> None:
        await send_job(kind, job_id)

    report = rt.run(recover_jobs(rt.settings, rt.broadcaster, dispatch))
    return report.counts()


@worker_process_init.connect
def _open_child(**_: Any) -> None:  # a prefork child: open before the first task arrives
    runtime()
    warm_up()


@worker_ready.connect
def _open_main(**_: Any) -> None:  # the solo pool runs tasks in the worker's own process
    if worker_runtime.TASKS_IN_MAIN_PROCESS:
        runtime()
        warm_up()


@worker_process_shutdown.connect
def _close(**_: Any) -> None:
    close_runtime()
