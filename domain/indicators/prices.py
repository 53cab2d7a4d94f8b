"""Price series of a candle set by name: the ``source`` of indicators and the ``{"price": FIELD}``
operand of strategies."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.candles import Candles

F64 = npt.NDArray[np.float64]

PRICE_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4")
"""Every name ``price_series`` accepts, in the order the manual lists them."""


def price_series(candles: Candles, field: str) -> F64:
    """The float64 series ``field`` of ``candles``, one value per bar.

    - ``open``, ``high``, ``low``, ``close``, ``volume``: the candle column itself (not a copy:
      treat it as read-only);
    - ``hl2 = (high + low) / 2``;
    - ``hlc3 = (high + low + close) / 3`` (the "typical price");
    - ``ohlc4 = (open + high + low + close) / 4``.

    Raises ``ValueError`` naming the accepted fields for any other name.
    """
    if field == "open":
        return candles.open
    if field == "high":
        return candles.high
    if field == "low":
        return candles.low
    if field == "close":
        return candles.close
    if field == "volume":
        return candles.volume
    if field == "hl2":
        return (candles.high + candles.low) / 2.0
    if field == "hlc3":
        return (candles.high + candles.low + candles.close) / 3.0
    if field == "ohlc4":
        return (candles.open + candles.high + candles.low + candles.close) / 4.0
    raise ValueError(f"unknown price field {field!r}; use one of {', '.join(PRICE_FIELDS)}")
