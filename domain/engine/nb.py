"""Numba kernels of the simulation, implementing ``domain.engine.rules`` exactly.

The core, ``simulate_range_nb``, is resumable: it advances a small state vector over bars
``[start, stop)`` so the runner can work in chunks (progress, cancellation) and grow the trade
buffer. ``simulate_nb`` runs a whole series in one call; ``domain.engine.sweep_nb`` runs many
parameter sets in parallel (``prange``) and keeps only their metrics.

Trades are rows of a float64 matrix (columns ``T_*``); ``domain.engine.records`` turns them into
a structured array.

Speed: most bars are quiet (no order to fill, no stop or target to check), and
``_quiet_bars_nb`` runs them as a scan of the signal array plus one vectorizable pass over the
equity, prefetching the ``open`` that the next fill will read (``domain.engine.prefetch``).
Per-bar cash and position are recorded only when asked for (the engine and the sweep do not);
the state counts the bars held in a position (``S_EXPOSED``, the ``exposure`` metric) instead.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from domain.engine.prefetch import prefetch_nb
from domain.engine.rules import (
    EXIT_END_OF_DATA,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TRAILING_STOP,
)
from domain.metrics import METRIC_NAMES

# trade matrix columns
T_ENTRY_IDX = 0
T_EXIT_IDX = 1
T_ENTRY_PRICE = 2
T_EXIT_PRICE = 3
T_QTY = 4
T_DIRECTION = 5
T_GROSS = 6
T_FEES = 7
T_NET = 8
T_RETURN = 9
T_REASON = 10
N_TRADE_COLS = 11

# state vector slots
S_CASH = 0
S_POS = 1
S_ENTRY_PRICE = 2
S_ENTRY_FEE = 3
S_ENTRY_IDX = 4
S_PENDING = 5
S_PEAK = 6
S_SL = 7
S_TP = 8
S_N_TRADES = 9
S_EXPOSED = 10  # bars whose close was recorded with a position open (for ``exposure``)
N_STATE = 11

PENDING_NONE = 0.0
PENDING_ENTRY = 1.0
PENDING_EXIT = 2.0

SIZING_FRACTION = 0
SIZING_FIXED_QUOTE = 1
SIZING_RISK_PCT = 2

N_METRICS = len(METRIC_NAMES)

PREFETCH_AHEAD = 256  # bars: how far ahead of the quiet bars ``open`` is brought into cache


@njit(cache=True)
def new_state_nb(initial_capital: float) -> np.ndarray:
    """A fresh state: all cash, flat, nothing pending."""
    state = np.zeros(N_STATE, dtype=np.float64)
    state[S_CASH] = initial_capital
    state[S_SL] = np.nan
    state[S_TP] = np.nan
    return state


@njit(cache=True, inline="always")
def _write_trade_nb(trades, k, entry_idx, exit_idx, entry_price, exit_price, qty, d,  # type: ignore[no-untyped-def]
                    entry_fee, exit_fee, reason):
    gross = d * qty * (exit_price - entry_price)
    fees = entry_fee + exit_fee
    trades[k, T_ENTRY_IDX] = entry_idx
    trades[k, T_EXIT_IDX] = exit_idx
    trades[k, T_ENTRY_PRICE] = entry_price
    trades[k, T_EXIT_PRICE] = exit_price
    trades[k, T_QTY] = qty
    trades[k, T_DIRECTION] = d
    trades[k, T_GROSS] = gross
    trades[k, T_FEES] = fees
    trades[k, T_NET] = gross - fees
    trades[k, T_RETURN] = (gross - fees) / (qty * entry_price)
    trades[k, T_REASON] = reason


@njit(cache=True, inline="always")
def _quiet_bars_nb(signal, j, stop, n, cash, pos, open_, close, equity_out, cash_out, pos_out,  # type: ignore[no-untyped-def]
                   record):
    """Process quiet bars from ``j``: no order to fill and no stop or target to check, so
    steps 1-3 of the rules do nothing and only the signal (``signal``: ``entries`` when flat,
    ``exits`` in a position) and the record remain. Stops after the first bar whose signal
    makes an order (a signal on the last bar makes none). Returns ``(next bar, order made)``.

    Most bars of most runs are quiet, so this is the hot path: a scan for the next signal, then
    one vectorizable pass recording the bars up to it. Indices are offsets into views starting
    at ``j``, which the compiler can prove non-negative (no negative-index handling per access).
    """
    m = stop - j
    sig = signal[j:stop]
    t = 0
    while t < m and not sig[t]:
        t += 1
    order = t < m and j + t < n - 1
    end = min(t + 1, m)
    for u in range(0, end, 8):
        prefetch_nb(open_, j + u + PREFETCH_AHEAD)
    cl = close[j:j + end]
    eq = equity_out[j:j + end]
    for u in range(end):
        eq[u] = cash + pos * cl[u]
    if record:
        cash_out[j:j + end] = cash
        pos_out[j:j + end] = pos
    return j + end, order


@njit(cache=True)
def simulate_range_nb(  # type: ignore[no-untyped-def]
    open_, high, low, close, entries, exits, start, stop,
    direction, fee_rate, slip_rate, sl, tp, trail, sizing_mode, sizing_value,
    state, trades, equity_out, cash_out, pos_out,
):
    """Advance ``state`` over bars ``[start, stop)``; return the next bar to process.

    Returns ``stop`` when done, or an earlier bar when ``trades`` is full (grow it and call
    again from that bar: at most one trade closes per bar, so one free row is enough).
    ``sl``, ``tp``, ``trail`` are fractions or NaN. ``equity_out`` is written for every
    processed bar; so are ``cash_out`` and ``pos_out`` unless they are empty (length 0: the
    engine passes empty ones, see ``domain.engine.run.SimResult``, and the sweep too). The state
    lives in locals during the loop (so it stays in registers) and is stored back on return.
    """
    n = close.shape[0]
    d = float(direction)
    has_trail = not math.isnan(trail)
    # without any stop or target the intrabar checks (and their reads of high/low) are skipped
    has_levels = has_trail or not math.isnan(sl) or not math.isnan(tp)
    cash = state[S_CASH]
    pos = state[S_POS]
    entry_price = state[S_ENTRY_PRICE]
    entry_fee = state[S_ENTRY_FEE]
    entry_idx = state[S_ENTRY_IDX]
    pending = state[S_PENDING]
    peak = state[S_PEAK]
    sl_level = state[S_SL]
    tp_level = state[S_TP]
    k = int(state[S_N_TRADES])
    exposed = int(state[S_EXPOSED])
    record = cash_out.shape[0] > 0
    cap_trades = trades.shape[0]
    j = start
    while j < stop:
        if pending == PENDING_NONE and (pos == 0.0 or not has_levels):
            # a quiet stretch (see ``_quiet_bars_nb``): the same steps, in a tighter loop
            if pos == 0.0:
                j, order = _quiet_bars_nb(entries, j, stop, n, cash, pos, open_, close, equity_out,
                                          cash_out, pos_out, record)
                if order:
                    pending = PENDING_ENTRY
            else:
                j0 = j
                j, order = _quiet_bars_nb(exits, j, stop, n, cash, pos, open_, close, equity_out,
                                          cash_out, pos_out, record)
                exposed += j - j0
                if order:
                    pending = PENDING_EXIT
            continue
        if k >= cap_trades:
            break
        exit_price = math.nan
        reason = EXIT_SIGNAL
        o = open_[j]
        # 1. the order from the previous bar's signal fills at this open
        if pending == PENDING_ENTRY:
            equity = cash
            price = o * (1.0 + d * slip_rate)
            if sizing_mode == SIZING_FRACTION:
                notional = sizing_value * equity
            elif sizing_mode == SIZING_FIXED_QUOTE:
                notional = sizing_value
            else:
                notional = equity * sizing_value / 100.0 / sl
            cap = equity / (1.0 + fee_rate)
            if notional > cap:
                notional = cap
            if equity > 0.0 and notional > 0.0 and price > 0.0:
                qty = notional / price
                fee = notional * fee_rate
                if d > 0:
                    cash -= notional + fee
                else:
                    cash += notional - fee
                pos = d * qty
                entry_price = price
                entry_fee = fee
                entry_idx = j
                peak = price
                sl_level = price * (1.0 - d * sl)
                tp_level = price * (1.0 + d * tp)
        elif pending == PENDING_EXIT:
            exit_price = o * (1.0 - d * slip_rate)
        pending = PENDING_NONE

        # 2. stops and target against the open (gaps), then the bar's range
        if has_levels and pos != 0.0 and math.isnan(exit_price):
            stop_level = sl_level
            reason = EXIT_STOP_LOSS
            if has_trail:
                trail_level = peak * (1.0 - d * trail)
                if math.isnan(stop_level) or d * (trail_level - stop_level) > 0.0:
                    stop_level = trail_level
                    reason = EXIT_TRAILING_STOP
            has_stop = not math.isnan(stop_level)
            has_tp = not math.isnan(tp_level)
            # the adverse and favourable extremes of the bar for this direction
            adverse = low[j] if d > 0 else high[j]
            favourable = high[j] if d > 0 else low[j]
            if has_stop and d * (o - stop_level) <= 0.0:
                exit_price = o * (1.0 - d * slip_rate)
            elif has_tp and d * (o - tp_level) >= 0.0:
                exit_price = o
                reason = EXIT_TAKE_PROFIT
            elif has_stop and d * (adverse - stop_level) <= 0.0:
                exit_price = stop_level * (1.0 - d * slip_rate)
            elif has_tp and d * (favourable - tp_level) >= 0.0:
                exit_price = tp_level
                reason = EXIT_TAKE_PROFIT
            elif d * (favourable - peak) > 0.0:
                # 3. the trailing reference moves only after the bar was checked
                peak = favourable
        if not math.isnan(exit_price):
            qty = abs(pos)
            exit_fee = qty * exit_price * fee_rate
            if d > 0:
                cash += qty * exit_price - exit_fee
            else:
                cash -= qty * exit_price + exit_fee
            _write_trade_nb(trades, k, entry_idx, j, entry_price, exit_price, qty, d,
                            entry_fee, exit_fee, reason)
            k += 1
            pos = 0.0
            sl_level = math.nan
            tp_level = math.nan

        # 4. signals at this close make the order for the next bar
        if j < n - 1:
            if pos == 0.0:
                if entries[j]:
                    pending = PENDING_ENTRY
            elif exits[j]:
                pending = PENDING_EXIT

        # 5. record the bar
        equity_out[j] = cash + pos * close[j]
        if record:
            cash_out[j] = cash
            pos_out[j] = pos
        if pos != 0.0:
            exposed += 1
        j += 1
    state[S_CASH] = cash
    state[S_POS] = pos
    state[S_ENTRY_PRICE] = entry_price
    state[S_ENTRY_FEE] = entry_fee
    state[S_ENTRY_IDX] = entry_idx
    state[S_PENDING] = pending
    state[S_PEAK] = peak
    state[S_SL] = sl_level
    state[S_TP] = tp_level
    state[S_N_TRADES] = k
    state[S_EXPOSED] = exposed
    return j


@njit(cache=True)
def close_open_trade_nb(state, trades, close):  # type: ignore[no-untyped-def]
    """Report a position still open after the last bar as an ``end_of_data`` trade.

    The state is left untouched (the position stays open in the equity curve); the trade shows
    its mark-to-market PnL at the last close, net of the entry fee only. ``trades`` needs one
    free row. Returns the number of trades written in total.
    """
    k = int(state[S_N_TRADES])
    pos = state[S_POS]
    if pos == 0.0:
        return k
    n = close.shape[0]
    d = 1.0 if pos > 0 else -1.0
    _write_trade_nb(trades, k, state[S_ENTRY_IDX], n - 1, state[S_ENTRY_PRICE], close[n - 1],
                    abs(pos), d, state[S_ENTRY_FEE], 0.0, EXIT_END_OF_DATA)
    return k + 1


@njit(cache=True)
def grow_trades_nb(trades: np.ndarray) -> np.ndarray:
    """A trade matrix twice as long, with the rows of ``trades`` copied in."""
    bigger = np.empty((trades.shape[0] * 2 + 16, N_TRADE_COLS), dtype=np.float64)
    bigger[: trades.shape[0]] = trades
    return bigger


@njit(cache=True)
def simulate_nb(  # type: ignore[no-untyped-def]
    open_, high, low, close, entries, exits, initial_capital,
    direction, fee_rate, slip_rate, sl, tp, trail, sizing_mode, sizing_value,
    record_cash_pos=True,
):
    """Run a whole series at once. Returns ``(trades, n_trades, equity, cash, position)``.

    ``trades[:n_trades]`` includes the ``end_of_data`` row of a position left open. With
    ``record_cash_pos=False``, ``cash`` and ``position`` are empty (not recorded).
    """
    n = close.shape[0]
    m = n if record_cash_pos else 0
    equity = np.empty(n, dtype=np.float64)
    cash = np.empty(m, dtype=np.float64)
    pos = np.empty(m, dtype=np.float64)
    trades = np.empty((64, N_TRADE_COLS), dtype=np.float64)
    state = new_state_nb(initial_capital)
    j = 0
    while j < n:
        j = simulate_range_nb(open_, high, low, close, entries, exits, j, n,
                              direction, fee_rate, slip_rate, sl, tp, trail,
                              sizing_mode, sizing_value, state, trades, equity, cash, pos)
        if j < n:
            trades = grow_trades_nb(trades)
    if int(state[S_N_TRADES]) >= trades.shape[0]:
        trades = grow_trades_nb(trades)
    k = close_open_trade_nb(state, trades, close)
    return trades, k, equity, cash, pos
