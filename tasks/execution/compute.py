"""The CPU-bound part of the backtest and sweep jobs, free of database and event loop.

These functions run wherever the executor puts them: in a child process of the in-process
executor's pool (``tasks.execution.pool``), in a thread, or inline in a Celery worker. Each takes a
picklable task, a ``report`` callback for progress payloads (JSON-compatible dicts) and a
``cancelled`` callback the engine checks between chunks (``domain.errors.Cancelled`` ends the
run), and returns a picklable output. The job bodies (``tasks.jobs.lifecycle``) load the inputs before
and save the outputs after. A runner (:class:`Runner`) is what calls them: the pool's
``ComputePool.run``, or :func:`run_in_thread`; either relays progress to the event loop and
wires a :class:`CancelToken` to ``cancelled``.

Progress payloads carry ``progress`` (0..1), ``at`` (epoch seconds when the engine reported)
and, for backtests, ``equity``: the curve so far, downsampled to at most
:data:`EVENT_POINTS` points (``domain.series.downsample_minmax``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.engine.ranking import MAX_STORED_SWEEP_ROWS as MAX_STORED_SWEEP_ROWS
from domain.engine.ranking import chunk_top, ranked_table
from domain.engine.ranking import json_number as json_number
from domain.engine.ranking import merge_sweep_rows as merge_sweep_rows
from domain.engine.run import Progress, run_backtest
from domain.engine.sweep import run_sweep
from domain.progress import GrowingMinMax
from domain.series import downsample_minmax
from domain.strategy import parameter_grid, parse_strategy

Report = Callable[[dict[str, Any]], None]
CancelCheck = Callable[[], bool]
T = TypeVar("T")
R = TypeVar("R")

ENGINE_THREADS: int | None = None
"""Threads of the sweep kernels in this process (None: numba's default, one per CPU). Celery
workers set 1 (``tasks.execution.celery.runtime``): their processes are the unit of parallelism."""


def _apply_engine_threads() -> None:
    """Give the calling thread's parallel kernels :data:`ENGINE_THREADS` threads (numba's
    setting is per calling thread)."""
    if ENGINE_THREADS is not None:
        import numba

        most = int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))
        numba.set_num_threads(max(1, min(ENGINE_THREADS, most)))


EVENT_POINTS = 200
"""Points of the partial equity curve in a progress event."""


class CancelToken:
    """A request to stop a run, made once by whoever cancels it (in the parent) and read by
    the runner: a thread runner checks :attr:`cancelled`; the process pool registers
    :meth:`on_cancel` to set a flag its worker reads."""

    def __init__(self) -> None:
        self._cancelled = False
        self.reason: str | None = None
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self, reason: str | None = None) -> None:
        """Ask the run to stop. ``reason`` None is a user's cancel (the run ends
        ``cancelled``); a reason (e.g. the server stopping) makes it end ``failed`` with it."""
        if not self._cancelled:
            self._cancelled = True
            self.reason = reason
            for callback in list(self._callbacks):
                callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` on :meth:`cancel` (now, if cancelled already); returns a function
        that unregisters it."""
        if self._cancelled:
            callback()
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None


# -- candles to another process -------------------------------------------------------------
# A task pickled for a worker process of the pool (``tasks.execution.pool``) would carry its
# candles through pickle and a pipe: four copies of 25 MB for a year of minutes, about 140 ms
# of a 180 ms run on the 2-CPU VM. Instead, the candles of a large task are written once to a
# file in shared memory (``/dev/shm``) and the worker maps it copy-on-write (no copy: writable
# arrays whose pages are read where they are) and removes the file at once. A task run in a
# thread (Celery, tests) is never pickled and never shipped.

