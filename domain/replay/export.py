"""A finished backtest's trades as transactions: to replay a backtest against another
exchange's or timeframe's candles (a robustness check), or to check the replay against the
engine (replaying a backtest's own trades with its fill and fee model gives back its PnL and
equity curve)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from domain.engine.rules import EXIT_END_OF_DATA
from domain.replay.fills import ReplayError, split_symbol
from domain.transactions.model import Side, Transaction


def transactions_from_trades(
    trades: npt.NDArray[np.void],
    symbol: str,
    fee_rate: float,
) -> list[Transaction]:
    """The fills of ``trades`` (``domain.engine.records.TRADE_DTYPE``), in time order.

    Each trade gives an entry fill at its ``entry_time`` and ``entry_price`` (a buy for a long,
    a sell for a short) and an exit fill of the same quantity at its ``exit_time`` and
    ``exit_price``; a trade whose exit reason is ``end_of_data`` gives only its entry (the
    engine did not close it). Each fill pays ``fee_rate * quantity * price`` in the quote of
    ``symbol`` (the engine's fee). The times are the engine's bar open times, so every fill
    falls in the bar it was filled in. ``row`` numbers the fills from 1 and ``trade_id`` is
    ``"<trade number>-entry"`` / ``"<trade number>-exit"`` (trades numbered from 1).
    """
    _, quote = split_symbol(symbol)
    if not (math.isfinite(fee_rate) and 0.0 <= fee_rate < 1.0):
        raise ReplayError(f"fee rate {fee_rate!r} must be a fraction in [0, 1)")
    out: list[Transaction] = []
    for number, t in enumerate(trades.tolist(), start=1):
        rec = dict(zip(trades.dtype.names or (), t, strict=True))
        qty = float(rec["quantity"])
        long = int(rec["direction"]) > 0
        legs: list[tuple[str, int, float, Side]] = [
            ("entry", int(rec["entry_time"]), float(rec["entry_price"]),
             "buy" if long else "sell")]
        if int(rec["exit_reason"]) != EXIT_END_OF_DATA:
            legs.append(("exit", int(rec["exit_time"]), float(rec["exit_price"]),
                         "sell" if long else "buy"))
        for leg, time_ms, price, side in legs:
            out.append(Transaction(time_ms, symbol, side, price, qty, fee_rate * qty * price,
                                   quote, f"{number}-{leg}", len(out) + 1))
    return out
