"""The CPU-bound part of a replay job, free of database and event loop (see ``tasks.execution.compute``
for the contract: a picklable task, a ``report`` callback, a ``cancelled`` check).

:func:`compute_replay` runs ``domain.replay.what_if``: the account as it was (``actual``) and
the same decisions under the task's model (``replayed``; the same as actual for the ``actual``
model with no fee, slippage or delay change), then the metrics of both. Progress payloads carry
``progress``, ``at`` and, once replayed, ``equity`` (downsampled), like a backtest's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.errors import Cancelled
from domain.replay import Fills, Replay, ReplayModel, replay_metrics, what_if
from tasks.execution.compute import CancelCheck, Report, json_number, series_payload

F64 = npt.NDArray[np.float64]
MAX_DROPPED_ROWS = 1_000
"""Rows of dropped fills listed in a result (their count is always complete)."""


@dataclass(frozen=True)
class ReplayTask:
    fills: Fills
    candles: Candles
    initial_capital: float
    model: ReplayModel
    conversions: dict[str, F64] = field(default_factory=dict)  # asset -> price per candle
    risk_free_rate: float = 0.0


@dataclass(frozen=True)
class ReplayOutput:
    times: npt.NDArray[np.int64]
    curves: dict[str, F64]  # store.replay_results.CURVES
    fills: npt.NDArray[np.void]  # FILL_DTYPE: actual and replayed columns of each fill
    trades: npt.NDArray[np.void]  # TRADE_DTYPE: the replayed account's round trips
    metrics: dict[str, float]  # the replayed account's
    actual_metrics: dict[str, float]
    final_equity: float
    actual_final_equity: float
    totals: dict[str, Any]  # JSON: see totals_of


def totals_of(actual: Replay, replayed: Replay, slippage: float, fee_attribution: float,
              pnl_difference: float, dropped_pnl: float) -> dict[str, Any]:
    """The comparison of the two accounts as JSON (None where not a finite number)."""
    return {
        "n_fills": int(replayed.fills.shape[0]),
        "n_round_trips": int(replayed.trades.shape[0]),
        "n_dropped": replayed.n_dropped,
        "dropped_rows": replayed.dropped_rows[:MAX_DROPPED_ROWS].tolist(),
        "actual_net_pnl": json_number(actual.net_pnl),
        "replayed_net_pnl": json_number(replayed.net_pnl),
        "actual_fees": json_number(actual.total_fees),
        "replayed_fees": json_number(replayed.total_fees),
        "slippage": json_number(slippage),
        "fee_attribution": json_number(fee_attribution),
        "pnl_difference": json_number(pnl_difference),
        "dropped_pnl": json_number(dropped_pnl),
        "open_position": replayed.has_open_position,
    }


def compute_replay(task: ReplayTask, report: Report, cancelled: CancelCheck) -> ReplayOutput:
    """Replay the task's fills (``domain.replay.what_if``) and measure both accounts."""
    report({"progress": 0.05, "at": time.time()})
    if cancelled():
        raise Cancelled()
    w = what_if(task.fills, task.candles, task.initial_capital, task.model,
                conversions=task.conversions or None)
    r = w.replayed
    report({"progress": 0.8, "at": time.time(), "equity": series_payload(r.times, r.equity)})
    if cancelled():
        raise Cancelled()
    curves = {"equity": r.equity, "actual_equity": w.actual.equity, "realized": r.realized,
              "unrealized": r.unrealized, "position": r.position}
    return ReplayOutput(
        r.times, curves, r.fills, r.trades, replay_metrics(r, task.risk_free_rate),
        replay_metrics(w.actual, task.risk_free_rate), r.final_equity, w.actual.final_equity,
        totals_of(w.actual, r, w.slippage, w.fee_attribution, w.pnl_difference,
                  w.dropped_pnl))
