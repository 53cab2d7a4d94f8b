"""Imported transactions in the store (SQLite and PostgreSQL): an import is one batch stored
all or nothing, re-imports store nothing twice, batches are listed and deleted, a bad file
(100,000 rows, one bad) stores nothing, and the replay reads the fills back as columns."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from domain.demo import demo_candles
from domain.transactions.importers import parse_transactions
from domain.transactions.model import ImportProblems, Transaction
from store import transactions as store
from store.candles import write_candles
from store.models import TransactionImport, TransactionRecord
from store.rawsql import Raw
from store.scope import ALL_OWNERS
from store.settings import Settings
from store.transaction_imports import NewImport, new_transactions, save_import
from store.transactions import TransactionFilter
from store.users import create_user
from tasks.imports.transactions import ImportRequest, InvalidImport, import_transactions
from tests.domain.transactions.helpers import fixture
from tests.domain.transactions.test_large import N, plain_rows

pytestmark = pytest.mark.asyncio
T0 = 1_704_067_200_000  # 2024-01-01


def tx(i: int, trade_id: str | None = None, symbol: str = "BTC/USDT", qty: float = 0.5,
       fee_asset: str = "USDT") -> Transaction:
    return Transaction(T0 + i * 60_000, symbol, "buy" if i % 2 == 0 else "sell",
                       42_000.0 + i, qty, 0.01, fee_asset, trade_id, i + 2)


def batch(owner: int, txs: list[Transaction], name: str = "b") -> NewImport:
    return NewImport(owner, name, "plain_csv", "binance", "f.csv", txs)


async def stored_count(owner: int | None = None) -> int:
    query = TransactionRecord.all()
    return await (query if owner is None else query.filter(owner_id=owner)).count()


async def test_import_is_a_batch_and_reimporting_stores_nothing_twice(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    txs = parse_transactions(fixture("binance_my_trades.json"), "binance_my_trades")
    first = await save_import(NewImport(user.id, "api dump", "binance_my_trades", "binance",
                                        "trades.json", txs))
    assert (first.n_rows, first.n_stored, first.n_duplicates) == (len(txs), len(txs), 0)
    assert first.first_ts == txs[0].time_ms and first.last_ts == txs[-1].time_ms
    assert first.symbols == sorted({t.symbol for t in txs})
    again = await save_import(NewImport(user.id, "again", "binance_my_trades", "binance",
                                        "trades.json", txs))
    assert (again.n_stored, again.n_duplicates) == (0, len(txs))
    assert await stored_count() == len(txs)
    rows, more = await store.list_transactions(TransactionFilter(), owner=user.id)
    assert not more and [r.trade_id for r in rows] == [t.trade_id for t in txs]
    assert {r.import_id for r in rows} == {first.id}
    assert [r.file_row for r in rows] == [t.row for t in txs]


async def test_trade_ids_are_unique_per_symbol_not_across_symbols(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    await save_import(batch(user.id, [tx(0, "7"), tx(1, "7", symbol="ETH/USDT")]))
    assert await stored_count() == 2
    again = await save_import(batch(user.id, [tx(0, "7"), tx(2, "7", symbol="ETH/BTC")]))
    assert (again.n_stored, again.n_duplicates) == (1, 1)


async def test_identical_fills_without_ids_are_counted_not_collapsed(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    twin = tx(0)
    first = await save_import(batch(user.id, [twin, dataclasses.replace(twin, row=3), tx(1)]))
    assert first.n_stored == 3  # two identical partial fills are both kept
    longer = [twin, dataclasses.replace(twin, row=3), dataclasses.replace(twin, row=4), tx(1),
              tx(2)]
    second = await save_import(batch(user.id, longer))
    assert (second.n_stored, second.n_duplicates) == (2, 3)  # a third twin and tx(2) are new
    assert await stored_count() == 5
    other = await create_user("b@x.io", None)  # another owner's identical file is its own
    assert (await save_import(batch(other.id, longer))).n_stored == 5


async def test_new_transactions_counts_occurrences() -> None:
    a, b = tx(0), tx(1, "x")
    fresh, prints = new_transactions([a, a, a, b], [("BTC/USDT", None, a.fingerprint()),
                                                    ("BTC/USDT", "x", None)])
    assert fresh == [a, a] and prints == [a.fingerprint()] * 2


async def test_batches_are_listed_and_deleted_with_their_transactions(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    other = await create_user("b@x.io", None)
    b1 = await save_import(batch(user.id, [tx(i, str(i)) for i in range(3)], "one"))
    b2 = await save_import(batch(user.id, [tx(i, str(i)) for i in range(3, 5)], "two"))
    mine = await save_import(batch(other.id, [tx(0, "0")], "theirs"))
    page, more = await store.list_imports(owner=user.id, limit=1)
    assert [b.name for b in page] == ["two"] and more
    page, more = await store.list_imports(owner=user.id, after_id=page[-1].id)
    assert [b.name for b in page] == ["one"] and not more
    assert len((await store.list_imports(owner=ALL_OWNERS))[0]) == 3  # an admin sees all
    assert await store.delete_import(b1.id, owner=other.id) is None  # not theirs
    assert await store.get_import(mine.id, owner=user.id) is None
    assert await store.get_imports([b1.id, mine.id, b2.id], owner=user.id) == [
        await store.get_import(b1.id, owner=user.id), await store.get_import(b2.id, owner=user.id)]
    deleted = await store.delete_import(b1.id, owner=user.id)
    assert deleted is not None and deleted.name == "one"
    assert await store.get_import(b1.id, owner=ALL_OWNERS) is None
    assert await stored_count(user.id) == 2
    rows, _ = await store.list_transactions(TransactionFilter(import_id=b2.id), owner=user.id)
    assert [r.trade_id for r in rows] == ["3", "4"]
    theirs, _ = await store.list_transactions(TransactionFilter(), owner=other.id)
    assert [r.trade_id for r in theirs] == ["0"]  # only their own
    rows, _ = await store.list_transactions(TransactionFilter(import_id=b2.id), owner=ALL_OWNERS)
    assert [r.trade_id for r in rows] == ["3", "4"]


async def test_transactions_page_by_time_and_filter(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    same_time = [tx(0, "a"), tx(0, "b"), tx(0, "c"), tx(1, "d", symbol="ETH/USDT"), tx(2, "e")]
    await save_import(batch(user.id, same_time))
    seen: list[str | None] = []
    after = None
    while True:
        rows, more = await store.list_transactions(TransactionFilter(symbol="btc/usdt"),
                                                   owner=user.id, after=after, limit=2)
        seen += [r.trade_id for r in rows]
        if not more:
            break
        after = (rows[-1].time_ms, rows[-1].id)
    assert seen == ["a", "b", "c", "e"]
    rows, _ = await store.list_transactions(TransactionFilter(
        side="sell", start_ms=T0 + 1, end_ms=T0 + 120_000), owner=user.id)
    assert [r.trade_id for r in rows] == ["d"]


async def test_an_import_failing_midway_stores_nothing(db: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    user = await create_user("a@x.io", None)

    async def broken(self: Raw, table: str, columns: Any, rows: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Raw, "insert_rows", broken)
    with pytest.raises(RuntimeError):
        await save_import(batch(user.id, [tx(i) for i in range(10)]))
    assert await TransactionImport.all().count() == 0
    assert await stored_count() == 0


async def test_a_big_file_with_one_bad_row_stores_nothing(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    await write_candles("demo", "BTC/USDT", "1m", dataclasses.replace(
        demo_candles(10, "1m"), symbol="BTC/USDT"))
    rows = plain_rows()
    rows[N // 2] = rows[N // 2].replace("BTC/USDT,buy,", "BTC/USDT,buy,-")  # row N/2 + 1
    data = "\n".join(rows).encode()
    with pytest.raises(ImportProblems) as info:
        await import_transactions(ImportRequest(user.id, data, "plain_csv", exchange="demo"),
                                  db)
    assert [(p.row, p.column) for p in info.value.problems] == [(N // 2 + 1, "price")]
    assert await TransactionImport.all().count() == 0 and await stored_count() == 0
    # the same file fixed imports whole, once
    fixed = "\n".join(plain_rows()).encode()
    record = await import_transactions(ImportRequest(user.id, fixed, "plain_csv",
                                                     filename="big.csv", exchange="demo"),
                                       db)
    assert (record.n_stored, record.name, record.exchange) == (N, "big.csv", "demo")
    assert await stored_count() == N


async def test_unknown_symbols_and_exchanges_are_refused(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    await write_candles("demo", "DEMO/USDT", "1h", demo_candles(10))
    data = fixture("plain.csv")  # BTC/USDT and ETH/USDT: not markets of "demo"
    with pytest.raises(ImportProblems) as info:
        await import_transactions(ImportRequest(user.id, data, "plain_csv", exchange="demo"), db)
    assert {p.column for p in info.value.problems} == {"symbol"}
    assert "unknown symbol BTC/USDT: not a market of the exchange" in str(info.value)
    with pytest.raises(InvalidImport) as bad:
        await import_transactions(ImportRequest(user.id, data, "csv", exchange="nowhere"), db)
    assert [p for p, _ in bad.value.problems] == ["format"]
    with pytest.raises(InvalidImport) as bad:
        await import_transactions(ImportRequest(user.id, data, "plain_csv", exchange="nowhere"),
                                  db)
    assert "unknown exchange 'nowhere'" in str(bad.value)
    assert await stored_count() == 0


async def test_fills_read_back_as_replay_columns(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    txs = [tx(0, "1"), tx(1, None, fee_asset="BNB"), tx(2, "2", fee_asset="BTC"),
           tx(3, "3", symbol="ETH/USDT"), tx(4, None, qty=1.25)]
    b1 = await save_import(batch(user.id, txs[:3]))
    await save_import(batch(user.id, txs[3:]))
    fills = await store.read_fills("BTC/USDT", owner=user.id)
    btc = [t for t in txs if t.symbol == "BTC/USDT"]
    assert fills.time_ms.tolist() == [t.time_ms for t in btc]
    assert fills.side.tolist() == [1 if t.side == "buy" else -1 for t in btc]
    assert fills.price.tolist() == [t.price for t in btc]
    assert fills.quantity.tolist() == [t.quantity for t in btc]
    assert fills.row.tolist() == [t.row for t in btc]
    assert [fills.asset_name(int(c)) for c in fills.fee_asset] == ["USDT", "BNB", "BTC", "USDT"]
    only = await store.read_fills("BTC/USDT", [b1.id], T0 + 60_000, T0 + 180_000, owner=user.id)
    assert only.time_ms.tolist() == [T0 + 60_000, T0 + 120_000]
    span = await store.transaction_span("BTC/USDT", owner=user.id)
    assert (span.count, span.first_ts, span.last_ts) == (4, T0, T0 + 240_000)
    assert len(await store.read_fills("SOL/USDT", owner=user.id)) == 0
    assert np.array_equal((await store.read_fills("ETH/USDT", owner=user.id)).price, [42_003.0])


def _fills_in_ms(symbol: str = "BTC/USDT") -> list[Transaction]:
    """Four fills with millisecond times and trade ids (as ``myTrades`` gives them), two of them
    identical partial fills of one order in the same second."""
    return [Transaction(T0 + 3_600_000 + 345, symbol, "buy", 42_000.0, 0.006, 0.000105, "BNB",
                        "101", 2),
            Transaction(T0 + 3_600_000 + 346, symbol, "buy", 42_000.0, 0.006, 0.000105, "BNB",
                        "102", 3),
            Transaction(T0 + 7_200_000 + 999, symbol, "sell", 43_100.0, 0.005, 0.2155, "USDT",
                        "103", 4),
            Transaction(T0 + 10_800_000 + 1, symbol, "sell", 43_000.0, 0.004, 0.172, "USDT",
                        "104", 5)]


async def test_the_same_fills_in_seconds_and_in_milliseconds_are_stored_once(
        db: Settings) -> None:
    from tests.domain.transactions.helpers import export_csv, plain_csv
    fills = _fills_in_ms()
    export = parse_transactions(export_csv(fills), "binance_export")  # seconds, no trade ids
    in_ms = parse_transactions(plain_csv(fills), "plain_csv")  # milliseconds, trade ids
    assert [t.time_ms for t in export] != [t.time_ms for t in in_ms]
    a = await create_user("a@x.io", None)
    first = await save_import(NewImport(a.id, "export", "binance_export", "binance", None,
                                        export))
    second = await save_import(NewImport(a.id, "dump", "plain_csv", "binance", None, in_ms))
    assert (first.n_stored, second.n_stored, second.n_duplicates) == (4, 0, 4)
    b = await create_user("b@x.io", None)  # the other way round
    first = await save_import(NewImport(b.id, "dump", "plain_csv", "binance", None, in_ms))
    second = await save_import(NewImport(b.id, "export", "binance_export", "binance", None,
                                         export))
    assert (first.n_stored, second.n_stored, second.n_duplicates) == (4, 0, 4)
    assert await stored_count(a.id) == await stored_count(b.id) == 4
    # a longer export overlapping the dump adds only the new fill
    later = Transaction(T0 + 14_400_000 + 500, "BTC/USDT", "buy", 42_500.0, 0.01, 0.425, "USDT")
    longer = parse_transactions(export_csv([*fills, later]), "binance_export")
    again = await save_import(NewImport(b.id, "longer", "binance_export", "binance", None,
                                        longer))
    assert (again.n_stored, again.n_duplicates) == (1, 4)


async def test_the_same_fills_under_two_exchange_labels_are_stored_once(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    fills = _fills_in_ms()
    no_ids = [dataclasses.replace(t, trade_id=None) for t in fills]
    for txs in (fills, no_ids):
        await TransactionRecord.all().delete()
        first = await save_import(NewImport(user.id, "one", "plain_csv", "binance", None, txs))
        other = await save_import(NewImport(user.id, "two", "plain_csv", "binance_us", None,
                                            txs))
        third = await save_import(NewImport(user.id, "three", "plain_csv", "demo", None, txs))
        assert (first.n_stored, other.n_stored, third.n_stored) == (4, 0, 0)
        assert (other.n_duplicates, third.n_duplicates) == (4, 4)
        assert await stored_count(user.id) == 4


async def test_a_replay_counts_a_fill_imported_twice_once(db: Settings) -> None:
    from domain.replay.run import replay_transactions
    from tests.domain.transactions.helpers import export_csv, plain_csv
    user = await create_user("a@x.io", None)
    fills = _fills_in_ms()
    for fmt, data, exchange in (("plain_csv", plain_csv(fills), "binance"),
                                ("binance_export", export_csv(fills), "binance"),
                                ("plain_csv", plain_csv(fills), "binance_us")):
        await save_import(NewImport(user.id, fmt, fmt, exchange, None,
                                    parse_transactions(data, fmt)))
    read = await store.read_fills("BTC/USDT", owner=user.id)
    assert len(read) == 4 and (await store.transaction_span("BTC/USDT", owner=user.id)).count == 4
    candles = demo_candles(12, "1h", start_ms=T0, symbol="BTC/USDT")
    candles = dataclasses.replace(candles, close=np.full(12, 42_000.0))
    replay = replay_transactions(read, candles, 10_000.0, conversions={
        "BNB": np.full(12, 300.0)})
    assert replay.position[-1] == pytest.approx(0.006 + 0.006 - 0.005 - 0.004)
    assert len(replay.fills) == 4
