"""Bad files are refused whole, with every problem named by row (or item) and column."""

from __future__ import annotations

import json

import pytest

from domain.transactions.importers import parse_transactions
from domain.transactions.model import ImportProblems, RowProblem
from tests.domain.transactions.helpers import fixture, xlsx

PLAIN_HEADER = b"timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id\n"
EXPORT_HEADER = b'"Date(UTC)","Pair","Side","Price","Executed","Amount","Fee"\n'


def problems(data: bytes, fmt: str, **kw: object) -> list[RowProblem]:
    with pytest.raises(ImportProblems) as info:
        parse_transactions(data, fmt, **kw)  # type: ignore[arg-type]
    return info.value.problems


def where(ps: list[RowProblem]) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in ps]


# -- wrong columns -----------------------------------------------------------------------------

def test_export_missing_columns_are_named_on_row_1() -> None:
    data = b'"Date(UTC)","Side","Price","Executed","Amount"\n"2024-01-05 13:45:12","BUY"\n'
    ps = problems(data, "binance_export")
    assert where(ps) == [(1, "Pair"), (1, "Fee")]
    assert "missing column" in ps[0].message and "Date(UTC),Side,Price" in ps[0].message


def test_plain_missing_and_doubled_columns() -> None:
    ps = problems(b"timestamp,symbol,side,price,qty,Price\n1,2,3,4,5,6\n", "plain_csv")
    assert where(ps) == [(1, "price"), (1, "quantity"), (1, "fee"), (1, "fee_asset")]
    assert "appears 2 times" in ps[0].message


def test_a_trade_history_given_as_the_wrong_format() -> None:
    ps = problems(fixture("binance_export.csv"), "plain_csv")
    # Side, Price and Fee are found (names match case-insensitively); the others are not
    assert where(ps) == [(1, "timestamp"), (1, "symbol"), (1, "quantity"), (1, "fee_asset")]


def test_unquoted_thousands_separators_shift_the_columns() -> None:
    data = EXPORT_HEADER + b"2024-01-05 13:45:12,BTCUSDT,BUY,42,000.00,0.01BTC,420USDT,0BNB\n"
    ps = problems(data, "binance_export")
    assert where(ps) == [(2, "")]
    assert "8 fields where the header has 7" in ps[0].message


# -- bad values --------------------------------------------------------------------------------

def test_every_bad_field_of_every_row_is_listed() -> None:
    data = PLAIN_HEADER + (
        b"2024-01-05T13:45:12Z,BTC/USDT,buy,abc,-1,nan,USDT,\n"
        b"2024-13-05,BTC,hold,inf,0,-0.5,USDT,\n"
        b"1704470400,BTC/USDT,buy,1,1,0,USDT,\n"
        b"1704470400000,BTC/USDT,buy,1,1,1,,\n"
        b"1704470400000,BTC/USDT,buy,1\n"
        b'1704470400000,BTC/USDT,buy,"1,5",1,0,USDT,\n'
        b"1704470400000,BTC/USDT,buy,1,1,1e400,USDT,\n")
    ps = problems(data, "plain_csv")
    assert where(ps) == [(2, "price"), (2, "quantity"), (2, "fee"),
                         (3, "timestamp"), (3, "symbol"), (3, "side"), (3, "price"),
                         (3, "quantity"), (3, "fee"),
                         (4, "timestamp"), (5, "fee_asset"), (6, ""), (7, "price"), (8, "fee")]
    text = str(ImportProblems(ps))
    assert "14 problem(s)" in text
    assert "row 2, column price: not a number: 'abc'" in text
    assert "row 3, column side: must be buy or sell, got 'hold'" in text
    assert "row 4, column timestamp: epoch time '1704470400' is too small" in text
    assert "seconds, multiply by 1000" in text
    assert "row 6: 4 fields where the header has 8" in text


