"""Replay transactions over candles: the account as it was, or a what-if with other fills.

``replay_transactions`` rebuilds positions, PnL, equity and round trips; ``what_if`` replays
the same decisions with another fill model and compares them with the actual fills;
``replay_metrics`` gives a replay the metrics of a backtest. The rules are in
``domain.replay.rules``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.engine.rules import EXIT_END_OF_DATA
from domain.metrics import METRIC_NAMES, check_scalars, metrics_exposed_nb
from domain.replay import nb
from domain.replay.fills import F64, I64, Fills, ReplayError
from domain.replay.placement import Conversions, Placed, bar_ends, place
from domain.replay.records import FILL_DTYPE, round_trips_to_records
from domain.replay.rules import FILL_MODELS, QTY_TOL
from domain.timeframes import periods_per_year, timeframe_ms
from domain.transactions.model import Transaction

Transactions = Sequence[Transaction] | Fills


@dataclass(frozen=True)
class ReplayModel:
    """How fills are replayed (rules: "What-if models"). The default is the account as it was.

    ``fill``: ``"actual"``, ``"open"``, ``"close"`` or ``"typical"``; ``fee_rate``: ``None``
    keeps the actual fees, a fraction (10 bps -> 0.001) charges it on each fill's notional in
    quote; ``slippage_rate``: a fraction against the trader; ``delay_bars``: bars to shift by.
    """

    fill: str = "actual"
    fee_rate: float | None = None
    slippage_rate: float = 0.0
    delay_bars: int = 0

    def __post_init__(self) -> None:
        if self.fill not in FILL_MODELS:
            raise ReplayError(f"unknown fill model {self.fill!r}: use one of "
                              f"{', '.join(FILL_MODELS)}")
        if self.fee_rate is not None and not (math.isfinite(self.fee_rate)
                                              and 0.0 <= self.fee_rate < 1.0):
            raise ReplayError(f"fee rate {self.fee_rate!r} must be a fraction in [0, 1) "
                              "(10 bps is 0.001)")
        if not (math.isfinite(self.slippage_rate) and 0.0 <= self.slippage_rate < 1.0):
            raise ReplayError(f"slippage rate {self.slippage_rate!r} must be a fraction in "
                              "[0, 1) (10 bps is 0.001)")
        if isinstance(self.delay_bars, bool) or not isinstance(self.delay_bars, int) \
                or self.delay_bars < 0:
            raise ReplayError(f"delay {self.delay_bars!r} must be a whole number of bars >= 0")


ACTUAL = ReplayModel()


@dataclass(frozen=True)
class Replay:
    """A replayed account: per-bar curves at each close (``times`` are the candles' open
    times), the per-fill table (``FILL_DTYPE``, time order, dropped fills included), the round
    trips (``TRADE_DTYPE``: closed pieces, then the ``end_of_data`` rows) and the rows of the
    fills dropped by the delay."""

    symbol: str
    timeframe: str
    initial_capital: float
    model: ReplayModel
    times: I64
    close: F64 = field(repr=False)
    equity: F64 = field(repr=False)
    cash: F64 = field(repr=False)
    position: F64 = field(repr=False)
    realized: F64 = field(repr=False)
    unrealized: F64 = field(repr=False)
    open_fees: F64 = field(repr=False)
    drawdown: F64 = field(repr=False)
    fills: npt.NDArray[np.void] = field(repr=False)
    trades: npt.NDArray[np.void] = field(repr=False)
    dropped_rows: I64 = field(repr=False)

    @property
    def n_dropped(self) -> int:
        return int(self.dropped_rows.shape[0])

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1])

    @property
    def net_pnl(self) -> float:
        return float(self.equity[-1]) - self.initial_capital

    @property
    def closed_trades(self) -> npt.NDArray[np.void]:
        closed: npt.NDArray[np.void] = self.trades[self.trades["exit_reason"] != EXIT_END_OF_DATA]
        return closed

    @property
    def has_open_position(self) -> bool:
        return bool(self.position[-1] != 0.0)

    @property
    def total_fees(self) -> float:
        """The replayed fees of the fills replayed, in quote."""
        return float(np.nansum(self.fills["replay_fee"]))

    @property
    def total_slippage(self) -> float:
        return float(np.nansum(self.fills["slippage"]))

    @property
    def total_fee_attribution(self) -> float:
        return float(np.nansum(self.fills["fee_attribution"]))


@dataclass(frozen=True)
class WhatIf:
    """The actual account and the what-if replay, with the totals of the differences (rules:
    "Attribution"). Both replays' ``fills`` tables are in the same (time) order, row for row."""

    actual: Replay
    replayed: Replay
    slippage: float  # sum of the per-fill slippage (the actual fills' extra cost)
    fee_attribution: float  # sum of the per-fill fee attribution (the actual extra fees)
    pnl_difference: float  # replayed net PnL - actual net PnL
    dropped_pnl: float  # pnl_difference - slippage - fee_attribution: the dropped fills' part

    @property
    def n_dropped(self) -> int:
        return self.replayed.n_dropped


