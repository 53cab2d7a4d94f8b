"""Columnar candle sets (OHLCV) as numpy arrays.

``ts`` is the bar's open time in UTC milliseconds (int64); ``open``, ``high``, ``low``, ``close``
and ``volume`` are float64 arrays of the same length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Candles:
    """A columnar OHLCV set for one symbol and timeframe (immutable by convention)."""

    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    symbol: str = ""
    timeframe: str = ""

    def __len__(self) -> int:
        return int(self.ts.shape[0])
