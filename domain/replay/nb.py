"""Numba kernel of the replay: FIFO lots, cash, per-bar curves and round trips.

It implements the accounting part of ``domain.replay.rules`` on fills already placed in their
bars and priced (``domain.replay.run`` applies the fill model, the delay and the fees): each
fill is a bar index, a signed effective quantity, a price and a fee in quote.

Round trips are rows of a float64 matrix (columns ``R_*``, times as float64: UTC milliseconds
are exact integers in a float64); ``domain.replay.records`` turns them into
``domain.engine.records.TRADE_DTYPE`` records.

Speed: one pass over the bars with a pointer into the (sorted) fills; the lots live in
preallocated arrays used as a queue (each fill opens at most one lot, and lots are only opened
at the tail and closed at the head), so a replay allocates nothing per fill.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from domain.engine.rules import EXIT_END_OF_DATA, EXIT_SIGNAL

# round-trip matrix columns
R_ENTRY_IDX = 0
R_EXIT_IDX = 1
R_ENTRY_TIME = 2
R_EXIT_TIME = 3
R_ENTRY_PRICE = 4
R_EXIT_PRICE = 5
R_QTY = 6
R_DIRECTION = 7
R_GROSS = 8
R_FEES = 9
R_NET = 10
R_RETURN = 11
R_REASON = 12
N_ROUND_TRIP_COLS = 13

# per-bar curve rows of the ``curves`` matrix
C_EQUITY = 0
C_CASH = 1
C_POSITION = 2
C_REALIZED = 3
C_UNREALIZED = 4
C_OPEN_FEES = 5
C_DRAWDOWN = 6
N_CURVES = 7


@njit(cache=True, inline="always")
def _write_nb(rt, k, entry_idx, exit_idx, entry_time, exit_time, entry_price, exit_price,  # type: ignore[no-untyped-def]
              qty, d, fees, reason):
    gross = d * qty * (exit_price - entry_price)
    net = gross - fees
    rt[k, R_ENTRY_IDX] = entry_idx
    rt[k, R_EXIT_IDX] = exit_idx
    rt[k, R_ENTRY_TIME] = entry_time
    rt[k, R_EXIT_TIME] = exit_time
    rt[k, R_ENTRY_PRICE] = entry_price
    rt[k, R_EXIT_PRICE] = exit_price
    rt[k, R_QTY] = qty
    rt[k, R_DIRECTION] = d
    rt[k, R_GROSS] = gross
    rt[k, R_FEES] = fees
    rt[k, R_NET] = net
    rt[k, R_RETURN] = net / (qty * entry_price)
    rt[k, R_REASON] = reason
    return net


@njit(cache=True)
def replay_nb(bar, qty, price, fee, time, close, ts, initial_capital, qty_tol):  # type: ignore[no-untyped-def]
    """Replay priced fills over the bars. Returns ``(curves, fill_pnl, round_trips, k)``.

    ``bar`` (int64, non-decreasing, each in ``[0, n)``), ``qty`` (signed effective quantity,
    never 0), ``price`` (> 0), ``fee`` (quote, >= 0) and ``time`` (int64 UTC ms) describe the
    ``m`` fills in replay order. ``close`` and ``ts`` are the candles' (``n >= 1``).

    ``curves`` is ``(N_CURVES, n)``: the per-bar values at each close (rows ``C_*``).
    ``fill_pnl[i]`` is the net PnL realized by fill ``i``. ``round_trips[:k]`` are the closed
    pieces in closing order, then the ``end_of_data`` rows of the lots left open.
    """
    n = close.shape[0]
    m = bar.shape[0]
    curves = np.empty((N_CURVES, n), dtype=np.float64)
    fill_pnl = np.zeros(m, dtype=np.float64)
    # at most one partial piece per fill plus one row per lot (closed whole or left open)
    rt = np.empty((2 * m + 1, N_ROUND_TRIP_COLS), dtype=np.float64)
    lot_q = np.empty(m, dtype=np.float64)
    lot_p = np.empty(m, dtype=np.float64)
    lot_f = np.empty(m, dtype=np.float64)
    lot_bar = np.empty(m, dtype=np.int64)
    lot_t = np.empty(m, dtype=np.int64)
    head = 0
    tail = 0
    side = 0.0  # +1 long lots, -1 short lots, 0 flat
    cash = float(initial_capital)
    pos = 0.0
    cost = 0.0  # sum of d * remaining * entry price over the open lots
    open_fees = 0.0
    realized = 0.0
    peak = float(initial_capital)
    k = 0
    i = 0
    for j in range(n):
        while i < m and bar[i] == j:
            dq = qty[i]
            p = price[i]
            f = fee[i]
            d = 1.0 if dq > 0.0 else -1.0
            aq = abs(dq)
            cash -= dq * p + f
            if side == 0.0 or side == d:
                lot_q[tail] = aq
                lot_p[tail] = p
                lot_f[tail] = f
                lot_bar[tail] = j
                lot_t[tail] = time[i]
                tail += 1
                side = d
                pos += dq
                cost += dq * p
                open_fees += f
            else:
                tol = qty_tol * aq
                left = aq
                closed = 0.0
                pnl = 0.0
                while left > 0.0 and head < tail:
                    lq = lot_q[head]
                    lp = lot_p[head]
                    whole = lq <= left + tol
                    if whole:
                        c = lq
                        entry_fee = lot_f[head]
                    else:
                        c = left
                        entry_fee = lot_f[head] * c / lq
                        lot_q[head] = lq - c
                        lot_f[head] -= entry_fee
                    pnl += _write_nb(rt, k, lot_bar[head], j, lot_t[head], time[i], lp, p, c,
                                     side, entry_fee + f * c / aq, EXIT_SIGNAL)
                    k += 1
                    if whole:
                        head += 1
                    closed += c
                    cost -= side * c * lp
                    open_fees -= entry_fee
                    left -= c
                    if left <= tol:
                        left = 0.0
                realized += pnl
                fill_pnl[i] = pnl
                if head == tail:
                    pos = 0.0
                    cost = 0.0
                    open_fees = 0.0
                    side = 0.0
                    if left > 0.0:
                        rest_fee = f * left / aq
                        lot_q[tail] = left
                        lot_p[tail] = p
                        lot_f[tail] = rest_fee
                        lot_bar[tail] = j
                        lot_t[tail] = time[i]
                        tail += 1
                        side = d
                        pos = d * left
                        cost = pos * p
                        open_fees = rest_fee
                else:
                    pos += d * closed
            i += 1
        c_j = close[j]
        e = cash + pos * c_j
        if e > peak:
            peak = e
        curves[C_EQUITY, j] = e
        curves[C_CASH, j] = cash
        curves[C_POSITION, j] = pos
        curves[C_REALIZED, j] = realized
        curves[C_UNREALIZED, j] = pos * c_j - cost
        curves[C_OPEN_FEES, j] = open_fees
        curves[C_DRAWDOWN, j] = 1.0 - e / peak
    last = close[n - 1]
    for h in range(head, tail):
        _write_nb(rt, k, lot_bar[h], n - 1, lot_t[h], ts[n - 1], lot_p[h], last, lot_q[h],
                  side, lot_f[h], EXIT_END_OF_DATA)
        k += 1
    return curves, fill_pnl, rt, k