def _resolve(transactions: Transactions, candles: Candles, timeframe: str | None,
             symbol: str | None) -> tuple[Fills, str]:
    tf = timeframe or candles.timeframe
    if not tf:
        raise ReplayError("the candles have no timeframe: give one (e.g. 1h) to replay")
    if isinstance(transactions, Fills):
        want = symbol or candles.symbol or transactions.symbol
        if len(transactions) and transactions.symbol.upper() != want.upper():
            raise transactions.fail(0, f"is a {transactions.symbol} transaction, but {want} is "
                                    "replayed: replay one symbol at a time")
        return transactions, tf
    first = transactions[0].symbol if len(transactions) else ""
    want = symbol or candles.symbol or first
    return Fills.from_transactions(transactions, want), tf


def _run(p: Placed, candles: Candles, initial_capital: float, model: ReplayModel) -> Replay:
    f = p.fills
    n = len(candles)
    m = len(f)
    k = p.bar + model.delay_bars
    keep = k < n
    kk = np.where(keep, k, 0)
    if model.fill == "open":
        base_price = candles.open[kk]
    elif model.fill == "close":
        base_price = candles.close[kk]
    elif model.fill == "typical":
        base_price = (candles.high[kk] + candles.low[kk] + candles.close[kk]) / 3.0
    else:
        base_price = f.price
    price = np.where(keep, base_price * (1.0 + f.side * model.slippage_rate), np.nan)
    if model.fee_rate is None:
        fee = p.fee_in_quote(kk, price, keep)
    else:
        fee = np.where(keep, model.fee_rate * p.qty * price, np.nan)
    end = bar_ends(p.ts[kk], p.timeframe) - 1
    time = np.minimum(f.time_ms + p.ts[kk] - p.ts[p.bar], end)
    kept = int(keep.sum())  # the dropped fills are the last ones (rules: delay)
    curves, fill_pnl, rt, n_rt = nb.replay_nb(
        np.ascontiguousarray(kk[:kept]), np.ascontiguousarray((f.side * p.qty)[:kept]),
        np.ascontiguousarray(price[:kept]), np.ascontiguousarray(fee[:kept]),
        np.ascontiguousarray(time[:kept]), candles.close, p.ts, float(initial_capital), QTY_TOL)
    table = np.empty(m, dtype=FILL_DTYPE)
    table["row"] = f.row
    table["time"] = f.time_ms
    table["bar"] = p.bar
    table["replay_bar"] = np.where(keep, k, -1)
    table["replay_time"] = np.where(keep, time, -1)
    table["side"] = f.side
    table["quantity"] = p.qty
    table["price"] = f.price
    table["fee"] = p.fee
    table["replay_price"] = price
    table["replay_fee"] = fee
    table["slippage"] = f.side * (f.price - price) * p.qty
    table["fee_attribution"] = p.fee - fee
    pnl = np.full(m, np.nan)
    pnl[:kept] = fill_pnl
    table["realized_pnl"] = pnl
    return Replay(
        f.symbol, p.timeframe, float(initial_capital), model, p.ts, candles.close,
        equity=curves[nb.C_EQUITY], cash=curves[nb.C_CASH], position=curves[nb.C_POSITION],
        realized=curves[nb.C_REALIZED], unrealized=curves[nb.C_UNREALIZED],
        open_fees=curves[nb.C_OPEN_FEES], drawdown=curves[nb.C_DRAWDOWN], fills=table,
        trades=round_trips_to_records(rt, int(n_rt)), dropped_rows=f.row[~keep])


