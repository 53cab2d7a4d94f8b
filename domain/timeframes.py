"""Binance timeframes: names, lengths, bar alignment and annualization.

Bars are identified by their *open time* in UTC milliseconds. The timeframes are Binance's:
``1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M`` (``1M`` is a calendar month, ``1m`` a
minute; ``1mo``, the folder name in Binance's dumps, is accepted for ``1M``).

Alignment (where a bar of each timeframe may open), as on Binance:

- ``1m`` ... ``1d`` and ``3d``: multiples of the timeframe's length counted from the Unix epoch
  (1970-01-01T00:00Z), so ``4h`` bars open at 00:00, 04:00, ... UTC and ``3d`` bars every third
  day counted from 1970-01-01;
- ``1w``: Mondays 00:00 UTC;
- ``1M``: the first day of each calendar month, 00:00 UTC.

``timeframe_ms`` gives every fixed timeframe's exact length; for ``1M`` it gives a *nominal*
30 days, good for rough arithmetic (warm-up estimates) only. Everything that places or counts bars
(``bucket_start``, ``period_index``, ``period_start``) uses true calendar months.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from domain.errors import DataError

I64 = npt.NDArray[np.int64]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
YEAR_DAYS = 365.0
"""The crypto year used to annualize: 365 days of round-the-clock trading."""
MONDAY_OFFSET_MS = 4 * DAY_MS
"""1970-01-01 was a Thursday: Monday-aligned weeks start 4 days after the epoch (mod 7 days)."""

TIMEFRAMES: tuple[str, ...] = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)
_MS: dict[str, int] = {
    "1m": MINUTE_MS, "3m": 3 * MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS, "1h": HOUR_MS, "2h": 2 * HOUR_MS, "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS, "8h": 8 * HOUR_MS, "12h": 12 * HOUR_MS, "1d": DAY_MS, "3d": 3 * DAY_MS,
    "1w": WEEK_MS, "1M": 30 * DAY_MS,
}
_ALIASES = {"1mo": "1M"}


def parse_timeframe(s: str) -> str:
    """The canonical timeframe name for ``s`` (surrounding spaces ignored; case matters: 1m/1M).

    Raises ``DataError`` listing the valid names when ``s`` is not one of them.
    """
    name = s.strip()
    name = _ALIASES.get(name, name)
    if name in _MS:
        return name
    hint = ""
    close = [tf for tf in TIMEFRAMES if tf.lower() == name.lower()]
    if close:
        hint = f" (names are case-sensitive: did you mean {' or '.join(close)}?)"
    raise DataError(f"unknown timeframe {s!r}{hint}: use one of {', '.join(TIMEFRAMES)}")


def is_calendar(tf: str) -> bool:
    """True for timeframes whose bars vary in length (``1M``)."""
    return parse_timeframe(tf) == "1M"


def timeframe_ms(tf: str) -> int:
    """Length of one bar in milliseconds; ``1M`` gives a nominal 30 days (see the module doc)."""
    return _MS[parse_timeframe(tf)]


def periods_per_year(tf: str) -> float:
    """Bars per 365-day year, for annualizing: ``1h`` -> 8760, ``1d`` -> 365, ``1w`` -> 365/7,
    ``1M`` -> 12."""
    name = parse_timeframe(tf)
    if name == "1M":
        return 12.0
    return YEAR_DAYS * DAY_MS / _MS[name]


def _origin(name: str) -> int:
    return MONDAY_OFFSET_MS if name == "1w" else 0


def period_index(ts: npt.ArrayLike, tf: str) -> I64:
    """The number of the bar (of timeframe ``tf``) holding each time in ``ts``.

    Consecutive bars have consecutive numbers (calendar months for ``1M``), so a difference of
    more than 1 between neighbours means bars are missing. ``period_start`` is the inverse.
    """
    name = parse_timeframe(tf)
    t = np.asarray(ts, dtype=np.int64)
    if name == "1M":
        return t.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    return (t - _origin(name)) // _MS[name]


def period_start(index: npt.ArrayLike, tf: str) -> I64:
    """The open time (UTC ms) of bar number ``index`` of timeframe ``tf`` (see ``period_index``)."""
    name = parse_timeframe(tf)
    i = np.asarray(index, dtype=np.int64)
    if name == "1M":
        return i.astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    return i * _MS[name] + _origin(name)


def bucket_start(ts: npt.ArrayLike, tf: str) -> I64:
    """The open time of the ``tf`` bar that contains each time in ``ts`` (floor to the timeframe).

    Fixed timeframes floor to epoch multiples, ``1w`` to Monday 00:00 UTC, ``1M`` to the first of
    the month.
    """
    return period_start(period_index(ts, tf), tf)


def is_aligned(ts: int, tf: str) -> bool:
    """True when a ``tf`` bar may open at ``ts`` (UTC ms)."""
    return int(bucket_start(np.array([ts], dtype=np.int64), tf)[0]) == int(ts)


def infer_timeframe(ts: npt.ArrayLike) -> str:
    """The timeframe whose length is the most common step between consecutive times in ``ts``.

    Steps of 28 to 31 days mean ``1M``. Raises ``DataError`` when there are fewer than two
    distinct times or the step is not a Binance timeframe.
    """
    d = np.diff(np.asarray(ts, dtype=np.int64))
    d = d[d > 0]
    if d.shape[0] == 0:
        raise DataError("cannot infer the timeframe from fewer than two distinct timestamps: "
                        "give the timeframe (e.g. 1h)")
    steps, counts = np.unique(d, return_counts=True)
    step = int(steps[int(np.argmax(counts))])
    for name in TIMEFRAMES[:-1]:
        if _MS[name] == step:
            return name
    if 28 * DAY_MS <= step <= 31 * DAY_MS:
        return "1M"
    raise DataError(f"the most common step between timestamps, {_duration(step)}, is not a Binance "
                    f"timeframe ({', '.join(TIMEFRAMES)}): give the timeframe, and check that "
                    "times are epoch milliseconds or ISO-8601")


def _duration(ms: int) -> str:
    for unit, size in (("d", DAY_MS), ("h", HOUR_MS), ("min", MINUTE_MS), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


def iso(ms: int) -> str:
    """UTC milliseconds as ISO-8601 with a ``Z`` (milliseconds shown only when not zero)."""
    try:
        dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))
    except OverflowError:
        return f"{int(ms)} ms since the epoch"
    spec = "milliseconds" if dt.microsecond else "seconds"
    return dt.isoformat(timespec=spec).replace("+00:00", "Z")
