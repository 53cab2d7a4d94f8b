"""Columnar candle sets (OHLCV) as numpy arrays: validation, gaps, time slices, resampling.

``ts`` is the bar's open time in UTC milliseconds (int64); ``open``, ``high``, ``low``, ``close``
and ``volume`` are float64 arrays of the same length. Timeframes and their alignment are defined
in ``domain.timeframes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from domain.errors import DataError
from domain.timeframes import (
    DAY_MS,
    TIMEFRAMES,
    bucket_start,
    iso,
    parse_timeframe,
    period_index,
    period_start,
    timeframe_ms,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Candles:
    """A columnar OHLCV set for one symbol and timeframe (immutable by convention).

    Build one from any array-likes with ``Candles.from_arrays``; check it with
    ``validate_candles``.
    """

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

    @classmethod
    def from_arrays(
        cls,
        ts: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
        symbol: str = "",
        timeframe: str = "",
    ) -> Candles:
        """Candles from array-likes, cast to contiguous int64 / float64 one-dimensional arrays.

        Raises ``DataError`` when the columns are not one-dimensional or differ in length, or the
        timeframe is unknown. Values are not validated: call ``validate_candles``.
        """
        t = np.ascontiguousarray(ts, dtype=np.int64)
        cols = [np.ascontiguousarray(a, dtype=np.float64) for a in (open, high, low, close, volume)]
        if t.ndim != 1 or any(a.ndim != 1 for a in cols):
            raise DataError("candle columns must be one-dimensional arrays")
        if any(a.shape[0] != t.shape[0] for a in cols):
            lengths = ", ".join(str(a.shape[0]) for a in (t, *cols))
            raise DataError(f"candle columns differ in length ({lengths}): give one value per bar")
        tf = parse_timeframe(timeframe) if timeframe else ""
        o, h, lo, c, v = cols
        return cls(t, o, h, lo, c, v, symbol=symbol, timeframe=tf)

    def take(self, start: int, stop: int) -> Candles:
        """Bars ``start:stop`` by position (views of the arrays, no copy)."""
        s = slice(start, stop)
        return replace(self, ts=self.ts[s], open=self.open[s], high=self.high[s],
                       low=self.low[s], close=self.close[s], volume=self.volume[s])

    def slice_time(self, start_ms: int | None = None, end_ms: int | None = None) -> Candles:
        """Bars opening in ``[start_ms, end_ms)``: start inclusive, end exclusive (UTC ms).

        ``None`` leaves that side open. The bars must be sorted (as ``validate_candles``
        requires). An empty or inverted range gives empty candles. The result shares memory with
        ``self`` (views).
        """
        i0 = 0 if start_ms is None else int(np.searchsorted(self.ts, start_ms, side="left"))
        i1 = len(self) if end_ms is None else int(np.searchsorted(self.ts, end_ms, side="left"))
        return self.take(i0, max(i0, i1))


def _first(mask: B) -> tuple[int, int]:
    """(index of the first True, number of Trues), or (-1, 0)."""
    idx = np.flatnonzero(mask)
    return (int(idx[0]), int(idx.shape[0])) if idx.shape[0] else (-1, 0)


def validate_candles(c: Candles, rows: npt.ArrayLike | None = None) -> None:
    """Raise ``DataError`` naming the first offending row, or return when ``c`` is valid.

    Valid candles have: columns of equal length; strictly increasing timestamps (unsorted rows
    and duplicate timestamps are told apart); timestamps on the timeframe's boundaries (when
    ``c.timeframe`` is set); finite prices and volumes; ``low <= min(open, close)`` and
    ``max(open, close) <= high``; ``volume >= 0``.

    The row named is ``index + 1``, or ``rows[index]`` when ``rows`` maps each bar to its row in
    the user's file (the CSV reader passes file line numbers). When several problems exist the
    earliest row is reported, with how many rows share its problem. Vectorized: ~1M rows in tens of
    milliseconds.
    """
    n = len(c)
    cols = {"open": c.open, "high": c.high, "low": c.low, "close": c.close, "volume": c.volume}
    if any(np.shape(a) != (n,) for a in cols.values()):
        raise DataError("candle columns differ in length: give one value per bar")
    row_of = (lambda i: i + 1) if rows is None else _row_mapper(rows, n)
    if n == 0:
        return
    ts = np.asarray(c.ts, dtype=np.int64)
    checks: list[tuple[B, Callable[[int], str]]] = []

    def not_finite(name: str, a: F64) -> Callable[[int], str]:
        return lambda i: (f"column {name!r} is not a finite number ({float(a[i])!r}): "
                          "fix or remove the row")

    checks += [(~np.isfinite(a), not_finite(name, a)) for name, a in cols.items()]
    d = np.diff(ts)
    checks.append((np.concatenate(([False], d < 0)), lambda i: (
        f"timestamp {iso(ts[i])} is earlier than the previous row's {iso(ts[i - 1])}: "
        "the rows are not sorted; sort them by time, oldest first")))
    checks.append((np.concatenate(([False], d == 0)), lambda i: (
        f"duplicate timestamp {iso(ts[i])} (also on row {row_of(i - 1)}): "
        "remove the duplicate rows")))
    if c.timeframe:
        tf = parse_timeframe(c.timeframe)
        floor = bucket_start(ts, tf)
        checks.append((floor != ts, lambda i: (
            f"timestamp {iso(ts[i])} is not on a {tf} bar boundary (that bar opens at "
            f"{iso(floor[i])}): check the timeframe, and that times are bar open times in UTC")))
    hi = np.maximum(c.open, c.close)
    lo = np.minimum(c.open, c.close)
    checks.append((c.high < hi, lambda i: (
        f"high {float(c.high[i])!r} is below max(open, close) = {float(hi[i])!r}: "
        "high must be the bar's highest price")))
    checks.append((c.low > lo, lambda i: (
        f"low {float(c.low[i])!r} is above min(open, close) = {float(lo[i])!r}: "
        "low must be the bar's lowest price")))
    checks.append((c.volume < 0, lambda i: f"volume {float(c.volume[i])!r} is negative"))
    found = [(*_first(mask), msg) for mask, msg in checks]
    bad = [f for f in found if f[0] >= 0]
    if not bad:
        return
    i, count, msg = min(bad, key=lambda f: f[0])  # min() keeps the first check on ties
    more = f" ({count} rows have this problem)" if count > 1 else ""
    raise DataError(msg(i) + more, row=row_of(i))


def _row_mapper(rows: npt.ArrayLike, n: int) -> Callable[[int], int]:
    r = np.asarray(rows, dtype=np.int64)
    if r.shape != (n,):
        raise ValueError(f"rows must hold one row number per bar ({n}), got shape {r.shape}")
    return lambda i: int(r[i])


def _require_timeframe(c: Candles, what: str) -> str:
    if not c.timeframe:
        raise DataError(f"the candles have no timeframe: give one (e.g. 1h) to {what}")
    return parse_timeframe(c.timeframe)


def find_gaps(c: Candles) -> list[tuple[int, int]]:
    """Missing bars as ``(first_missing_ts, last_missing_ts)`` ranges, both inclusive (UTC ms).

    Expects valid candles (sorted, aligned: see ``validate_candles``). ``1M`` counts calendar
    months. No gaps (or fewer than two bars) gives ``[]``.
    """
    tf = _require_timeframe(c, "find gaps")
    p = period_index(c.ts, tf)
    at = np.flatnonzero(np.diff(p) > 1)
    firsts = period_start(p[at] + 1, tf)
    lasts = period_start(p[at + 1] - 1, tf)
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))


def _nests(src: str, dst: str) -> bool:
    """True when every ``dst`` bar is made of whole ``src`` bars."""
    if src == dst:
        return True
    if src == "1M":
        return False
    s = timeframe_ms(src)
    if dst == "1M":
        return DAY_MS % s == 0
    offset = int(period_start(0, dst))  # 1w starts on a Monday, 4 days after the epoch
    return timeframe_ms(dst) % s == 0 and offset % s == 0 and timeframe_ms(dst) > s


@dataclass(frozen=True)
class Resampled:
    """The result of ``resample``.

    ``candles`` holds only complete buckets. ``dropped`` holds the open times of the buckets left
    out because bars were missing inside them (a gap, or data that starts or ends mid-bucket);
    ``dropped_partial_last`` tells whether the last bucket was one of them (the data ends inside
    it, as when the current bar is still forming). ``message`` says what was dropped, for a person
    ("" when nothing was).
    """

    candles: Candles
    dropped: I64
    dropped_partial_last: bool
    message: str


def resample(c: Candles, to_tf: str) -> Resampled:
    """Aggregate ``c`` into the coarser timeframe ``to_tf`` exactly.

    Each bucket (``bucket_start``: Monday weeks, calendar months) takes the first open, the
    highest high, the lowest low, the last close and the summed volume of its bars. A bucket is
    kept only when all of its bars are present; incomplete buckets anywhere (including the partial
    last one) are dropped and reported in the result. ``to_tf`` must be made of whole source bars
    (``1m -> 5m``, ``1h -> 1d``, ``1d -> 1w``, ``1d -> 1M``; not ``3m -> 5m`` or ``3d -> 1w``).
    The input is validated first.
    """
    src = _require_timeframe(c, "resample")
    dst = parse_timeframe(to_tf)
    if not _nests(src, dst):
        ok = [tf for tf in TIMEFRAMES if tf != src and _nests(src, tf)]
        raise DataError(f"cannot resample {src} to {dst}: each {dst} bar must be made of whole "
                        f"{src} bars; choose one of: {', '.join(ok) or 'none'}")
    validate_candles(c)
    none = np.zeros(0, dtype=np.int64)
    if src == dst or len(c) == 0:
        return Resampled(replace(c, timeframe=dst), none, False, "")
    b = bucket_start(c.ts, dst)
    starts = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1])))
    ends = np.append(starts[1:], len(c))
    opens = b[starts]
    span = period_start(period_index(opens, dst) + 1, dst) - opens
    complete = (ends - starts) == span // timeframe_ms(src)
    out = Candles(
        ts=opens[complete],
        open=c.open[starts][complete],
        high=np.maximum.reduceat(c.high, starts)[complete],
        low=np.minimum.reduceat(c.low, starts)[complete],
        close=c.close[ends - 1][complete],
        volume=np.add.reduceat(c.volume, starts)[complete],
        symbol=c.symbol,
        timeframe=dst,
    )
    dropped = opens[~complete]
    src_ms = timeframe_ms(src)
    # the last bucket is "partial" when the data stops before its end (not merely has a gap)
    partial_last = bool(int(c.ts[-1]) + src_ms < int(opens[-1] + span[-1]))
    notes = []
    n_inner = dropped.shape[0] - int(partial_last)
    if n_inner:
        notes.append(f"dropped {n_inner} incomplete {dst} bar(s) with missing {src} bars "
                     f"(first at {iso(int(dropped[0]))})")
    if partial_last:
        have = int(ends[-1] - starts[-1])
        notes.append(f"dropped the last {dst} bar at {iso(int(opens[-1]))}: it holds only {have} "
                     f"of {int(span[-1] // src_ms)} {src} bars (the data ends inside it)")
    return Resampled(out, dropped, partial_last, "; ".join(notes))
