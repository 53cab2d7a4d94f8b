"""The backtest and sweep jobs: load -> compute -> save -> publish, one function each.

:func:`run_backtest_job` and :func:`run_sweep_job` take the id of a ``queued`` row and a
broadcaster, and need the database initialised. Where the computation runs is the ``runner``'s
business (``tasks.execution.compute`` describes the contract): the in-process executor passes its
process pool's ``run``; the default, ``tasks.execution.compute.run_in_thread``, runs it in a thread of
the calling process, which is what the Celery tasks use (the worker process being the unit
of parallelism there). A :class:`~tasks.execution.compute.CancelToken` stops the engine at its next chunk.
Each body claims its row under a lease and keeps it while it runs (``tasks.jobs.lease``:
heartbeats, the cancel flag, the time limit); its final writes are fenced by that lease.

Events on ``channel(kind, id)`` (``tasks.messaging.events``): ``status`` running; ``progress`` as the
engine reports (backtests add ``equity``, the curve so far, downsampled; ``at`` is when the
engine reported), published in order and coalesced when the channel is slower than the engine;
then one terminal event: ``done`` (backtests: ``summary`` and the final ``equity``; sweeps:
``top``, the best rows, and ``n_sets``), ``error`` (``error``: a message for a person) or
``cancelled``. The row's ``progress`` is written at most once per :data:`DB_PROGRESS_INTERVAL_S`.

Outcomes: results saved -> ``succeeded``; ``Cancelled`` -> ``cancelled`` (or ``failed`` with the
token's reason, e.g. the server stopping); a ``DomainError`` or ``RunnerError`` -> ``failed``
with its message; anything else -> ``failed`` with :data:`INTERNAL_ERROR`, the traceback
logged. With ``JobOptions.retry_transient`` (Celery), a transient error (database or exchange
unreachable) instead puts the row back to ``queued`` and raises ``TransientJobError`` for the
task to retry. A row that is not ``queued`` any more (cancelled before it started, or running
elsewhere and alive) is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from domain.candles import Candles
from domain.errors import Cancelled, DataError, DomainError
from store import backtest_results as results_store
from store import backtests as store_backtests
from store import leases as store_leases
from store import replays as store_replays
from store import sweeps as store_sweeps
from store.backtest_results import Results
from store.backtests import BacktestRecord
from store.candles import read_candles
from store.models import RunStatus
from store.sweeps import SweepRecord
from tasks.cache.candles import Cache, read_candles_cached
from tasks.execution.compute import (
    BacktestTask,
    CancelToken,
    Runner,
    RunnerError,
    SweepTask,
    compute_backtest,
    compute_sweep,
    json_number,
    run_in_thread,
    series_payload,
)
from tasks.jobs.lease import JobOptions, TransientJobError, claim, keep_lease
from tasks.jobs.transient import is_transient
from tasks.messaging.broadcast import Broadcaster
from tasks.messaging.events import JobEvents

log = logging.getLogger("tasks.jobs.lifecycle")

DB_PROGRESS_INTERVAL_S = 1.0
INTERNAL_ERROR = "the run failed on the server side (the error is logged); try again later"
INTERRUPTED = "interrupted: the server stopped before the run finished; run it again"
EVENT_TOP_ROWS = 10

try:
    ENGINE_VERSION = importlib.metadata.version("backtest")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    ENGINE_VERSION = "dev"


def job_events(broadcaster: Broadcaster, kind: str, job_id: int) -> JobEvents:
    """A publisher for a job's channel (the broadcaster numbers the events)."""
    return JobEvents(broadcaster, kind, job_id)


class _Relay:
    """Publishes progress payloads in order from one task, keeping only the newest when the
    channel falls behind; records the fraction in the row now and then."""

    def __init__(self, events: JobEvents, record_progress: Callable[[float], Awaitable[None]]):
        self._events = events
        self._record = record_progress
        self._pending: dict[str, Any] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._pump())

    def push(self, payload: dict[str, Any]) -> None:
        if not self._closed:
            self._pending = payload
            self._wake.set()

    async def _pump(self) -> None:
        recorded = 0.0
        while True:
            await self._wake.wait()
            self._wake.clear()
            payload, self._pending = self._pending, None
            if payload is not None:
                fraction = float(payload.pop("progress"))
                try:
                    await self._events.emit("progress", RunStatus.RUNNING.value, fraction,
                                            **payload)
                    if time.monotonic() - recorded >= DB_PROGRESS_INTERVAL_S:
                        recorded = time.monotonic()
                        await self._record(fraction)
                except Exception:  # progress is best effort; the outcome is what counts
                    log.exception("could not publish the progress of %s", self._events.channel)
            if self._closed and self._pending is None:
                return

    async def close(self) -> None:
        """Publish what is pending, then stop."""
        self._closed = True
        self._wake.set()
        await self._task


