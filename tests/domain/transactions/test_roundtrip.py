"""Property: transactions written out in a format parse back to the same transactions."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from domain.transactions.importers import parse_transactions
from domain.transactions.model import Transaction
from tests.domain.transactions.helpers import export_csv, plain_csv, unrowed

SYMBOLS = ("BTC/USDT", "ETH/BTC", "BNB/BTC", "1INCH/USDT", "SOL/FDUSD", "DOGE/TRY", "PEPE/USDC")
T0, T1 = 1_500_000_000_000, 1_900_000_000_000
amounts = st.floats(min_value=1e-8, max_value=1e7, allow_nan=False, allow_infinity=False)
fees = st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def transaction(draw: st.DrawFn, whole_seconds: bool = False) -> Transaction:
    symbol = draw(st.sampled_from(SYMBOLS))
    base, quote = symbol.split("/")
    t = draw(st.integers(T0 // 1000, T1 // 1000)) * 1000 if whole_seconds else draw(
        st.integers(T0, T1))
    return Transaction(t, symbol, draw(st.sampled_from(("buy", "sell"))), draw(amounts),
                       draw(amounts), draw(fees), draw(st.sampled_from((quote, base, "BNB"))))


def history(whole_seconds: bool = False) -> st.SearchStrategy[list[Transaction]]:
    """Oldest first (ties in any order), a few sharing a time like partial fills."""
    def sort(txs: list[Transaction], repeat: list[int]) -> list[Transaction]:
        for i, j in enumerate(repeat):  # copy some times onto other fills
            if txs:
                txs[i % len(txs)] = dataclasses.replace(txs[i % len(txs)],
                                                        time_ms=txs[j % len(txs)].time_ms)
        return sorted(txs, key=lambda t: t.time_ms)
    return st.builds(sort, st.lists(transaction(whole_seconds), min_size=1, max_size=30),
                     st.lists(st.integers(0, 29), max_size=5))


@given(history(), st.booleans(), st.booleans())
def test_plain_csv_round_trip(txs: list[Transaction], iso: bool, with_ids: bool) -> None:
    if with_ids:
        txs = [dataclasses.replace(t, trade_id=f"{i}") for i, t in enumerate(txs)]
    got = parse_transactions(plain_csv(txs, iso=iso), "plain_csv")
    assert unrowed(got) == txs
    assert [t.row for t in got] == list(range(2, len(txs) + 2))


@given(history(whole_seconds=True), st.booleans())
def test_binance_export_csv_round_trip(txs: list[Transaction], newest_first: bool) -> None:
    got = parse_transactions(export_csv(txs, newest_first=newest_first), "binance_export")
    if len({t.time_ms for t in txs}) == 1 and not newest_first:
        txs = txs[::-1]  # the dates do not tell the direction: a Binance export is newest first
    assert unrowed(got) == txs
