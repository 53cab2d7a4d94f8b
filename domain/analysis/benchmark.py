"""The buy-and-hold benchmark of a run: its initial capital in the asset, held throughout.

Convention: the whole initial capital buys the asset at the **first bar's close** and holds it,
with no fees nor slippage: ``B[t] = initial_capital * close[t] / close[0]``. That is where the
engine's own equity starts: its equity at the first bar's close is the initial capital (an
entry signal at a bar's close fills at the next bar's open, ``domain.engine.rules``), so both
curves start at the same point at the same time, and ``B[-1] / initial_capital - 1`` is the
run's ``buy_and_hold_return`` (``domain.metrics``). ``B[t]`` uses the closes up to bar ``t``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from domain.analysis.checks import F64, capital, floats, ints


def aligned_closes(times: npt.ArrayLike, candle_times: npt.ArrayLike,
                   close: npt.ArrayLike) -> F64 | None:
    """The close of the candle opening at each of ``times`` (a run's bars), from candles whose
    open times ``candle_times`` are ascending (more candles than bars is fine); None when one
    of ``times`` has no candle."""
    t = ints(times, "times")
    ts = ints(candle_times, "candle_times")
    c = floats(close, "close")
    if ts.shape != c.shape:
        raise ValueError("candle_times and close must have the same length")
    pos = np.searchsorted(ts, t)
    if (pos >= ts.shape[0]).any():
        return None
    if (ts[pos] != t).any():
        return None
    out: F64 = c[pos]
    return out


def buy_and_hold(close: npt.ArrayLike, initial_capital: float) -> F64 | None:
    """The buy-and-hold equity at each bar's ``close`` (see the module docstring); None when
    there is no bar or the first close is not a positive, finite price."""
    c = floats(close, "close")
    cap = capital(initial_capital)
    if c.shape[0] == 0 or not (math.isfinite(float(c[0])) and c[0] > 0.0):
        return None
    out: F64 = cap * (c / c[0])
    return out
