"""The Celery tasks: thin wrappers that run the job bodies on the worker process's loop.

===========================  ==========  ====================================================
task                         queue       body
===========================  ==========  ====================================================
``backtest.run(id)``         backtests   ``tasks.jobs.lifecycle.run_backtest_job``
``sweep.run(id)``            sweeps      ``tasks.jobs.sweep_chunks.start_sweep`` (dispatches chunks)
``sweep.chunk(...)``         sweeps      ``tasks.jobs.sweep_chunks.run_chunk``
``market.sync(id)``          sync        ``tasks.jobs.sync.run_sync_job``
``market.refresh_watch_list`` sync       ``tasks.market.watch_list.refresh_watch_list`` (beat)
``replay.run(id)``           replays     ``tasks.jobs.replay.run_replay_job``
``maintenance.recover``      backtests   ``tasks.jobs.recovery.recover`` (beat)
===========================  ==========  ====================================================

A transient error (database or exchange unreachable: ``tasks.jobs.transient``) puts the job back to
``queued`` and the task is retried with exponential backoff (1, 2, 4... s, at most 60 s, with
jitter), at most ``JOB_MAX_RETRIES`` times; then the job fails with a message that says so.
Every other outcome is recorded by the body itself, so the tasks end normally and their
messages are acknowledged.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded
from celery import Task, group
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready

from domain.candles import Candles
from store import sync_jobs as store_sync_jobs
from store.models import RunStatus
from store.settings import get_settings
from tasks.execution.celery import runtime as worker_runtime
from tasks.execution.celery.app import app
from tasks.execution.celery.runtime import Runtime, close_runtime, runtime
from tasks.execution.compute import warm_up
from tasks.jobs.lease import JobOptions, TransientJobError
from tasks.jobs.lifecycle import (
    CandleReader,
    finish_cancelled,
    job_events,
    load_candles,
    run_backtest_job,
)
from tasks.jobs.sweep_chunks import Chunk, run_chunk, start_sweep
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
             body: Callable[[Runtime], Coroutine[Any, Any, Any]]) -> None:
    """Run ``body`` on this process's loop. A transient error (``TransientJobError`` from a
    job body, or a database or exchange error raised before the body could claim its row) is
    retried later with backoff, at most ``JOB_MAX_RETRIES`` times, then the job fails saying
    so; Celery's soft time limit fails the job with a message."""
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
    if kind == "sync":
        rt.run(_end_sync(rt, job_id, RunStatus.FAILED, message))
    else:
        rt.run(finish_cancelled(kind, job_id, rt.broadcaster, message))


@app.task(name="backtest.run", bind=True)
def run_backtest(self: Task, backtest_id: int) -> None:
    _execute(self, "backtest", backtest_id, lambda rt: run_backtest_job(
        backtest_id, rt.broadcaster, options=options(rt, "backtest", backtest_id),
        read=reader(rt)))


async def _dispatch_chunks(chunks: list[Chunk]) -> None:
    group(run_sweep_chunk.s(c.sweep_id, c.index, c.start, c.stop, c.n_chunks)
          for c in chunks).apply_async()


@app.task(name="sweep.run", bind=True)
def run_sweep(self: Task, sweep_id: int) -> None:
    _execute(self, "sweep", sweep_id, lambda rt: start_sweep(
        sweep_id, rt.broadcaster, options(rt, "sweep", sweep_id), rt.settings.sweep_chunk_size,
        _dispatch_chunks))


@app.task(name="sweep.chunk", bind=True)
def run_sweep_chunk(self: Task, sweep_id: int, index: int, start: int, stop: int,
                    n_chunks: int) -> None:
    chunk = Chunk(sweep_id, index, start, stop, n_chunks)
    _execute(self, "sweep", sweep_id, lambda rt: run_chunk(
        chunk, rt.broadcaster, options(rt, "sweep", sweep_id), reader(rt)))


async def _end_sync(rt: Runtime, job_id: int, status: RunStatus, error: str) -> None:
    job = await store_sync_jobs.finish(job_id, status, error=error)
    if job is not None:
        await job_events(rt.broadcaster, "sync", job_id).emit(
            "error", status.value, job.progress, job_id=job_id, stored=job.stored, error=error)


@app.task(name="market.sync", bind=True)
def run_sync(self: Task, job_id: int) -> None:
    from tasks.jobs.sync import run_sync_job

    _execute(self, "sync", job_id, lambda rt: run_sync_job(
        job_id, rt.broadcaster, settings=rt.settings, options=options(rt, "sync", job_id)))


@app.task(name="market.refresh_watch_list")
def refresh_watch_list() -> dict[str, int]:
    from tasks.market.watch_list import refresh_watch_list as refresh

    rt = runtime()
    return rt.run(refresh(rt.settings, rt.cache))


@app.task(name="replay.run", bind=True)
def run_replay(self: Task, replay_id: int) -> None:
    from tasks.jobs.replay import run_replay_job

    _execute(self, "replay", replay_id, lambda rt: run_replay_job(
        replay_id, rt.broadcaster, options=options(rt, "replay", replay_id), read=reader(rt)))


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
