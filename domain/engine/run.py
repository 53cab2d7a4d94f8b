"""Run the kernel: strategy document -> signals -> chunks of the kernel -> trades and metrics.

``run_backtest`` is the one entry point the CLI, the API and the workers use. It compiles the
strategy, runs ``domain.engine.nb.simulate_range_nb`` chunk by chunk (so a caller can watch
progress and cancel between chunks), reports an open position as an ``end_of_data`` trade and
computes every metric of ``domain.metrics``. The rules it follows are in ``domain.engine.rules``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.engine import nb
from domain.engine.config import SimConfig
from domain.engine.records import TRADE_DTYPE, trades_from_matrix
from domain.engine.rules import EXIT_END_OF_DATA
from domain.errors import Cancelled, DataError
from domain.metrics import METRIC_NAMES, check_scalars, metrics_exposed_nb
from domain.strategy import Strategy, compile_signals, default_params, sim_config
from domain.timeframes import periods_per_year, timeframe_ms

F64 = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives: bars done so far and the equity curve up to there."""

    bars_done: int
    bars_total: int
    equity: F64  # equity at each processed bar's close (a view: copy it to keep it)

    @property
    def fraction(self) -> float:
        return self.bars_done / self.bars_total if self.bars_total else 1.0


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class SimInputs:
    """What a simulation ran on (kept to replay it: see ``SimResult``)."""

    candles: Candles
    entries: BoolArray
    exits: BoolArray
    config: SimConfig


@dataclass(frozen=True)
class SimResult:
    """Per-bar equity, the trades (``TRADE_DTYPE``) and the number of bars that closed with a
    position open; per-bar cash and signed position on demand.

    The kernel does not record cash and position while it runs (two more per-bar arrays, which
    only tests read): the first access to ``cash`` or ``position`` runs the kernel again over
    the same inputs with recording on, which gives exactly the values of the run (the kernel is
    deterministic, and chunking does not change its results).
    """

    trades: npt.NDArray[np.void]
    equity: F64
    exposed_bars: int
    inputs: SimInputs = field(repr=False, compare=False)

    @cached_property
    def _cash_position(self) -> tuple[F64, F64]:
        c, cfg = self.inputs.candles, self.inputs.config
        out = nb.simulate_nb(c.open, c.high, c.low, c.close, self.inputs.entries,
                             self.inputs.exits, cfg.initial_capital, cfg.direction,
                             cfg.fee_rate, cfg.slippage_rate, cfg.stop_loss, cfg.take_profit,
                             cfg.trailing_stop, cfg.sizing_mode, cfg.sizing_value)
        return out[3], out[4]

    @property
    def cash(self) -> F64:
        return self._cash_position[0]

    @property
    def position(self) -> F64:
        return self._cash_position[1]

    @property
    def closed_trades(self) -> npt.NDArray[np.void]:
        # only the last trade can be an open position's ``end_of_data`` row
        t = self.trades
        return t[:-1] if self.has_open_position else t

    @property
    def has_open_position(self) -> bool:
        return bool(self.trades.shape[0]) and int(self.trades["exit_reason"][-1]) == EXIT_END_OF_DATA


@dataclass(frozen=True)
class BacktestResult:
    """A finished backtest: inputs as run, trades, curves and metrics."""

    candles: Candles
    params: dict[str, float]
    config: SimConfig
    sim: SimResult
    metrics: dict[str, float]
    risk_free_rate: float = 0.0

    @property
    def trades(self) -> npt.NDArray[np.void]:
        return self.sim.trades

    @property
    def equity(self) -> F64:
        return self.sim.equity

    @property
    def final_equity(self) -> float:
        return float(self.sim.equity[-1])


def bar_timing(candles: Candles) -> tuple[int, float]:
    """``(bar_ms, periods_per_year)`` of the candles' timeframe, used to annualize metrics."""
    if not candles.timeframe:
        raise DataError("the candles have no timeframe; give one (e.g. 1h) to annualize metrics")
    return timeframe_ms(candles.timeframe), periods_per_year(candles.timeframe)


