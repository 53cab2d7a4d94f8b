"""A file of 100,000 rows with bad rows in the middle: refused, each bad row named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.transactions.importers import parse_transactions
from domain.transactions.model import ImportProblems

N = 100_000
START = 1704067200000  # 2024-01-01


def plain_rows() -> list[str]:
    return ["timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id"] + [
        f"{START + i * 1000},BTC/USDT,{'buy' if i % 2 else 'sell'},{42000 + i % 500}.5,"
        f"0.{i % 97 + 1:04d},0.0{i % 7},USDT,{i}" for i in range(N)]


def export_rows() -> list[str]:
    rows = ['"Date(UTC)","Pair","Side","Price","Executed","Amount","Fee"']
    for i in range(N - 1, -1, -1):  # newest first
        date = datetime.fromtimestamp(START / 1000 + i, UTC).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(f'"{date}","BTCUSDT","{"BUY" if i % 2 else "SELL"}","42,{i % 1000:03d}.5",'
                    f'"0.{i % 97 + 1:04d}BTC","1,234.5USDT","0.0002{i % 7}BNB"')
    return rows


def test_plain_100k_rows_parse() -> None:
    txs = parse_transactions("\n".join(plain_rows()).encode(), "plain_csv")
    assert len(txs) == N and txs[-1].row == N + 1 and txs[-1].trade_id == str(N - 1)


def test_export_100k_rows_parse_oldest_first() -> None:
    txs = parse_transactions("\n".join(export_rows()).encode(), "binance_export")
    assert len(txs) == N
    assert txs[0].time_ms == START and txs[0].row == N + 1 and txs[0].price == 42000.5
    assert txs[-1].row == 2


def test_plain_one_bad_row_in_the_middle() -> None:
    rows = plain_rows()
    rows[50_000] = rows[50_000].replace("BTC/USDT,buy,", "BTC/USDT,buy,-")  # row 50,001
    with pytest.raises(ImportProblems) as info:
        parse_transactions("\n".join(rows).encode(), "plain_csv")
    assert len(info.value.problems) == 1
    assert "row 50001, column price: must be a finite number > 0, got '-42" in str(info.value)


def test_export_several_bad_rows_all_listed() -> None:
    rows = export_rows()
    rows[10] = rows[10].replace('"BTCUSDT"', '"BTCUSDC"')
    rows[50_000] = rows[50_000].replace('"SELL"', '"BYU"').replace('"BUY"', '"BYU"')
    rows[50_001] = rows[50_001].replace('"1,234.5USDT"', '"12,34.5USDT"')
    rows[99_999] = rows[99_999].replace("BNB", "")
    rows[N] = rows[N].replace('"2024-', '"2025-')  # the last row: newer than the one above
    with pytest.raises(ImportProblems) as info:
        parse_transactions("\n".join(rows).encode(), "binance_export")
    got = [(p.row, p.column) for p in info.value.problems]
    assert got == [(11, "Pair"), (50001, "Side"), (50002, "Amount"), (100000, "Fee"),
                   (100001, "Date(UTC)")]
    text = str(info.value)
    assert "row 50001, column Side: must be buy or sell, got 'BYU'" in text
    assert "row 50002, column Amount: not an amount: '12,34.5USDT'" in text
    assert "row 100001, column Date(UTC): dates out of order: 2025-01-01T00:00:00Z is after" in text
