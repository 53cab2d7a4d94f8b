"""Parameter sweeps: many parameter sets of one strategy, in parallel numba calls.

The strategy's conditions are compiled once into a condition program
(``domain.strategy.program``); each chunk of sets is bound to operand tables (every distinct
series the chunk needs computed once, each set's series rows, shifts and constants), then
``domain.engine.sweep_nb.sweep_nb`` evaluates each set's signals, simulates it and computes its
metrics in parallel (``prange``), keeping only the metrics. Chunks let a caller watch progress
and cancel; they also bound memory (``max_series_bytes``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.engine import sweep_nb
from domain.engine.run import CancelFn, bar_timing
from domain.errors import Cancelled, DataError
from domain.metrics import METRIC_NAMES
from domain.strategy import Strategy, bind, compile_program, sim_config
from domain.strategy.compile import Cache

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
    max_series_bytes: int = 256 * 2**20,
) -> SweepResult:
    """Evaluate every parameter set on ``candles`` and rank them by ``rank_by``.

    Each set's metrics equal ``run_backtest``'s for that set. Sets run ``chunk_sets`` at a time:
    ``cancel()`` is checked before each chunk (raising ``Cancelled``) and ``progress(done,
    total)`` called after it. Series are computed once and kept for later chunks while they
    fit in ``max_series_bytes`` (else they are dropped and computed again when needed); a chunk
    whose distinct series alone exceed it runs in several kernel calls.
    """
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
    cols = [np.array([getattr(cfg, name) for cfg in configs], dtype=np.float64)
            for name in ("fee_rate", "slippage_rate", "stop_loss", "take_profit",
                         "trailing_stop", "sizing_value")]
    first = configs[0]
    program = compile_program(strategy)
    max_series = max(1, max_series_bytes // (8 * len(candles)))
    workers = numba.get_num_threads()
    cache: Cache = {}
    step = max(1, chunk_sets)
    for start in range(0, total, step):
        if cancel is not None and cancel():
            raise Cancelled()
        stop = min(total, start + step)
        at = start
        while at < stop:
            if len(cache) > max_series:
                cache.clear()
            bound = bind(program, strategy, candles, param_sets[at:stop],
                         max_series=max_series, cache=cache)
            part = slice(at, at + bound.n_sets)
            fee, slip, sl, tp, trail, size = (col[part] for col in cols)
            out[part] = sweep_nb.sweep_nb(
                candles.open, candles.high, candles.low, candles.close, bound.series,
                program.entry, program.exit, bound.rows, bound.shifts, bound.consts,
                program.depth, first.initial_capital, first.direction, first.sizing_mode,
                fee, slip, sl, tp, trail, size, bar_ms, ppy, risk_free_rate, workers,
            )
            at = part.stop
        if progress is not None:
            progress(stop, total)
    order = rank_order(out[:, METRIC_NAMES.index(rank_by)], rank_by)
    rows = [
        SweepRow(rank + 1, dict(param_sets[i]), dict(zip(METRIC_NAMES, out[i].tolist(), strict=True)))
        for rank, i in enumerate(order.tolist())
    ]
    return SweepResult(rank_by, rows, out)
