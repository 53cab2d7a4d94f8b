"""The life cycle every job shares: claim -> run the kind's body -> record how it ended.

:func:`run_job` takes the kind's name and the id of a ``queued`` row, and needs the database
initialised. It claims the row under a lease (``tasks.jobs.lease``: heartbeats, the cancel
flag, the time limit) and runs the kind's body (``tasks.jobs.registry.JobKind.body``) with a
:class:`JobRun`: the row's id, the lease, the :class:`~tasks.execution.compute.CancelToken`,
the ``runner`` that computes (``tasks.execution.compute`` describes the contract: the
in-process executor passes its process pool's ``run``; the default, ``run_in_thread``, is what
the Celery tasks use) and the progress reporting. The body's final writes are fenced by the
lease, and end the row ``succeeded``.

Events on ``channel(kind, id)`` (``tasks.messaging.events``): ``status`` running; ``progress``
as the body goes through its stages (``loading``, ``computing``, ``saving``): ``stage``, the
overall ``progress`` (0..1, weighted by the kind's stages, never going back), ``eta``
(seconds left, or None) and what the body adds (a backtest's partial ``equity``...), at least
every 0.5 s or every 2 % (``domain.progress.ProgressTracker``), coalesced when the channel is
slower than the body; then one terminal event: ``done`` (with the body's fields), ``error``
(``error``: a message for a person) or ``cancelled``. The row's progress and stage are written
with a published event at most once per ``tasks.jobs.progress.DB_PROGRESS_INTERVAL_S``, the claim having
written the first (``loading``, 0): a run that ends within it writes its row only when it is
claimed and when it ends (events carry everything live; the row is for late readers).

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
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from domain.candles import Candles
from domain.errors import Cancelled, DataError, DomainError
from domain.jobs import RunStatus, Stage
from store import jobs as store_jobs
from store import leases as store_leases
from store.candles import read_candles
from store.scope import ALL_OWNERS
from store.settings import Settings
from tasks import request_ids
from tasks.cache.candles import Cache, read_candles_cached, read_range_cached
from tasks.execution.compute import (
    CancelCheck,
    CancelToken,
    Report,
    Runner,
    RunnerError,
    json_number,
    run_in_thread,
)
from tasks.execution.shipping import share
from tasks.jobs.lease import JobOptions, TransientJobError, claim, keep_lease
from tasks.jobs.loading import read_in_parts
from tasks.jobs.progress import DB_PROGRESS_INTERVAL_S as DB_PROGRESS_INTERVAL_S
from tasks.jobs.progress import JobProgress
from tasks.jobs.registry import JobKind, job_kind
from tasks.jobs.transient import is_transient
from tasks.messaging.broadcast import Broadcaster
from tasks.messaging.events import JobEvents

log = logging.getLogger("tasks.jobs")

INTERNAL_ERROR = "the run failed on the server side (the error is logged); try again later"
INTERRUPTED = "interrupted: the server stopped before the run finished; run it again"
HAND_BACK = "the server is stopping: back to the queue, for the next server to run"
"""A cancel reason (``CancelToken.cancel(HAND_BACK)``): the run stops and its row goes back to
``queued`` (its lease dropped) instead of ending, so that recovery runs it again."""

T = TypeVar("T")
R = TypeVar("R")


class MarketRange(Protocol):
    """What a job runs on: one market's candles over ``[start_ms, end_ms)``."""

    @property
    def exchange(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def timeframe(self) -> str: ...
    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...

CandleReader = Callable[[str, str, str, int, int], Awaitable[Candles]]


def job_events(broadcaster: Broadcaster, kind: str, job_id: int,
               owner_id: int | None = None) -> JobEvents:
    """A publisher for a job's channel (the broadcaster numbers the events), and for its
    owner's feed when ``owner_id`` is given."""
    return JobEvents(broadcaster, kind, job_id, owner_id)


async def load_candles(exchange: str, symbol: str, timeframe: str, start_ms: int,
                       end_ms: int, cache: Cache | None = None) -> Candles:
    """The stored candles of a part of a run's range (through ``cache`` when given:
    ``tasks.cache``; not through this process's memory, which keeps whole ranges:
    :meth:`JobRun.load_candles`); ``DataError`` saying how to get them if none."""
    if cache is not None:
        candles = await read_candles_cached(cache, exchange, symbol, timeframe, start_ms, end_ms,
                                            memory=False)
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


@dataclass
class JobRun:
    """What a kind's body gets (``tasks.jobs.registry.JobKind.body``).

    ``sticky``: fields the body wants in every later event, terminal ones included (a sync's
    ``stored``); ``columns``: kind-specific columns written to the row with its progress and
    when it ends (a sync's ``stored``). ``cache``: with it, a run's whole range is kept in
    this process's memory (``tasks.cache.read_range_cached``).
    """

    kind: JobKind
    job_id: int
    owner_id: int
    lease: str
    token: CancelToken
    runner: Runner
    read: CandleReader
    broadcaster: Broadcaster
    settings: Settings | None = None
    cache: Cache | None = None
    sticky: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)
    _progress: JobProgress | None = None

    def stage(self, stage: Stage) -> None:
        """The body moves on to ``stage`` (published at once)."""
        self.check()
        if self._progress is not None:
            self._progress.enter(stage)

    def report(self, stage_fraction: float, **extras: Any) -> None:
        """How far the current stage got (0..1), with fields for the event (the newest
        value of each is sent with the next published snapshot)."""
        if self._progress is not None:
            self._progress.update(stage_fraction, extras)

    def on_compute(self, payload: dict[str, Any]) -> None:
        """A runner's progress callback: ``payload["progress"]`` is the compute stage's
        fraction, the rest goes into the event."""
        extras = dict(payload)
        fraction = float(extras.pop("progress", 0.0))
        extras.pop("at", None)
        self.report(fraction, **extras)

    async def load_candles(self, market: MarketRange) -> Candles:
        """The ``loading`` stage of a job that runs on one market's candles: they are read in
        parts (``tasks.jobs.loading``), each reported as progress."""
        self.stage(Stage.LOADING)

        async def in_parts() -> Candles:
            return await read_in_parts(self.read, market.exchange, market.symbol,
                                       market.timeframe, market.start_ms, market.end_ms,
                                       self.report)

        async def in_shared_memory() -> Candles:  # kept: the engine's processes map them
            return share(await in_parts())

        if self.cache is None:
            return await in_parts()
        return await read_range_cached(self.cache, market.exchange, market.symbol,
                                       market.timeframe, market.start_ms, market.end_ms,
                                       in_shared_memory)

    async def compute(self, fn: Callable[[T, Report, CancelCheck], R], task: T) -> R:
        """The ``computing`` stage: ``fn(task)`` through the runner (a process pool, a
        thread), its progress reported, stopped by a cancel."""
        self.stage(Stage.COMPUTING)
        return await self.runner(fn, task, self.on_compute, self.token)

    def check(self) -> None:
        """``Cancelled`` when the run was asked to stop."""
        if self.token.cancelled:
            raise Cancelled()

    async def interruptible(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` (network I/O...), stopping it when the run is asked to stop
        (then ``Cancelled``)."""
        task = asyncio.ensure_future(awaitable)
        def stop() -> None:
            task.cancel()

        unregister = self.token.on_cancel(stop)
        try:
            return await task
        except asyncio.CancelledError:
            if self.token.cancelled and not _cancelling():
                raise Cancelled() from None
            raise
        finally:
            unregister()

    async def flush(self) -> None:
        """Publish the pending progress now (before a terminal event)."""
        if self._progress is not None:
            await self._progress.close()

    @property
    def fraction(self) -> float | None:
        """The overall fraction done so far (None before the life cycle started)."""
        return None if self._progress is None else self._progress.tracker.current.fraction


def _cancelling() -> bool:
    """Whether the current task itself is being cancelled (the server stopping)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def finish_job(kind_name: str, job_id: int, broadcaster: Broadcaster,
                     reason: str | None = None, lease: str | None = None,
                     sticky: dict[str, Any] | None = None,
                     columns: dict[str, Any] | None = None,
                     progress: float | None = None) -> bool:
    """End an active job that is not executing here (queued, or orphaned) or whose body
    stopped: ``cancelled``, or ``failed`` with ``reason``; publish the terminal event. Its
    progress stays where it got to (``progress``: the last one published, else the row's).
    False when it had ended already (or, with ``lease``, when that attempt no longer holds
    it)."""
    kind = job_kind(kind_name)
    state = await store_jobs.get_state(kind.name, job_id, owner=ALL_OWNERS)
    if state is None or state.is_terminal:
        return False
    events = job_events(broadcaster, kind.name, job_id, state.owner_id)
    if progress is None:  # the row's, or further: the last event (parts publish, rows lag)
        latest = await broadcaster.latest(events.channel)
        published = 0.0 if latest is None else float(latest.get("progress") or 0.0)
        progress = max(state.progress, published)
    fraction = progress
    extra = sticky or {}
    status, event = ((RunStatus.CANCELLED, "cancelled") if reason is None
                     else (RunStatus.FAILED, "error"))
    error = kind.cancelled_error if reason is None else reason
    if not await store_jobs.finish(kind.name, job_id, status, error=error, lease=lease,
                                   progress=fraction, **(columns or {})):
        return False
    fields = {"error": error} if error else {}
    await events.emit(event, status.value, fraction, stage=Stage.DONE.value, eta=None,
                      **fields, **extra)
    return True


async def run_job(kind_name: str, job_id: int, broadcaster: Broadcaster, *,
                  runner: Runner = run_in_thread, cancel: CancelToken | None = None,
                  options: JobOptions | None = None, read: CandleReader | None = None,
                  settings: Settings | None = None, cache: Cache | None = None) -> None:
    """Run the queued job ``kind_name``/``job_id`` to its end (see the module docstring);
    ``cache``: :attr:`JobRun.cache`."""
    kind = job_kind(kind_name)
    opts = (options or JobOptions()).with_lease()
    if not await claim(kind.name, job_id, opts):
        return
    assert opts.lease is not None
    state = await store_jobs.get_state(kind.name, job_id, owner=ALL_OWNERS)
    if state is None:
        return
    token = cancel or CancelToken()
    run = JobRun(kind, job_id, state.owner_id, opts.lease, token, runner, read or load_candles,
                 broadcaster, settings, cache)
    request_id = request_ids.job_request_id(kind.name, job_id) or request_ids.current_request_id()
    reset = request_ids.REQUEST_ID.set(request_id)  # the job's log lines carry it
    try:
        log.info("%s %s running (request %s)", kind.name, job_id, request_id or "-")
        await _life_cycle(run, opts)
    finally:
        request_ids.REQUEST_ID.reset(reset)


async def _life_cycle(run: JobRun, opts: JobOptions) -> None:
    kind, job_id, token = run.kind, run.job_id, run.token
    events = job_events(run.broadcaster, kind.name, job_id, run.owner_id)
    await events.emit("status", RunStatus.RUNNING.value, 0.0, stage=Stage.LOADING.value,
                      eta=None, **run.sticky)
    run._progress = JobProgress(kind, job_id, events, run.sticky, run.columns)
    error: str | None = None
    try:
        async with keep_lease(kind.name, job_id, opts, token.cancel):
            run.check()
            fields = await kind.body(run)
    except Cancelled:
        await run.flush()
        if token.reason == HAND_BACK and await _hand_back(run, opts, events):
            return
        await finish_job(kind.name, job_id, run.broadcaster, token.reason, opts.lease,
                         run.sticky, run.columns, run.fraction)
        return
    except (DomainError, RunnerError) as err:
        if opts.retry_transient and is_transient(err):
            await _release(run, opts, events, err)
        error = str(err)
    except asyncio.CancelledError:
        await run.flush()
        if not (token.reason == HAND_BACK and await _hand_back(run, opts, events)):
            await finish_job(kind.name, job_id, run.broadcaster, INTERRUPTED, opts.lease,
                             run.sticky, run.columns, run.fraction)
        raise
    except Exception as err:
        if opts.retry_transient and is_transient(err):
            await _release(run, opts, events, err)
        log.exception("%s %s failed", kind.name, job_id)
        error = INTERNAL_ERROR
    else:
        await run.flush()
        if fields is not None:
            await events.emit("done", RunStatus.SUCCEEDED.value, 1.0, stage=Stage.DONE.value,
                              eta=0.0, **fields, **run.sticky)
        return
    await run.flush()
    await finish_job(kind.name, job_id, run.broadcaster, error, opts.lease, run.sticky,
                     run.columns, run.fraction)


async def _hand_back(run: JobRun, opts: JobOptions, events: JobEvents) -> bool:
    """Put a job the stopping server interrupted back to ``queued`` (``store.leases.release``)
    and say so on its channel; False when that failed (the caller then fails it)."""
    try:
        assert opts.lease is not None
        if not await store_leases.release(run.kind.name, run.job_id, opts.lease):
            return False
        await events.emit("status", RunStatus.QUEUED.value, 0.0, stage=Stage.QUEUED.value,
                          retrying="the server stopped before the run finished: it runs again "
                                   "when a server starts")
    except Exception as err:  # the database may be what is going away
        log.warning("%s %s: could not hand it back to the queue: %s", run.kind.name,
                    run.job_id, err)
        return False
    log.info("%s %s: handed back to the queue (the server is stopping)", run.kind.name,
             run.job_id)
    return True


async def _release(run: JobRun, opts: JobOptions, events: JobEvents, err: BaseException) -> None:
    """Give a job that hit a transient error back to the queue, then raise
    :class:`TransientJobError` (its caller retries it)."""
    await run.flush()
    message = f"{type(err).__name__}: {err}"
    log.warning("%s %s: transient error, to be retried: %s", run.kind.name, run.job_id, message)
    with contextlib.suppress(Exception):  # the database may be what is down
        assert opts.lease is not None
        if await store_leases.release(run.kind.name, run.job_id, opts.lease):
            await events.emit("status", RunStatus.QUEUED.value, 0.0, stage=Stage.QUEUED.value,
                              retrying=f"a transient error ({message}); it will be retried")
    raise TransientJobError(message) from err
