"""The engine's rules: every fill, fee, slippage, stop and sizing convention, in one place.

This docstring is the reference; ``domain.engine.nb`` implements it and
``tests/domain/engine/reference.py`` re-implements it in plain Python for differential tests.

Timing (no look-ahead)
----------------------
* Signals are the strategy's conditions evaluated at a bar's **close** (``entries[i]``,
  ``exits[i]`` use only bars ``<= i``).
* A signal at bar ``i`` becomes an order filled at the **open of bar i+1**. A signal on the last
  bar has no next bar and is ignored.
* One position at a time, no pyramiding. When flat, ``entries[i]`` opens; when in a position,
  ``exits[i]`` closes. Entry signals while in a position and exit signals while flat are ignored.
* Within a bar ``j`` the order of events is:
  1. the pending order from bar ``j-1`` fills at ``open[j]``;
  2. if a position is open (including one opened at this open), stops and the target are checked
     against ``open[j]`` (gaps), then ``low[j]``/``high[j]`` (intrabar);
  3. the trailing reference is updated with this bar's extreme (after the check: see below);
  4. signals at ``close[j]`` create the order for bar ``j+1``;
  5. equity, cash and position are recorded at ``close[j]``.
  So a position stopped out during bar ``j`` can be re-entered at ``open[j+1]`` when the entry
  condition holds at ``close[j]``.

Prices
------
* ``d`` is the direction: ``+1`` long, ``-1`` short. ``s`` is the slippage rate (bps / 10,000).
* Market fills (signal entries and exits, stop-loss, trailing stop) get slippage against the
  trader: a buy fills at ``price * (1 + s)``, a sell at ``price * (1 - s)``. An entry is a buy for
  a long and a sell for a short; an exit is the opposite.
* The take-profit is a resting limit order: it fills at its level with no slippage, or at the
  open when the bar gaps through it (a better price).

Stops and target (fractions of the entry fill price ``P``)
---------------------------------------------------------
* stop-loss level ``P * (1 - d * sl)``; take-profit level ``P * (1 + d * tp)``.
* trailing stop level ``X * (1 - d * tr)`` where ``X`` is the best price reached since entry:
  the entry fill price, then each completed bar's high (long) or low (short). The bar being
  checked does not move its own trailing level: which of its high and low came first is
  unknown, so the level from the bars before it is used (the pessimistic reading).
* The effective stop is the tighter of stop-loss and trailing stop (the higher for a long,
  the lower for a short); on a tie it is reported as ``stop_loss``.
* Gap: if ``open[j]`` is already at or beyond the stop, the exit fills at ``open[j]`` (with
  slippage); else if it is at or beyond the target, at ``open[j]``.
* Intrabar: if the bar's range touches the stop, the exit fills at the stop level (with
  slippage). If it touches both the stop and the target, the **stop is assumed hit first**
  (pessimistic rule). If it touches only the target, the exit fills at the target level.

Sizing (at the entry fill, with ``E`` the equity, which equals cash when flat)
------------------------------------------------------------------------------
* ``fraction_of_equity`` ``f``: notional ``N = f * E``.
* ``fixed_quote`` ``A``: notional ``N = A``.
* ``risk_pct`` ``r``: the loss at the stop-loss level is ``r%`` of equity (before fees and
  slippage): ``N = E * r / 100 / sl``.
* No leverage: ``N`` is capped at ``E / (1 + fee)`` so that the notional plus the entry fee never
  exceeds equity. Quantity ``q = N / P``. Quantities and prices are float64 and are not rounded
  to exchange step sizes (no exchange rules are known in the pure core). No entry is made when
  ``E <= 0``.

Fees and cash
-------------
* Every fill pays ``fee = fee_rate * q * price`` in the quote currency.
* Long entry: ``cash -= q*P + fee``; long exit at ``X``: ``cash += q*X - fee``.
* Short entry: ``cash += q*P - fee``; short exit: ``cash -= q*X + fee`` (shorts are 1x, with no
  borrow cost, margin call or liquidation modelled).
* Equity at every bar's close is ``cash + position * close`` (position signed).

Trades
------
* gross PnL ``d * q * (X - P)``; fees = entry fee + exit fee; net PnL = gross - fees;
  return = net / (q * P).
* A position still open after the last bar is reported as a trade with exit reason
  ``end_of_data``: exit price = last close, its exit fee not charged (the position is not
  closed: equity keeps it at market), so net PnL = gross - entry fee. The sum of all trades'
  net PnL therefore always equals final equity minus initial capital.
"""

from __future__ import annotations

EXIT_SIGNAL = 0
EXIT_STOP_LOSS = 1
EXIT_TAKE_PROFIT = 2
EXIT_TRAILING_STOP = 3
EXIT_END_OF_DATA = 4

EXIT_REASONS: tuple[str, ...] = (
    "signal",
    "stop_loss",
    "take_profit",
    "trailing_stop",
    "end_of_data",
)
