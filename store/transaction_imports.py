"""Storing an import of transactions: one named batch, all rows or none, nothing twice.

:func:`save_import` writes the batch row and its new transactions in ONE transaction
(``store.rawsql``: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite); a failure anywhere
stores nothing. What is already stored (by an earlier import of the same owner and exchange)
is skipped, never stored twice:

* a transaction with the exchange's trade id matches a stored one with the same symbol and
  trade id (trade ids are unique per symbol on Binance, not across symbols); the table's
  unique key (owner, exchange, symbol, external_id) backs this up;
* one without a trade id matches on its fingerprint (a hash of time, symbol, side, price,
  quantity and fee: ``Transaction.fingerprint``). Identical rows in one file are legitimate
  (partial fills of one order), so occurrences are counted: a file holding a fingerprint
  ``k`` times when ``s`` are stored adds ``max(0, k - s)`` of them. Re-importing a file is
  then a no-op, and a longer export overlapping an earlier one adds only the new fills.

The batch is recorded even when nothing in it is new (``n_stored`` 0, ``n_duplicates`` all),
so the user sees that the file was imported before. On PostgreSQL concurrent imports of one
owner and exchange are serialised by an advisory lock (SQLite has one writer anyway).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from domain.transactions.model import Transaction
from store.rawsql import Raw, raw_transaction
from store.transactions import ImportRecord, get_import

_COLUMNS = ("owner_id", "batch_id", "exchange", "symbol", "kind", "side", "ts", "price",
            "quantity", "fee", "fee_asset", "external_id", "fingerprint", "file_row",
            "imported_at")
_EXISTING = ("SELECT symbol, external_id, fingerprint FROM transaction_histories "
             "WHERE owner_id = ? AND exchange = ? AND ts >= ? AND ts <= ?")
_BATCH = ("INSERT INTO transaction_imports (owner_id, name, format, exchange, filename, n_rows, "
          "n_stored, n_duplicates, first_ts, last_ts, symbols, created_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {json}, ?)")


@dataclass(frozen=True)
class NewImport:
    """What to store: ``transactions`` parsed from the file ``filename`` of format ``format``
    (``domain.transactions.importers.FORMATS``) for ``owner_id``, under the batch ``name``."""

    owner_id: int
    name: str
    format: str
    exchange: str
    filename: str | None
    transactions: Sequence[Transaction]


def new_transactions(transactions: Sequence[Transaction],
                     stored: Sequence[tuple[str | None, str | None, str | None]]
                     ) -> tuple[list[Transaction], list[str | None]]:
    """The transactions not ``stored`` yet, and the fingerprint of each (None for those with a
    trade id); ``stored`` holds ``(symbol, external_id, fingerprint)`` rows (see the module
    docstring)."""
    ids = {(symbol, ext) for symbol, ext, _ in stored if ext is not None}
    prints = Counter(fp for _, ext, fp in stored if ext is None and fp is not None)
    seen: Counter[str] = Counter()
    out: list[Transaction] = []
    fingerprints: list[str | None] = []
    for tx in transactions:
        if tx.trade_id is not None:
            if (tx.symbol, tx.trade_id) not in ids:
                out.append(tx)
                fingerprints.append(None)
            continue
        fp = tx.fingerprint()
        seen[fp] += 1
        if seen[fp] > prints[fp]:
            out.append(tx)
            fingerprints.append(fp)
    return out, fingerprints


async def _lock(raw: Raw, owner_id: int, exchange: str) -> None:
    if raw.postgres:
        await raw.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                               f"transaction_histories|{owner_id}|{exchange}")


async def save_import(new: NewImport) -> ImportRecord:
    """Store the batch and its new transactions in one transaction; the batch's record."""
    txs = new.transactions
    first = min((tx.time_ms for tx in txs), default=None)
    last = max((tx.time_ms for tx in txs), default=None)
    symbols = sorted({tx.symbol for tx in txs})
    async with raw_transaction() as raw:
        await _lock(raw, new.owner_id, new.exchange)
        stored = [] if first is None else await raw.fetch(
            _EXISTING, new.owner_id, new.exchange, first, last)
        fresh, fingerprints = new_transactions(txs, stored)
        now = raw.now()
        batch_id = await raw.insert_id(
            _BATCH.format(json=raw.json()), new.owner_id, new.name, new.format, new.exchange,
            new.filename, len(txs), len(fresh), len(txs) - len(fresh), first, last,
            orjson.dumps(symbols).decode(), now)
        rows = [(new.owner_id, batch_id, new.exchange, tx.symbol, "trade", tx.side, tx.time_ms,
                 tx.price, tx.quantity, tx.fee, tx.fee_asset, tx.trade_id, fp, tx.row, now)
                for tx, fp in zip(fresh, fingerprints, strict=True)]
        await raw.insert_rows("transaction_histories", _COLUMNS, rows)
    found = await get_import(batch_id, owner=new.owner_id)
    assert found is not None
    return found
