"""Engine processes never outlive the API process that started them, even when it is killed
(SIGKILL, the OOM killer) and has no chance to stop them.

The pool's processes (``tasks.execution.pool``) are the forkserver, a child of the API process,
and the workers, children of the forkserver. Left alone they would stay forever once the API
process is killed: a worker waits on its job queue, whose write end it holds itself, and the
forkserver waits for its last worker. So:

- each worker runs :func:`follow_lifeline`: a thread that waits on the read end of a pipe
  whose only write end is held by the API process, and ends the worker when the pipe reports
  end-of-file (the API process died, or closed the pool); on Linux the worker also asks the
  kernel for SIGKILL when its parent, the forkserver, dies (``prctl(PR_SET_PDEATHSIG)``),
  which also stops a worker busy in a kernel that holds the GIL;
- the forkserver imports this module first (``ComputePool``'s preload): imported there, it
  starts :func:`exit_with_parent`, a thread that ends the process when its parent process
  changes (``os.getppid()``: the API process died and it was re-parented).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1
POLL_S = 0.2


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Linux: have the kernel send ``sig`` to this process when its parent thread ends (it is
    the thread that forked us: the forkserver's only one). False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def follow_lifeline(lifeline: Any, parent_pid: int | None = None) -> None:
    """In a worker: exit as soon as ``lifeline`` (a pipe's read end, a
    ``multiprocessing.connection.Connection``) reaches end-of-file; see the module doc.
    ``parent_pid``: the parent's pid at fork time, for the parent-death signal's race (a parent
    that died before it was set)."""
    if set_parent_death_signal() and parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)

    def wait() -> None:
        with contextlib.suppress(Exception):
            lifeline.poll(None)  # nothing is ever written: returns at end-of-file
        os._exit(1)

    threading.Thread(target=wait, name="lifeline", daemon=True).start()


def exit_with_parent(interval_s: float = POLL_S) -> None:
    """Exit this process (at once, no clean-up) when its parent process dies."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _in_forkserver() -> bool:
    """Whether this module is being imported by multiprocessing's forkserver (its preload)."""
    frame = sys._getframe(1)
    suffix = os.path.join("multiprocessing", "forkserver.py")
    while frame is not None:
        if frame.f_code.co_name == "main" and frame.f_code.co_filename.endswith(suffix):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


if _in_forkserver():
    exit_with_parent()
