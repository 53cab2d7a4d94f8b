"""Hostile files are import problems, never crashes: JSON nested 100,000 levels, values nested
just below json's own limit, NUL characters and lone surrogates in what would be stored, a
quoted field over csv's limit, a 5,000-digit time; and messages quote huge values briefly."""

from __future__ import annotations

import json

import pytest

from domain.transactions.importers import parse_transactions
from domain.transactions.model import ImportProblems

TRADE = {"symbol": "BTCUSDT", "id": 1, "price": "1", "qty": "1", "commission": "0",
         "commissionAsset": "USDT", "time": 1_704_470_400_000, "isBuyer": True}
HEADER = b"timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id\n"


def problems(data: bytes, fmt: str) -> list[str]:
    with pytest.raises(ImportProblems) as err:
        parse_transactions(data, fmt)
    return [str(p) for p in err.value.problems]


def test_json_nested_100000_levels_is_a_problem_of_the_file() -> None:
    [only] = problems(b"[" * 100_000 + b"]" * 100_000, "binance_my_trades")
    assert only.startswith("the file: JSON nested too deeply")


def test_deep_values_inside_an_item_are_named_briefly() -> None:
    deep = json.loads("[" * 900 + "]" * 900)
    found = problems(json.dumps([{**TRADE, "price": deep, "commissionAsset": deep}]).encode(),
                     "binance_my_trades")
    assert sorted(found) == ["item 1, key commissionAsset: not an asset: a JSON array",
                             "item 1, key price: expected a string or a number, got a JSON array"]


@pytest.mark.parametrize(("key", "value", "where"), [
    ("id", "\ud800", "item 1, key id"),
    ("commissionAsset", "US\x00DT", "item 1, key commissionAsset"),
    ("symbol", "BTC\x00/USDT", "item 1, key symbol"),
])
def test_unstorable_characters_in_json_are_problems(key: str, value: str, where: str) -> None:
    [only] = problems(json.dumps([{**TRADE, key: value}]).encode(), "binance_my_trades")
    assert only.startswith(where) and "control character" in only


@pytest.mark.parametrize(("row", "where"), [
    (b"1704470400000,BTC/USDT\x00,buy,1,1,0,USDT,\n", "row 2, column symbol"),
    (b"1704470400000,BTC/USDT,buy,1,1,0,US\x01DT,\n", "row 2, column fee_asset"),
    (b"1704470400000,BTC/USDT,buy,1,1,0,USDT,a\x00b\n", "row 2, column trade_id"),
])
def test_control_characters_in_csv_are_problems(row: bytes, where: str) -> None:
    [only] = problems(HEADER + row, "plain_csv")
    assert only.startswith(where) and "control character" in only


def test_a_quoted_field_over_the_csv_limit_is_a_problem_of_the_file() -> None:
    [only] = problems(HEADER + b'1704470400000,"' + b"B" * 200_000 + b'",buy,1,1,0,USDT,\n',
                      "plain_csv")
    assert only.startswith("the file: not readable as CSV at line 2")


def test_huge_values_are_quoted_briefly() -> None:
    [time_problem] = problems(HEADER + b"9" * 5_000 + b",BTC/USDT,buy,1,1,0,USDT,\n",
                              "plain_csv")
    assert "too large" in time_problem and len(time_problem) < 200
    [symbol_problem] = problems(json.dumps([{**TRADE, "symbol": "A" * 1_000_000}]).encode(),
                                "binance_my_trades")
    assert len(symbol_problem) < 200
    [deep_msg] = problems(json.dumps({"msg": json.loads("[" * 900 + "]" * 900)}).encode(),
                          "binance_my_trades")
    assert "a JSON array" in deep_msg and len(deep_msg) < 200
