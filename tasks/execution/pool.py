"""A process pool for the engine, with progress relayed to the event loop and cooperative
cancellation: the machinery under ``tasks.execution.executor.InProcessExecutor``.

- Workers are started with ``forkserver`` (``spawn`` where there is none), the server having
  imported the engine once (:data:`PRELOAD`), so a new worker costs a fork, not a numba import.
  They are started on demand, at most ``workers`` of them; :meth:`ComputePool.warm` starts them
  all and loads the kernels ahead of the first job.
- :meth:`ComputePool.run` runs ``fn(task, report, cancelled)`` (see ``tasks.execution.compute``) in a
  worker. ``report(payload)`` sends ``(run number, payload)`` down one pipe shared by the
  workers (sends are serialised by a lock, and dropped rather than blocking forever should a
  dead worker hold it); a thread of the parent reads the pipe and hands each payload to the
  run's ``on_progress`` with ``loop.call_soon_threadsafe``. Payloads of a finished run are
  dropped.
- ``cancelled()`` reads the run's byte in an array of shared memory, set by the run's
  :class:`~tasks.execution.compute.CancelToken`: the engine checks it between chunks.
- Outcomes cross the process boundary as plain tuples (exceptions with custom constructors do
  not unpickle): ``domain.errors.Cancelled`` comes back as itself, another ``DomainError`` as
  :class:`ComputeFailed` with its message, anything else as :class:`ComputeCrashed` with the
  worker's traceback; a worker that dies (killed, out of memory) fails its run with
  :class:`WorkerDied` and the pool is rebuilt for the next runs.
- The processes never outlive this one (``tasks.execution.lifeline``): each worker follows a
  lifeline pipe whose write end only this process holds (closed by :meth:`ComputePool.close`,
  or by the kernel when this process is killed), and the forkserver exits when its parent does.
- :meth:`ComputePool.close` flags every run to stop, waits :data:`SHUTDOWN_TIMEOUT_S` for the
  workers, then terminates (and, after :data:`KILL_AFTER_S` more, kills) those still busy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import itertools
import logging
import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain.errors import Cancelled, DomainError
from tasks.execution.compute import CancelToken, RunnerError, warm_up
from tasks.execution.lifeline import follow_lifeline

log = logging.getLogger("tasks.execution.pool")

T = TypeVar("T")
R = TypeVar("R")

PRELOAD = ["tasks.execution.lifeline", "tasks.execution.compute"]
MAX_RUNS = 1024  # runs in flight at once (one cancel byte each)
SEND_TIMEOUT_S = 2.0
SHUTDOWN_TIMEOUT_S = 1.5
KILL_AFTER_S = 1.0


class ComputeFailed(DomainError):
    """An expected failure of the engine in a worker (bad data, invalid strategy...)."""


class ComputeCrashed(Exception):
    """An unexpected error in a worker; the message is the worker's traceback."""


class WorkerDied(RunnerError):
    """The worker process running a job died before returning."""


# -- in the worker ---------------------------------------------------------------------------

_writer: Any = None
_send_lock: Any = None
_flags: Any = None


def _child_init(writer: Any, send_lock: Any, flags: Any, lifeline: Any = None,
                parent_pid: int | None = None) -> None:
    global _writer, _send_lock, _flags
    _writer, _send_lock, _flags = writer, send_lock, flags
    if lifeline is not None:
        follow_lifeline(lifeline, parent_pid)


def _child_run(fn: Callable[..., Any], slot: int, run_no: int, task: Any) -> tuple[str, Any]:
    def report(payload: dict[str, Any]) -> None:
        if _send_lock.acquire(timeout=SEND_TIMEOUT_S):
            try:
                _writer.send((run_no, payload))
            finally:
                _send_lock.release()

    def cancelled() -> bool:
        return bool(_flags[slot])

    try:
        return "ok", fn(task, report, cancelled)
    except Cancelled:
        return "cancelled", None
    except DomainError as err:
        return "failed", str(err)
    except Exception:
        return "crashed", traceback.format_exc()


# -- in the parent ---------------------------------------------------------------------------

