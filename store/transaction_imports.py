"""Storing an import of transactions: one named batch, all rows or none, nothing twice.

:func:`save_import` writes the batch row and its new transactions in ONE transaction
(``store.rawsql``: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite); a failure anywhere
stores nothing. What is already stored (by an earlier import of the same owner, under ANY
exchange label and in any format) is skipped, never stored twice:

* a transaction with the exchange's trade id matches a stored one with the same symbol and
  trade id (trade ids are unique per symbol on Binance, not across symbols), whatever exchange
  label either import was given; the table's unique key (owner, exchange, symbol,
  external_id) backs this up within one label;
* otherwise it matches on its fingerprint (``domain.transactions.model.fill_fingerprint``: the
  time in whole seconds, symbol, side, price, quantity, fee and fee asset; no exchange, no trade
  id), so a Binance export (times in seconds, no trade ids) and a ``myTrades`` dump or an
  epoch-ms CSV of the same fills (times in milliseconds) are one set of fills. A fill with a
  trade id that is not stored matches a stored fill *without* a trade id of the same
  fingerprint (never one with another trade id: two partial fills in one second are two
  fills). Identical rows in one file are legitimate (partial fills of one order), so
  occurrences are counted: a file holding a fingerprint ``k`` times when ``s`` are stored adds
  ``max(0, k - s)`` of them. Re-importing a file is then a no-op, and a longer export
  overlapping an earlier one adds only the new fills.

Fingerprints of stored rows are computed from their stored fields (not read from the
``fingerprint`` column, which rows stored before this rule hold in an older form), over the
seconds the new file spans, and only where they can match (a file whose fills all have trade
ids needs those of the stored fills without one). New rows store the fingerprint when it was
computed (always for a fill without a trade id).

The batch is recorded even when nothing in it is new (``n_stored`` 0, ``n_duplicates`` all),
so the user sees that the file was imported before. On PostgreSQL concurrent imports of one
owner are serialised by an advisory lock (SQLite has one writer anyway).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from domain.transactions.model import Transaction, fill_fingerprint
from store.rawsql import Raw, raw_transaction
from store.transactions import ImportRecord, get_import

_COLUMNS = ("owner_id", "batch_id", "exchange", "symbol", "kind", "side", "ts", "price",
            "quantity", "fee", "fee_asset", "external_id", "fingerprint", "file_row",
            "imported_at")
_EXISTING = ("SELECT symbol, external_id, ts, side, price, quantity, fee, fee_asset "
             "FROM transaction_histories WHERE owner_id = ? AND ts >= ? AND ts < ? "
             "AND kind = 'trade'")
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
    """The transactions not ``stored`` yet, and the fingerprint of each (None for one with a
    trade id when no stored fill lacks one: it was not needed); ``stored`` holds
    ``(symbol, external_id, fingerprint)`` rows, ``fingerprint`` of
    ``domain.transactions.model.fill_fingerprint`` (it may be None for a row with a trade id
    when ``transactions`` all have one). See the module docstring."""
    ids = {(symbol, ext) for symbol, ext, _ in stored if ext is not None}
    every = Counter(fp for _, _, fp in stored if fp is not None)
    without_id = Counter(fp for _, ext, fp in stored if ext is None and fp is not None)
    seen: Counter[str] = Counter()
    taken: Counter[str] = Counter()
    out: list[Transaction] = []
    fingerprints: list[str | None] = []
    for tx in transactions:
        if tx.trade_id is not None:
            if (tx.symbol, tx.trade_id) in ids:
                continue
            fp = tx.fingerprint() if without_id else None  # hashing 100,000 rows takes 0.4 s
            if fp is not None and taken[fp] < without_id[fp]:  # imported before without its id
                taken[fp] += 1
                continue
        else:
            fp = tx.fingerprint()
            seen[fp] += 1
            if seen[fp] <= every[fp]:
                continue
        out.append(tx)
        fingerprints.append(fp)
    return out, fingerprints


def stored_keys(rows: Sequence[Sequence[Any]], *, with_ids: bool = True
                ) -> list[tuple[str | None, str | None, str | None]]:
    """``(symbol, external_id, fingerprint)`` of stored rows read by ``_EXISTING``; with
    ``with_ids`` False, rows with a trade id get no fingerprint (a file whose fills all have
    trade ids matches those by id)."""
    return [(r[0], r[1], fill_fingerprint(int(r[2]), r[0] or "", r[3] or "",
                                          float("nan") if r[4] is None else float(r[4]),
                                          float(r[5]), float(r[6]), r[7] or "")
             if with_ids or r[1] is None else None)
            for r in rows]


async def _lock(raw: Raw, owner_id: int) -> None:
    if raw.postgres:
        await raw.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                               f"transaction_histories|{owner_id}")


def _span(txs: Sequence[Transaction]) -> tuple[int | None, int | None, list[str], bool]:
    """The first and last times, the symbols, and whether some fill lacks a trade id."""
    return (min((tx.time_ms for tx in txs), default=None),
            max((tx.time_ms for tx in txs), default=None), sorted({tx.symbol for tx in txs}),
            any(tx.trade_id is None for tx in txs))


def _fresh(txs: Sequence[Transaction], stored: Sequence[Sequence[Any]],
           with_ids: bool) -> tuple[list[Transaction], list[str | None]]:
    return new_transactions(txs, stored_keys(stored, with_ids=with_ids))


def _rows(new: NewImport, batch_id: int, now: Any, fresh: Sequence[Transaction],
          fingerprints: Sequence[str | None]) -> list[tuple[Any, ...]]:
    return [(new.owner_id, batch_id, new.exchange, tx.symbol, "trade", tx.side, tx.time_ms,
             tx.price, tx.quantity, tx.fee, tx.fee_asset, tx.trade_id, fp, tx.row, now)
            for tx, fp in zip(fresh, fingerprints, strict=True)]


async def save_import(new: NewImport) -> ImportRecord:
    """Store the batch and its new transactions in one transaction; the batch's record.

    The work over every fill (the span, what is new, the rows) runs in a thread, so the event
    loop keeps serving other requests (``/healthz``...) during an import of a million rows."""
    txs = new.transactions
    first, last, symbols, with_ids = await asyncio.to_thread(_span, txs)
    async with raw_transaction() as raw:
        await _lock(raw, new.owner_id)
        stored = [] if first is None or last is None else await raw.fetch(
            _EXISTING, new.owner_id, first // 1000 * 1000, (last // 1000 + 1) * 1000)
        fresh, fingerprints = await asyncio.to_thread(_fresh, txs, stored, with_ids)
        now = raw.now()
        batch_id = await raw.insert_id(
            _BATCH.format(json=raw.json()), new.owner_id, new.name, new.format, new.exchange,
            new.filename, len(txs), len(fresh), len(txs) - len(fresh), first, last,
            orjson.dumps(symbols).decode(), now)
        rows = await asyncio.to_thread(_rows, new, batch_id, now, fresh, fingerprints)
        await raw.insert_rows("transaction_histories", _COLUMNS, rows)
    found = await get_import(batch_id, owner=new.owner_id)
    assert found is not None
    return found