SHIP_MIN_BARS = 50_000
"""Candles of at least this many bars travel to a worker through shared memory."""
SHM_DIR = "/dev/shm"
_SHIP_PREFIX = "backtest-candles-"
_COLUMNS = ("ts", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class ShippedCandles:
    """Candles written to the file ``path``: ``n`` int64 open times then ``n`` float64 values
    of each of open, high, low, close, volume (native byte order)."""

    path: str
    n: int
    symbol: str
    timeframe: str

    def load(self) -> Candles:
        """The candles, mapped copy-on-write; the file is removed (the mapping stays)."""
        import mmap
        import os

        with open(self.path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        os.unlink(self.path)
        n = self.n
        ts = np.frombuffer(mapped, dtype=np.int64, count=n)
        o, h, lo, c, v = (np.frombuffer(mapped, dtype=np.float64, count=n,
                                        offset=8 * n * (1 + i)) for i in range(5))
        return Candles(ts, o, h, lo, c, v, symbol=self.symbol, timeframe=self.timeframe)


def ship(candles: Candles) -> Candles | ShippedCandles:
    """``candles`` as a :class:`ShippedCandles` when large and shared memory is at hand, else
    as they are."""
    import os
    import tempfile

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
    import glob
    import os

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


class _ShipsCandles:
    """Pickled with its ``candles`` shipped (:func:`ship`)."""

    def __reduce__(self) -> tuple[Any, ...]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        values["candles"] = ship(values["candles"])
        return (_rebuild, (type(self), values))


@dataclass(frozen=True)
class BacktestTask(_ShipsCandles):
    document: dict[str, Any]
    params: dict[str, float]
    candles: Candles
    risk_free_rate: float = 0.0


@dataclass(frozen=True)
class BacktestOutput:
    trades: npt.NDArray[np.void]  # TRADE_DTYPE
    times: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    metrics: dict[str, float]
    final_equity: float
    data_fingerprint: str


class Runner(Protocol):
    def __call__(self, fn: Callable[[T, Report, CancelCheck], R], task: T,
                 on_progress: Callable[[dict[str, Any]], None],
                 cancel: CancelToken) -> Awaitable[R]: ...


async def run_in_thread(fn: Callable[[T, Report, CancelCheck], R], task: T,
                        on_progress: Callable[[dict[str, Any]], None], cancel: CancelToken) -> R:
    """Run ``fn`` in a thread of this process, progress handed back to the event loop."""
    loop = asyncio.get_running_loop()

    def report(payload: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(on_progress, payload)

    return await asyncio.to_thread(fn, task, report, lambda: cancel.cancelled)


class RunnerError(Exception):
    """A runner could not finish a run, for a reason a user should read (e.g. its worker
    process died)."""


@dataclass(frozen=True)
class SweepTask(_ShipsCandles):
    document: dict[str, Any]
    grid: dict[str, list[float]]  # parameter -> values (``parameter_grid`` overrides)
    candles: Candles
    rank_by: str
    risk_free_rate: float = 0.0


@dataclass(frozen=True)
class SweepOutput:
    rows: list[dict[str, Any]]  # {"rank", "params", "metrics"}, best first, at most the cap
    n_sets: int


def series_payload(times: npt.NDArray[np.int64], values: npt.NDArray[np.float64],
                   max_points: int = EVENT_POINTS) -> dict[str, list[float]]:
    """``{"times": [...ms], "values": [...]}`` downsampled for an event."""
    t, v = downsample_minmax(times, values, max_points)
    return {"times": t.tolist(), "values": v.tolist()}


def fingerprint(candles: Candles) -> str:
    """SHA-256 (hex) of the candles' arrays: which data a run used."""
    digest = hashlib.sha256()
    for a in (candles.ts, candles.open, candles.high, candles.low, candles.close, candles.volume):
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def chunk_bars(n: int) -> int:
    """Bars per kernel call: about 50 chunks, so cancel and progress react quickly, and at
    least 2,000 bars each (results do not depend on the chunking)."""
    return max(2_000, min(50_000, n // 50))


def chunk_sets(n: int) -> int:
    """Parameter sets per sweep kernel call: about 2 % of the grid, so progress moves at least
    every 2 % (and cancel reacts), between 8 (the kernel runs the sets of a call in parallel)
    and 64."""
    return max(8, min(64, n // 50))


def compute_backtest(task: BacktestTask, report: Report, cancelled: CancelCheck) -> BacktestOutput:
    """Run one backtest (``domain.engine.run.run_backtest``)."""
    strategy = parse_strategy(task.document)
    c = task.candles
    outline = GrowingMinMax(EVENT_POINTS)  # the partial curve, reading only the new bars

    def on_progress(p: Progress) -> None:
        idx = outline.indices(p.equity[:p.bars_done])
        report({"progress": p.fraction, "at": time.time(),
                "equity": {"times": c.ts[idx].astype(np.float64).tolist(),
                           "values": p.equity[idx].tolist()}})

    # chunks of at most 2 % of the bars (past 100,000 bars), each reporting progress
    result = run_backtest(strategy, c, task.params, risk_free_rate=task.risk_free_rate,
                          progress=on_progress, cancel=cancelled, chunk_bars=chunk_bars(len(c)),
                          min_step=0.02)
    return BacktestOutput(result.trades, c.ts, result.equity, result.metrics,
                          result.final_equity, fingerprint(c))


def compute_sweep(task: SweepTask, report: Report, cancelled: CancelCheck) -> SweepOutput:
    """Run one sweep (``domain.engine.sweep.run_sweep``); its table of the best
    ``domain.engine.ranking.MAX_STORED_SWEEP_ROWS`` rows (``ranked_table``)."""
    _apply_engine_threads()
    strategy = parse_strategy(task.document)
    param_sets = parameter_grid(strategy, task.grid)

    def on_progress(done: int, total: int) -> None:
        report({"progress": done / total if total else 1.0, "at": time.time(),
                "done": done, "total": total})

    result = run_sweep(strategy, task.candles, param_sets, rank_by=task.rank_by,
                       risk_free_rate=task.risk_free_rate, progress=on_progress,
                       cancel=cancelled, chunk_sets=chunk_sets(len(param_sets)))
    return SweepOutput(ranked_table(param_sets, result.metrics, task.rank_by), len(param_sets))


@dataclass(frozen=True)
class SweepChunkTask(_ShipsCandles):
    """Parameter sets ``[start, stop)`` of a sweep's grid (in ``parameter_grid`` order)."""

    document: dict[str, Any]
    grid: dict[str, list[float]]
    candles: Candles
    rank_by: str
    start: int
    stop: int
    risk_free_rate: float = 0.0


def compute_sweep_chunk(task: SweepChunkTask, report: Report,
                        cancelled: CancelCheck) -> SweepOutput:
    """Run one chunk of a sweep: its best rows with their ``index`` in the grid and rank
    ``key`` (``domain.engine.ranking.chunk_top``), for :func:`merge_sweep_rows`."""
    _apply_engine_threads()
    strategy = parse_strategy(task.document)
    param_sets = parameter_grid(strategy, task.grid)[task.start:task.stop]

    def on_progress(done: int, total: int) -> None:
        report({"done": done, "total": total, "at": time.time()})

    result = run_sweep(strategy, task.candles, param_sets, rank_by=task.rank_by,
                       risk_free_rate=task.risk_free_rate, progress=on_progress,
                       cancel=cancelled, chunk_sets=chunk_sets(len(param_sets)))
    rows = chunk_top(param_sets, result.metrics, task.rank_by, task.start)
    return SweepOutput(rows, len(param_sets))


def warm_up() -> int:
    """Load the engine's kernels (from numba's cache) with a tiny backtest and sweep; returns
    the pid."""
    import os

    from domain.demo import demo_candles

    doc = {"name": "warm-up", "side": "long",
           "entry": {"left": {"price": "close"}, "op": ">", "right": {"indicator": "sma",
                                                                      "period": 3}},
           "exit": {"left": {"price": "close"}, "op": "<", "right": {"indicator": "sma",
                                                                     "period": 3}}}
    strategy = parse_strategy(doc)
    candles = demo_candles(50)
    run_backtest(strategy, candles, cancel=lambda: False, chunk_bars=25)
    run_sweep(strategy, candles, [{}, {}], cancel=lambda: False)
    return os.getpid()
