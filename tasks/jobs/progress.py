"""A running job's progress events and row (``tasks.jobs.lifecycle`` describes them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from domain.jobs import RunStatus, Stage
from domain.progress import ProgressTracker, Snapshot
from store import jobs as store_jobs
from tasks.jobs.registry import JobKind
from tasks.messaging.events import JobEvents

log = logging.getLogger("tasks.jobs")

DB_PROGRESS_INTERVAL_S = 1.0
"""The row's progress and stage are written at most this often (the claim writes the first)."""
TICK_S = 0.1
MAX_QUIET_S = 0.4  # with TICK_S, a published event at least every 0.5 s


class JobProgress:
    """A running job's progress: the tracker decides when to publish (``domain.progress``),
    a pump publishes in order from one task, keeping only the newest snapshot when the
    channel falls behind, and records the fraction and stage in the row now and then."""

    def __init__(self, kind: JobKind, job_id: int, events: JobEvents,
                 sticky: dict[str, Any], columns: dict[str, Any]) -> None:
        self._kind = kind
        self._job_id = job_id
        self._events = events
        self._sticky = sticky
        self._columns = columns
        self.tracker = ProgressTracker(kind.stages, max_quiet_s=MAX_QUIET_S)
        self.tracker.start(time.monotonic())
        self._extras: dict[str, Any] = {}
        self._pending: Snapshot | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._recorded = time.monotonic()  # the claim wrote the row's stage and progress
        self._pump_task = asyncio.create_task(self._pump())
        self._tick_task = asyncio.create_task(self._tick())

    def enter(self, stage: Stage) -> None:
        self._extras = {}
        self._queue(self.tracker.enter(stage, time.monotonic()))

    def update(self, stage_fraction: float, extras: dict[str, Any]) -> None:
        self._extras.update(extras)
        snapshot = self.tracker.update(stage_fraction, time.monotonic())
        if snapshot is not None:
            self._queue(snapshot)

    def _queue(self, snapshot: Snapshot) -> None:
        if not self._closed:
            self._pending = snapshot
            self._wake.set()

    async def _tick(self) -> None:
        """Keep the stream alive through a long step that reports nothing (a read, a save):
        a snapshot with a fresh ETA every 0.5 s."""
        while not self._closed:
            await asyncio.sleep(TICK_S)
            snapshot = self.tracker.tick(time.monotonic())
            if snapshot is not None:
                self._queue(snapshot)

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            snapshot, self._pending = self._pending, None
            if snapshot is not None:
                await self._publish(snapshot)
            if self._closed and self._pending is None:
                return

    async def _publish(self, s: Snapshot) -> None:
        try:
            await self._events.emit("progress", RunStatus.RUNNING.value, s.fraction,
                                    stage=s.stage.value, eta=s.eta_s,
                                    **{**self._extras, **self._sticky})
            if time.monotonic() - self._recorded >= DB_PROGRESS_INTERVAL_S:
                self._recorded = time.monotonic()
                await store_jobs.set_progress(self._kind.name, self._job_id, s.fraction,
                                              s.stage, **self._columns)
        except Exception:  # progress is best effort; the outcome is what counts
            log.exception("could not publish the progress of %s", self._events.channel)

    async def close(self) -> None:
        """Publish what is pending, then stop."""
        if self._closed:
            return
        self._closed = True
        self._tick_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._tick_task
        self._wake.set()
        await self._pump_task
