"""Stored candles of one market with indicator series, for charts: arrays in, arrays out.

:func:`candle_series` reads a window of ``market_data`` and computes the requested indicators
(``domain.indicators``) on it, reading extra bars before the window so that the first values
returned are already defined wherever stored data allows (each indicator's warm-up, times
:data:`WARMUP_FACTOR` so that recursive ones such as ``ema`` and ``rsi`` have converged from
their seed).

Which bars: with ``start_ms``, the first ``limit`` bars opening at or after it (and before
``end_ms`` when given); without it, the last ``limit`` bars opening before ``end_ms`` (default:
the newest stored). ``limit`` defaults to :data:`DEFAULT_LIMIT` and may be at most
:data:`MAX_LIMIT`. Windows are found by time (``limit`` bars of the timeframe), widened a few
times when gaps in the data leave them short.

With a cache (``tasks.cache.candles``), each window read goes through it: the same request again
reads no candle from the database until new candles of the series are stored.

Bad input (an unknown timeframe or indicator, bad parameters, a limit over the cap) raises
``DataError`` with a message saying what to send instead; a market with no candle stored under
the exchange raises ``tasks.market.resolve.UnknownMarket`` (a window of a stored market that
holds no bars is an empty series).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from domain.candles import Candles
from domain.errors import DataError
from domain.indicators.api import INDICATORS, ParamValue, compute_indicator
from domain.indicators.spec import F64
from domain.timeframes import DAY_MS, parse_timeframe, timeframe_ms
from store import candles as store_candles
from tasks.cache.candles import Cache, NullCache, read_candles_cached
from tasks.execution.indicators import compute_indicators_off_loop
from tasks.market.resolve import check_stored

DEFAULT_LIMIT = 1_000
MAX_LIMIT = 200_000
MAX_INDICATORS = 10
WARMUP_FACTOR = 3
_WIDEN = 4  # a short window is read again this many times wider (earlier), up to _ATTEMPTS times
_ATTEMPTS = 3


@dataclass(frozen=True)
class IndicatorRequest:
    """One indicator to compute: its registry name, parameters (missing ones take their
    defaults) and the name its series get (default: the indicator's name)."""

    name: str
    params: Any  # a mapping from the caller; anything else is refused with a message
    alias: str | None = None


@dataclass(frozen=True)
class IndicatorSeries:
    """One output of a requested indicator, aligned with the candles (NaN during warm-up)."""

    name: str  # the request's alias, or the indicator's name
    indicator: str
    output: str
    params: dict[str, ParamValue]  # every parameter, defaults filled in
    values: F64


@dataclass(frozen=True)
class CandleSeries:
    exchange: str
    symbol: str
    timeframe: str
    candles: Candles
    indicators: list[IndicatorSeries]


@dataclass(frozen=True)
class _Resolved:
    request: IndicatorRequest
    params: dict[str, ParamValue]
    warmup: int


def check_limit(limit: int | None) -> int:
    """``limit`` or the default; ``DataError`` when it is not in ``1..MAX_LIMIT``."""
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise DataError(f"limit must be between 1 and {MAX_LIMIT:,} (got {limit:,}): ask for "
                        "a shorter range, or page through it with from/to")
    return limit


def resolve_indicators(requests: Sequence[IndicatorRequest]) -> list[_Resolved]:
    """Check each request against the registry; ``DataError`` naming the faulty one."""
    if len(requests) > MAX_INDICATORS:
        raise DataError(f"at most {MAX_INDICATORS} indicators per request (got {len(requests)})")
    out: list[_Resolved] = []
    seen: set[str] = set()
    for i, req in enumerate(requests):
        where = f"indicators[{i}]"
        spec = INDICATORS.get(req.name)
        if spec is None:
            raise DataError(f"{where}: unknown indicator {req.name!r}; use one of: "
                            f"{', '.join(INDICATORS)}")
        if not isinstance(req.params, Mapping):
            raise DataError(f"{where}: params must be an object such as "
                            f'{{"{spec.params[0].name if spec.params else "period"}": 14}}')
        try:
            params = spec.resolve(req.params)
        except ValueError as err:
            raise DataError(f"{where}: {err}") from None
        name = req.alias or req.name
        if name in seen:
            raise DataError(f"{where}: two indicators are called {name!r}: give each its own "
                            "name with 'as'")
        seen.add(name)
        out.append(_Resolved(req, params, spec.warmup(params)))
    return out


def _concat(a: Candles, b: Candles) -> Candles:
    """``a`` then ``b`` (``a`` ends before ``b`` starts)."""
    if len(a) == 0:
        return b
    if len(b) == 0:
        return a
    return replace(b, ts=np.concatenate([a.ts, b.ts]), open=np.concatenate([a.open, b.open]),
                   high=np.concatenate([a.high, b.high]), low=np.concatenate([a.low, b.low]),
                   close=np.concatenate([a.close, b.close]),
                   volume=np.concatenate([a.volume, b.volume]))


_Read = Callable[[int, int], Awaitable[Candles]]
ComputeIndicators = Callable[[list[tuple[str, dict[str, ParamValue]]], Candles],
                             Awaitable[list[dict[str, F64]]]]
"""Computes indicators ``(name, params)`` on candles: each one's outputs, in order."""


async def compute_here(requests: list[tuple[str, dict[str, ParamValue]]],
                       candles: Candles) -> list[dict[str, F64]]:
    """A :data:`ComputeIndicators` computing in the calling thread (scripts, tests)."""
    return [compute_indicator(name, candles, params) for name, params in requests]


async def _read_back(read: _Read, end_ms: int, want: int, bar_ms: int) -> Candles:
    """At least ``want`` stored bars opening before ``end_ms`` when there are that many within
    reach (windows of ``want`` bars, widened on gaps), oldest first; possibly more."""
    got = await read(end_ms - want * bar_ms, end_ms)
    lo, span = end_ms - want * bar_ms, want * bar_ms
    for _ in range(_ATTEMPTS):
        if len(got) >= want or want == 0:
            break
        span *= _WIDEN
        earlier = await read(lo - span, lo)
        lo -= span
        got = _concat(earlier, got)
    return got


async def candle_series(exchange: str, symbol: str, timeframe: str, *,
                        start_ms: int | None = None, end_ms: int | None = None,
                        limit: int | None = None,
                        indicators: Sequence[IndicatorRequest] = (),
                        cache: Cache | None = None,
                        compute: ComputeIndicators | None = None) -> CandleSeries:
    """The candles and indicator series of one market (see the module doc for which bars),
    the candles read through ``cache`` when given (``tasks.cache.candles``), the indicators
    computed by ``compute`` (default: in a process of their own,
    ``tasks.execution.indicators``: the event loop never runs or compiles a kernel)."""
    tf = parse_timeframe(timeframe)
    through = cache if cache is not None else NullCache()

    async def read(lo: int, hi: int) -> Candles:
        return await read_candles_cached(through, exchange, symbol, tf, lo, hi)

    n = check_limit(limit)
    resolved = resolve_indicators(indicators)
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise DataError("'to' must be after 'from'")
    # the longest a bar can be: calendar months vary, the others are fixed
    bar_ms = 31 * DAY_MS if tf == "1M" else timeframe_ms(tf)
    warm = WARMUP_FACTOR * max((r.warmup for r in resolved), default=0)
    if start_ms is not None:
        stop = start_ms + n * bar_ms
        stop = stop if end_ms is None else min(stop, end_ms)
        main = await read(start_ms, stop)
        main = main.take(0, min(n, len(main)))
        before = (await _read_back(read, start_ms, warm, bar_ms)
                  if warm and len(main) else main.take(0, 0))
        data, first = _concat(before, main), len(before)
    else:
        if end_ms is None:
            newest = await store_candles.last_ts(exchange, symbol, tf)
            end_ms = 0 if newest is None else newest + 1
        data = await _read_back(read, end_ms, n + warm, bar_ms)
        first = max(0, len(data) - n)
    if not len(data):
        await check_stored(exchange, symbol, tf)  # an unknown market is an error, not nothing
    # keep at most `warm` bars before the first one returned
    data = data.take(max(0, first - warm), len(data))
    first = min(first, warm)
    series: list[IndicatorSeries] = []
    computed = await (compute or compute_indicators_off_loop)(
        [(r.request.name, r.params) for r in resolved], data) if len(data) else [
        {o: np.empty(0) for o in INDICATORS[r.request.name].outputs} for r in resolved]
    for r, outputs in zip(resolved, computed, strict=True):
        for output, values in outputs.items():
            series.append(IndicatorSeries(r.request.alias or r.request.name, r.request.name,
                                          output, r.params, values[first:]))
    return CandleSeries(exchange, symbol, tf, data.take(first, len(data)), series)
