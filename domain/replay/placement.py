"""Fills placed on the candles: sorted, each in its bar, with its effective quantity and its
actual fee in quote (``domain.replay.rules``: "Which bar", "Quantities and fees")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.candles import Candles
from domain.replay.fills import F64, I64, Fills, ReplayError
from domain.replay.rules import FEE_BASE, FEE_OTHER, FEE_QUOTE
from domain.timeframes import iso, parse_timeframe, period_index, period_start

Conversions = Mapping[str, npt.ArrayLike]
"""Per-bar prices of other fee assets in the symbol's quote, by asset name (``{"BNB": ...}``),
one value per candle (see ``align_prices``)."""


@dataclass(frozen=True)
class Placed:
    """``fills`` sorted by time (stable), ``bar`` the candle each falls in, ``qty`` the
    effective quantity (> 0, the change of the base position), ``fee`` the actual fee in quote;
    ``conv[k]`` the conversion prices of ``fills.other_assets[k]`` (NaN where not given);
    ``ts`` the candles' open times."""

    fills: Fills
    bar: I64
    qty: F64
    fee: F64
    conv: F64
    timeframe: str
    ts: I64

    def fee_in_quote(self, bars: I64, prices: F64, keep: npt.NDArray[np.bool_]) -> F64:
        """The fills' fees in quote when filled at ``prices`` in ``bars`` (rules: a base fee at
        the fill's price, another asset's at its conversion price at the bar). Fills where
        ``keep`` is False get NaN. Raises ``ReplayError`` naming a fill with no usable
        conversion price."""
        f = self.fills
        out = np.where(keep, f.fee, np.nan)
        base = keep & (f.fee_asset == FEE_BASE)
        out[base] = f.fee[base] * prices[base]
        other = keep & (f.fee_asset >= FEE_OTHER) & (f.fee > 0.0)
        if other.any():
            idx = np.flatnonzero(other)
            rate = self.conv[f.fee_asset[idx] - FEE_OTHER, bars[idx]]
            bad = ~(np.isfinite(rate) & (rate > 0.0))
            if bad.any():
                i = int(idx[np.argmax(bad)])
                asset = f.asset_name(int(f.fee_asset[i]))
                given = not np.isnan(self.conv[int(f.fee_asset[i]) - FEE_OTHER]).all()
                why = (f"has no usable {asset} price at the bar of {iso(int(self.ts[bars[i]]))}"
                       if given else f"no {asset} prices were given")
                raise f.fail(i, f"pays its fee in {asset}, but {why}: pass {asset} prices in "
                             f"{f.asset_name(FEE_QUOTE)} (e.g. {asset}/{f.asset_name(FEE_QUOTE)} "
                             "closes) aligned to the candles to convert the fee")
            out[idx] = f.fee[idx] * rate
        return out


def bar_ends(ts: I64, timeframe: str) -> I64:
    """The open time of the bar after each bar opening at ``ts`` (its end, exclusive)."""
    return period_start(period_index(ts, timeframe) + 1, timeframe)


def place(fills: Fills, candles: Candles, timeframe: str,
          conversions: Conversions | None = None) -> Placed:
    """Sort ``fills`` by time, find each one's bar, its effective quantity and actual fee in
    quote. ``ReplayError`` names the first fill (in time) outside the candles."""
    tf = parse_timeframe(timeframe)
    n = len(candles)
    if n == 0:
        raise ReplayError("no candles to replay on: load candles covering the transactions")
    ts = candles.ts
    if n > 1 and not (np.diff(ts) > 0).all():
        raise ReplayError("the candles' open times are not strictly increasing: sort them and "
                          "remove duplicates")
    order = np.argsort(fills.time_ms, kind="stable")
    f = fills.take(order)
    t = f.time_ms
    j = np.searchsorted(ts, t, side="right") - 1
    jc = np.maximum(j, 0)
    inside = (j >= 0) & (t < bar_ends(ts[jc], tf))
    if not inside.all():
        i = int(np.argmax(~inside))
        where = ("before the first candle" if j[i] < 0 else
                 "after the last candle" if j[i] == n - 1 else "in a gap of the candles")
        raise f.fail(i, f"falls {where} (the candles cover {iso(int(ts[0]))} to "
                     f"{iso(int(bar_ends(ts[-1:], tf)[0]))}, {tf} bars, "
                     f"{int((~inside).sum())} transaction(s) outside them): load candles "
                     "covering every transaction")
    base_fee = np.where(f.fee_asset == FEE_BASE, f.fee, 0.0)
    qty = f.quantity - f.side * base_fee
    conv = _conversion_matrix(f, conversions, n)
    placed = Placed(f, np.ascontiguousarray(jc), qty, np.empty(0), conv, tf, ts)
    fee = placed.fee_in_quote(placed.bar, f.price, np.ones(len(f), dtype=np.bool_))
    return Placed(f, placed.bar, qty, fee, conv, tf, ts)


def _conversion_matrix(f: Fills, conversions: Conversions | None, n: int) -> F64:
    given = {k.strip().upper(): v for k, v in (conversions or {}).items()}
    conv = np.full((len(f.other_assets), n), np.nan)
    for k, asset in enumerate(f.other_assets):
        if asset not in given:
            continue
        a = np.asarray(given[asset], dtype=np.float64)
        if a.shape != (n,):
            raise ReplayError(f"the {asset} conversion prices have shape {a.shape}, the candles "
                              f"{n} bars: give one price per candle (see align_prices)")
        conv[k] = a
    return conv


def align_prices(candles: Candles, other: Candles) -> F64:
    """``other``'s close for each bar of ``candles``: the close of ``other``'s bar opening at the
    same time, else of its latest bar opening before (nothing later: no look-ahead); NaN before
    ``other``'s first bar. Use it to turn e.g. BNB/USDT candles into conversion prices."""
    j = np.searchsorted(other.ts, candles.ts, side="right") - 1
    out = np.where(j >= 0, other.close[np.maximum(j, 0)] if len(other) else np.nan, np.nan)
    return np.ascontiguousarray(out, dtype=np.float64)