class _Store(Protocol):
    async def mark_failed(self, job_id: int, error: str, lease: str | None = None) -> bool: ...
    async def mark_cancelled(self, job_id: int, lease: str | None = None) -> bool: ...
    async def set_progress(self, job_id: int, fraction: float) -> None: ...


_STORES: dict[str, Any] = {"backtest": store_backtests, "sweep": store_sweeps,
                           "replay": store_replays}


async def finish_cancelled(kind: str, job_id: int, broadcaster: Broadcaster,
                           reason: str | None = None, lease: str | None = None) -> bool:
    """End an active run that is not executing (queued, or orphaned): ``cancelled``, or
    ``failed`` with ``reason``; publish the terminal event. False when it had ended already
    (or, with ``lease``, when that attempt no longer holds it)."""
    store: _Store = _STORES[kind]
    events = job_events(broadcaster, kind, job_id)
    if reason is None:
        if await store.mark_cancelled(job_id, lease):
            await events.emit("cancelled", RunStatus.CANCELLED.value, 0.0)
            return True
        return False
    if await store.mark_failed(job_id, reason, lease):
        await events.emit("error", RunStatus.FAILED.value, 0.0, error=reason)
        return True
    return False


async def run_life_cycle(kind: str, job_id: int, broadcaster: Broadcaster, cancel: CancelToken,
               opts: JobOptions,
               work: Callable[[_Relay], Awaitable[dict[str, Any] | None]]) -> None:
    """The life cycle around ``work`` (which loads, computes and saves; it returns the fields
    of the ``done`` event, or None when the row was ended by someone else meanwhile). The row
    is claimed already, under ``opts.lease``."""
    store: _Store = _STORES[kind]
    lease = opts.lease
    events = job_events(broadcaster, kind, job_id)
    await events.emit("status", RunStatus.RUNNING.value, 0.0)
    relay = _Relay(events, lambda f: store.set_progress(job_id, f))
    error: str | None = None
    try:
        async with keep_lease(kind, job_id, opts, cancel.cancel):
            if cancel.cancelled:
                raise Cancelled()
            fields = await work(relay)
    except Cancelled:
        await relay.close()
        if cancel.reason is None:
            if await store.mark_cancelled(job_id, lease):
                await events.emit("cancelled", RunStatus.CANCELLED.value, 0.0)
            return
        error = cancel.reason
    except (DomainError, RunnerError) as err:
        if opts.retry_transient and is_transient(err):
            await _release(kind, job_id, opts, relay, events, err)
        error = str(err)
    except asyncio.CancelledError:
        await relay.close()
        if await store.mark_failed(job_id, INTERRUPTED, lease):
            await events.emit("error", RunStatus.FAILED.value, 0.0, error=INTERRUPTED)
        raise
    except Exception as err:
        if opts.retry_transient and is_transient(err):
            await _release(kind, job_id, opts, relay, events, err)
        log.exception("%s %s failed", kind, job_id)
        error = INTERNAL_ERROR
    else:
        await relay.close()
        if fields is not None:
            await events.emit("done", RunStatus.SUCCEEDED.value, 1.0, **fields)
        return
    await relay.close()
    if await store.mark_failed(job_id, error, lease):
        await events.emit("error", RunStatus.FAILED.value, 0.0, error=error)


async def _release(kind: str, job_id: int, opts: JobOptions, relay: _Relay, events: JobEvents,
                   err: BaseException) -> None:
    """Give a job that hit a transient error back to the queue, then raise
    :class:`TransientJobError` (its caller retries it)."""
    await relay.close()
    message = f"{type(err).__name__}: {err}"
    log.warning("%s %s: transient error, to be retried: %s", kind, job_id, message)
    with contextlib.suppress(Exception):  # the database may be what is down
        assert opts.lease is not None
        if await store_leases.release(kind, job_id, opts.lease):
            await events.emit("status", RunStatus.QUEUED.value, 0.0,
                              retrying=f"a transient error ({message}); it will be retried")
    raise TransientJobError(message) from err


