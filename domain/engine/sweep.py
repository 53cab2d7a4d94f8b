"""Parameter sweeps: many parameter sets of one strategy in parallel numba calls.

Signals for a chunk of sets are compiled together (each distinct indicator computed once), then
``domain.engine.nb.sweep_nb`` simulates the chunk's sets in parallel (``prange``) and returns
their metrics; no per-bar series are kept. Chunks let a caller watch progress and cancel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.engine import nb
from domain.engine.run import CancelFn, bar_timing
from domain.errors import Cancelled, DataError
from domain.metrics import METRIC_NAMES
from domain.strategy import Strategy, compile_signals_many, sim_config

LOWER_IS_BETTER = frozenset({"max_drawdown", "max_drawdown_duration"})

SweepProgressFn = Callable[[int, int], None]  # (sets done, sets total)


@dataclass(frozen=True)
class SweepRow:
    rank: int
    params: dict[str, float]
    metrics: dict[str, float]


@dataclass(frozen=True)
class SweepResult:
    """Every parameter set with its metrics, best first by ``rank_by`` (NaN last)."""

    rank_by: str
    rows: list[SweepRow]
    metrics: npt.NDArray[np.float64]  # (n_sets, len(METRIC_NAMES)), in the order sets were given

    def top(self, n: int) -> list[SweepRow]:
        return self.rows[:n]


def rank_order(values: npt.NDArray[np.float64], metric: str) -> npt.NDArray[np.intp]:
    """Indices that sort ``values`` best first for ``metric``; NaN always last; stable."""
    key = values if metric in LOWER_IS_BETTER else -values
    key = np.where(np.isnan(key), np.inf, key)
    return np.argsort(key, kind="stable")


def run_sweep(
    strategy: Strategy,
    candles: Candles,
    param_sets: Sequence[Mapping[str, float]],
    *,
    rank_by: str = "sharpe",
    risk_free_rate: float = 0.0,
    chunk_sets: int = 256,
    progress: SweepProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> SweepResult:
    """Evaluate every parameter set on ``candles`` and rank them by ``rank_by``."""
    if rank_by not in METRIC_NAMES:
        raise DataError(f"unknown metric to rank by: {rank_by!r}; one of {', '.join(METRIC_NAMES)}")
    if not param_sets:
        raise DataError("the sweep has no parameter sets")
    if len(candles) == 0:
        raise DataError("no candles to run on: the range is empty")
    if not math.isfinite(risk_free_rate):
        raise ValueError("risk_free_rate must be finite")
    bar_ms, ppy = bar_timing(candles)
    total = len(param_sets)
    out = np.empty((total, len(METRIC_NAMES)), dtype=np.float64)
    configs = [sim_config(strategy, p) for p in param_sets]
    first = configs[0]
    for start in range(0, total, max(1, chunk_sets)):
        if cancel is not None and cancel():
            raise Cancelled()
        stop = min(total, start + max(1, chunk_sets))
        chunk = configs[start:stop]
        entries, exits = compile_signals_many(strategy, candles, param_sets[start:stop])

        def col(name: str, chunk: list = chunk) -> npt.NDArray[np.float64]:  # type: ignore[type-arg]
            return np.array([getattr(cfg, name) for cfg in chunk], dtype=np.float64)

        out[start:stop] = nb.sweep_nb(
            candles.open, candles.high, candles.low, candles.close, entries, exits,
            first.initial_capital, first.direction, first.sizing_mode,
            col("fee_rate"), col("slippage_rate"), col("stop_loss"), col("take_profit"),
            col("trailing_stop"), col("sizing_value"),
            bar_ms, ppy, risk_free_rate,
        )
        if progress is not None:
            progress(stop, total)
    order = rank_order(out[:, METRIC_NAMES.index(rank_by)], rank_by)
    rows = [
        SweepRow(rank + 1, dict(param_sets[i]), dict(zip(METRIC_NAMES, out[i].tolist(), strict=True)))
        for rank, i in enumerate(order.tolist())
    ]
    return SweepResult(rank_by, rows, out)