def simulate(
    candles: Candles,
    entries: BoolArray,
    exits: BoolArray,
    config: SimConfig,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    chunk_bars: int = 50_000,
    min_interval_s: float = 0.1,
    min_step: float = 0.02,
) -> SimResult:
    """Simulate one strategy's signals on ``candles``.

    Without ``progress`` and ``cancel`` the whole series runs in one kernel call. With either,
    the kernel runs ``chunk_bars`` at a time; ``cancel()`` is checked between chunks (raising
    ``Cancelled``), and ``progress`` is called after a chunk once ``min_step`` of the bars
    (rounded down to whole bars) were done since the last report, or ``min_interval_s`` seconds
    passed since it, and once at the end. With chunks of at most ``min_step`` of the bars
    (``tasks.execution.compute.chunk_bars``), every chunk reports.
    """
    n = len(candles)
    if n == 0:
        raise DataError("no candles to run on: the range is empty")
    if entries.shape != (n,) or exits.shape != (n,):
        raise ValueError("entries and exits must have one value per candle")
    o, h, lo, c = candles.open, candles.high, candles.low, candles.close
    equity = np.empty(n, dtype=np.float64)
    unrecorded = np.empty(0, dtype=np.float64)  # cash and position: see ``SimResult``
    trades = np.empty((max(64, n // 64), nb.N_TRADE_COLS), dtype=np.float64)
    state = nb.new_state_nb(config.initial_capital)
    step = n if progress is None and cancel is None else max(1, chunk_bars)
    last_report = time.monotonic()
    report_bars = max(1, math.floor(min_step * n)) if min_step > 0 else 1
    last_bars = 0
    j = 0
    while j < n:
        if cancel is not None and cancel():
            raise Cancelled()
        stop = min(n, j + step)
        j = nb.simulate_range_nb(
            o, h, lo, c, entries, exits, j, stop,
            config.direction, config.fee_rate, config.slippage_rate,
            config.stop_loss, config.take_profit, config.trailing_stop,
            config.sizing_mode, config.sizing_value,
            state, trades, equity, unrecorded, unrecorded,
        )
        if j < stop:
            trades = nb.grow_trades_nb(trades)
        elif progress is not None and j < n and (
                j - last_bars >= report_bars
                or time.monotonic() - last_report >= min_interval_s):
            last_report = time.monotonic()
            last_bars = j
            progress(Progress(j, n, equity[:j]))
    if int(state[nb.S_N_TRADES]) >= trades.shape[0]:
        trades = nb.grow_trades_nb(trades)
    k = nb.close_open_trade_nb(state, trades, c)
    if progress is not None:
        progress(Progress(n, n, equity))
    return SimResult(trades_from_matrix(trades, k, candles.ts), equity,
                     int(state[nb.S_EXPOSED]), SimInputs(candles, entries, exits, config))


def metrics_of(sim: SimResult, candles: Candles, config: SimConfig,
               risk_free_rate: float = 0.0) -> dict[str, float]:
    """Every metric of ``domain.metrics`` for a simulation (trade statistics on closed trades)."""
    bar_ms, ppy = bar_timing(candles)
    check_scalars(config.initial_capital, bar_ms, ppy, risk_free_rate)
    closed = sim.closed_trades
    vec = metrics_exposed_nb(
        sim.equity, sim.exposed_bars, candles.close,
        np.ascontiguousarray(closed["pnl"]), np.ascontiguousarray(closed["return"]),
        float(config.initial_capital), float(bar_ms), float(ppy), float(risk_free_rate),
    )
    return dict(zip(METRIC_NAMES, vec.tolist(), strict=True))


def run_backtest(
    strategy: Strategy,
    candles: Candles,
    params: Mapping[str, float] | None = None,
    *,
    risk_free_rate: float = 0.0,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    chunk_bars: int = 50_000,
    min_interval_s: float = 0.1,
    min_step: float = 0.02,
) -> BacktestResult:
    """Backtest ``strategy`` on ``candles`` with ``params`` (defaults: each parameter's value);
    ``progress``, ``cancel`` and the chunking as in :func:`simulate`."""
    if not math.isfinite(risk_free_rate):
        raise ValueError("risk_free_rate must be finite")
    values = default_params(strategy)
    if params:
        values.update(params)
    bar_timing(candles)  # fail early on a missing timeframe
    config = sim_config(strategy, values)
    entries, exits = compile_signals(strategy, candles, values)
    sim = simulate(candles, entries, exits, config, progress=progress, cancel=cancel,
                   chunk_bars=chunk_bars, min_interval_s=min_interval_s, min_step=min_step)
    metrics = metrics_of(sim, candles, config, risk_free_rate)
    return BacktestResult(candles, values, config, sim, metrics, risk_free_rate)


__all__ = [
    "TRADE_DTYPE",
    "BacktestResult",
    "CancelFn",
    "Progress",
    "ProgressFn",
    "SimInputs",
    "SimResult",
    "metrics_of",
    "run_backtest",
    "simulate",
]