def test_export_bad_values() -> None:
    data = EXPORT_HEADER + (
        b'"2024-01-05 13:45:12","ETHUSDT","BUY","1","0.1BTC","1USDT","0BNB"\n'
        b'"2024-01-05 13:45:12","BTCUSDT","BUY","1,5","0.1","1USDT","1"\n'
        b'"yesterday","BTCUSDT","LONG","0","-0.1BTC","0USDT","-1BNB"\n'
        b'"2024-01-05 13:45:12","BTCUSDT","BUY","12,34.5","0.1BTC","1.2.3USDT","xBNB"\n')
    ps = problems(data, "binance_export")
    assert where(ps) == [(2, "Pair"), (3, "Price"), (3, "Executed"), (3, "Fee"),
                         (4, "Date(UTC)"), (4, "Side"), (4, "Price"), (4, "Executed"),
                         (4, "Amount"), (4, "Fee"), (5, "Price"), (5, "Amount"), (5, "Fee")]
    assert "the pair 'ETHUSDT' does not match Executed in BTC and Amount in USDT" in ps[0].message
    assert "not an amount: '1.2.3USDT'" in ps[-2].message


def test_unknown_symbols_when_the_markets_are_known() -> None:
    known = {"BTC/USDT", "ETH/BTC"}
    ps = problems(fixture("binance_export.csv"), "binance_export", known_symbols=known)
    assert where(ps) == [(6, "Pair"), (7, "Pair")]
    assert ps[0].message == "unknown symbol ETH/USDT: not a market of the exchange"
    ps = problems(fixture("plain.csv"), "plain_csv", known_symbols=known)
    assert where(ps) == [(4, "symbol")]
    ps = problems(fixture("binance_my_trades.json"), "binance_my_trades", known_symbols=known)
    assert [(p.row, p.column, p.unit) for p in ps] == [
        (r, "symbol", "item") for r in (1, 2, 3, 4, 5)]
    assert str(ps[0]) == "item 1, key symbol: unknown symbol BNB/BTC: not a market of the exchange"


# -- order and duplicates ----------------------------------------------------------------------

def test_a_row_out_of_order_is_named_in_either_direction() -> None:
    rows = [f"{1704470400000 + i * 1000},BTC/USDT,buy,1,1,0,USDT,{i}".encode() for i in range(8)]
    rows[4], rows[5] = rows[5], rows[4]  # file row 6 goes back in time
    ps = problems(PLAIN_HEADER + b"\n".join(rows), "plain_csv")
    assert where(ps) == [(7, "timestamp")]
    assert ps[0].message.startswith("dates out of order: 2024-01-05T16:00:04Z is before "
                                     "2024-01-05T16:00:05Z on row 6, but the file is sorted "
                                     "oldest first")
    ps = problems(PLAIN_HEADER + b"\n".join(reversed(rows)), "plain_csv")
    assert where(ps) == [(5, "timestamp")]
    assert "is after" in ps[0].message and "sorted newest first" in ps[0].message


def test_export_out_of_order() -> None:
    header, *rows = fixture("binance_export.csv").splitlines()
    rows[0], rows[1] = rows[1], rows[0]
    ps = problems(b"\n".join([header, *rows]), "binance_export")
    # newest first but for one step up: the row after it is named
    assert [str(p) for p in ps] == [
        "row 3, column Date(UTC): dates out of order: 2024-01-06T09:00:03Z is after "
        "2024-01-05T14:02:10Z on row 2, but the file is sorted newest first (sort the whole "
        "file by date)"]


def test_my_trades_order_is_checked_per_symbol() -> None:
    items = json.loads(fixture("binance_my_trades.json"))
    items[3]["time"], items[4]["time"] = items[4]["time"], items[3]["time"]
    items.append(dict(items[3], id=903, time=items[3]["time"] + 10))
    ps = problems(json.dumps(items).encode(), "binance_my_trades")
    assert [str(p)[:30] for p in ps] == ["item 5, key time: dates out of"]


def test_duplicate_trade_ids_within_a_symbol() -> None:
    data = PLAIN_HEADER + (b"1704470400000,BTC/USDT,buy,1,1,0,USDT,7\n"
                           b"1704470500000,ETH/USDT,buy,1,1,0,USDT,7\n"
                           b"1704470600000,BTC/USDT,buy,1,1,0,USDT,7\n")
    ps = problems(data, "plain_csv")
    assert [str(p) for p in ps] == [
        "row 4, column trade_id: duplicate trade id 7 of BTC/USDT (also row 2)"]
    items = json.loads(fixture("binance_my_trades.json"))
    items[2]["id"] = items[1]["id"]
    ps = problems(json.dumps(items).encode(), "binance_my_trades")
    assert [str(p) for p in ps] == [
        "item 3, key id: duplicate trade id 28458 of BNB/BTC (also item 2)"]


