"""CSV reading (Binance dumps, plain header CSVs) with file row numbers; writing; speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from domain.candles import Candles
from domain.csv import read_candles_csv, write_candles_csv
from domain.demo import demo_candles
from domain.errors import DataError

T0 = 1_704_067_200_000  # 2024-01-01T00:00Z
H = 3_600_000


def binance_rows(n: int, scale: int = 1, start: int = T0) -> list[str]:
    out = []
    for i in range(n):
        t = (start + i * H) * scale
        o, c = 100 + i, 101 + i
        out.append(f"{t},{o}.00000000,{c + 1}.50000000,{o - 1}.25000000,{c}.00000000,"
                   f"{10 + i}.5,{t + H * scale - 1},1234.5,42,5.0,600.0,0")
    return out


def plain(rows: list[str], header: str = "timestamp,open,high,low,close,volume") -> str:
    return "\n".join([header, *rows]) + "\n"


def error(text: str | bytes, **kw: object) -> DataError:
    with pytest.raises(DataError) as err:
        read_candles_csv(text, **kw)  # type: ignore[arg-type]
    return err.value


# ---- Binance dumps --------------------------------------------------------------------------

def test_binance_dump_without_header() -> None:
    c = read_candles_csv("\n".join(binance_rows(3)) + "\n", symbol="BTC/USDT")
    assert c.ts.tolist() == [T0, T0 + H, T0 + 2 * H]
    assert c.open.tolist() == [100, 101, 102]
    assert c.high.tolist() == [102.5, 103.5, 104.5]
    assert c.low.tolist() == [99.25, 100.25, 101.25]
    assert c.close.tolist() == [101, 102, 103]
    assert c.volume.tolist() == [10.5, 11.5, 12.5]
    assert c.timeframe == "1h" and c.symbol == "BTC/USDT"
    assert c.ts.dtype == np.int64 and c.close.dtype == np.float64


def test_binance_microseconds_are_detected() -> None:
    c = read_candles_csv("\n".join(binance_rows(3, scale=1000)))
    assert c.ts.tolist() == [T0, T0 + H, T0 + 2 * H]
    # a dump spanning the switch to microseconds (2025) mixes both
    mixed = binance_rows(2) + binance_rows(2, scale=1000, start=T0 + 2 * H)
    assert read_candles_csv("\n".join(mixed)).ts.tolist() == [T0 + i * H for i in range(4)]


def test_binance_dump_with_header_line() -> None:
    header = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
              "taker_buy_volume,taker_buy_quote_volume,ignore")
    c = read_candles_csv(plain(binance_rows(3), header))
    assert c.ts.tolist() == [T0, T0 + H, T0 + 2 * H] and c.close.tolist() == [101, 102, 103]


def test_binance_wrong_column_count_names_the_row() -> None:
    rows = binance_rows(5)
    rows[3] = rows[3].rsplit(",", 1)[0]
    err = error("\n".join(rows))
    assert err.row == 4 and "expected 12 columns (in a Binance kline dump), found 11" in str(err)


def test_headerless_file_that_is_not_a_binance_dump() -> None:
    err = error(f"{T0},1,2,0.5,1.5,10\n")
    assert err.row == 1 and "no header line, and 6 columns where a Binance kline dump has 12" \
        in str(err) and "timestamp,open,high,low,close,volume" in str(err)
    err = error("2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n")
    assert err.row == 1 and "no header line: add the header line" in str(err)


# ---- plain CSV ------------------------------------------------------------------------------

def test_plain_epoch_ms() -> None:
    c = read_candles_csv(plain([f"{T0},1,2,0.5,1.5,10", f"{T0 + H},1.5,2.5,1,2,0"]))
    assert c.ts.tolist() == [T0, T0 + H]
    assert c.close.tolist() == [1.5, 2.0] and c.volume.tolist() == [10.0, 0.0]


def test_plain_columns_in_any_order_any_case_with_extras() -> None:
    text = plain([f"x,10,{T0},1.5,1,2,0.5,7", f"y,11,{T0 + H},2,1.5,2.5,1,8"],
                 header=" Note ,Volume,TimeStamp,CLOSE,open,High,low,trades")
    c = read_candles_csv(text)
    assert c.ts.tolist() == [T0, T0 + H]
    assert c.open.tolist() == [1, 1.5] and c.high.tolist() == [2, 2.5]
    assert c.low.tolist() == [0.5, 1] and c.close.tolist() == [1.5, 2]
    assert c.volume.tolist() == [10, 11]


@pytest.mark.parametrize("stamp", [
    "2024-01-01T{h:02d}:00:00Z", "2024-01-01T{h:02d}:00:00z", "2024-01-01T{h:02d}:00:00",
    "2024-01-01 {h:02d}:00:00", "2024-01-01T{h:02d}:00:00.000Z", "2024-01-01T{h:02d}:00:00+00:00",
])
def test_plain_iso_times(stamp: str) -> None:
    rows = [f"{stamp.format(h=h)},1,2,0.5,1.5,10" for h in range(3)]
    assert read_candles_csv(plain(rows)).ts.tolist() == [T0, T0 + H, T0 + 2 * H]


def test_iso_with_offsets_is_converted_to_utc() -> None:
    rows = ["2024-01-01T02:00:00+02:00,1,2,0.5,1.5,10", "2023-12-31T20:00:00-05:00,1,2,0.5,1.5,10"]
    assert read_candles_csv(plain(rows)).ts.tolist() == [T0, T0 + H]


def test_daily_iso_dates_with_time_column_named_date() -> None:
    rows = [f"2024-01-0{d},1,2,0.5,1.5,10" for d in (1, 2, 3)]
    c = read_candles_csv(plain(rows, "date,open,high,low,close,volume"))
    assert c.timeframe == "1d" and c.ts.tolist() == [T0, T0 + 24 * H, T0 + 48 * H]


def test_bad_time_value_names_row_and_column() -> None:
    rows = [f"2024-01-01T0{h}:00:00Z,1,2,0.5,1.5,10" for h in range(4)]
    rows[2] = "yesterday,1,2,0.5,1.5,10"
    err = error(plain(rows))
    assert err.row == 4 and "column 'timestamp': not a time: 'yesterday'" in str(err)
    rows = [f"{T0 + i * H},1,2,0.5,1.5,10" for i in range(4)]
    rows[1] = "soon,1,2,0.5,1.5,10"
    err = error(plain(rows))
    assert err.row == 3 and "column 'timestamp': not a time: 'soon'" in str(err)


def test_epoch_written_as_float_is_accepted() -> None:
    c = read_candles_csv(plain([f"{T0}.0,1,2,0.5,1.5,10", f"{T0 + H}.0,1,2,0.5,1.5,10"]))
    assert c.ts.tolist() == [T0, T0 + H]


def test_missing_columns_are_listed() -> None:
    err = error(plain([f"{T0},1,1.5"], header="time,open,close"))
    assert err.row == 1
    assert "missing column(s) 'high', 'low', 'volume' in the header" in str(err)
    err = error(plain([f"{T0},1,2,0.5,1.5,10"], header="when,open,high,low,close,volume"))
    assert "missing column(s) 'timestamp'" in str(err)


def test_duplicate_header_column() -> None:
    err = error(plain([f"{T0},1,2,0.5,1.5,1.5,10"], "timestamp,open,high,low,close,close,volume"))
    assert err.row == 1 and "column 'close' appears 2 times in the header" in str(err)


def test_non_numeric_value_names_row_and_column() -> None:
    rows = [f"{T0 + i * H},1,2,0.5,1.5,10" for i in range(20)]
    rows[15] = f"{T0 + 15 * H},1,2,0.5,abc,10"
    err = error(plain(rows))
    assert err.row == 17
    assert str(err) == "row 17: column 'close': not a number: 'abc'"
    rows[15] = f"{T0 + 15 * H},1,,0.5,1.5,10"
    assert str(error(plain(rows))) == "row 17: column 'high': empty value"


def test_wrong_column_count_in_plain_csv() -> None:
    rows = [f"{T0 + i * H},1,2,0.5,1.5,10" for i in range(5)]
    rows[2] += ",extra"
    err = error(plain(rows))
    assert err.row == 4 and "expected 6 columns (in the header), found 7" in str(err)


def test_validation_errors_use_file_rows() -> None:
    rows = [f"{T0 + i * H},1,2,0.5,1.5,10" for i in range(6)]
    rows[3], rows[4] = rows[4], rows[3]
    err = error(plain(rows))
    assert err.row == 6 and "not sorted" in str(err)  # header is row 1: data index 4 is row 6
    rows = [f"{T0 + i * H},1,2,0.5,1.5,10" for i in range(6)]
    rows[4] = rows[3]
    err = error(plain(rows))
    assert err.row == 6 and "duplicate timestamp" in str(err) and "(also on row 5)" in str(err)
    rows = [f"{T0 + i * H},1,2,0.5,1.5,10" for i in range(6)]
    rows[2] = f"{T0 + 2 * H},1,1.2,0.5,1.5,10"
    err = error(plain(rows))
    assert err.row == 4 and "high 1.2 is below max(open, close) = 1.5" in str(err)
    rows[2] = f"{T0 + 2 * H},1,2,0.5,1.5,-1"
    assert error(plain(rows)).row == 4


def test_blank_lines_are_skipped_and_rows_still_match_the_file() -> None:
    rows = [f"{T0 + i * H},1,2,0.5,1.5,10" for i in range(5)]
    rows[3] = f"{T0 + 3 * H},1,2,0.5,nan,10"
    text = "\n".join(["timestamp,open,high,low,close,volume", rows[0], "", rows[1], "   ",
                      rows[2], rows[3], rows[4], "", ""])
    err = error(text)
    assert err.row == 7 and "column 'close' is not a finite number (nan)" in str(err)


def test_misaligned_times_with_a_given_timeframe() -> None:
    rows = [f"{T0 + i * H},1,2,0.5,1.5,10" for i in range(4)]
    err = error(plain(rows), timeframe="4h")
    assert err.row == 3 and "not on a 4h bar boundary" in str(err)


def test_timeframe_given_or_inferred() -> None:
    rows = [f"{T0 + i * 4 * H},1,2,0.5,1.5,10" for i in range(5)]
    assert read_candles_csv(plain(rows)).timeframe == "4h"
    assert read_candles_csv(plain(rows), timeframe="1h").timeframe == "1h"
    with pytest.raises(DataError, match="unknown timeframe"):
        read_candles_csv(plain(rows), timeframe="4H")
    rows = [f"{T0 + i * 90_000},1,2,0.5,1.5,10" for i in range(5)]
    assert "90 s, is not a Binance timeframe" in str(error(plain(rows)))
    assert "fewer than two distinct" in str(error(plain(rows[:1])))
    assert read_candles_csv(plain(rows[:1]), timeframe="1m").ts.tolist() == [T0]


def test_empty_inputs() -> None:
    assert "the file is empty" in str(error(""))
    assert "the file is empty" in str(error("\n \n"))
    assert "no data rows after the header" in str(error("timestamp,open,high,low,close,volume\n"))


def test_bytes_bom_crlf_quotes_and_line_iterables() -> None:
    rows = [f'"{T0 + i * H}","1","2","0.5","1.5","10"' for i in range(3)]
    text = "\ufeff" + "\r\n".join(['"timestamp","open","high","low","close","volume"', *rows])
    expected = [T0, T0 + H, T0 + 2 * H]
    assert read_candles_csv(text.encode("utf-8")).ts.tolist() == expected
    assert read_candles_csv(text).ts.tolist() == expected
    assert read_candles_csv(line + "\n" for line in text.split("\r\n")).ts.tolist() == expected
    assert "not UTF-8" in str(error(b"\xff\xfe\x00"))


def test_write_then_read_round_trips_exactly() -> None:
    c = demo_candles(500, "15m", seed=3)
    text = write_candles_csv(c)
    assert text.startswith("timestamp,open,high,low,close,volume\n")
    back = read_candles_csv(text, symbol=c.symbol)
    for k in ("ts", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(back, k), getattr(c, k)), k
    assert back.timeframe == "15m" and back.symbol == c.symbol
    ugly = Candles.from_arrays([T0, T0 + H], [0.1 + 0.2, 1e-9], [1 / 3, 1e-9], [0.1, 1e-9],
                               [0.2, 1e-9], [1e20, 0], timeframe="1h")
    again = read_candles_csv(write_candles_csv(ugly))
    assert again.open.tolist() == ugly.open.tolist() and again.volume.tolist() == [1e20, 0]


def test_parsing_is_fast() -> None:
    n = 100_000
    c = demo_candles(n, "1m", seed=5)
    text = write_candles_csv(c)
    t = time.perf_counter()
    back = read_candles_csv(text)
    took = time.perf_counter() - t
    assert len(back) == n
    assert took < 3.0  # ~0.3 s on a quiet machine; 1M rows take a few seconds
    cols = zip(c.ts.tolist(), c.open.tolist(), c.high.tolist(), c.low.tolist(),
               c.close.tolist(), c.volume.tolist(), strict=True)
    dump = "\n".join(f"{t * 1000},{o},{h},{lo},{cl},{v},{t + 59_999},1,1,1,1,0"
                     for t, o, h, lo, cl, v in cols)
    t = time.perf_counter()
    assert read_candles_csv(dump).ts.tolist() == c.ts.tolist()
    assert time.perf_counter() - t < 3.0


def test_unsorted_rows_do_not_confuse_timeframe_inference() -> None:
    rows = [f"{T0 + H},1,1,1,1,1", f"{T0},1,1,1,1,1", f"{T0 + 2 * H},1,1,1,1,1"]
    err = error(plain(rows))
    assert err.row == 3 and "not sorted" in str(err)
    rows = [f"{T0},1,1,1,1,1", f"{T0},1,1,1,1,1"]  # no step to infer from: the duplicate is told
    err = error(plain(rows))
    assert err.row == 3 and "duplicate timestamp" in str(err)


def test_error_rows_are_plain_ints() -> None:
    for text in ("a,b\n1,2\n", f"{T0},1,2\n", plain([f"{T0},1,2,0.5,x,10"])):
        assert type(error(text).row) is int
