"""The backtest and sweep jobs: load -> compute -> save -> publish, one function each.

:func:`run_backtest_job` and :func:`run_sweep_job` take the id of a ``queued`` row and a
broadcaster, and need the database initialised. Where the computation runs is the ``runner``'s
business (``tasks.compute`` describes the contract): the in-process executor passes its
process pool's ``run``; the default, ``tasks.compute.run_in_thread``, runs it in a thread of
the calling process, which is what a Celery task would use (the worker process being the unit
of parallelism there). A :class:`~tasks.compute.CancelToken` stops the engine at its next chunk.

Events on ``channel(kind, id)`` (``tasks.progress``): ``status`` running; ``progress`` as the
engine reports (backtests add ``equity``, the curve so far, downsampled; ``at`` is when the
engine reported), published in order and coalesced when the channel is slower than the engine;
then one terminal event: ``done`` (backtests: ``summary`` and the final ``equity``; sweeps:
``top``, the best rows, and ``n_sets``), ``error`` (``error``: a message for a person) or
``cancelled``. The row's ``progress`` is written at most once per :data:`DB_PROGRESS_INTERVAL_S`.

Outcomes: results saved -> ``succeeded``; ``Cancelled`` -> ``cancelled`` (or ``failed`` with the
token's reason, e.g. the server stopping); a ``DomainError`` or ``RunnerError`` -> ``failed``
with its message; anything else -> ``failed`` with :data:`INTERNAL_ERROR`, the traceback
logged. A row that is not ``queued`` any more (cancelled before it started) is left alone.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from domain.candles import Candles
from domain.errors import Cancelled, DataError, DomainError
from store import backtest_results as results_store
from store import backtests as store_backtests
from store import sweeps as store_sweeps
from store.backtest_results import Results
from store.backtests import BacktestRecord
from store.candles import read_candles
from store.models import RunStatus
from store.sweeps import SweepRecord
from tasks.broadcast import Broadcaster
from tasks.compute import (
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
from tasks.progress import JobEvents, channel

log = logging.getLogger("tasks.jobs")

DB_PROGRESS_INTERVAL_S = 1.0
INTERNAL_ERROR = "the run failed on the server side (the error is logged); try again later"
INTERRUPTED = "interrupted: the server stopped before the run finished; run it again"
EVENT_TOP_ROWS = 10

try:
    ENGINE_VERSION = importlib.metadata.version("backtest")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    ENGINE_VERSION = "dev"


async def job_events(broadcaster: Broadcaster, kind: str, job_id: int) -> JobEvents:
    """A publisher for a job's channel that continues the numbering of its latest event."""
    latest = await broadcaster.latest(channel(kind, job_id))
    return JobEvents(broadcaster, kind, job_id, start_seq=int((latest or {}).get("seq", 0)))


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
    async def mark_failed(self, job_id: int, error: str) -> bool: ...
    async def mark_cancelled(self, job_id: int) -> bool: ...
    async def set_progress(self, job_id: int, fraction: float) -> None: ...


_STORES: dict[str, Any] = {"backtest": store_backtests, "sweep": store_sweeps}


async def finish_cancelled(kind: str, job_id: int, broadcaster: Broadcaster,
                           reason: str | None = None) -> bool:
    """End an active run that is not executing (queued, or orphaned): ``cancelled``, or
    ``failed`` with ``reason``; publish the terminal event. False when it had ended already."""
    store: _Store = _STORES[kind]
    events = await job_events(broadcaster, kind, job_id)
    if reason is None:
        if await store.mark_cancelled(job_id):
            await events.emit("cancelled", RunStatus.CANCELLED.value, 0.0)
            return True
        return False
    if await store.mark_failed(job_id, reason):
        await events.emit("error", RunStatus.FAILED.value, 0.0, error=reason)
        return True
    return False


async def _run(kind: str, job_id: int, broadcaster: Broadcaster, cancel: CancelToken,
               work: Callable[[_Relay], Awaitable[dict[str, Any] | None]]) -> None:
    """The life cycle around ``work`` (which loads, computes and saves; it returns the fields
    of the ``done`` event, or None when the row was ended by someone else meanwhile)."""
    store: _Store = _STORES[kind]
    events = await job_events(broadcaster, kind, job_id)
    await events.emit("status", RunStatus.RUNNING.value, 0.0)
    relay = _Relay(events, lambda f: store.set_progress(job_id, f))
    error: str | None = None
    try:
        if cancel.cancelled:
            raise Cancelled()
        fields = await work(relay)
    except Cancelled:
        await relay.close()
        if cancel.reason is None:
            if await store.mark_cancelled(job_id):
                await events.emit("cancelled", RunStatus.CANCELLED.value, 0.0)
            return
        error = cancel.reason
    except (DomainError, RunnerError) as err:
        error = str(err)
    except asyncio.CancelledError:
        await relay.close()
        if await store.mark_failed(job_id, INTERRUPTED):
            await events.emit("error", RunStatus.FAILED.value, 0.0, error=INTERRUPTED)
        raise
    except Exception:
        log.exception("%s %s failed", kind, job_id)
        error = INTERNAL_ERROR
    else:
        await relay.close()
        if fields is not None:
            await events.emit("done", RunStatus.SUCCEEDED.value, 1.0, **fields)
        return
    await relay.close()
    if await store.mark_failed(job_id, error):
        await events.emit("error", RunStatus.FAILED.value, 0.0, error=error)