# -- whole files -------------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "data"), [
    ("binance_export", b""), ("binance_export", b"\r\n\n"), ("plain_csv", b""),
    ("plain_csv", b"\n \n"), ("binance_my_trades", b"[]"), ("binance_my_trades", b" [ ] ")])
def test_no_transactions(fmt: str, data: bytes) -> None:
    (p,) = problems(data, fmt)
    assert str(p) == "the file: no transactions: the file has no rows of fills"


@pytest.mark.parametrize("data", [PLAIN_HEADER, EXPORT_HEADER])
def test_a_header_and_nothing_else(data: bytes) -> None:
    fmt = "plain_csv" if data is PLAIN_HEADER else "binance_export"
    assert str(problems(data, fmt)[0]) == "the file: no transactions: the file has no rows of fills"


def test_unreadable_files() -> None:
    (p,) = problems(b"\xff\xfe", "plain_csv")
    assert (p.row, str(p)) == (0, "the file: not UTF-8 text (invalid start byte at byte 0): "
                                  "save the file as UTF-8 CSV")
    (p,) = problems(b"PK\x03\x04garbage", "binance_export")
    assert "not a readable XLSX workbook" in p.message
    (p,) = problems(b"Date,Pair", "binance_export", filename="x.XLSX")
    assert "not a readable XLSX workbook" in p.message
    (p,) = problems(b'{"code": -1121, "msg": "Invalid symbol."}', "binance_my_trades")
    assert p.message == "a Binance error response, not trades: 'Invalid symbol.' (code -1121)"
    (p,) = problems(b'{"symbol": "BTCUSDT"}', "binance_my_trades")
    assert "a JSON dict, not an array" in p.message
    (p,) = problems(b"[1", "binance_my_trades")
    assert p.message.startswith("not JSON")


def test_my_trades_bad_items() -> None:
    good = json.loads(fixture("binance_my_trades.json"))[0]
    bad = dict(good, symbol="XYZQQQ", id=True, price="x", qty="0", commission="-1",
               commissionAsset="", time=1.5, isBuyer="yes")
    ps = problems(json.dumps([1, bad, {}, dict(good, time=1499865549)]).encode(),
                  "binance_my_trades")
    assert [(p.row, p.column) for p in ps] == [
        (1, ""), (2, "symbol"), (2, "id"), (2, "price"), (2, "qty"), (2, "commission"),
        (2, "commissionAsset"), (2, "time"), (2, "isBuyer"),
        *[(3, k) for k in ("symbol", "id", "price", "qty", "commission", "commissionAsset",
                           "time", "isBuyer")],
        (4, "time")]
    assert str(ps[0]) == "item 1: a JSON int, not a trade object"
    assert str(ps[9]) == "item 3, key symbol: missing"
    assert "cannot tell the base from the quote in 'XYZQQQ'" in ps[1].message


def test_xlsx_problems_name_the_sheet_rows() -> None:
    rows: list[list[object]] = [
        [], ["Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee"],
        ["2024-01-05 13:45:12", "BTCUSDT", "BUY", -1, "0.1BTC", "1USDT", "0BNB"],
        ["2024-01-05 13:45:13", "BTCUSDT", "BUY", 1, "0.1BTC", "1USDT"],
    ]
    ps = problems(xlsx(rows), "binance_export")
    assert [str(p) for p in ps] == [
        "row 3, column Price: must be a finite number > 0, got '-1'",
        "row 4, column Fee: not an amount: '' (expected a number followed by its asset, like "
        "0.0100BTC)"]


def test_the_message_lists_the_first_twenty_and_counts_the_rest() -> None:
    rows = [f"{1704470400000 + i},BTC/USDT,buy,x,1,0,USDT,".encode() for i in range(25)]
    with pytest.raises(ImportProblems) as info:
        parse_transactions(PLAIN_HEADER + b"\n".join(rows), "plain_csv")
    assert len(info.value.problems) == 25
    assert "25 problem(s)" in str(info.value) and "... and 5 more" in str(info.value)
