"""A job's lease while it runs: options, heartbeats, the cancel flag, the time limit.

A job body claims its row (:func:`claim`, ``store.leases``) under :attr:`JobOptions.lease`,
then runs inside :func:`keep_lease`, which records a heartbeat every ``heartbeat_s`` seconds,
polls the cancel flag (``cancel_requested``; Celery workers read it from Redis) every
:data:`CANCEL_POLL_S` seconds and enforces the time limit, stopping the run through a callback
(the engine stops at its next chunk). A lost lease (another attempt took over) stops it with
:data:`LEASE_LOST`, and it then writes nothing: its writes are fenced by the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from store import leases as store_leases
from store.settings import Settings

log = logging.getLogger("tasks.jobs.lifecycle")

LEASE_LOST = "stopped: another worker took this run over (this one had stopped responding)"
CANCEL_POLL_S = 0.2


@dataclass(frozen=True)
class JobOptions:
    """How a job body runs, beyond what to run (``from_settings`` reads the ``JOB_*`` settings).

    ``lease``: this attempt's token (``store.leases``; default a new one). ``retry_transient``:
    on a transient error (database or exchange unreachable) put the row back to ``queued`` and
    raise :class:`TransientJobError` for the caller to retry later, instead of failing it (the
    Celery tasks do; the in-process executor fails it). ``cancel_requested``: polled every
    :data:`CANCEL_POLL_S` seconds, True stops the run like a cancel (Celery: the flag that
    ``cancelBacktest`` sets in Redis). ``time_limit_s``: the run is stopped and failed with
    :func:`time_limit_message` after that long.
    """

    lease: str | None = None
    heartbeat_s: float = 10.0
    stale_after_s: float = 60.0
    time_limit_s: float | None = None
    retry_transient: bool = False
    cancel_requested: Callable[[], Awaitable[bool]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> JobOptions:
        values: dict[str, Any] = {"heartbeat_s": settings.job_heartbeat_s,
                                  "stale_after_s": settings.job_stale_after_s,
                                  "time_limit_s": settings.job_time_limit_s}
        values.update(overrides)
        return cls(**values)

    def with_lease(self) -> JobOptions:
        return self if self.lease else replace(self, lease=new_lease())


def new_lease() -> str:
    """A lease token: ``host:pid:random``, so a row says which process runs it."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def time_limit_message(seconds: float) -> str:
    return (f"stopped: the run took longer than the time limit of {seconds:g} s "
            "(JOB_TIME_LIMIT); shorten its range or raise the limit")


class TransientJobError(Exception):
    """A job hit a transient error and was put back to ``queued``: retry it later."""


@contextlib.asynccontextmanager
async def keep_lease(kind: str, job_id: int, opts: JobOptions,
                     stop: Callable[[str | None], None],
                     beat: Callable[[], Awaitable[bool]] | None = None) -> AsyncIterator[None]:
    """While the body runs: record a heartbeat every ``opts.heartbeat_s`` (``beat``, default
    the lease's; False, a lost lease, calls ``stop(LEASE_LOST)``), poll
    ``opts.cancel_requested`` (True calls ``stop(None)``) and call ``stop(time_limit_message)``
    when the time limit passes."""
    if beat is None:
        lease = opts.lease
        assert lease is not None

        async def beat() -> bool:
            return await store_leases.heartbeat(kind, job_id, lease)

    loop = asyncio.get_running_loop()
    timer = None
    if opts.time_limit_s is not None:
        timer = loop.call_later(opts.time_limit_s, stop, time_limit_message(opts.time_limit_s))

    async def watch() -> None:
        next_beat = loop.time() + opts.heartbeat_s
        while True:
            await asyncio.sleep(CANCEL_POLL_S if opts.cancel_requested else opts.heartbeat_s)
            try:
                if opts.cancel_requested is not None and await opts.cancel_requested():
                    stop(None)
                if loop.time() >= next_beat:
                    next_beat = loop.time() + opts.heartbeat_s
                    if not await beat():
                        stop(LEASE_LOST)
                        return
            except Exception as err:  # a missed beat is not fatal: the next one may work
                log.warning("%s %s: heartbeat failed: %s", kind, job_id, err)

    task = asyncio.create_task(watch())
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def claim(kind: str, job_id: int, opts: JobOptions) -> bool:
    """Claim a queued (or abandoned) job under ``opts.lease``; False when it is not ours."""
    assert opts.lease is not None
    if await store_leases.claim(kind, job_id, opts.lease, opts.stale_after_s):
        return True
    log.info("%s %s is not queued (or runs elsewhere): not run", kind, job_id)
    return False