@dataclass
class _Machinery:
    """One generation of the pool: processes, progress pipe, cancel flags, reader thread."""

    executor: concurrent.futures.ProcessPoolExecutor
    reader: Any
    writer: Any
    flags: Any
    lifeline: Any = None  # the write end of the workers' lifeline (only this process has it)
    follow: Any = None  # its read end, handed to each new worker
    closing: bool = False  # close() is stopping it: a worker it terminates ends its run
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class ComputePool:
    """At most ``workers`` engine processes; see the module docstring."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._m: _Machinery | None = None
        self._lock = threading.Lock()
        self._listeners: dict[int, tuple[asyncio.AbstractEventLoop, Callable[[Any], None]]] = {}
        self._free_slots = list(range(MAX_RUNS - 1, -1, -1))
        self._counter = itertools.count(1)

    def start(self) -> None:
        """Create the pool (its processes start with the first runs); idempotent."""
        with self._lock:
            if self._m is None:
                self._m = self._build()

    def _build(self) -> _Machinery:
        ctx = _context()
        reader, writer = ctx.Pipe(duplex=False)
        follow, lifeline = ctx.Pipe(duplex=False)
        flags = ctx.RawArray(ctypes.c_ubyte, MAX_RUNS)
        parent = os.getpid() if ctx.get_start_method() == "spawn" else None  # else: forkserver
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=ctx, initializer=_child_init,
            initargs=(writer, ctx.Lock(), flags, follow, parent))
        m = _Machinery(executor, reader, writer, flags, lifeline, follow)
        m.thread = threading.Thread(target=self._drain, args=(m,), name="compute-progress",
                                    daemon=True)
        m.thread.start()
        return m

    def _drain(self, m: _Machinery) -> None:
        while not m.stop.is_set():
            try:
                if not m.reader.poll(0.05):
                    continue
                run_no, payload = m.reader.recv()
            except (EOFError, OSError):
                return
            with self._lock:
                target = self._listeners.get(run_no)
            if target is not None:
                loop, callback = target
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(callback, payload)

    async def run(self, fn: Callable[[T, Any, Any], R], task: T,
                  on_progress: Callable[[Any], None], cancel: CancelToken) -> R:
        """``fn(task, report, cancelled)`` in a worker; see the module docstring."""
        self.start()
        m = self._m
        assert m is not None
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._free_slots:
                raise RuntimeError(f"more than {MAX_RUNS} runs in flight")
            slot = self._free_slots.pop()
            run_no = next(self._counter)
            self._listeners[run_no] = (loop, on_progress)
        m.flags[slot] = 0

        def flag() -> None:
            m.flags[slot] = 1

        unregister = cancel.on_cancel(flag)
        try:
            future = m.executor.submit(_child_run, fn, slot, run_no, task)
        except BaseException:
            self._release(slot, run_no)
            unregister()
            raise
        # the slot is freed when the worker is done with it, not when we stop waiting
        future.add_done_callback(lambda _: self._release(slot, None))
        try:
            outcome, value = await asyncio.wrap_future(future)
        except BrokenProcessPool as err:
            if m.closing:  # close() terminated a worker that did not stop in time
                raise Cancelled() from err
            self._rebuild(m)
            raise WorkerDied("the worker process running the job died (killed, or out of "
                             "memory?)") from err
        except asyncio.CancelledError:
            flag()
            raise
        finally:
            unregister()
            with self._lock:
                self._listeners.pop(run_no, None)
        if outcome == "ok":
            return value  # type: ignore[no-any-return]
        if outcome == "cancelled":
            raise Cancelled()
        if outcome == "failed":
            raise ComputeFailed(value)
        raise ComputeCrashed(value)

    def _release(self, slot: int, run_no: int | None) -> None:
        with self._lock:
            self._free_slots.append(slot)
            if run_no is not None:
                self._listeners.pop(run_no, None)

    def _rebuild(self, broken: _Machinery) -> None:
        with self._lock:
            if self._m is not broken:
                return
            self._m = self._build()
        log.error("a compute worker died: the process pool was rebuilt")
        self._dispose(broken, wait=False)

    async def warm(self) -> list[int]:
        """Start every worker and load the engine's kernels in it; the workers' pids."""
        self.start()
        assert self._m is not None
        futures = [self._m.executor.submit(warm_up) for _ in range(self.workers)]
        return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))

    def _dispose(self, m: _Machinery, *, wait: bool) -> None:
        m.closing = wait
        for i in range(MAX_RUNS):
            m.flags[i] = 1  # running jobs stop at their next chunk
        done = threading.Event()

        def shut() -> None:
            m.executor.shutdown(wait=wait, cancel_futures=True)
            done.set()

        processes = list(getattr(m.executor, "_processes", {}).values())
        closer = threading.Thread(target=shut, daemon=True)
        closer.start()
        if wait and not done.wait(SHUTDOWN_TIMEOUT_S):
            log.warning("compute workers still busy after %.1f s: terminating them",
                        SHUTDOWN_TIMEOUT_S)
            for process in processes:
                with contextlib.suppress(Exception):
                    process.terminate()
            if not done.wait(KILL_AFTER_S):
                for process in processes:
                    with contextlib.suppress(Exception):
                        process.kill()
                closer.join(KILL_AFTER_S)
        if m.lifeline is not None:  # workers still there (not waited for) follow it out
            m.lifeline.close()
            m.follow.close()
        m.stop.set()
        if m.thread is not None:
            m.thread.join()
        m.reader.close()
        m.writer.close()

    async def close(self) -> None:
        """Stop running work (cooperatively), drop queued work, join the workers."""
        with self._lock:
            m, self._m = self._m, None
        if m is not None:
            await asyncio.to_thread(self._dispose, m, wait=True)
