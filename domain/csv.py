"""Candles from CSV text, and back: Binance kline dumps and plain header CSVs.

Two formats are read, told apart by the first line:

1. **Binance public kline dumps** (data.binance.vision): 12 columns, no header, ``open_time,
   open, high, low, close, volume, close_time, quote_volume, trades, taker_base, taker_quote,
   ignore``. Only the first six are used. Some dumps start with a header line
   (``open_time,open,...``): it is read as format 2.
2. **Plain CSV with a header**: columns ``timestamp, open, high, low, close, volume`` in any
   order, names case-insensitive, extra columns ignored. The time column may also be named
   ``open_time``, ``time``, ``date`` or ``datetime``.

Times are epoch milliseconds (integers), or epoch microseconds (any value above 10^14, as in
Binance's spot dumps since 2025; floored to milliseconds), or ISO-8601 (``2024-01-01T00:00:00Z``,
with an offset, or naive = UTC). Double quotes are removed before parsing (no thousands
separators). Blank lines are skipped. Row numbers in errors are the file's line numbers
(the header is row 1).

The functions take text, bytes or an iterable of lines, never a path: the caller opens the file.
"""

from __future__ import annotations

import gc
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import repeat

import numpy as np
import numpy.typing as npt

from domain.candles import Candles, validate_candles
from domain.errors import DataError
from domain.timeframes import infer_timeframe, parse_timeframe

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

PLAIN_HEADER = ("timestamp", "open", "high", "low", "close", "volume")
TIME_NAMES = ("timestamp", "open_time", "time", "date", "datetime")
BINANCE_COLUMNS: tuple[str, ...] = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume", "trades",
    "taker_base", "taker_quote", "ignore",
)
MICROS_ABOVE = 10**14
"""Epoch times above this are microseconds (10^14 ms would be the year 5138)."""

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def read_candles_csv(
    text: str | bytes | Iterable[str], symbol: str = "", timeframe: str | None = None
) -> Candles:
    """Parse a Binance kline dump or a plain header CSV (detected) into validated ``Candles``.

    ``timeframe=None`` infers it from the most common step between timestamps (it must be a
    Binance timeframe). Raises ``DataError`` naming the file row and column: wrong column count,
    missing columns, values that are not numbers or times, then every ``validate_candles``
    problem (unsorted, duplicate or misaligned times, inconsistent OHLC, negative volume).
    """
    lines, rows = _lines(text)
    if not lines:
        raise DataError("the file is empty: expected CSV rows of candles (a header "
                        f"{','.join(PLAIN_HEADER)} and one row per bar, or a Binance kline dump)")
    first = [f.strip() for f in lines[0].split(",")]
    if _is_number(first[0]):  # no header: a Binance dump
        names, skip = BINANCE_COLUMNS, 0
        if len(first) != len(BINANCE_COLUMNS):
            raise DataError(f"no header line, and {len(first)} columns where a Binance kline dump "
                            f"has 12: add the header line {','.join(PLAIN_HEADER)}",
                            row=int(rows[0]))
    elif first[0][:1].isdigit():
        raise DataError("no header line: add the header line "
                        f"{','.join(PLAIN_HEADER)} (columns may be in any order)", row=int(rows[0]))
    else:
        names, skip = tuple(f.lower() for f in first), 1
    where = _locate(names, int(rows[0]))
    n_cols = len(names)
    data, data_rows = lines[skip:], rows[skip:]
    if not data:
        raise DataError("no data rows after the header: the file holds no candles")
    counts = np.fromiter(map(str.count, data, repeat(",")), dtype=np.int64, count=len(data)) + 1
    bad = np.flatnonzero(counts != n_cols)
    if bad.shape[0]:
        i = int(bad[0])
        src = "in the header" if skip else "in a Binance kline dump"
        raise DataError(f"expected {n_cols} columns ({src}), found {int(counts[i])}",
                        row=int(data_rows[i]))
    columns = _split_columns(data, sorted(where.values()), n_cols)
    del data
    time_name = names[where["time"]]
    ts = _times(columns[where["time"]], time_name, data_rows)
    far = np.flatnonzero((ts < _MIN_TIME) | (ts > _MAX_TIME))
    if far.shape[0]:
        i = int(far[0])
        raise DataError(f"column {time_name!r}: the time {columns[where['time']][i][:30]!r} is "
                        "out of range (years 1 to 9999)", row=int(data_rows[i]))
    values = [_floats(columns[where[k]], names[where[k]], data_rows) for k in PLAIN_HEADER[1:]]
    o, h, lo, c, v = values
    if timeframe:
        tf = parse_timeframe(timeframe)
    else:
        try:
            tf = infer_timeframe(np.sort(ts))  # sorted: unsorted rows are reported below
        except DataError:
            # say first what is wrong row by row (e.g. unsorted or duplicate times), if anything
            validate_candles(Candles(ts, o, h, lo, c, v), rows=data_rows)
            raise
    candles = Candles(ts, o, h, lo, c, v, symbol=symbol, timeframe=tf)
    validate_candles(candles, rows=data_rows)
    return candles


