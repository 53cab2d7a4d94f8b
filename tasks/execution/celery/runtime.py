"""What a Celery worker process keeps between tasks: an event loop, the database, Redis.

Celery runs task functions synchronously, one at a time per worker process (prefork's children,
or the worker itself with ``--pool solo``). The job bodies are coroutines, so each process keeps
one event loop and runs them on it (:meth:`Runtime.run`). The database connection, the progress
broadcaster, the cache and a Redis client (for the cancel flags) are opened on first use in the
process that uses them, never inherited across a fork; ``close_runtime`` closes them when the
process ends.

Cancel flags: ``cancelBacktest`` on a run that a worker runs sets ``backtest:cancel:<kind>:<id>``
in Redis (:func:`request_cancel`); the job polls it (``tasks.jobs.lifecycle.JobOptions.cancel_requested``)
and stops at the engine's next chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis

from store.db import close_db, init_db
from store.settings import Settings, get_settings
from tasks.cache.candles import Cache, cache_from_settings
from tasks.messaging.broadcast import Broadcaster, make_broadcaster

log = logging.getLogger("tasks.worker")
T = TypeVar("T")

CANCEL_FLAG_TTL_S = 24 * 3600
TASKS_IN_MAIN_PROCESS = False
"""True when the worker runs tasks in its own process (``--pool solo``): it then opens the
runtime and loads the engine when ready, as prefork children do when they start."""
_CANCEL_PREFIX = "backtest:cancel:"


def cancel_key(kind: str, job_id: int) -> str:
    return f"{_CANCEL_PREFIX}{kind}:{job_id}"


async def request_cancel(client: aioredis.Redis, kind: str, job_id: int) -> None:
    """Raise the cancel flag of a job (its worker stops it at the next chunk)."""
    await client.set(cancel_key(kind, job_id), b"1", ex=CANCEL_FLAG_TTL_S)


@dataclass
class Runtime:
    pid: int
    settings: Settings
    loop: asyncio.AbstractEventLoop
    broadcaster: Broadcaster
    cache: Cache
    redis: aioredis.Redis

    def run(self, coro: Awaitable[T]) -> T:
        """Run ``coro`` to its end on this process's loop."""
        return self.loop.run_until_complete(coro)

    async def cancel_requested(self, kind: str, job_id: int) -> bool:
        try:
            return bool(await self.redis.exists(cancel_key(kind, job_id)))
        except Exception as err:  # Redis away: no cancel can be read; the run goes on
            log.debug("cannot read the cancel flag of %s %s: %s", kind, job_id, err)
            return False

    def cancel_pending(self) -> None:
        """Cancel every task left on the loop (after Celery's soft time limit interrupted
        it) and let them finish."""
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


_runtime: Runtime | None = None


def runtime(settings: Settings | None = None) -> Runtime:
    """This process's runtime, opened on first use (again after a fork)."""
    global _runtime
    if _runtime is not None and _runtime.pid == os.getpid():
        return _runtime
    chosen = settings or get_settings()
    if chosen.engine_threads:
        from tasks.execution import compute

        compute.ENGINE_THREADS = chosen.engine_threads
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(init_db(chosen, share_across_tasks=True))
    except BaseException:
        loop.close()
        raise
    _runtime = Runtime(os.getpid(), chosen, loop, make_broadcaster(chosen.redis_url),
                       cache_from_settings(chosen),
                       aioredis.Redis.from_url(chosen.redis_url or "redis://127.0.0.1:6379/0"))
    log.info("worker process %s ready (database %s)", _runtime.pid, chosen.safe_database_url)
    return _runtime


def close_runtime() -> None:
    """Close this process's connections (worker process shutdown)."""
    global _runtime
    rt, _runtime = _runtime, None
    if rt is None or rt.pid != os.getpid():
        return

    async def close() -> None:
        closers: list[Awaitable[Any]] = [rt.broadcaster.close(), rt.cache.close(),
                                         rt.redis.aclose(), close_db()]
        for closer in closers:
            with contextlib.suppress(Exception):
                await closer

    with contextlib.suppress(Exception):
        rt.run(close())
    rt.loop.close()