CandleReader = Callable[[str, str, str, int, int], Awaitable[Candles]]


async def load_candles(exchange: str, symbol: str, timeframe: str, start_ms: int,
                       end_ms: int, cache: Cache | None = None) -> Candles:
    """The stored candles of a run's range (through ``cache`` when given: ``tasks.cache.candles``);
    ``DataError`` saying how to get them if none."""
    if cache is not None:
        candles = await read_candles_cached(cache, exchange, symbol, timeframe, start_ms, end_ms)
    else:
        candles = await read_candles(exchange, symbol, timeframe, start_ms, end_ms)
    if len(candles) == 0:
        raise DataError(f"no {exchange} {symbol} {timeframe} candles are stored in that range: "
                        "sync them first (syncMarketData, or `backtest data sync`)")
    return candles


def summary_payload(final_equity: float, metrics: dict[str, float]) -> dict[str, Any]:
    """A summary as JSON: ``final_equity`` and every metric (None where not finite)."""
    return {"final_equity": json_number(final_equity),
            **{k: json_number(v) for k, v in metrics.items()}}


async def run_backtest_job(backtest_id: int, broadcaster: Broadcaster, *,
                           runner: Runner = run_in_thread, cancel: CancelToken | None = None,
                           options: JobOptions | None = None,
                           read: CandleReader | None = None) -> None:
    """Run the queued backtest ``backtest_id`` to its end (see the module docstring)."""
    opts = (options or JobOptions()).with_lease()
    if not await claim("backtest", backtest_id, opts):
        return
    record = await store_backtests.get_backtest(backtest_id)
    if record is None:
        return
    token = cancel or CancelToken()
    read_candles_for = read or load_candles

    async def work(relay: _Relay) -> dict[str, Any] | None:
        rec: BacktestRecord = record
        candles = await read_candles_for(rec.exchange, rec.symbol, rec.timeframe, rec.start_ms,
                                         rec.end_ms)
        if token.cancelled:
            raise Cancelled()
        task = BacktestTask(rec.strategy_snapshot, rec.parameters, candles, rec.risk_free_rate)
        out = await runner(compute_backtest, task, relay.push, token)
        await relay.close()
        saved = await results_store.save_results(backtest_id, Results(
            out.trades, out.times, out.equity, out.metrics, out.final_equity,
            out.data_fingerprint, ENGINE_VERSION), lease=opts.lease)
        if not saved:
            return None
        return {"summary": summary_payload(out.final_equity, out.metrics),
                "equity": series_payload(out.times, out.equity)}

    await run_life_cycle("backtest", backtest_id, broadcaster, token, opts, work)


async def run_sweep_job(sweep_id: int, broadcaster: Broadcaster, *,
                        runner: Runner = run_in_thread, cancel: CancelToken | None = None,
                        options: JobOptions | None = None,
                        read: CandleReader | None = None) -> None:
    """Run the queued sweep ``sweep_id`` to its end, in one piece (see the module docstring;
    Celery workers split it in chunks instead: ``tasks.jobs.sweep_chunks``)."""
    opts = (options or JobOptions()).with_lease()
    if not await claim("sweep", sweep_id, opts):
        return
    record = await store_sweeps.get_sweep(sweep_id)
    if record is None:
        return
    token = cancel or CancelToken()
    read_candles_for = read or load_candles

    async def work(relay: _Relay) -> dict[str, Any] | None:
        rec: SweepRecord = record
        candles = await read_candles_for(rec.exchange, rec.symbol, rec.timeframe, rec.start_ms,
                                         rec.end_ms)
        if token.cancelled:
            raise Cancelled()
        grid = {str(k): [float(x) for x in v] for k, v in rec.grid.items()}
        task = SweepTask(rec.strategy_snapshot, grid, candles, rec.rank_by)
        out = await runner(compute_sweep, task, relay.push, token)
        await relay.close()
        if not await store_sweeps.save_table(sweep_id, out.rows, lease=opts.lease):
            return None
        return {"n_sets": out.n_sets, "top": out.rows[:EVENT_TOP_ROWS]}

    await run_life_cycle("sweep", sweep_id, broadcaster, token, opts, work)
