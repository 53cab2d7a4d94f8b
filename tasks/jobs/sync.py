"""The market data sync job: run a queued ``SyncJob`` row with ``tasks.market.sync.sync`` into the
store, recording its progress in the row and publishing it on ``channel("sync", job_id)``.

Events (``tasks.messaging.events``): ``status`` (running), ``progress`` after every page (``progress``
0..1, ``stored`` candles written so far, ``pages``), then one terminal event: ``done`` (with
``stored``), ``error`` (with ``error``, a message for a person: unknown symbol, unsupported
timeframe, exchange unreachable...) or ``cancelled`` (the server stopped the job).

The executor (``tasks.execution.executor``) runs :func:`run_sync_job` as an asyncio task in the API
process; the database must be initialised (``store.db.init_db``) and stays so.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import ccxt

from domain.errors import DomainError
from domain.timeframes import parse_timeframe
from store import leases as store_leases
from store import sync_jobs
from store.candles import KEY_MAX_LEN
from store.db import active_settings
from store.models import RunStatus
from store.settings import Settings
from store.sync_jobs import SyncJobRecord
from tasks.cache.candles import cache_from_settings
from tasks.jobs.lease import LEASE_LOST, JobOptions, TransientJobError, claim, keep_lease
from tasks.jobs.transient import is_transient
from tasks.market.store import StoreSink, exchange_from_settings
from tasks.market.sync import SyncProgress, sync
from tasks.messaging.broadcast import Broadcaster, Event
from tasks.messaging.events import JobEvents

log = logging.getLogger("tasks.jobs.sync")

JOB_KIND = "sync"
INTERNAL_ERROR = "the sync failed on the server side (the error is logged); try again later"


def check_sync_request(exchange: str, symbol: str, timeframe: str, since_ms: int,
                       until_ms: int | None) -> list[tuple[str, str]]:
    """What is wrong with a sync request, as ``(field, message)`` pairs (empty when fine).
    Whether the exchange lists the symbol is only known when the job runs."""
    problems: list[tuple[str, str]] = []
    if exchange not in ccxt.exchanges:
        problems.append(("exchange", f"unknown exchange {exchange!r}: use a ccxt exchange id "
                                     "such as binance"))
    if not symbol.strip() or len(symbol) > KEY_MAX_LEN:
        problems.append(("symbol", f"give a symbol of 1 to {KEY_MAX_LEN} characters, written "
                                   "BASE/QUOTE (e.g. BTC/USDT)"))
    try:
        parse_timeframe(timeframe)
    except DomainError as err:
        problems.append(("timeframe", str(err)))
    if since_ms < 0:
        problems.append(("since", "must be on or after 1970-01-01"))
    if until_ms is not None and until_ms <= since_ms:
        problems.append(("until", "must be after since"))
    return problems


def state_event(job: SyncJobRecord) -> Event:
    """The job's state as an event (``seq`` 0) built from its row, for late subscribers when
    the channel has no latest event."""
    kind = {RunStatus.SUCCEEDED: "done", RunStatus.FAILED: "error",
            RunStatus.CANCELLED: "cancelled"}.get(job.status, "status")
    event: Event = {"seq": 0, "kind": kind, "status": job.status.value, "progress": job.progress,
                    "job_id": job.id, "stored": job.stored}
    if job.error:
        event["error"] = job.error
    return event


async def run_sync_job(job_id: int, broadcaster: Broadcaster, *,
                       settings: Settings | None = None,
                       options: JobOptions | None = None) -> None:
    """Run the queued sync job ``job_id`` to its end (see the module doc). A job that is not
    queued (run already, or unknown) is left alone. ``settings`` gives the exchange's base URLs
    (default: those ``store.db.init_db`` was called with). ``options``: the lease, heartbeat,
    cancel flag and retries (``tasks.jobs.lifecycle.JobOptions``; a Celery worker passes them)."""
    opts = (options or JobOptions()).with_lease()
    assert opts.lease is not None
    if not await claim(JOB_KIND, job_id, opts):
        return
    job = await sync_jobs.load_sync_job(job_id)
    if job is None:
        return
    events = JobEvents(broadcaster, JOB_KIND, job_id)
    await events.emit("status", RunStatus.RUNNING.value, 0.0, job_id=job_id, stored=0)
    stored = 0

    async def on_progress(p: SyncProgress) -> None:
        nonlocal stored
        stored = p.candles
        fraction = p.percent / 100.0
        await sync_jobs.set_progress(job_id, fraction, stored)
        await events.emit("progress", RunStatus.RUNNING.value, fraction, job_id=job_id,
                          stored=stored, pages=p.pages)

    client = None
    settings = settings or active_settings()
    cache = cache_from_settings(settings)  # new candles invalidate the cached ranges
    stop_reason: list[str | None] = []
    current = asyncio.current_task()

    def stop(reason: str | None) -> None:  # the cancel flag, a lost lease or the time limit
        if not stop_reason and current is not None:
            stop_reason.append(reason)
            current.cancel()

    try:
        async with keep_lease(JOB_KIND, job_id, opts, stop):
            client = exchange_from_settings(job.exchange, settings)
            report = await sync(client, job.symbol, job.timeframe, job.since_ms, job.until_ms,
                                sink=StoreSink(cache), progress=on_progress)
    except asyncio.CancelledError:
        reason = stop_reason[0] if stop_reason else None
        if reason is None:
            await _end(events, job_id, RunStatus.CANCELLED, "cancelled", stored,
                       error=CANCELLED_ERROR)
        elif reason != LEASE_LOST:
            await _end(events, job_id, RunStatus.FAILED, "error", stored, error=reason)
        if not stop_reason:  # cancelled from outside (the server stopping): pass it on
            raise
    except Exception as err:
        if opts.retry_transient and is_transient(err):
            await sync_jobs.set_progress(job_id, 0.0, stored)
            if await store_leases.release(JOB_KIND, job_id, opts.lease):
                raise TransientJobError(f"{type(err).__name__}: {err}") from err
        if isinstance(err, DomainError):
            await _end(events, job_id, RunStatus.FAILED, "error", stored, error=str(err))
        else:
            log.exception("sync job %s failed", job_id)
            await _end(events, job_id, RunStatus.FAILED, "error", stored, error=INTERNAL_ERROR)
    else:
        await _end(events, job_id, RunStatus.SUCCEEDED, "done", report.candles_written,
                   pages=report.pages, unfilled=[list(r) for r in report.unfilled])
    finally:
        await cache.close()
        if client is not None:
            await client.close()


async def _end(events: JobEvents, job_id: int, status: RunStatus, kind: str, stored: int,
               **fields: Any) -> None:
    """Record the job's end in its row, then publish the terminal event (nothing when it had
    ended already)."""
    error = fields.get("error")
    job = await sync_jobs.finish(job_id, status, stored=stored, error=error)
    if job is not None:
        await events.emit(kind, status.value, job.progress, job_id=job_id, stored=stored,
                          **fields)


CANCELLED_ERROR = ("cancelled before it finished (the candles written so far are kept); start "
                   "it again to fetch the rest")


async def cancel_sync_job(job: SyncJobRecord, executor: Any, broadcaster: Broadcaster) -> bool:
    """Stop a sync job: False when it had finished already. A job this process runs is
    cancelled (it records ``cancelled`` and publishes the end itself, at once); a job no
    executor here knows (its server stopped) is marked cancelled and its end published here."""
    if job.finished:
        return False
    if await executor.cancel(JOB_KIND, job.id):
        return True
    events = JobEvents(broadcaster, JOB_KIND, job.id)
    await _end(events, job.id, RunStatus.CANCELLED, "cancelled", job.stored,
               error=CANCELLED_ERROR)
    return True
