"""Where jobs run: the :class:`Executor` interface and its in-process implementation.

The API creates the row of a job, publishes its ``queued`` event (``tasks.jobs.submit``), then
calls ``submit(kind, id)``; ``cancel(kind, id)`` asks a job to stop. Kinds are those of
``tasks.jobs.registry``. ``tasks.execution.celery.executor.CeleryExecutor`` implements the same
methods by sending the ids to Celery workers, whose tasks run the same life cycle
(``tasks.jobs.lifecycle.run_job``); :func:`make_executor` picks one from ``EXECUTOR``.

:class:`InProcessExecutor` (the default) runs each job body as an asyncio task of the API
process, at most ``settings.job_slots`` backtests and sweeps at once, the others waiting in
submission order. The body loads and saves on the event loop (asyncio database drivers) and
computes in a :class:`~tasks.execution.pool.ComputePool` of as many processes, so the loop never
blocks on the engine; progress comes back through the pool to the body, which publishes it.
Kinds that do not use a slot (``JobKind.uses_slot``: market syncs, network-bound) start at once.

Cancelling a queued job removes it and marks it cancelled at once; a running one gets its
:class:`~tasks.execution.compute.CancelToken` set (the engine stops at its next chunk, a sync at
its next page or request; the life cycle marks it cancelled). :meth:`InProcessExecutor.stop` leaves
the queued jobs queued when recovery is on (the next server runs them first), or else fails them
with the reason "interrupted" (``tasks.jobs.lifecycle.INTERRUPTED``: nothing would run them), and
hands the running ones back to the queue (``tasks.jobs.lifecycle.HAND_BACK``: the next server's recovery runs them
again), waits at most :data:`STOP_TIMEOUT_S` for their bodies to record that (a body stuck
longer is interrupted, and fails), then joins the pool's processes: ``backtest serve`` stops
within a few seconds.

With ``recover=True`` (``backtest serve``), :meth:`InProcessExecutor.start` first runs jobs
left queued by a previous server process and requeues those it left running
(``tasks.jobs.recovery``), then repeats the recovery every ``JOB_STALE_AFTER_S / 2`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from domain.candles import Candles
from store.settings import Settings
from tasks.cache.candles import cache_from_settings
from tasks.execution.compute import CancelToken
from tasks.execution.pool import ComputePool
from tasks.jobs.lease import JobOptions
from tasks.jobs.lifecycle import HAND_BACK, INTERRUPTED, finish_job, load_candles, run_job
from tasks.jobs.registry import job_kind
from tasks.messaging.broadcast import Broadcaster

log = logging.getLogger("tasks.execution.executor")

STOP_TIMEOUT_S = 2.0
"""How long :meth:`InProcessExecutor.stop` waits for the running bodies to hand their jobs back
(the engine stops at its next chunk, a few ms; a sync at its next request)."""


class Executor(Protocol):
    async def start(self) -> None:
        """Get ready to run jobs (called once, by the app's lifespan)."""

    async def stop(self) -> None:
        """Stop: no job may be left running; their rows must say how they ended."""

    async def submit(self, kind: str, job_id: int) -> None:
        """Run the queued job ``kind``/``job_id`` (a kind of ``tasks.jobs.registry``)."""

    async def cancel(self, kind: str, job_id: int) -> bool:
        """Stop job ``kind``/``job_id``: True when this executor knows it and has cancelled it
        (queued) or asked it to stop (running)."""


@dataclass
class _Job:
    kind: str
    job_id: int
    body: Callable[[CancelToken], Awaitable[None]]
    token: CancelToken = field(default_factory=CancelToken)
    task: asyncio.Task[None] | None = None


class InProcessExecutor:
    """Jobs in this process, the engine in a process pool (see the module docstring).

    ``pool`` shares an existing pool (tests, benchmarks); by default the executor makes its own
    of ``settings.job_slots`` processes and closes it on :meth:`stop`. ``warm=True`` starts
    the processes and loads the engine in them at :meth:`start`, in the background.
    """

    def __init__(self, settings: Settings, broadcaster: Broadcaster, *,
                 pool: ComputePool | None = None, warm: bool = False,
                 recover: bool = False) -> None:
        self.settings = settings
        self.slots = settings.job_slots
        self._recover = recover
        self._options = JobOptions.from_settings(settings)
        self.cache = cache_from_settings(settings)

        async def read(exchange: str, symbol: str, timeframe: str, start_ms: int,
                       end_ms: int) -> Candles:
            return await load_candles(exchange, symbol, timeframe, start_ms, end_ms, self.cache)

        self._read = read
        self.broadcaster = broadcaster
        self._own_pool = pool is None
        self.pool = pool or ComputePool(self.slots)
        self._warm = warm
        self._queued: deque[_Job] = deque()
        self._running: dict[tuple[str, int], _Job] = {}
        self._background: set[asyncio.Task[object]] = set()
        self._stopping = False

    async def start(self) -> None:
        self.pool.start()
        if self._warm:
            self._spawn(self.pool.warm())
        if self._recover:
            self._spawn(self._recover_forever())

    async def _recover_forever(self) -> None:
        from tasks.jobs.recovery import recover

        queued_after: float | None = 0.0  # at start: every queued job is an orphan's
        while not self._stopping:
            try:
                await recover(self.settings, self.broadcaster, self._dispatch,
                              queued_after_s=queued_after)
            except Exception as err:  # the database away: try again next time
                log.warning("recovering stuck jobs failed: %s", err)
            queued_after = None
            await asyncio.sleep(max(1.0, self.settings.job_stale_after_s / 2))

    async def _dispatch(self, kind: str, job_id: int) -> None:
        await self.submit(kind, job_id)

    def _spawn(self, coro: Awaitable[object]) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def queued(self) -> list[tuple[str, int]]:
        """``(kind, id)`` of the jobs waiting for a slot, next first."""
        return [(j.kind, j.job_id) for j in self._queued]

    @property
    def running(self) -> list[tuple[str, int]]:
        return list(self._running)

    async def submit(self, kind: str, job_id: int) -> None:
        spec = job_kind(kind)

        def body(token: CancelToken) -> Awaitable[None]:
            return run_job(spec.name, job_id, self.broadcaster, runner=self.pool.run,
                           cancel=token, options=self._options, read=self._read,
                           settings=self.settings, cache=self.cache)

        job = _Job(spec.name, job_id, body)
        if spec.uses_slot:
            self._enqueue(job)
        else:
            self._begin(job)

    def _enqueue(self, job: _Job) -> None:
        if self._stopping:
            raise RuntimeError("the executor is stopping")
        self._queued.append(job)
        self._pump()

    def _pump(self) -> None:
        while self._queued and self._slots_used() < self.slots and not self._stopping:
            self._begin(self._queued.popleft())

    def _slots_used(self) -> int:
        return sum(1 for j in self._running.values() if job_kind(j.kind).uses_slot)

    def _begin(self, job: _Job) -> None:
        if self._stopping:
            raise RuntimeError("the executor is stopping")
        self._running[(job.kind, job.job_id)] = job
        job.task = asyncio.create_task(self._execute(job))

    async def _execute(self, job: _Job) -> None:
        try:
            await job.body(job.token)
        except asyncio.CancelledError:
            raise
        except Exception:  # the body records failures itself; this is a bug in it
            log.exception("%s %s: the job body raised", job.kind, job.job_id)
        finally:
            self._running.pop((job.kind, job.job_id), None)
            self._pump()

    async def cancel(self, kind: str, job_id: int) -> bool:
        for job in self._queued:
            if (job.kind, job.job_id) == (kind, job_id):
                self._queued.remove(job)
                await finish_job(kind, job_id, self.broadcaster)
                return True
        running = self._running.get((kind, job_id))
        if running is None:
            return False
        running.token.cancel()
        return True

    async def stop(self) -> None:
        self._stopping = True
        queued, self._queued = list(self._queued), deque()
        if self._recover:  # their rows stay queued: the next server's recovery runs them
            log.info("stopping: %d queued job(s) left for the next server", len(queued))
        else:
            for job in queued:
                with contextlib.suppress(Exception):
                    await finish_job(job.kind, job.job_id, self.broadcaster, INTERRUPTED)
        for background in list(self._background):  # recovery's loop, the pool's warm-up
            background.cancel()
        tasks: list[asyncio.Task[object]] = []
        for job in list(self._running.values()):
            job.token.cancel(HAND_BACK)
            if job.task is not None:
                tasks.append(job.task)
        tasks.extend(self._background)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
            for task in late:  # a body stuck outside the engine: interrupt it
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.cache.close()
        if self._own_pool:
            await self.pool.close()


def make_executor(settings: Settings, broadcaster: Broadcaster, *, warm: bool = False,
                  recover: bool = False) -> Executor:
    """The executor ``EXECUTOR`` names: in-process (default) or Celery workers."""
    if settings.executor == "celery":
        from tasks.execution.celery.executor import CeleryExecutor

        return CeleryExecutor(settings, broadcaster)
    return InProcessExecutor(settings, broadcaster, warm=warm, recover=recover)
