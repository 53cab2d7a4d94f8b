"""A plain-Python reference replay, written from the docstring of ``domain.replay.rules``.

Deliberately naive: Python floats and lists, a list of lot dicts, one bar at a time, the
unrealized PnL summed over the open lots at every close. The differential tests run it next
to ``domain.replay.replay_transactions`` on random transaction streams. Only the rule
constants and the timeframe arithmetic (bar ends) are imported from the code under test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from domain.engine.rules import EXIT_END_OF_DATA, EXIT_SIGNAL
from domain.replay.rules import QTY_TOL
from domain.timeframes import period_index, period_start
from domain.transactions.model import Transaction


@dataclass
class RefResult:
    equity: list[float] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    position: list[float] = field(default_factory=list)
    realized: list[float] = field(default_factory=list)
    unrealized: list[float] = field(default_factory=list)
    open_fees: list[float] = field(default_factory=list)
    drawdown: list[float] = field(default_factory=list)
    fills: list[dict[str, float]] = field(default_factory=list)
    trades: list[dict[str, float]] = field(default_factory=list)
    dropped_rows: list[int] = field(default_factory=list)


def bar_end(t: int, timeframe: str) -> int:
    return int(period_start(period_index(np.array([t]), timeframe) + 1, timeframe)[0])


def _fee_in_quote(tx: Transaction, base: str, quote: str, price: float, bar: int,
                  conversions: Mapping[str, Sequence[float]]) -> float:
    asset = tx.fee_asset.strip().upper()
    if asset in ("", quote):
        return tx.fee
    if asset == base:
        return tx.fee * price
    if tx.fee == 0.0:
        return 0.0
    return tx.fee * conversions[asset][bar]


def replay_reference(
    transactions: Sequence[Transaction],
    ts: Sequence[int],
    open_: Sequence[float],
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
    timeframe: str,
    initial_capital: float,
    conversions: Mapping[str, Sequence[float]] | None = None,
    fill: str = "actual",
    fee_rate: float | None = None,
    slippage_rate: float = 0.0,
    delay: int = 0,
) -> RefResult:
    conv = {k.upper(): v for k, v in (conversions or {}).items()}
    base, quote = (x.upper() for x in transactions[0].symbol.split("/")) if transactions \
        else ("", "")
    n = len(ts)
    txs = sorted(transactions, key=lambda tx: tx.time_ms)  # stable: input order on ties
    out = RefResult()
    # 1. place, price and charge every fill
    plan: list[dict[str, float]] = []
    for tx in txs:
        j = next(b for b in range(n) if ts[b] <= tx.time_ms < bar_end(ts[b], timeframe))
        s = 1 if tx.side == "buy" else -1
        q = tx.quantity
        if tx.fee_asset.strip().upper() == base:
            q = tx.quantity - tx.fee if s == 1 else tx.quantity + tx.fee
        actual_fee = _fee_in_quote(tx, base, quote, tx.price, j, conv)
        k = j + delay
        row = {"row": tx.row, "time": tx.time_ms, "bar": j, "side": s, "quantity": q,
               "price": tx.price, "fee": actual_fee}
        if k >= n:
            out.dropped_rows.append(tx.row)
            nan = float("nan")
            row.update(replay_bar=-1, replay_time=-1, replay_price=nan, replay_fee=nan,
                       slippage=nan, fee_attribution=nan, realized_pnl=nan)
            out.fills.append(row)
            continue
        if fill == "actual":
            b = tx.price
        elif fill == "open":
            b = open_[k]
        elif fill == "close":
            b = close[k]
        else:
            b = (high[k] + low[k] + close[k]) / 3.0
        price = b * (1.0 + slippage_rate) if s == 1 else b * (1.0 - slippage_rate)
        if fee_rate is None:
            fee = _fee_in_quote(tx, base, quote, price, k, conv)
        else:
            fee = fee_rate * q * price
        time = min(tx.time_ms + ts[k] - ts[j], bar_end(ts[k], timeframe) - 1)
        row.update(replay_bar=k, replay_time=time, replay_price=price, replay_fee=fee,
                   slippage=s * (tx.price - price) * q, fee_attribution=actual_fee - fee,
                   realized_pnl=0.0)
        out.fills.append(row)
        plan.append(row)

    # 2. walk the bars: the bar's fills, then the record at its close
    cash = initial_capital
    pos = 0.0
    realized = 0.0
    peak = initial_capital
    lots: list[dict[str, float]] = []  # all on one side; oldest first

    def trade(lot: dict[str, float], exit_idx: int, exit_time: float, exit_price: float,
              qty: float, fees: float, reason: int) -> float:
        d = lot["d"]
        gross = d * qty * (exit_price - lot["price"])
        pnl = gross - fees
        out.trades.append({
            "entry_idx": lot["bar"], "exit_idx": exit_idx, "entry_time": lot["time"],
            "exit_time": exit_time, "entry_price": lot["price"], "exit_price": exit_price,
            "quantity": qty, "direction": d, "gross_pnl": gross, "fees": fees, "pnl": pnl,
            "return": pnl / (qty * lot["price"]), "exit_reason": reason})
        return pnl

    for j in range(n):
        for f in plan:
            if f["replay_bar"] != j:
                continue
            side, q, p, fee = f["side"], f["quantity"], f["replay_price"], f["replay_fee"]
            if side == 1:
                cash -= q * p + fee
            else:
                cash += q * p - fee
            if not lots or lots[0]["d"] == side:
                lots.append({"d": side, "qty": q, "price": p, "fee": fee, "bar": j,
                             "time": f["replay_time"]})
                pos = sum(lot["d"] * lot["qty"] for lot in lots)
                continue
            tol = QTY_TOL * q
            left = q
            while left > 0.0 and lots:
                lot = lots[0]
                if lot["qty"] <= left + tol:
                    c = lot["qty"]
                    entry_fee = lot["fee"]
                    lots.pop(0)
                else:
                    c = left
                    entry_fee = lot["fee"] * c / lot["qty"]
                    lot["qty"] -= c
                    lot["fee"] -= entry_fee
                pnl = trade(lot, j, f["replay_time"], p, c, entry_fee + fee * c / q, EXIT_SIGNAL)
                realized += pnl
                f["realized_pnl"] += pnl
                left -= c
                if left <= tol:
                    left = 0.0
            if not lots and left > 0.0:
                lots.append({"d": side, "qty": left, "price": p, "fee": fee * left / q, "bar": j,
                             "time": f["replay_time"]})
            pos = sum(lot["d"] * lot["qty"] for lot in lots)
        c_j = close[j]
        equity = cash + pos * c_j
        peak = max(peak, equity)
        out.equity.append(equity)
        out.cash.append(cash)
        out.position.append(pos)
        out.realized.append(realized)
        out.unrealized.append(sum(lot["d"] * lot["qty"] * (c_j - lot["price"]) for lot in lots))
        out.open_fees.append(sum(lot["fee"] for lot in lots))
        out.drawdown.append(1.0 - equity / peak)
    for lot in lots:
        trade(lot, n - 1, ts[n - 1], close[n - 1], lot["qty"], lot["fee"], EXIT_END_OF_DATA)
    return out