def _check_capital(initial_capital: float) -> None:
    if not (math.isfinite(initial_capital) and initial_capital > 0.0):
        raise ReplayError(f"initial capital {initial_capital!r} must be a number > 0")


def replay_transactions(
    transactions: Transactions,
    candles: Candles,
    initial_capital: float,
    *,
    model: ReplayModel = ACTUAL,
    timeframe: str | None = None,
    symbol: str | None = None,
    conversions: Conversions | None = None,
) -> Replay:
    """Replay the ``transactions`` of one symbol over ``candles`` from ``initial_capital``.

    ``transactions``: ``Transaction`` objects or ``Fills``. ``timeframe`` defaults to the
    candles', ``symbol`` to the candles' (else the first transaction's); ``conversions`` gives
    per-bar prices of other fee assets (``{"BNB": ...}``, see ``align_prices``). ``model``
    defaults to the account as it was. Raises ``ReplayError`` (a ``DomainError``) naming the
    row of a transaction that is outside the candles, of another symbol, malformed or paying
    a fee that cannot be converted.
    """
    _check_capital(initial_capital)
    fills, tf = _resolve(transactions, candles, timeframe, symbol)
    return _run(place(fills, candles, tf, conversions), candles, initial_capital, model)


def what_if(
    transactions: Transactions,
    candles: Candles,
    initial_capital: float,
    model: ReplayModel,
    *,
    timeframe: str | None = None,
    symbol: str | None = None,
    conversions: Conversions | None = None,
) -> WhatIf:
    """The actual replay and the ``model`` replay of the same transactions, compared (arguments
    as for ``replay_transactions``)."""
    _check_capital(initial_capital)
    fills, tf = _resolve(transactions, candles, timeframe, symbol)
    p = place(fills, candles, tf, conversions)
    actual = _run(p, candles, initial_capital, ACTUAL)
    replayed = _run(p, candles, initial_capital, model)
    slip = replayed.total_slippage
    fees = replayed.total_fee_attribution
    diff = replayed.net_pnl - actual.net_pnl
    return WhatIf(actual, replayed, slip, fees, diff, diff - slip - fees)


def replay_metrics(replay: Replay, risk_free_rate: float = 0.0) -> dict[str, float]:
    """Every metric of ``domain.metrics`` for a replay, as the engine computes them for a
    backtest (``domain.engine.run.metrics_of``): trade statistics on the closed round trips,
    exposure from the bars closing with a position."""
    bar_ms, ppy = float(timeframe_ms(replay.timeframe)), periods_per_year(replay.timeframe)
    check_scalars(replay.initial_capital, bar_ms, ppy, risk_free_rate)
    closed = replay.closed_trades
    vec = metrics_exposed_nb(
        replay.equity, int(np.count_nonzero(replay.position)), replay.close,
        np.ascontiguousarray(closed["pnl"]), np.ascontiguousarray(closed["return"]),
        replay.initial_capital, bar_ms, ppy, float(risk_free_rate))
    return dict(zip(METRIC_NAMES, vec.tolist(), strict=True))
