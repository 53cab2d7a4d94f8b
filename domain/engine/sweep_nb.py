"""The parallel sweep kernel: condition program -> simulation -> metrics, one parameter set per
iteration, nothing per bar kept.

``sweep_nb`` splits the sets among ``n_workers`` workers (``prange``); worker ``w`` takes sets
``w, w + n_workers, ...`` (interleaved, so sets of similar cost spread evenly) and reuses one
set of scratch arrays for all of them: the boolean stack the program is evaluated into
(``domain.strategy.program_nb``), the equity curve and the trade matrix of
``domain.engine.nb.simulate_range_nb``. Per set it evaluates the entry and exit programs,
simulates the whole series (growing the trade matrix as ``simulate_nb`` does) and computes
``domain.metrics.metrics_exposed_nb`` on the closed trades, exactly what a single run computes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from domain.engine.nb import (
    N_TRADE_COLS,
    S_EXPOSED,
    S_N_TRADES,
    T_NET,
    T_RETURN,
    grow_trades_nb,
    new_state_nb,
    simulate_range_nb,
)
from domain.metrics import N_METRICS, metrics_exposed_nb
from domain.strategy.program_nb import ENTRY_ROW, EXIT_ROW, eval_program_nb


@njit(cache=True)
def _worker_nb(  # type: ignore[no-untyped-def]
    w, n_workers, open_, high, low, close, series, entry_code, exit_code, rows, shifts, consts,
    depth, initial_capital, direction, sizing_mode, fee_rate, slip_rate, sl, tp, trail,
    sizing_value, bar_ms, periods_per_year, risk_free_rate, out,
):
    n = close.shape[0]
    stack = np.empty((depth, n), dtype=np.bool_)
    equity = np.empty(n, dtype=np.float64)
    unrecorded = np.empty(0, dtype=np.float64)  # cash and position are not needed
    trades = np.empty((max(64, n // 64), N_TRADE_COLS), dtype=np.float64)
    for c in range(w, rows.shape[0], n_workers):
        eval_program_nb(entry_code, rows[c], shifts[c], consts[c], series, stack, ENTRY_ROW)
        eval_program_nb(exit_code, rows[c], shifts[c], consts[c], series, stack, EXIT_ROW)
        entries = stack[ENTRY_ROW]
        exits = stack[EXIT_ROW]
        state = new_state_nb(initial_capital)
        j = 0
        while j < n:
            j = simulate_range_nb(open_, high, low, close, entries, exits, j, n, direction,
                                  fee_rate[c], slip_rate[c], sl[c], tp[c], trail[c],
                                  sizing_mode, sizing_value[c], state, trades, equity, unrecorded,
                                  unrecorded)
            if j < n:
                trades = grow_trades_nb(trades)
        # a position still open is not a closed trade: the rows written are the closed ones
        k = int(state[S_N_TRADES])
        pnl = trades[:k, T_NET].copy()
        ret = trades[:k, T_RETURN].copy()
        out[c] = metrics_exposed_nb(equity, int(state[S_EXPOSED]), close, pnl, ret,
                                    initial_capital, bar_ms, periods_per_year, risk_free_rate)


@njit(cache=True, parallel=True)
def sweep_nb(  # type: ignore[no-untyped-def]
    open_, high, low, close, series, entry_code, exit_code, rows, shifts, consts, depth,
    initial_capital, direction, sizing_mode, fee_rate, slip_rate, sl, tp, trail, sizing_value,
    bar_ms, periods_per_year, risk_free_rate, n_workers,
):
    """Metrics of every bound parameter set as a ``(n_sets, N_METRICS)`` matrix.

    ``series``/``rows``/``shifts``/``consts`` are a ``domain.strategy.program.Bound``'s tables,
    ``entry_code``/``exit_code``/``depth`` its ``Program``'s; ``fee_rate`` ... ``sizing_value``
    have one value per set (``initial_capital``, ``direction``, ``sizing_mode`` are shared).
    """
    n_sets = rows.shape[0]
    out = np.empty((n_sets, N_METRICS), dtype=np.float64)
    workers = max(1, min(n_workers, n_sets))
    for w in prange(workers):
        _worker_nb(w, workers, open_, high, low, close, series, entry_code, exit_code, rows,
                   shifts, consts, depth, initial_capital, direction, sizing_mode, fee_rate,
                   slip_rate, sl, tp, trail, sizing_value, bar_ms, periods_per_year,
                   risk_free_rate, out)
    return out