def _lines(text: str | bytes | Iterable[str]) -> tuple[list[str], I64]:
    """Non-blank lines, and each one's 1-based line number in the file."""
    if isinstance(text, bytes):
        try:
            s = text.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise DataError(f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    elif isinstance(text, str):
        s = text.removeprefix("\ufeff")
    else:
        s = "\n".join(line.rstrip("\r\n") for line in text).removeprefix("\ufeff")
    if '"' in s:
        s = s.replace('"', "")
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    lines = s.split("\n")
    rows = np.arange(1, len(lines) + 1, dtype=np.int64)
    blank = _blank_lines(lines)
    if blank:
        keep = np.ones(len(lines), dtype=bool)
        keep[blank] = False
        rows = rows[keep]
        lines = [lines[i - 1] for i in rows.tolist()]
    return lines, rows


def _blank_lines(lines: list[str]) -> list[int]:
    """Indexes of empty or whitespace-only lines (only short lines are checked, quickly)."""
    length = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    return [i for i in np.flatnonzero(length < 16).tolist() if not lines[i].strip()]


def _locate(names: tuple[str, ...], header_row: int) -> dict[str, int]:
    """Column index of ``time`` and of each value column; DataError listing what is missing."""
    where: dict[str, int] = {}
    time_at = [names.index(t) for t in TIME_NAMES if t in names]
    if time_at:
        where["time"] = time_at[0]
    for k in PLAIN_HEADER[1:]:
        if names.count(k) > 1:
            raise DataError(f"column {k!r} appears {names.count(k)} times in the header: keep one",
                            row=header_row)
        if k in names:
            where[k] = names.index(k)
    missing = [k for k in ("time", *PLAIN_HEADER[1:]) if k not in where]
    if missing:
        shown = ", ".join("'timestamp'" if k == "time" else repr(k) for k in missing)
        raise DataError(f"missing column(s) {shown} in the header (need "
                        f"{','.join(PLAIN_HEADER)} in any order; found: {','.join(names)})",
                        row=header_row)
    return where


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building a million small lists (it would rescan them all)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _split_columns(data: list[str], wanted: list[int], n_cols: int) -> dict[int, list[str]]:
    """The raw strings of the ``wanted`` columns (every row has exactly ``n_cols`` fields)."""
    if n_cols <= wanted[-1] + 3:  # few unused fields: one flat split, no list per row
        flat = ",".join(data).split(",")
        return {j: flat[j::n_cols] for j in wanted}
    maxsplit = wanted[-1] + 1  # leave the unused tail of each row unsplit
    with gc_paused():
        split = [line.split(",", maxsplit) for line in data]
        cols = {j: [r[j] for r in split] for j in wanted}
        del split
    return cols


def _floats(col: list[str], name: str, rows: I64) -> F64:
    try:
        return np.array(col, dtype=np.float64)
    except ValueError:
        pass
    out = np.empty(len(col), dtype=np.float64)
    for i, s in enumerate(col):
        try:
            out[i] = float(s)
        except ValueError:
            what = "empty value" if not s.strip() else f"not a number: {s.strip()!r}"
            raise DataError(f"column {name!r}: {what}", row=int(rows[i])) from None
    return out


def _times(col: list[str], name: str, rows: I64) -> I64:
    """Epoch ms (µs above 10^14 are converted) or ISO-8601 strings -> UTC ms."""
    if _INTEGER.fullmatch(col[0]):
        try:
            t = np.array(col, dtype=np.int64)
        except (ValueError, OverflowError):
            t = np.array([_slow_time(s, name, int(r)) for s, r in zip(col, rows, strict=True)],
                         dtype=np.int64)
        return np.where(t > MICROS_ABOVE, t // 1000, t)
    naive = [s[:-1] if s.endswith(("Z", "z")) else s for s in col]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns on offsets: those take the slow path
            t = np.array(naive, dtype="datetime64[ms]").astype(np.int64)
        if not (t == np.iinfo(np.int64).min).any():  # NaT
            return t
    except (ValueError, Warning):
        pass
    try:  # offsets, or forms numpy does not read
        return np.fromiter(map(_iso_ms, col), dtype=np.int64, count=len(col))
    except ValueError:  # find the bad row
        return np.array([_slow_time(s, name, int(r)) for s, r in zip(col, rows, strict=True)],
                        dtype=np.int64)


def _iso_ms(s: str) -> int:
    dt = datetime.fromisoformat(s.strip())  # Python >= 3.11 reads "Z" too
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MS


_MAX_TIME = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z in ms: the last time ISO-8601 reads
_MIN_TIME = -62_135_596_800_000  # 0001-01-01T00:00:00Z
_OUT_OF_RANGE = 2**63


def _slow_time(s: str, name: str, row: int) -> int:
    """One time value, or DataError naming the row and column."""
    text = s.strip()
    value: int | None = None
    if _INTEGER.fullmatch(text):
        value = int(text) if len(text) <= 24 else _OUT_OF_RANGE
    else:
        try:
            f = float(text)
            if f.is_integer():
                value = int(f)
        except (ValueError, OverflowError):
            pass
    if value is not None:
        value = value // 1000 if value > MICROS_ABOVE else value
        if not _MIN_TIME <= value <= _MAX_TIME:
            raise DataError(f"column {name!r}: the time {text[:30]!r} is out of range (use epoch "
                            "milliseconds or ISO-8601 such as 2024-01-01T00:00:00Z)", row=row)
        return value
    try:
        return _iso_ms(text)
    except ValueError:
        what = "empty value" if not text else f"not a time: {text!r}"
        raise DataError(f"column {name!r}: {what} (use epoch milliseconds or ISO-8601 such as "
                        "2024-01-01T00:00:00Z)", row=row) from None


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def write_candles_csv(c: Candles) -> str:
    """``c`` as a plain CSV: header ``timestamp,open,high,low,close,volume``, epoch ms times,
    shortest round-trip floats (reading it back gives identical arrays)."""
    body = [
        f"{t},{o!r},{h!r},{lo!r},{cl!r},{v!r}"
        for t, o, h, lo, cl, v in zip(
            c.ts.tolist(), c.open.tolist(), c.high.tolist(), c.low.tolist(),
            c.close.tolist(), c.volume.tolist(), strict=True)
    ]
    return "\n".join([",".join(PLAIN_HEADER), *body]) + "\n"
