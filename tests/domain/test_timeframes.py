"""Timeframe names, lengths, Binance alignment (epoch, Monday weeks, calendar months)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DataError
from domain.timeframes import (
    DAY_MS,
    HOUR_MS,
    TIMEFRAMES,
    bucket_start,
    infer_timeframe,
    is_aligned,
    is_calendar,
    iso,
    parse_timeframe,
    period_index,
    period_start,
    periods_per_year,
    timeframe_ms,
)


def ms(y: int, mo: int, d: int, h: int = 0, mi: int = 0, sec: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, sec, tzinfo=UTC).timestamp() * 1000)


def test_names() -> None:
    assert TIMEFRAMES == ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
                          "1d", "3d", "1w", "1M")


@pytest.mark.parametrize("tf", TIMEFRAMES)
def test_parse_accepts_every_name(tf: str) -> None:
    assert parse_timeframe(tf) == tf
    assert parse_timeframe(f" {tf}\n") == tf


def test_parse_accepts_binance_dump_month_name() -> None:
    assert parse_timeframe("1mo") == "1M"


@pytest.mark.parametrize("bad", ["", "2m", "1y", "60", "1 h", "hour"])
def test_parse_rejects_unknown_with_the_list(bad: str) -> None:
    with pytest.raises(DataError, match="unknown timeframe") as err:
        parse_timeframe(bad)
    assert "1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M" in str(err.value)


def test_parse_hints_case() -> None:
    with pytest.raises(DataError, match="case-sensitive: did you mean 1h"):
        parse_timeframe("1H")
    with pytest.raises(DataError, match="did you mean 1d"):
        parse_timeframe("1D")


def test_lengths() -> None:
    assert timeframe_ms("1m") == 60_000
    assert timeframe_ms("15m") == 900_000
    assert timeframe_ms("4h") == 4 * HOUR_MS
    assert timeframe_ms("3d") == 3 * DAY_MS
    assert timeframe_ms("1w") == 7 * DAY_MS
    assert timeframe_ms("1M") == 30 * DAY_MS  # nominal only
    assert is_calendar("1M") and not is_calendar("1w")
    with pytest.raises(DataError):
        timeframe_ms("7m")


def test_periods_per_year() -> None:
    assert periods_per_year("1m") == 525_600
    assert periods_per_year("1h") == 8760
    assert periods_per_year("4h") == 2190
    assert periods_per_year("1d") == 365
    assert periods_per_year("3d") == pytest.approx(365 / 3)
    assert periods_per_year("1w") == pytest.approx(365 / 7)
    assert periods_per_year("1M") == 12


def test_fixed_buckets_floor_to_epoch_multiples() -> None:
    t = np.array([ms(2024, 3, 5, 13, 47), ms(2024, 3, 5, 0, 0)], dtype=np.int64)
    assert bucket_start(t, "1h").tolist() == [ms(2024, 3, 5, 13), ms(2024, 3, 5, 0)]
    assert bucket_start(t, "4h").tolist() == [ms(2024, 3, 5, 12), ms(2024, 3, 5, 0)]
    assert bucket_start(t, "15m").tolist() == [ms(2024, 3, 5, 13, 45), ms(2024, 3, 5, 0)]
    assert bucket_start(t, "1d").tolist() == [ms(2024, 3, 5), ms(2024, 3, 5)]


def test_3d_is_epoch_aligned() -> None:
    # 2023-01-01 is day 19358 after the epoch; 19356 = 3 * 6452 is 2022-12-30
    assert bucket_start([ms(2023, 1, 1, 5)], "3d").tolist() == [ms(2022, 12, 30)]
    assert bucket_start([0, 3 * DAY_MS - 1, 3 * DAY_MS], "3d").tolist() == [0, 0, 3 * DAY_MS]


def test_weeks_start_on_monday() -> None:
    # 2024-01-01 was a Monday; 2024-01-07 a Sunday
    t = [ms(2024, 1, 1), ms(2024, 1, 3, 12), ms(2024, 1, 7, 23, 59), ms(2024, 1, 8)]
    assert bucket_start(t, "1w").tolist() == [ms(2024, 1, 1)] * 3 + [ms(2024, 1, 8)]
    # the epoch was a Thursday: its week began on Monday 1969-12-29
    assert bucket_start([0], "1w").tolist() == [ms(1969, 12, 29)]


def test_months_are_calendar_months() -> None:
    t = [ms(2024, 2, 29, 12), ms(2024, 3, 1), ms(2023, 12, 31, 23, 59, 59), ms(1969, 12, 15)]
    assert bucket_start(t, "1M").tolist() == [ms(2024, 2, 1), ms(2024, 3, 1), ms(2023, 12, 1),
                                              ms(1969, 12, 1)]
    assert period_index([ms(2024, 1, 1)], "1M").tolist() == [54 * 12]
    assert period_start([54 * 12 + 1], "1M").tolist() == [ms(2024, 2, 1)]


def test_is_aligned() -> None:
    assert is_aligned(ms(2024, 1, 1), "1w")
    assert not is_aligned(ms(2024, 1, 2), "1w")
    assert is_aligned(ms(2024, 5, 1), "1M")
    assert not is_aligned(ms(2024, 5, 2), "1M")
    assert is_aligned(ms(2024, 5, 2, 8), "8h")
    assert not is_aligned(ms(2024, 5, 2, 8) + 1, "8h")


@settings(max_examples=60, deadline=None)
@given(st.integers(-(10**12), 4 * 10**12), st.sampled_from(TIMEFRAMES))
def test_bucket_contains_the_time(t: int, tf: str) -> None:
    i = period_index([t], tf)
    start, nxt = int(period_start(i, tf)[0]), int(period_start(i + 1, tf)[0])
    assert start <= t < nxt
    assert is_aligned(start, tf)
    assert int(bucket_start([t], tf)[0]) == start
    if tf != "1M":
        assert nxt - start == timeframe_ms(tf)
    else:
        assert 28 * DAY_MS <= nxt - start <= 31 * DAY_MS


def test_infer_timeframe() -> None:
    step = 5 * 60_000
    t = np.arange(10) * step
    assert infer_timeframe(np.delete(t, [3, 4])) == "5m"  # gaps do not fool the mode
    months = [ms(2023, m, 1) for m in range(1, 13)]
    assert infer_timeframe(months) == "1M"
    with pytest.raises(DataError, match="fewer than two distinct"):
        infer_timeframe([5])
    with pytest.raises(DataError, match="most common step between timestamps, 90 s, is not"):
        infer_timeframe(np.arange(5) * 90_000)


def test_iso() -> None:
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(ms(2024, 1, 2, 3, 4, 5) + 6) == "2024-01-02T03:04:05.006Z"
    assert "ms since the epoch" in iso(10**18)
