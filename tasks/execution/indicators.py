"""Indicator series for charts computed off the event loop, in a process of their own.

The indicators are numba kernels: the first use of one in a process loads it from numba's cache
(``make install`` builds it: ``backtest warm``) or, without a cache, compiles it for 15-30 s,
holding the GIL for long stretches, so a thread would still stall the API. So the API's
``candles`` computes them here: :func:`compute_indicators_off_loop` runs
:func:`compute_indicators` in a :class:`~tasks.execution.pool.ComputePool` of
:data:`WORKERS` process, shared by the whole API process and separate from the executor's
engine pool (a chart never waits for a backtest to finish). Its worker follows the API
process's lifeline like the engine's (``tasks.execution.lifeline``) and ends with it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.indicators.api import INDICATORS, compute_indicator
from tasks.execution.compute import CancelCheck, CancelToken, Report
from tasks.execution.pool import ComputePool

F64 = npt.NDArray[np.float64]
WORKERS = 1

_pool: ComputePool | None = None
_lock = threading.Lock()


@dataclass(frozen=True)
class IndicatorTask:
    """Indicators ``(name, resolved params)`` to compute on ``candles``."""

    requests: Sequence[tuple[str, Mapping[str, Any]]]
    candles: Candles


def compute_indicators(task: IndicatorTask, report: Report,
                       cancelled: CancelCheck) -> list[dict[str, F64]]:
    """Every output of each requested indicator (``domain.indicators.api.compute_indicator``),
    in request order."""
    return [compute_indicator(name, task.candles, dict(params))
            for name, params in task.requests]


def warm_indicators() -> list[str]:
    """Load (from numba's cache) or compile every indicator's kernels on a few bars; the
    names. ``backtest warm`` runs it, so that the cache holds them all."""
    from domain.demo import demo_candles

    candles = demo_candles(300)
    for name, spec in INDICATORS.items():
        compute_indicator(name, candles, spec.resolve({}))
    return list(INDICATORS)


def indicator_pool() -> ComputePool:
    """The process's pool for indicators (created on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ComputePool(WORKERS)
        return _pool


async def compute_indicators_off_loop(
        requests: Sequence[tuple[str, Mapping[str, Any]]],
        candles: Candles) -> list[dict[str, F64]]:
    """:func:`compute_indicators` in the indicator pool's process (the event loop stays free)."""
    if not requests:
        return []
    return await indicator_pool().run(compute_indicators, IndicatorTask(requests, candles),
                                      lambda _: None, CancelToken())


async def close_indicator_pool() -> None:
    """Stop the indicator pool's process (a new one starts on the next use)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        await pool.close()