async def load_candles(exchange: str, symbol: str, timeframe: str, start_ms: int,
                       end_ms: int) -> Candles:
    """The stored candles of a run's range; ``DataError`` saying how to get them if none."""
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
                           runner: Runner = run_in_thread,
                           cancel: CancelToken | None = None) -> None:
    """Run the queued backtest ``backtest_id`` to its end (see the module docstring)."""
    record = await store_backtests.mark_running(backtest_id)
    if record is None:
        log.info("backtest %s is not queued: not run", backtest_id)
        return
    token = cancel or CancelToken()

    async def work(relay: _Relay) -> dict[str, Any] | None:
        rec: BacktestRecord = record
        candles = await load_candles(rec.exchange, rec.symbol, rec.timeframe, rec.start_ms,
                                     rec.end_ms)
        if token.cancelled:
            raise Cancelled()
        task = BacktestTask(rec.strategy_snapshot, rec.parameters, candles, rec.risk_free_rate)
        out = await runner(compute_backtest, task, relay.push, token)
        await relay.close()
        saved = await results_store.save_results(backtest_id, Results(
            out.trades, out.times, out.equity, out.metrics, out.final_equity,
            out.data_fingerprint, ENGINE_VERSION))
        if not saved:
            return None
        return {"summary": summary_payload(out.final_equity, out.metrics),
                "equity": series_payload(out.times, out.equity)}

    await _run("backtest", backtest_id, broadcaster, token, work)


async def run_sweep_job(sweep_id: int, broadcaster: Broadcaster, *,
                        runner: Runner = run_in_thread, cancel: CancelToken | None = None) -> None:
    """Run the queued sweep ``sweep_id`` to its end (see the module docstring)."""
    record = await store_sweeps.mark_running(sweep_id)
    if record is None:
        log.info("sweep %s is not queued: not run", sweep_id)
        return
    token = cancel or CancelToken()

    async def work(relay: _Relay) -> dict[str, Any] | None:
        rec: SweepRecord = record
        candles = await load_candles(rec.exchange, rec.symbol, rec.timeframe, rec.start_ms,
                                     rec.end_ms)
        if token.cancelled:
            raise Cancelled()
        grid = {str(k): [float(x) for x in v] for k, v in rec.grid.items()}
        task = SweepTask(rec.strategy_snapshot, grid, candles, rec.rank_by)
        out = await runner(compute_sweep, task, relay.push, token)
        await relay.close()
        if not await store_sweeps.save_table(sweep_id, out.rows):
            return None
        return {"n_sets": out.n_sets, "top": out.rows[:EVENT_TOP_ROWS]}

    await _run("sweep", sweep_id, broadcaster, token, work)


_TERMINAL_KIND = {RunStatus.SUCCEEDED: "done", RunStatus.FAILED: "error",
                  RunStatus.CANCELLED: "cancelled"}


def _state(status: RunStatus, progress: float, error: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {"seq": 0, "kind": _TERMINAL_KIND.get(status, "status"),
                             "status": status.value, "progress": progress, "at": time.time()}
    if error:
        event["error"] = error
    return event


async def stored_backtest_state(backtest_id: int) -> dict[str, Any] | None:
    """A backtest's state as an event (``seq`` 0) built from the database, for a late
    subscriber when the channel has no latest event (``tasks.progress.follow``)."""
    record = await store_backtests.get_backtest(backtest_id)
    if record is None:
        return None
    event = _state(record.status, record.progress, record.error)
    if record.status == RunStatus.SUCCEEDED:
        summary = (await results_store.summaries_for([backtest_id]))[0]
        curve = await results_store.equity_curve(backtest_id)
        if summary is not None:
            event["summary"] = summary_payload(summary.final_equity, summary.metrics)
        if curve is not None:
            event["equity"] = series_payload(*curve)
    return event


async def stored_sweep_state(sweep_id: int) -> dict[str, Any] | None:
    """Like :func:`stored_backtest_state`, for a sweep."""
    record = await store_sweeps.get_sweep(sweep_id)
    if record is None:
        return None
    event = _state(record.status, record.progress, record.error)
    if record.status == RunStatus.SUCCEEDED:
        table = await store_sweeps.sweep_table(sweep_id) or []
        event.update(n_sets=record.n_combinations, top=table[:EVENT_TOP_ROWS])
    return event
