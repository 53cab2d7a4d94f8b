"""A plain-Python reference simulator, written from the docstring of ``domain.engine.rules``.

It is deliberately naive: Python floats and lists, one bar at a time, one ``if`` per rule, so a
reader can check it against the rules line by line. The differential tests
(``test_properties.py``) run it next to the numba kernel (``domain.engine.nb``) on random data and
require the same trades and curves.

Only the exit-reason codes are imported from ``domain.engine.rules`` (they are part of the spec);
nothing is shared with the kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from domain.engine.rules import (
    EXIT_END_OF_DATA,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TRAILING_STOP,
)

# sizing codes (the values of domain.engine.config.SIZING_MODES)
FRACTION_OF_EQUITY = 0
FIXED_QUOTE = 1
RISK_PCT = 2

TRADE_FIELDS: tuple[str, ...] = (
    "entry_idx",
    "exit_idx",
    "entry_price",
    "exit_price",
    "quantity",
    "direction",
    "gross_pnl",
    "fees",
    "pnl",
    "return",
    "exit_reason",
)


@dataclass
class Result:
    """Trades (one dict per trade, keys ``TRADE_FIELDS``) and the per-bar curves at the close."""

    trades: list[dict[str, float]]
    equity: list[float]
    cash: list[float]
    position: list[float]


def _is_set(x: float) -> bool:
    return not math.isnan(x)


def _make_trade(
    entry_idx: int,
    exit_idx: int,
    entry_price: float,
    exit_price: float,
    qty: float,
    d: int,
    entry_fee: float,
    exit_fee: float,
    reason: int,
) -> dict[str, float]:
    gross = d * qty * (exit_price - entry_price)
    fees = entry_fee + exit_fee
    net = gross - fees
    return {
        "entry_idx": entry_idx,
        "exit_idx": exit_idx,
        "entry_price": entry_price,
        "exit_price": exit_price,
        "quantity": qty,
        "direction": d,
        "gross_pnl": gross,
        "fees": fees,
        "pnl": net,
        "return": net / (qty * entry_price),
        "exit_reason": reason,
    }


def simulate_reference(
    open_: Sequence[float],
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
    entries: Sequence[bool],
    exits: Sequence[bool],
    initial_capital: float,
    direction: int,
    fee_rate: float,
    slip_rate: float,
    sl: float,
    tp: float,
    trail: float,
    sizing_mode: int,
    sizing_value: float,
) -> Result:
    """Same inputs as ``domain.engine.nb.simulate_nb``; see ``domain.engine.rules``."""
    n = len(close)
    d = int(direction)
    if d not in (1, -1):
        raise ValueError("direction must be +1 or -1")
    if sizing_mode == RISK_PCT and not _is_set(sl):
        raise ValueError("risk_pct sizing needs a stop-loss")
    fee_rate = float(fee_rate)
    s = float(slip_rate)

    def buy(price: float) -> float:  # a market buy pays the slippage
        return price * (1.0 + s)

    def sell(price: float) -> float:  # a market sell receives less
        return price * (1.0 - s)

    def market_entry(price: float) -> float:
        return buy(price) if d == 1 else sell(price)

    def market_exit(price: float) -> float:
        return sell(price) if d == 1 else buy(price)

    def at_or_beyond_stop(price: float, level: float) -> bool:
        # "beyond" a stop is the losing side: below for a long, above for a short
        return price <= level if d == 1 else price >= level

    def at_or_beyond_target(price: float, level: float) -> bool:
        return price >= level if d == 1 else price <= level

    cash = float(initial_capital)
    in_position = False
    qty = 0.0  # always >= 0; the side is d
    entry_price = 0.0
    entry_fee = 0.0
    entry_idx = -1
    best = 0.0  # the trailing reference X
    sl_level = math.nan
    tp_level = math.nan
    pending: str | None = None  # "entry" or "exit": the order for this bar's open

    trades: list[dict[str, float]] = []
    equity_curve: list[float] = []
    cash_curve: list[float] = []
    position_curve: list[float] = []

    for j in range(n):
        o = float(open_[j])
        h = float(high[j])
        lo = float(low[j])
        c = float(close[j])
        exit_price: float | None = None
        exit_reason = EXIT_SIGNAL

        # 1. the pending order fills at the open
        if pending == "entry":
            equity = cash  # flat: equity is cash
            price = market_entry(o)
            if sizing_mode == FRACTION_OF_EQUITY:
                notional = sizing_value * equity
            elif sizing_mode == FIXED_QUOTE:
                notional = sizing_value
            elif sizing_mode == RISK_PCT:
                notional = equity * sizing_value / 100.0 / sl
            else:
                raise ValueError(f"unknown sizing mode {sizing_mode}")
            notional = min(notional, equity / (1.0 + fee_rate))  # no leverage
            if equity > 0.0 and notional > 0.0:
                qty = notional / price
                fee = fee_rate * qty * price
                if d == 1:
                    cash -= qty * price + fee
                else:
                    cash += qty * price - fee
                in_position = True
                entry_price = price
                entry_fee = fee
                entry_idx = j
                best = price
                sl_level = price * (1.0 - d * sl) if _is_set(sl) else math.nan
                tp_level = price * (1.0 + d * tp) if _is_set(tp) else math.nan
        elif pending == "exit":
            exit_price = market_exit(o)
            exit_reason = EXIT_SIGNAL
        pending = None

        # 2. stops and target: the open (gaps) first, then the range
        if in_position and exit_price is None:
            stop = math.nan
            stop_reason = EXIT_STOP_LOSS
            if _is_set(sl_level):
                stop = sl_level
            if _is_set(trail):
                trail_level = best * (1.0 - d * trail)  # best from the bars before this one
                tighter = (trail_level > stop) if d == 1 else (trail_level < stop)
                if not _is_set(stop) or tighter:  # a tie stays a stop_loss
                    stop = trail_level
                    stop_reason = EXIT_TRAILING_STOP
            adverse = lo if d == 1 else h
            favourable = h if d == 1 else lo
            if _is_set(stop) and at_or_beyond_stop(o, stop):
                exit_price, exit_reason = market_exit(o), stop_reason
            elif _is_set(tp_level) and at_or_beyond_target(o, tp_level):
                exit_price, exit_reason = o, EXIT_TAKE_PROFIT
            elif _is_set(stop) and at_or_beyond_stop(adverse, stop):
                # touches the stop (maybe the target too): the stop is assumed first
                exit_price, exit_reason = market_exit(stop), stop_reason
            elif _is_set(tp_level) and at_or_beyond_target(favourable, tp_level):
                exit_price, exit_reason = tp_level, EXIT_TAKE_PROFIT

        if exit_price is not None:
            exit_fee = fee_rate * qty * exit_price
            if d == 1:
                cash += qty * exit_price - exit_fee
            else:
                cash -= qty * exit_price + exit_fee
            trades.append(
                _make_trade(entry_idx, j, entry_price, exit_price, qty, d, entry_fee, exit_fee,
                            exit_reason)
            )
            in_position = False
            qty = 0.0
            sl_level = math.nan
            tp_level = math.nan
        elif in_position:
            # 3. the trailing reference takes this (completed) bar's extreme
            best = max(best, h) if d == 1 else min(best, lo)

        # 4. signals at the close; none on the last bar (no next open)
        if j < n - 1:
            if not in_position and entries[j]:
                pending = "entry"
            elif in_position and exits[j]:
                pending = "exit"

        # 5. record at the close
        position = d * qty if in_position else 0.0
        cash_curve.append(cash)
        position_curve.append(position)
        equity_curve.append(cash + position * c)

    if in_position:
        # still open: marked at the last close, only the entry fee paid
        trades.append(
            _make_trade(entry_idx, n - 1, entry_price, float(close[n - 1]), qty, d, entry_fee,
                        0.0, EXIT_END_OF_DATA)
        )
    return Result(trades, equity_curve, cash_curve, position_curve)
