"""The replay's rules: how imported fills become positions, PnL, round trips and what-ifs.

This docstring is the reference; ``domain.replay.nb`` (lots and accounting) with
``domain.replay.fills`` and ``domain.replay.run`` (bars, fees, fill models) implement it, and
``tests/domain/replay/reference.py`` re-implements it in plain Python for differential tests.
Cash, equity and round trips follow ``domain.engine.rules``, so a backtest's trades replayed
with its own fill and fee model give back its equity curve and PnL.

Inputs
------
* The transactions of ONE symbol ``BASE/QUOTE`` (``domain.transactions.model``); every
  transaction's symbol must equal the replayed symbol (an error names the first row that does
  not). The replayed symbol is the ``symbol`` argument, else the candles' own symbol, else the
  first transaction's.
* Candles of that symbol (sorted open times ``ts``) and their timeframe (the ``timeframe``
  argument, else the candles' own), the initial capital ``C > 0`` (quote), and optionally one
  conversion price series per other fee asset (``{"BNB": prices}``): the asset's price in the
  QUOTE of the symbol (BNB/USDT for a USDT pair, BNB/BTC for a BTC pair), one value per candle.
* Transactions are processed in time order; a stable sort keeps the input order of equal times.
* Every error is a ``domain.replay.ReplayError`` (a ``DataError``) whose message names the
  transaction (side, time, quantity, price) and whose ``row`` is its row in the user's file
  when known: another symbol (compared case-insensitively), a time outside the candles, a price
  or quantity that is not a number > 0, a fee that is not a number >= 0, a side that is neither
  buy nor sell, a base fee not smaller than the quantity bought, a fee that cannot be converted.
  Nothing is rounded: quantities and prices are float64 as given.

Which bar
---------
* A transaction at time ``t`` belongs to bar ``j`` when ``ts[j] <= t < end[j]``, ``end[j]`` being
  the open time of the next bar of the timeframe (``domain.timeframes``: fixed lengths, calendar
  months for ``1M``). A time before the first bar, after the last bar's end or inside a gap of the
  candles is an error naming the transaction's row.
* Within a bar, fills happen in time order, all of them before the bar's close; the per-bar
  curves are recorded at the close after the bar's fills (as the engine records after its fill).

Quantities and fees (the fill's *effective* quantity ``q`` is the change of the base position)
---------------------------------------------------------------------------------------------
* ``s = +1`` for a buy, ``-1`` for a sell; the signed position change is ``s * q``.
* A fee in the QUOTE asset is a quote amount as it is; ``q`` is the executed quantity.
* A fee in the BASE asset is what Binance does when the fee is paid from what you receive: on a
  buy of ``x`` base the account receives ``x - fee`` base, so ``q = x - fee`` (it must be > 0); on
  a sell the base fee is taken in addition to the ``x`` sold, so ``q = x + fee`` (Binance
  charges a sell's fee in the quote received, or BNB; a base fee on a sell comes from other
  exchanges' files). Its quote value is ``fee * P`` at the fill's price ``P``. The cash moves by exactly ``x * P`` either way, since
  ``q * P + fee * P = x * P`` on a buy and ``q * P - fee * P = x * P`` on a sell.
* A fee in ANY OTHER asset (BNB...) is worth ``fee * price[j]`` in quote, ``price[j]`` being the
  given conversion series at the fill's bar ``j``: with closes, the close of the trade's own bar
  (nothing later than the bar the trade falls in is used). A missing series, or a value at ``j``
  that is not a finite number > 0, is an error naming the row. A fee of 0 needs no conversion.
* Fee asset names are compared case-insensitively with the symbol's base and quote; an empty
  fee asset counts as the quote.

Cash, position, equity (as in ``domain.engine.rules``)
-----------------------------------------------------
* A fill of effective quantity ``q`` at price ``P`` with fee ``F`` (quote): a buy does
  ``cash -= q * P + F``, ``position += q``; a sell does ``cash += q * P - F``,
  ``position -= q``. The initial cash is ``C``, the position 0 (flat). No leverage limit,
  margin, borrow cost or liquidation: a short is 1x, the replay only accounts.
* At each bar's close ``c``: ``equity = cash + position * c``.

FIFO lots (long and short)
--------------------------
* Open lots all have the same side. Each remembers its remaining quantity, entry price, entry
  bar and time, and the part of its entry fee not yet realized.
* A fill on the side of the lots (or when flat) opens a new lot with the fill's quantity, price
  and whole fee. A sell while flat opens a short lot.
* A fill on the other side closes lots oldest first. A lot closed by ``c`` units at price ``X``
  realizes one round-trip piece: ``gross = d * c * (X - P_lot)`` (``d = +1`` for long lots,
  ``-1`` for short), its entry fee share ``lot_fee * c / lot_remaining`` (the lot's remaining
  fee shrinks by as much), its exit fee share ``F * c / q``; ``pnl = gross - both shares``.
* When the fill is larger than every open lot (it crosses zero), the lots are all closed and the
  rest ``r`` opens a lot on the fill's side with the fee share ``F * r / q``.
* Quantity tolerance (float dust): with ``tol = 1e-9 * q``, a lot whose remaining quantity is
  ``<= left + tol`` (``left``: what the fill has still to close) is closed whole; what is left
  after a closed lot is treated as 0 once ``<= tol``. When the last lot is closed, position, cost
  basis and pending fees are set to exactly 0.

PnL at each bar's close
-----------------------
* ``realized``: the sum of the ``pnl`` of every piece closed so far (net of the fees shared to
  it). ``open_fees``: the entry fees of the lots still open (not yet in ``realized``).
* ``unrealized = position * c - sum(d * lot_remaining * P_lot)``: the open lots marked to the
  close, before fees.
* Identity: ``equity = C + realized + unrealized - open_fees`` (up to float rounding).
* ``drawdown = 1 - equity / peak`` with ``peak = max(C, equity so far)`` (the metrics' rule).

Round trips (``domain.engine.records.TRADE_DTYPE``)
--------------------------------------------------
* Each closed piece is a trade: entry/exit bar index, entry/exit time (the fills' times, see
  delay below), entry price (the lot's), exit price (the fill's), quantity ``c``, direction
  ``d``, gross, fees (entry + exit share), pnl, return ``pnl / (c * P_lot)``, exit reason
  ``signal``; in order of closing.
* Every lot still open after the last bar is reported afterwards (oldest first) as an
  ``end_of_data`` trade, exactly like the engine: exit at the last bar (its index and open
  time) at the last close, no exit fee charged (the position is not closed), so
  ``pnl = gross - the lot's remaining entry fee``. The sum of every trade's pnl is therefore
  ``final equity - C``; the metrics' trade statistics use the ``signal`` trades only.

What-if models (``ReplayModel``)
--------------------------------
The same decisions (each fill's side and effective quantity) replayed with other fills:

* Delay ``N >= 0`` bars: a fill of bar ``j`` is replayed in bar ``j + N`` (the N-th following
  candle, counting candles, not clock time), at the time ``t + ts[j+N] - ts[j]`` (capped at that
  bar's end minus 1 ms). A fill with ``j + N`` past the last bar is dropped: it is left out of
  the replay, and counted and listed (its row) in the result. The dropped fills are the last ones.
* Fill price ``B`` of the replayed bar ``k``: ``actual`` (the transaction's own price, even when
  delayed), ``open[k]``, ``close[k]`` or ``typical`` ``(high[k] + low[k] + close[k]) / 3``.
* Slippage rate ``sl`` (bps / 10,000) against the trader, as in the engine: a buy fills at
  ``B * (1 + sl)``, a sell at ``B * (1 - sl)``. That is the replayed price ``R``.
* Fees: ``fee_rate=None`` keeps the ACTUAL fees (same asset and amount: a quote fee as it is, a
  base fee worth ``fee * R``, another asset's at its conversion price at bar ``k``); a number
  ``f`` charges ``f * q * R`` in quote on every fill.
* The plain replay (``actual`` price, actual fees, no slippage or delay) is the account as it
  was.

Attribution (per fill, in quote; the per-fill table)
----------------------------------------------------
* ``fee``/``price``: the actual fee in quote (converted at the actual price and bar ``j``) and
  price; ``replay_fee``/``replay_price``: the replayed ones.
* ``slippage = s * (price - replay_price) * q``: the quote the actual fill cost MORE than the
  replayed one (positive: the actual execution was worse for the trader; negative: in the
  trader's favour). ``fee_attribution = fee - replay_fee``: the actual fee's excess.
* ``pnl_difference = replayed net PnL - actual net PnL`` (final equities). When no fill is
  dropped, the position at the last close is the same in both, and the difference is exactly
  ``sum(slippage) + sum(fee_attribution)`` (a delay's effect shows as the price difference of
  the delayed fills); ``dropped_pnl`` is the remainder, the part due to dropped fills.
* A dropped fill's replayed columns, slippage, fee attribution and realized PnL are NaN; the
  totals leave it out.
"""

from __future__ import annotations

QTY_TOL = 1e-9
"""Relative tolerance on quantities when lots are closed (see "Quantity tolerance")."""

FILL_MODELS: tuple[str, ...] = ("actual", "open", "close", "typical")
FILL_ACTUAL = 0
FILL_OPEN = 1
FILL_CLOSE = 2
FILL_TYPICAL = 3

FEE_QUOTE = 0
"""Fee-asset code of a fee in the quote asset; ``FEE_BASE`` in the base asset; codes from
``FEE_OTHER`` on index the other assets (``FEE_OTHER + k`` is the k-th)."""
FEE_BASE = 1
FEE_OTHER = 2
