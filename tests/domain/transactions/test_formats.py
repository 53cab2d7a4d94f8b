"""Each format's hand-written fixture parses to the transactions it describes."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from domain.errors import DomainError
from domain.transactions.importers import FORMATS, parse_transactions
from domain.transactions.model import Transaction
from tests.domain.transactions.helpers import fixture, ms, unrowed, xlsx

EXPORT_EXPECTED = [
    # the file lists the newest first: it comes back reversed, oldest first
    Transaction(ms("2024-01-03 21:10:45"), "1INCH/USDT", "buy", 0.39, 1000.0, 1.0, "1INCH",
                None, 7),
    Transaction(ms("2024-01-04 08:30:00"), "ETH/USDT", "buy", 2250.5, 1.0, 0.001, "ETH", None, 6),
    # two partial fills of one order in the same second: in the order they happened
    Transaction(ms("2024-01-05 13:45:12"), "BTC/USDT", "buy", 42000.0, 0.004, 0.00007, "BNB",
                None, 5),
    Transaction(ms("2024-01-05 13:45:12"), "BTC/USDT", "buy", 42000.0, 0.006, 0.000105, "BNB",
                None, 4),
    Transaction(ms("2024-01-05 14:02:10"), "BTC/USDT", "sell", 43100.0, 0.005, 0.2155, "USDT",
                None, 3),
    Transaction(ms("2024-01-06 09:00:03"), "ETH/BTC", "sell", 0.054, 0.5, 0.000027, "BTC", None, 2),
]


def test_binance_export_csv() -> None:
    assert parse_transactions(fixture("binance_export.csv"), "binance_export") == EXPORT_EXPECTED


def test_binance_export_oldest_first_is_read_too() -> None:
    header, *rows = fixture("binance_export.csv").decode().splitlines()
    data = "\n".join([header, *reversed(rows)]).encode()
    got = parse_transactions(data, "binance_export")
    # a newest-first file is reversed whole: the same list, ties included
    assert unrowed(got) == unrowed(EXPORT_EXPECTED)
    assert [t.row for t in got] == [2, 3, 4, 5, 6, 7]


def test_binance_export_xlsx_cells_of_every_kind() -> None:
    rows: list[list[object]] = [
        ["Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee", "Total"],
        [datetime(2024, 1, 6, 9, 0, 3), "ETHBTC", "SELL", 0.054, "0.5000ETH", "0.02700000BTC",
         "0.00002700BTC", "ignored"],
        [],  # a blank row is skipped, and still counted
        ["2024-01-05 14:02:10", "BTCUSDT", "SELL", "43,100.00", "0.00500000BTC",
         "215.50000000USDT", "0.21550000USDT", None],
        ["2024-01-05 13:45:12", "BTCUSDT", "buy", 42000, "0.00600000BTC", "252USDT",
         "0.000105BNB"],
    ]
    got = parse_transactions(xlsx(rows), "binance_export", filename="trades.xlsx")
    assert got == [
        Transaction(ms("2024-01-05 13:45:12"), "BTC/USDT", "buy", 42000.0, 0.006, 0.000105,
                    "BNB", None, 5),
        Transaction(ms("2024-01-05 14:02:10"), "BTC/USDT", "sell", 43100.0, 0.005, 0.2155,
                    "USDT", None, 4),
        Transaction(ms("2024-01-06 09:00:03"), "ETH/BTC", "sell", 0.054, 0.5, 0.000027, "BTC",
                    None, 2),
    ]


def test_binance_export_xlsx_told_by_its_bytes_without_a_name() -> None:
    rows = [["Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee"],
            ["2024-01-05 13:45:12", "BTCUSDT", "BUY", "42,000.00", "0.006BTC", "252USDT",
             "0USDT"]]
    (got,) = parse_transactions(xlsx(rows), "binance_export")
    assert (got.symbol, got.fee, got.fee_asset, got.row) == ("BTC/USDT", 0.0, "USDT", 2)


MY_TRADES_EXPECTED = [
    Transaction(1499865549590, "BNB/BTC", "buy", 4.000001, 12.0, 10.1, "BNB", "28457", 1),
    Transaction(1704357000000, "ETH/USDT", "buy", 2250.5, 0.4, 0.0004, "ETH", "901", 4),
    Transaction(1704357000125, "ETH/USDT", "buy", 2250.6, 0.6, 0.00045, "BNB", "902", 5),
    Transaction(1704444312000, "BNB/BTC", "sell", 0.0015, 3.0, 0.0000045, "BTC", "28458", 2),
    Transaction(1704444312000, "BNB/BTC", "sell", 0.0015, 2.0, 0.000003, "BTC", "28459", 3),
]


def test_binance_my_trades_split_by_quote_assets() -> None:
    # two symbols' answers concatenated: each sorted, the whole not; the result is by time
    got = parse_transactions(fixture("binance_my_trades.json"), "binance_my_trades")
    assert got == MY_TRADES_EXPECTED


def test_binance_my_trades_with_a_symbols_mapping_and_numbers() -> None:
    items = json.loads(fixture("binance_my_trades.json"))[:1]
    items[0].update(symbol="XYZABC", price=4.5, qty=2, commission=0)
    got = parse_transactions(json.dumps(items).encode(), "binance_my_trades",
                             symbols={"XYZABC": "XYZ/ABC"})
    assert got == [Transaction(1499865549590, "XYZ/ABC", "buy", 4.5, 2.0, 0.0, "BNB", "28457", 1)]


def test_binance_my_trades_split_with_the_known_symbols() -> None:
    items = json.loads(fixture("binance_my_trades.json"))[:1]
    items[0]["symbol"] = "XYZABC"
    got = parse_transactions(json.dumps(items).encode(), "binance_my_trades",
                             known_symbols={"XYZ/ABC", "BTC/USDT"})
    assert got[0].symbol == "XYZ/ABC"


PLAIN_EXPECTED = [
    Transaction(ms("2024-01-05T13:45:12Z"), "BTC/USDT", "buy", 42000.0, 0.006, 0.000105, "BNB",
                "t-1", 2),
    Transaction(ms("2024-01-05T13:45:12Z"), "BTC/USDT", "buy", 42000.0, 0.004, 0.00007, "BNB",
                "t-2", 3),
    Transaction(ms("2024-01-05T14:00:00.250Z"), "ETH/USDT", "sell", 2300.5, 0.5, 1.15025, "USDT",
                None, 4),
    Transaction(1704470400000, "BTC/USDT", "sell", 43100.0, 0.01, 0.431, "USDT", "t-3", 5),
    Transaction(ms("2024-01-06T09:00:03Z"), "ETH/BTC", "buy", 0.054, 0.5, 0.0005, "ETH", "t-4", 6),
]


def test_plain_csv_any_column_order_times_and_symbol_forms() -> None:
    assert parse_transactions(fixture("plain.csv"), "plain_csv") == PLAIN_EXPECTED


def test_plain_csv_without_trade_ids_crlf_and_a_bom() -> None:
    data = ("\ufefftimestamp,symbol,side,price,quantity,fee,fee_asset\r\n"
            "1704470400000,BTC/USDT,buy,1,2,0,\r\n\r\n"
            "1704470400000,BTC/USDT,sell,1.5,2,0.01,usdt\r\n").encode()
    got = parse_transactions(data, "plain_csv")
    # a zero fee may omit its asset (the quote); the blank line still counts as row 3
    assert got == [Transaction(1704470400000, "BTC/USDT", "buy", 1.0, 2.0, 0.0, "USDT", None, 2),
                   Transaction(1704470400000, "BTC/USDT", "sell", 1.5, 2.0, 0.01, "USDT", None,
                               4)]


def test_plain_csv_quoted_fields() -> None:
    data = (b'timestamp,symbol,side,price,quantity,fee,fee_asset\n'
            b'"2024-01-05T13:45:12Z","BTC/USDT","buy","42000","0.5","0","USDT"\n')
    (got,) = parse_transactions(data, "plain_csv")
    assert (got.price, got.quantity) == (42000.0, 0.5)


def test_unknown_format_names_the_formats() -> None:
    with pytest.raises(DomainError, match="binance_export, binance_my_trades, plain_csv"):
        parse_transactions(b"", "kraken")
    assert FORMATS == ("binance_export", "binance_my_trades", "plain_csv")
