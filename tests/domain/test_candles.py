"""Candles: construction, validation (row numbers), gaps, time slices and exact resampling."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.candles import Candles, find_gaps, resample, validate_candles
from domain.errors import DataError
from domain.timeframes import DAY_MS, HOUR_MS, MINUTE_MS, bucket_start

T0 = 1_704_067_200_000  # 2024-01-01T00:00Z, a Monday


def ms(y: int, mo: int, d: int, h: int = 0, mi: int = 0, sec: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, sec, tzinfo=UTC).timestamp() * 1000)


def make(n: int, step: int = HOUR_MS, tf: str = "1h", start: int = T0) -> Candles:
    """Valid candles: close = 100 + i, open = previous close, high/low 1 beyond, volume i + 1."""
    close = 100.0 + np.arange(n)
    open_ = np.concatenate(([100.0], close[:-1]))[:n]
    return Candles.from_arrays(start + np.arange(n) * step, open_, close + 1, open_ - 1, close,
                               np.arange(n) + 1.0, "TEST", tf)


def with_(c: Candles, **cols: tuple[int, float]) -> Candles:
    """A copy of ``c`` with ``column=(index, value)`` changed."""
    arrays = {k: getattr(c, k).copy() for k in ("ts", "open", "high", "low", "close", "volume")}
    for k, (index, value) in cols.items():
        arrays[k][index] = value
    return Candles(**arrays, symbol=c.symbol, timeframe=c.timeframe)


def error(c: Candles, rows: object = None) -> DataError:
    with pytest.raises(DataError) as err:
        validate_candles(c, rows=rows)  # type: ignore[arg-type]
    return err.value


# ---- construction ---------------------------------------------------------------------------

def test_from_arrays_casts() -> None:
    c = Candles.from_arrays([1, 2], [1, 2], [2, 3], [0, 1], [1, 2], [5, 5], timeframe=" 1h")
    assert c.ts.dtype == np.int64 and c.open.dtype == np.float64 and c.volume.dtype == np.float64
    assert c.timeframe == "1h" and len(c) == 2


def test_from_arrays_rejects_bad_shapes_and_timeframes() -> None:
    with pytest.raises(DataError, match=r"differ in length \(2, 2, 2, 1, 2, 2\)"):
        Candles.from_arrays([1, 2], [1, 2], [2, 3], [0], [1, 2], [5, 5])
    with pytest.raises(DataError, match="one-dimensional"):
        Candles.from_arrays([[1]], [[1]], [[1]], [[1]], [[1]], [[1]])
    with pytest.raises(DataError, match="unknown timeframe"):
        Candles.from_arrays([], [], [], [], [], [], timeframe="7m")


# ---- validation -----------------------------------------------------------------------------

def test_valid_and_empty_candles_pass() -> None:
    validate_candles(make(50))
    validate_candles(make(0))
    validate_candles(Candles.from_arrays([5], [1], [1], [1], [1], [0]))  # no timeframe: any time


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "volume"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_row_and_column(column: str, bad: float) -> None:
    err = error(with_(make(10), **{column: (6, bad)}))
    assert err.row == 7
    assert f"column '{column}' is not a finite number ({bad!r})" in str(err)
    assert str(err).startswith("row 7: ")


def test_unsorted_and_duplicate_are_told_apart() -> None:
    c = make(10)
    ts = c.ts.copy()
    ts[[4, 5]] = ts[[5, 4]]
    err = error(Candles(ts, c.open, c.high, c.low, c.close, c.volume, timeframe="1h"))
    assert err.row == 6
    assert "not sorted" in str(err) and "2024-01-01T04:00:00Z is earlier than the previous row's " \
        "2024-01-01T05:00:00Z" in str(err)
    assert "duplicate" not in str(err)
    ts = c.ts.copy()
    ts[5] = ts[4]
    err = error(Candles(ts, c.open, c.high, c.low, c.close, c.volume, timeframe="1h"))
    assert err.row == 6
    assert "duplicate timestamp 2024-01-01T04:00:00Z (also on row 5)" in str(err)
    assert "not sorted" not in str(err)


def test_misaligned_timestamp() -> None:
    err = error(with_(make(10), ts=(3, T0 + 3 * HOUR_MS + 30 * MINUTE_MS)))
    assert err.row == 4
    assert "2024-01-01T03:30:00Z is not on a 1h bar boundary (that bar opens at " \
        "2024-01-01T03:00:00Z)" in str(err)


def test_weekly_alignment_is_monday() -> None:
    validate_candles(make(5, step=7 * DAY_MS, tf="1w"))
    err = error(make(5, step=7 * DAY_MS, tf="1w", start=T0 + DAY_MS))
    assert err.row == 1 and "not on a 1w bar boundary" in str(err)


def test_ohlc_consistency() -> None:
    err = error(with_(make(10), high=(2, 101.5)))  # open 101, close 102
    assert err.row == 3
    assert "high 101.5 is below max(open, close) = 102.0" in str(err)
    err = error(with_(make(10), low=(8, 108.5)))  # open 107, close 108
    assert err.row == 9
    assert "low 108.5 is above min(open, close) = 107.0" in str(err)
    err = error(with_(make(10), volume=(0, -2.0)))
    assert err.row == 1 and "volume -2.0 is negative" in str(err)


def test_earliest_row_wins_and_counts_are_given() -> None:
    c = with_(with_(make(10), volume=(7, -1.0)), high=(3, 0.0))
    assert error(c).row == 4
    c = with_(with_(make(10), volume=(7, -1.0)), volume=(8, -1.0))
    assert "(2 rows have this problem)" in str(error(c))


def test_rows_mapping_names_file_rows() -> None:
    c = with_(make(4), close=(2, np.nan))
    err = error(c, rows=[2, 3, 5, 6])
    assert err.row == 5 and str(err).startswith("row 5: ")
    c = make(4)
    ts = c.ts.copy()
    ts[3] = ts[2]
    err = error(Candles(ts, c.open, c.high, c.low, c.close, c.volume, timeframe="1h"),
                rows=[10, 11, 12, 14])
    assert err.row == 14 and "(also on row 12)" in str(err)


def test_validation_is_fast() -> None:
    c = make(1_000_000, step=MINUTE_MS, tf="1m")
    t = time.perf_counter()
    validate_candles(c)
    assert time.perf_counter() - t < 0.5


# ---- gaps and slices ------------------------------------------------------------------------

def test_find_gaps() -> None:
    c = make(10)
    keep = np.array([0, 1, 2, 5, 6, 9])
    g = Candles(c.ts[keep], c.open[keep], c.high[keep], c.low[keep], c.close[keep],
                c.volume[keep], timeframe="1h")
    assert find_gaps(g) == [(T0 + 3 * HOUR_MS, T0 + 4 * HOUR_MS),
                            (T0 + 7 * HOUR_MS, T0 + 8 * HOUR_MS)]
    assert find_gaps(c) == []
    assert find_gaps(make(1)) == []


def test_find_gaps_in_months() -> None:
    ts = [ms(2023, 1, 1), ms(2023, 2, 1), ms(2023, 5, 1)]
    c = Candles.from_arrays(ts, [1] * 3, [1] * 3, [1] * 3, [1] * 3, [1] * 3, timeframe="1M")
    assert find_gaps(c) == [(ms(2023, 3, 1), ms(2023, 4, 1))]


def test_find_gaps_needs_a_timeframe() -> None:
    with pytest.raises(DataError, match="no timeframe"):
        find_gaps(Candles.from_arrays([1], [1], [1], [1], [1], [1]))


def test_slice_time_is_start_inclusive_end_exclusive() -> None:
    c = make(10)
    s = c.slice_time(T0 + 2 * HOUR_MS, T0 + 5 * HOUR_MS)
    assert s.ts.tolist() == [T0 + 2 * HOUR_MS, T0 + 3 * HOUR_MS, T0 + 4 * HOUR_MS]
    assert s.close.tolist() == [102.0, 103.0, 104.0]
    assert s.symbol == "TEST" and s.timeframe == "1h"
    assert len(c.slice_time(T0 + 2 * HOUR_MS + 1, None)) == 7  # starts at the next bar
    assert len(c.slice_time(None, T0 + 2 * HOUR_MS + 1)) == 3
    assert len(c.slice_time(None, None)) == 10
    assert len(c.slice_time(T0 + 5 * HOUR_MS, T0 + 2 * HOUR_MS)) == 0
    assert len(c.slice_time(T0 + 50 * HOUR_MS, None)) == 0


# ---- resampling -----------------------------------------------------------------------------

def test_resample_1m_to_5m_by_hand() -> None:
    o = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]
    h = [12, 15, 13, 14, 16, 17, 25, 18, 19, 21, 22, 23]
    lo = [9, 10, 8, 12, 13, 14, 15, 11, 17, 18, 19, 20]
    cl = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]
    v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    c = Candles.from_arrays(T0 + np.arange(12) * MINUTE_MS, o, h, lo, cl, v, "X", "1m")
    r = resample(c, "5m")
    assert r.candles.ts.tolist() == [T0, T0 + 5 * MINUTE_MS]
    assert r.candles.open.tolist() == [10, 15]
    assert r.candles.high.tolist() == [16, 25]
    assert r.candles.low.tolist() == [8, 11]
    assert r.candles.close.tolist() == [15, 20]
    assert r.candles.volume.tolist() == [15, 40]
    assert r.candles.timeframe == "5m" and r.candles.symbol == "X"
    assert r.dropped_partial_last and r.dropped.tolist() == [T0 + 10 * MINUTE_MS]
    assert ("dropped the last 5m bar at 2024-01-01T00:10:00Z: it holds only 2 of 5 1m bars"
            in r.message)


def test_resample_1h_to_1d() -> None:
    c = make(24 * 3, start=T0 + 24 * HOUR_MS)  # 2024-01-02 .. 2024-01-04, complete days
    r = resample(c, "1d")
    d = r.candles
    assert d.ts.tolist() == [T0 + DAY_MS, T0 + 2 * DAY_MS, T0 + 3 * DAY_MS]
    assert d.open.tolist() == [100.0, 123.0, 147.0]
    assert d.close.tolist() == [123.0, 147.0, 171.0]
    assert d.high.tolist() == [124.0, 148.0, 172.0]
    assert d.low.tolist() == [99.0, 122.0, 146.0]
    assert d.volume.tolist() == [sum(range(1, 25)), sum(range(25, 49)), sum(range(49, 73))]
    assert not r.dropped_partial_last and r.message == "" and r.dropped.size == 0
    validate_candles(d)


def test_resample_drops_incomplete_buckets_anywhere() -> None:
    c = make(24 * 3 + 5, start=T0 - 2 * HOUR_MS)  # starts 22:00 on Dec 31, ends 04:00 on Jan 4
    keep = np.ones(len(c), dtype=bool)
    keep[40] = False  # a missing hour on Jan 2
    g = Candles(c.ts[keep], c.open[keep], c.high[keep], c.low[keep], c.close[keep],
                c.volume[keep], timeframe="1h")
    r = resample(g, "1d")
    assert r.candles.ts.tolist() == [T0, T0 + 2 * DAY_MS]
    assert r.dropped.tolist() == [T0 - DAY_MS, T0 + DAY_MS, T0 + 3 * DAY_MS]
    assert r.dropped_partial_last
    assert "dropped 2 incomplete 1d bar(s) with missing 1h bars (first at 2023-12-31T00:00:00Z)" \
        in r.message
    assert "dropped the last 1d bar at 2024-01-04T00:00:00Z: it holds only 3 of 24" in r.message


def test_gap_in_last_bucket_is_not_a_partial_last() -> None:
    c = make(24)
    keep = np.ones(24, dtype=bool)
    keep[10] = False
    g = Candles(c.ts[keep], c.open[keep], c.high[keep], c.low[keep], c.close[keep],
                c.volume[keep], timeframe="1h")
    r = resample(g, "1d")
    assert len(r.candles) == 0 and not r.dropped_partial_last and r.dropped.tolist() == [T0]


def test_resample_1d_to_1w_starts_on_monday() -> None:
    start = T0 - 3 * DAY_MS  # Friday 2023-12-29
    c = make(3 + 14, step=DAY_MS, tf="1d", start=start)
    r = resample(c, "1w")
    assert r.candles.ts.tolist() == [T0, T0 + 7 * DAY_MS]  # Mondays
    assert r.candles.open.tolist() == [102.0, 109.0]
    assert r.candles.close.tolist() == [109.0, 116.0]
    assert r.dropped.tolist() == [T0 - 7 * DAY_MS] and not r.dropped_partial_last


def test_resample_1d_to_calendar_months() -> None:
    # 2024-01-01 .. 2024-03-10: January (31 days) and February (29 days, leap year) complete
    n = 31 + 29 + 10
    c = make(n, step=DAY_MS, tf="1d")
    r = resample(c, "1M")
    m = r.candles
    assert m.ts.tolist() == [ms(2024, 1, 1), ms(2024, 2, 1)]
    assert m.open.tolist() == [100.0, 130.0]
    assert m.close.tolist() == [130.0, 159.0]
    assert m.volume.tolist() == [sum(range(1, 32)), sum(range(32, 61))]
    assert r.dropped_partial_last and "holds only 10 of 31 1d bars" in r.message


def test_resample_same_timeframe_is_identity() -> None:
    c = make(5)
    r = resample(c, "1h")
    assert r.candles.ts.tolist() == c.ts.tolist() and r.message == ""


@pytest.mark.parametrize(("src", "dst"), [("3m", "5m"), ("3d", "1w"), ("1w", "1M"), ("1M", "1d"),
                                          ("1h", "1m"), ("3d", "1M")])
def test_resample_rejects_targets_not_made_of_whole_bars(src: str, dst: str) -> None:
    c = Candles.from_arrays([], [], [], [], [], [], timeframe=src)
    with pytest.raises(DataError, match=f"cannot resample {src} to {dst}: each {dst} bar must "):
        resample(c, dst)


def test_resample_error_lists_valid_targets() -> None:
    c = Candles.from_arrays([], [], [], [], [], [], timeframe="3m")
    with pytest.raises(DataError, match="choose one of: 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, "
                                        "3d, 1w, 1M"):
        resample(c, "5m")


def test_resample_validates_its_input() -> None:
    with pytest.raises(DataError, match="row 3: "):
        resample(with_(make(30), close=(2, np.nan)), "1d")
    with pytest.raises(DataError, match="no timeframe"):
        resample(Candles.from_arrays([0], [1], [1], [1], [1], [1]), "1d")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=300), st.sampled_from(["15m", "1h", "4h"]),
       st.integers(0, 1000))
def test_resample_matches_a_plain_loop(present: list[bool], dst: str, offset: int) -> None:
    rng = np.random.default_rng(len(present))
    n = len(present)
    close = 100 + rng.normal(0, 1, n).cumsum()
    open_ = close + rng.normal(0, 0.5, n)
    high = np.maximum(open_, close) + rng.uniform(0, 1, n)
    low = np.minimum(open_, close) - rng.uniform(0, 1, n)
    keep = np.array(present)
    ts = T0 + (offset + np.arange(n)) * 5 * MINUTE_MS
    c = Candles.from_arrays(ts[keep], open_[keep], high[keep], low[keep], close[keep],
                            rng.uniform(0, 9, n)[keep], timeframe="5m")
    if len(c) == 0:
        return
    r = resample(c, dst)
    per = {"15m": 3, "1h": 12, "4h": 48}[dst]
    b = bucket_start(c.ts, dst)
    expect: list[tuple[float, ...]] = []
    dropped = []
    for start in sorted(set(b.tolist())):
        i = np.flatnonzero(b == start)
        if len(i) == per:
            expect.append((start, c.open[i[0]], c.high[i].max(), c.low[i].min(), c.close[i[-1]]))
        else:
            dropped.append(start)
    got = list(zip(r.candles.ts.tolist(), r.candles.open.tolist(), r.candles.high.tolist(),
                   r.candles.low.tolist(), r.candles.close.tolist(), strict=True))
    assert got == expect
    assert r.dropped.tolist() == dropped
    validate_candles(r.candles)
