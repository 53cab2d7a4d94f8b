"""Candles to another process: how a task's candles reach a worker of the pool
(``tasks.execution.pool``) without going through pickle and a pipe.

A task pickled for a worker process would carry its candles through pickle and a pipe: four
copies of 25 MB for a year of minutes, about 140 ms of a 180 ms run on the 2-CPU VM. Instead,
the candles of a large task are written once to a file in shared memory (``/dev/shm``) and the
worker maps it copy-on-write (no copy: writable arrays whose pages are read where they are) and
removes the file at once. A task run in a thread (Celery, tests) is never pickled and never
shipped.

Candles a process keeps (a run's range in its memory: ``tasks.cache.memory``) are written there
once instead (:func:`share`): their arrays ARE a shared mapping of a file in ``/dev/shm``, which
stays while they live, so every task on them ships the file's name and nothing else (the
worker maps it copy-on-write and leaves it). The file goes when the candles are garbage, or
with the process (files of processes that are gone are removed by the next :func:`share`).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import glob
import mmap
import os
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from domain.candles import Candles

T = TypeVar("T")

SHIP_MIN_BARS = 50_000
"""Candles of at least this many bars travel to a worker through shared memory."""
SHM_DIR = "/dev/shm"
_SHIP_PREFIX = "backtest-candles-"
_SHARED_PREFIX = "backtest-shared-"
_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
_shared: dict[int, tuple[weakref.ref[Candles], str]] = {}
_lock = threading.Lock()
_swept = False


@dataclass(frozen=True)
class ShippedCandles:
    """Candles written to the file ``path``: ``n`` int64 open times then ``n`` float64 values
    of each of open, high, low, close, volume (native byte order)."""

    path: str
    n: int
    symbol: str
    timeframe: str
    kept: bool = False  # the sender's file (:func:`share`): not removed here

    def load(self) -> Candles:
        """The candles, mapped copy-on-write; the file is removed (the mapping stays) unless
        the sender keeps it."""
        with open(self.path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        if not self.kept:
            os.unlink(self.path)
        return _columns(mapped, self.n, self.symbol, self.timeframe)


def _columns(buffer: Any, n: int, symbol: str, timeframe: str) -> Candles:
    ts = np.frombuffer(buffer, dtype=np.int64, count=n)
    o, h, lo, c, v = (np.frombuffer(buffer, dtype=np.float64, count=n, offset=8 * n * (1 + i))
                      for i in range(5))
    return Candles(ts, o, h, lo, c, v, symbol=symbol, timeframe=timeframe)


def share(candles: Candles) -> Candles:
    """The same candles with their arrays in a file of shared memory that lives as long as the
    returned object (see the module docstring); ``candles`` as they are when small or when
    shared memory is not at hand."""
    if len(candles) < SHIP_MIN_BARS or not os.path.isdir(SHM_DIR):
        return candles
    _sweep_dead()
    n = len(candles)
    try:
        fd, path = tempfile.mkstemp(prefix=f"{_SHARED_PREFIX}{os.getpid()}-", dir=SHM_DIR)
        try:
            os.ftruncate(fd, 48 * n)
            mapped = mmap.mmap(fd, 48 * n)  # shared, read-write
        finally:
            os.close(fd)
    except OSError:
        return candles
    out = _columns(mapped, n, candles.symbol, candles.timeframe)
    for name in _COLUMNS:
        getattr(out, name)[:] = getattr(candles, name)
    key = id(out)

    def gone(_: object, key: int = key, path: str = path) -> None:
        with _lock:
            _shared.pop(key, None)
        with contextlib.suppress(OSError):
            os.unlink(path)

    with _lock:
        _shared[key] = (weakref.ref(out, gone), path)
    return out


def shared_path(candles: Candles) -> str | None:
    """The file holding ``candles`` when they came from :func:`share`."""
    with _lock:
        found = _shared.get(id(candles))
    return found[1] if found is not None and found[0]() is candles else None


@atexit.register
def _unshare_all() -> None:
    with _lock:
        paths = [path for _, path in _shared.values()]
        _shared.clear()
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _sweep_dead() -> None:
    """Remove shared files of processes that are gone (killed before they could), once."""
    global _swept
    if _swept:
        return
    _swept = True
    for path in glob.glob(os.path.join(SHM_DIR, f"{_SHARED_PREFIX}*")):
        pid = os.path.basename(path)[len(_SHARED_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.unlink(path)
        except OSError:  # alive, another user's
            pass


def ship(candles: Candles) -> Candles | ShippedCandles:
    """``candles`` as a :class:`ShippedCandles` when large and shared memory is at hand, else
    as they are."""
    kept = shared_path(candles)
    if kept is not None:
        return ShippedCandles(kept, len(candles), candles.symbol, candles.timeframe, kept=True)
    if len(candles) < SHIP_MIN_BARS or not os.path.isdir(SHM_DIR):
        return candles
    _sweep_leftovers()
    try:
        fd, path = tempfile.mkstemp(prefix=f"{_SHIP_PREFIX}{os.getpid()}-", dir=SHM_DIR)
        with os.fdopen(fd, "wb") as f:
            for name in _COLUMNS:
                dtype = np.int64 if name == "ts" else np.float64
                f.write(np.ascontiguousarray(getattr(candles, name), dtype=dtype).tobytes())
    except OSError:  # shared memory full or not writable: pickle them
        return candles
    return ShippedCandles(path, len(candles), candles.symbol, candles.timeframe)


def _sweep_leftovers(older_than_s: float = 600.0) -> None:
    """Remove this process's shipped files no worker took (a pool broken before it ran the
    task) after ``older_than_s``."""
    now = time.time()
    for path in glob.glob(os.path.join(SHM_DIR, f"{_SHIP_PREFIX}{os.getpid()}-*")):
        with contextlib.suppress(OSError):
            if now - os.path.getmtime(path) > older_than_s:
                os.unlink(path)


def _rebuild(cls: type[T], values: dict[str, Any]) -> T:
    shipped = values["candles"]
    if isinstance(shipped, ShippedCandles):
        values["candles"] = shipped.load()
    return cls(**values)


class ShipsCandles:
    """Pickled with its ``candles`` shipped (:func:`ship`)."""

    def __reduce__(self) -> tuple[Any, ...]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        values["candles"] = ship(values["candles"])
        return (_rebuild, (type(self), values))


