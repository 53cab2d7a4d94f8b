"""Market-data sync: fetch an exchange's OHLCV history into a candle sink, resumably.

``sync`` covers the *closed* bars whose open time lies in ``[since, until)``:

1. resume: start after the last candle the sink holds (when it lies in the range);
2. main pass: fetch pages of up to ``page_limit`` candles (ccxt ``fetch_ohlcv`` with ``since`` and
   ``params={"until": ...}``, Binance's ``startTime``/``endTime``), validate and de-duplicate each
   page and write it at once, so an interrupted run keeps every page already written;
3. gap pass: ask the sink which bars are missing in the range, fetch those ranges again (a second
   pass only if the first one wrote something); what the exchange does not have either (listing
   later than ``since``, exchange outages) is reported in ``SyncReport.unfilled``.

The still-open bar (open + timeframe > now, "now" being the exchange's clock from ``fetch_time``
unless ``now_ms`` is given) is never stored. Transient errors are retried (``tasks.market.retry``);
permanent ones raise ``MarketDataError`` subclasses with a message meant for a person.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from domain.candles import Candles, find_gaps
from domain.timeframes import bucket_start, iso, period_index, period_start
from tasks.market.exchange import (
    MARKETS_BUDGET_S,
    Exchange,
    MarketDataError,
    check_timeframe,
    load_market,
)
from tasks.market.retry import Backoff, call_with_retry

MAX_PAGE = 1000
GAP_PASSES = 2
"""Gap passes at most; a second one runs only when the first wrote something."""


class CandleSink(Protocol):
    """Where synced candles go (the store's candle repository, or ``MemorySink`` in tests)."""

    async def last_ts(self, exchange_id: str, symbol: str, timeframe: str) -> int | None:
        """Open time of the latest stored candle, or None when there is none."""
        ...

    async def write(self, exchange_id: str, symbol: str, timeframe: str, candles: Candles) -> int:
        """Store ``candles`` idempotently (existing open times are kept); returns the new rows."""
        ...

    async def missing_ranges(
        self, exchange_id: str, symbol: str, timeframe: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, int]]:
        """Missing bars among those opening in ``[start_ms, end_ms)``, as inclusive
        ``(first_open, last_open)`` ranges, in order."""
        ...


@dataclass(frozen=True)
class SyncProgress:
    """Sent after every page: pages fetched, candles written, percent of the range covered."""

    pages: int
    candles: int
    percent: float
    cursor_ms: int | None = None


ProgressCallback = Callable[[SyncProgress], Any]


@dataclass
class SyncReport:
    """What a sync did. ``first_ts``/``last_ts`` span the candles this run fetched;
    ``unfilled`` lists inclusive ranges of bars the exchange did not return either."""

    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    pages: int = 0
    candles_written: int = 0
    gaps_repaired: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    resumed_at: int | None = None
    unfilled: list[tuple[int, int]] = field(default_factory=list)


def next_open(ts: int, timeframe: str) -> int:
    """Open time of the bar after the one opening at ``ts``."""
    idx = period_index(np.array([ts], dtype=np.int64), timeframe) + 1
    return int(period_start(idx, timeframe)[0])


def floor_open(ts: int, timeframe: str) -> int:
    """Open time of the bar containing ``ts``."""
    return int(bucket_start(np.array([ts], dtype=np.int64), timeframe)[0])


def ceil_open(ts: int, timeframe: str) -> int:
    """The first bar open time at or after ``ts``."""
    start = floor_open(ts, timeframe)
    return start if start == ts else next_open(start, timeframe)


def missing_ranges_of(ts: npt.ArrayLike, timeframe: str, start_ms: int, end_ms: int
                      ) -> list[tuple[int, int]]:
    """The bars opening in ``[start_ms, end_ms)`` whose open time is not in ``ts`` (stored open
    times), as inclusive ``(first_open, last_open)`` ranges: ``CandleSink.missing_ranges`` for a
    sink that can list its open times (``domain.candles.find_gaps`` between two sentinel bars)."""
    first = ceil_open(start_ms, timeframe)
    if first >= end_ms:
        return []
    i0, i1 = period_index(np.array([first, end_ms - 1], dtype=np.int64), timeframe).tolist()
    have = np.unique(np.asarray(ts, dtype=np.int64))
    have = have[(have >= first) & (have < end_ms)]
    have = have[bucket_start(have, timeframe) == have]
    edges = period_start(np.array([i0 - 1, i1 + 1], dtype=np.int64), timeframe)
    every = np.concatenate([edges[:1], have, edges[1:]])
    flat = np.zeros(len(every), dtype=np.float64)
    return find_gaps(Candles(every, flat, flat, flat, flat, flat, timeframe=timeframe))


