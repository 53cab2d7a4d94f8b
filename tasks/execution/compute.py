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
import concurrent.futures
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
from store.curves import encode_curve
from tasks.execution.fingerprints import fingerprint as fingerprint
from tasks.execution.shipping import SHIP_MIN_BARS as SHIP_MIN_BARS
from tasks.execution.shipping import SHM_DIR as SHM_DIR
from tasks.execution.shipping import ShippedCandles as ShippedCandles
from tasks.execution.shipping import ShipsCandles as _ShipsCandles
from tasks.execution.shipping import ship as ship

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


@dataclass(frozen=True)
class BacktestTask(_ShipsCandles):
    """``with_fingerprint=False``: the caller hashes the candles itself (meanwhile, in its own
    process: ``tasks.execution.fingerprints.fingerprint_of``); the output's is then ``""``."""

    document: dict[str, Any]
    params: dict[str, float]
    candles: Candles
    risk_free_rate: float = 0.0
    with_fingerprint: bool = True


@dataclass(frozen=True)
class BacktestOutput:
    """What a backtest sends back to the job: small, whatever the number of bars (the curve
    encoded where it was computed: ``store.curves``; a year of minutes' curve is 8 MB as
    arrays, about 2 MB encoded)."""

    trades: npt.NDArray[np.void]  # TRADE_DTYPE
    curve: bytes  # ``store.curves.encode_curve`` of the bar times and the equity
    preview: dict[str, list[float]]  # the equity downsampled for the ``done`` event
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
    """Run one backtest (``domain.engine.run.run_backtest``); the candles' fingerprint is
    computed meanwhile in a thread (hashlib lets go of the GIL; unless the caller does it:
    ``task.with_fingerprint``), and the curve is encoded here (see :class:`BacktestOutput`)."""
    strategy = parse_strategy(task.document)
    c = task.candles
    outline = GrowingMinMax(EVENT_POINTS)  # the partial curve, reading only the new bars

    def on_progress(p: Progress) -> None:
        idx = outline.indices(p.equity[:p.bars_done])
        report({"progress": p.fraction, "at": time.time(),
                "equity": {"times": c.ts[idx].astype(np.float64).tolist(),
                           "values": p.equity[idx].tolist()}})

    digest = _hasher().submit(fingerprint, c) if task.with_fingerprint else None
    try:
        # chunks of at most 2 % of the bars (past 100,000 bars), each reporting progress
        result = run_backtest(strategy, c, task.params, risk_free_rate=task.risk_free_rate,
                              progress=on_progress, cancel=cancelled,
                              chunk_bars=chunk_bars(len(c)), min_step=0.02)
        curve = encode_curve(c.ts, result.equity)
        preview = series_payload(c.ts, result.equity)
    finally:
        data_fingerprint = "" if digest is None else digest.result()
    return BacktestOutput(result.trades, curve, preview, result.metrics, result.final_equity,
                          data_fingerprint)


_hashing: concurrent.futures.ThreadPoolExecutor | None = None


def _hasher() -> concurrent.futures.ThreadPoolExecutor:
    """This process's thread for fingerprints (made on first use: after a fork, in a child)."""
    global _hashing
    if _hashing is None:
        _hashing = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fingerprint")
    return _hashing


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
