"""Loading a run's candles in parts, so the ``loading`` stage has progress to show.

One read of a million bars takes seconds, during which a watcher sees nothing move.
:func:`read_in_parts` splits a long range ``[start_ms, end_ms)`` into consecutive slices of
about ``bars_per_part`` bars (at most ``max_parts`` of them), reads them one after another and
calls ``on_part(fraction_done)`` after each; the concatenation is exactly what one read of the
whole range gives, since the reader selects ``start_ms <= ts < end_ms`` (``store.candles.
read_candles``, ``tasks.cache.read_candles_cached``, ``tasks.jobs.lifecycle.load_candles``) and
the slices partition the range. A short range is one read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable

import numpy as np

from domain.candles import Candles
from domain.errors import DataError
from domain.timeframes import parse_timeframe, timeframe_ms

CandleReader = Callable[[str, str, str, int, int], Awaitable[Candles]]
"""``(exchange, symbol, timeframe, start_ms, end_ms) -> candles`` with ``start_ms <= ts <
end_ms``, oldest first (``tasks.jobs.lifecycle.load_candles`` without its cache argument)."""


def no_candles(exchange: str, symbol: str, timeframe: str) -> DataError:
    """The error of a range with no stored candles (``tasks.jobs.lifecycle.load_candles``'s)."""
    return DataError(f"no {exchange} {symbol} {timeframe} candles are stored in that range: "
                     "sync them first (syncMarketData, or `backtest data sync`)")


def split_range(timeframe: str, start_ms: int, end_ms: int, *, bars_per_part: int = 100_000,
                max_parts: int = 20) -> list[tuple[int, int]]:
    """``[start_ms, end_ms)`` as consecutive ``(start, end)`` slices of a whole number of bars
    each (the last one may be shorter): about ``bars_per_part`` bars a slice, at most
    ``max_parts`` slices; one slice when the range holds ``bars_per_part`` bars or fewer (or is
    empty). ``1M`` counts nominal 30-day months (``domain.timeframes.timeframe_ms``): the slices
    still cover the range exactly."""
    if bars_per_part < 1 or max_parts < 1:
        raise ValueError("bars_per_part and max_parts must be >= 1")
    bar = timeframe_ms(parse_timeframe(timeframe))
    if end_ms <= start_ms:
        return [(start_ms, end_ms)]
    bars = math.ceil((end_ms - start_ms) / bar)
    parts = min(max_parts, math.ceil(bars / bars_per_part))
    if parts <= 1:
        return [(start_ms, end_ms)]
    size_ms = math.ceil(bars / parts) * bar
    edges = [start_ms + k * size_ms for k in range(parts) if start_ms + k * size_ms < end_ms]
    edges.append(end_ms)
    return list(itertools.pairwise(edges))


def concat_candles(parts: list[Candles], symbol: str, timeframe: str) -> Candles:
    """The parts one after another (each oldest first, the parts in time order)."""
    if len(parts) == 1:
        return parts[0]

    return Candles(np.concatenate([p.ts for p in parts]),
                   np.concatenate([p.open for p in parts]),
                   np.concatenate([p.high for p in parts]),
                   np.concatenate([p.low for p in parts]),
                   np.concatenate([p.close for p in parts]),
                   np.concatenate([p.volume for p in parts]),
                   symbol=parts[0].symbol or symbol, timeframe=parts[0].timeframe or timeframe)


async def read_in_parts(read: CandleReader, exchange: str, symbol: str, timeframe: str,
                        start_ms: int, end_ms: int, on_part: Callable[[float], None], *,
                        bars_per_part: int = 100_000, max_parts: int = 20) -> Candles:
    """The candles of ``[start_ms, end_ms)``, read slice by slice (:func:`split_range`) with
    ``read``, ``on_part(fraction of the range done)`` called after each slice (the last call
    with 1.0). Raises ``DataError`` (:func:`no_candles`) when nothing is stored in the range.

    A slice with nothing stored (a gap, or a range that starts before the data does) counts as
    empty even when ``read`` raises ``DataError`` for it (``load_candles`` does): the error
    stands only when every slice is empty, and then it is the reader's own error.
    """
    slices = split_range(timeframe, start_ms, end_ms, bars_per_part=bars_per_part,
                         max_parts=max_parts)
    span = end_ms - start_ms
    got: list[Candles] = []
    first_error: DataError | None = None
    for a, b in slices:
        try:
            part = await read(exchange, symbol, timeframe, a, b)
        except DataError as err:
            if len(slices) == 1:
                raise
            first_error = first_error or err
        else:
            if len(part):
                got.append(part)
        on_part(1.0 if b >= end_ms or span <= 0 else (b - start_ms) / span)
    if not got:
        raise first_error or no_candles(exchange, symbol, timeframe)
    return concat_candles(got, symbol, timeframe)