def rows_to_candles(
    rows: list[list[Any]], symbol: str, timeframe: str, lo: int, hi: int
) -> Candles:
    """ccxt OHLCV rows -> Candles with open times in ``[lo, hi)``: sorted, one row per open time
    (the last one wins). Rows with missing or non-finite values, negative volume or a high/low
    that does not hold the open and close are dropped (the gap pass asks for them again, and what
    stays bad ends in ``SyncReport.unfilled``). A row whose open time is not on the timeframe's
    grid raises ``MarketDataError`` (it means a timeframe mix-up)."""
    good = [r for r in rows if isinstance(r, list | tuple) and len(r) >= 6 and r[0] is not None]
    ts = np.array([int(r[0]) for r in good], dtype=np.int64)
    vals = np.array([[np.nan if v is None else float(v) for v in r[1:6]] for r in good],
                    dtype=np.float64).reshape(len(good), 5)
    o, h, low, c, v = vals.T
    with np.errstate(invalid="ignore"):
        sane = (low <= np.minimum(o, c)) & (h >= np.maximum(o, c)) & (v >= 0)
    keep = (ts >= lo) & (ts < hi) & np.isfinite(vals).all(axis=1) & sane
    ts, vals = ts[keep], vals[keep]
    if len(ts):
        aligned = bucket_start(ts, timeframe) == ts
        if not aligned.all():
            bad = int(ts[~aligned][0])
            raise MarketDataError(
                f"the exchange returned a {timeframe} candle opening at {iso(bad)}, which is not "
                f"on the {timeframe} grid; check the timeframe")
    order = np.argsort(ts, kind="stable")
    ts, vals = ts[order], vals[order]
    last_of_each = np.append(ts[1:] != ts[:-1], True) if len(ts) else np.zeros(0, dtype=bool)
    ts, vals = ts[last_of_each], vals[last_of_each]
    return Candles(ts=ts, open=vals[:, 0].copy(), high=vals[:, 1].copy(), low=vals[:, 2].copy(),
                   close=vals[:, 3].copy(), volume=vals[:, 4].copy(), symbol=symbol,
                   timeframe=timeframe)


async def server_time(exchange: Exchange, *, max_retries: int = 6,
                      backoff: Backoff | None = None) -> int:
    """The exchange's clock in ms (``fetch_time``), or the local clock when it has none."""
    if not exchange.has.get("fetchTime"):
        return int(exchange.milliseconds())
    t = await call_with_retry(exchange, exchange.fetch_time, what="the server time",
                              max_retries=max_retries, backoff=backoff)
    return int(t)


async def sync(
    exchange: Exchange,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None = None,
    *,
    sink: CandleSink,
    progress: ProgressCallback | None = None,
    now_ms: int | None = None,
    page_limit: int = MAX_PAGE,
    max_retries: int = 6,
    backoff: Backoff | None = None,
) -> SyncReport:
    """Bring the sink's candles of ``symbol``/``timeframe`` up to date over ``[since_ms, until_ms)``
    (``until_ms=None``: up to the last closed bar). See the module doc for the steps.

    ``progress`` (sync or async callable) gets a ``SyncProgress`` after every page and a last one
    at 100 %. Raises ``UnknownSymbol``/``UnsupportedTimeframe`` on bad input, ``MarketDataError``
    when the exchange refuses a request and ``ExchangeUnavailable`` when retries run out.
    """
    market = await call_with_retry(exchange, lambda: load_market(exchange, symbol),
                                   what="loading the markets", max_retries=max_retries,
                                   backoff=backoff, budget_s=MARKETS_BUDGET_S)
    tf = check_timeframe(exchange, timeframe)
    sym, ex_id = str(market["symbol"]), str(exchange.id)
    limit = max(1, min(int(page_limit), MAX_PAGE))
    if now_ms is None:
        now_ms = await server_time(exchange, max_retries=max_retries, backoff=backoff)
    start = ceil_open(int(since_ms), tf)
    end = floor_open(int(now_ms), tf)  # open of the still-open bar: everything before is closed
    if until_ms is not None:
        end = min(end, int(until_ms))
    report = SyncReport(ex_id, sym, tf, start, max(start, end))
    span = max(1, end - start)

    async def emit(cursor: int | None, percent: float) -> None:
        if progress is not None:
            result = progress(SyncProgress(report.pages, report.candles_written,
                                           min(100.0, max(0.0, percent)), cursor))
            if inspect.isawaitable(result):
                await result

    async def fill(lo: int, hi: int, *, main: bool) -> int:
        """Fetch and write the bars opening in [lo, hi); returns the rows written."""
        written, cursor = 0, lo
        while cursor < hi:
            page_start = cursor
            rows = await call_with_retry(
                exchange,
                lambda since=page_start: exchange.fetch_ohlcv(  # type: ignore[misc]
                    sym, tf, since=since, limit=limit, params={"until": hi - 1}),
                what=f"{sym} {tf} candles from {iso(page_start)}", max_retries=max_retries,
                backoff=backoff)
            report.pages += 1
            candles = rows_to_candles(rows or [], sym, tf, page_start, hi)
            if len(candles) == 0:
                break  # the exchange has nothing more in [cursor, hi)
            n = await sink.write(ex_id, sym, tf, candles)
            written += n
            report.candles_written += n
            first, last = int(candles.ts[0]), int(candles.ts[-1])
            report.first_ts = first if report.first_ts is None else min(report.first_ts, first)
            report.last_ts = last if report.last_ts is None else max(report.last_ts, last)
            cursor = next_open(last, tf)
            await emit(last, 100.0 * (cursor - start) / span if main else 100.0)
        return written

    if end <= start:
        await emit(None, 100.0)
        return report
    cursor = start
    last_stored = await sink.last_ts(ex_id, sym, tf)
    if last_stored is not None and start <= last_stored:
        cursor = next_open(last_stored, tf)
        report.resumed_at = cursor
        await emit(last_stored, 100.0 * (min(cursor, end) - start) / span)
    if cursor < end:
        await fill(cursor, end, main=True)

    found = await sink.missing_ranges(ex_id, sym, tf, start, end)
    missing = found
    for _ in range(GAP_PASSES):
        if not missing:
            break
        written = 0
        for lo, hi in missing:
            written += await fill(lo, next_open(hi, tf), main=False)
        if not written:
            break  # asking again would get the same nothing
        missing = await sink.missing_ranges(ex_id, sym, tf, start, end)
    report.unfilled = list(missing)
    report.gaps_repaired = sum(
        1 for lo, hi in found if not any(a <= hi and lo <= b for a, b in report.unfilled))
    await emit(report.last_ts, 100.0)
    return report
