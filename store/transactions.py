"""A user's imported transactions and their import batches: list, page, delete, and read as
the replay's columns.

Every function takes ``owner`` (``store.scope``), keyword-only: the owner's id, or
``ALL_OWNERS`` in an explicit admin call; another owner's batch or transaction is reported
missing, as an unknown id is. Reading fills (:func:`read_fills`, :func:`transaction_span`)
takes one owner's id: a replay reads one account, never several mixed. Writing an import is
:mod:`store.transaction_imports`.

:func:`read_fills` reads a symbol's fills as ``domain.replay.Fills`` without an object per
row: on PostgreSQL through a binary ``COPY`` of numeric columns (the side and the fee asset
as numbers, ``store.pgcopy``), on SQLite as tuples into numpy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from tortoise.expressions import Q

from domain.replay import Fills
from store.db import connection, is_postgres
from store.keyset import id_desc, page_of
from store.models import TransactionImport, TransactionRecord
from store.pgcopy import query as copy_query
from store.rawsql import raw_transaction
from store.scope import OwnerScope, scoped


@dataclass(frozen=True)
class ImportRecord:
    """A batch: ``n_rows`` transactions in its file, ``n_stored`` of them new (the batch's
    transactions), ``n_duplicates`` skipped as stored already by an earlier import."""

    id: int
    owner_id: int
    name: str
    format: str
    exchange: str
    filename: str | None
    n_rows: int
    n_stored: int
    n_duplicates: int
    first_ts: int | None
    last_ts: int | None
    symbols: list[str]
    created_at: datetime


@dataclass(frozen=True)
class TransactionRow:
    id: int
    import_id: int | None
    exchange: str
    symbol: str
    side: str
    time_ms: int
    price: float
    quantity: float
    fee: float
    fee_asset: str
    trade_id: str | None
    file_row: int


@dataclass(frozen=True)
class TransactionFilter:
    """Conditions on listed transactions (``None``: any); times ``[start_ms, end_ms)``."""

    symbol: str | None = None
    import_id: int | None = None
    side: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None


_IMPORT_FIELDS = ("id", "owner_id", "name", "format", "exchange", "filename", "n_rows",
                  "n_stored", "n_duplicates", "first_ts", "last_ts", "symbols", "created_at")
_ROW_FIELDS = ("id", "batch_id", "exchange", "symbol", "side", "ts", "price", "quantity", "fee",
               "fee_asset", "external_id", "file_row")


def _import(r: dict[str, Any]) -> ImportRecord:
    return ImportRecord(**{**{k: r[k] for k in _IMPORT_FIELDS}, "symbols": list(r["symbols"] or [])})


async def get_import(import_id: int, *, owner: OwnerScope) -> ImportRecord | None:
    """The batch with that id if ``owner`` may see it."""
    rows = await scoped(TransactionImport.filter(id=import_id), owner).values(*_IMPORT_FIELDS)
    return _import(rows[0]) if rows else None


async def get_imports(ids: Sequence[int], *, owner: OwnerScope) -> list[ImportRecord]:
    """The batches with these ids that ``owner`` may see, in the order of ``ids``."""
    query = scoped(TransactionImport.filter(id__in=list(ids)), owner)
    found = {r["id"]: _import(r) for r in await query.values(*_IMPORT_FIELDS)}
    return [found[i] for i in ids if i in found]


async def list_imports(*, owner: OwnerScope, after_id: int | None = None,
                       limit: int = 20, before_id: int | None = None,
                       backward: bool = False) -> tuple[list[ImportRecord], bool]:
    """Newest first (by id): at most ``limit`` batches ``owner`` may see with
    ``id < after_id``, and whether more follow (``backward``: those nearest above
    ``before_id``, ``store.keyset``)."""
    query = id_desc(scoped(TransactionImport.all(), owner), after_id=after_id,
                    before_id=before_id, backward=backward)
    rows, more = page_of(await query.limit(limit + 1).values(*_IMPORT_FIELDS), limit, backward)
    return [_import(r) for r in rows], more


async def delete_import(import_id: int, *, owner: OwnerScope) -> ImportRecord | None:
    """Delete a batch and its transactions (one transaction); the batch as it was, or None
    when it does not exist or ``owner`` may not see it."""
    found = await get_import(import_id, owner=owner)
    if found is None:
        return None
    async with raw_transaction() as raw:
        await raw.execute("DELETE FROM transaction_histories WHERE owner_id = ? AND batch_id = ?",
                          found.owner_id, import_id)
        await raw.execute("DELETE FROM transaction_imports WHERE id = ?", import_id)
    return found


def _filtered(where: TransactionFilter, owner: OwnerScope) -> Any:
    query = scoped(TransactionRecord.all(), owner)
    if where.symbol is not None:
        query = query.filter(symbol=where.symbol.strip().upper())
    if where.import_id is not None:
        query = query.filter(batch_id=where.import_id)
    if where.side is not None:
        query = query.filter(side=where.side)
    if where.start_ms is not None:
        query = query.filter(ts__gte=where.start_ms)
    if where.end_ms is not None:
        query = query.filter(ts__lt=where.end_ms)
    return query


async def count_transactions(where: TransactionFilter, *, owner: OwnerScope) -> int:
    """How many rows ``owner`` may see match ``where``."""
    return int(await _filtered(where, owner).count())


async def list_transactions(where: TransactionFilter, *, owner: OwnerScope,
                            after: tuple[int, int] | None = None, limit: int = 20,
                            before: tuple[int, int] | None = None, backward: bool = False
                            ) -> tuple[list[TransactionRow], bool]:
    """Oldest first by (time, id): at most ``limit`` rows ``owner`` may see after the key
    ``after``, and whether more follow. ``backward``: the ``limit`` rows nearest before the key
    ``before`` (comparison and order reversed, the page put back in order), and whether more
    precede them."""
    query = _filtered(where, owner)
    if after is not None:
        ts, last_id = after
        query = query.filter(Q(ts__gt=ts) | Q(ts=ts, id__gt=last_id))
    if before is not None:
        ts, first_id = before
        query = query.filter(Q(ts__lt=ts) | Q(ts=ts, id__lt=first_id))
    order = ("-ts", "-id") if backward else ("ts", "id")
    rows = await query.order_by(*order).limit(limit + 1).values_list(*_ROW_FIELDS)
    page = [_row(r) for r in rows[:limit]]
    if backward:
        page.reverse()
    return page, len(rows) > limit


def _row(r: Any) -> TransactionRow:
    return TransactionRow(int(r[0]), r[1], r[2], r[3] or "", r[4] or "", int(r[5]),
                          float(r[6] or 0.0), float(r[7]), float(r[8]), r[9] or "", r[10],
                          int(r[11]))


async def get_transactions(ids: Sequence[int], *, owner: OwnerScope) -> list[TransactionRow]:
    """The rows with these ids that ``owner`` may see (any order)."""
    query = scoped(TransactionRecord.filter(id__in=list(ids)), owner)
    return [_row(r) for r in await query.values_list(*_ROW_FIELDS)]


@dataclass(frozen=True)
class Span:
    """What a replay of stored transactions would read: how many, their first and last time."""

    count: int
    first_ts: int | None
    last_ts: int | None


def _fills_where(postgres: bool, owner: int, symbol: str, import_ids: Sequence[int],
                 start_ms: int | None, end_ms: int | None, first: int = 1
                 ) -> tuple[str, list[Any]]:
    if not isinstance(owner, int) or isinstance(owner, bool):
        raise TypeError(f"owner must be one user id, not {owner!r}")
    args: list[Any] = [owner, symbol]
    conditions = ["owner_id = ?", "symbol = ?"]
    if import_ids:
        conditions.append(f"batch_id IN ({', '.join('?' * len(import_ids))})")
        args.extend(import_ids)
    for cond, value in (("ts >= ?", start_ms), ("ts < ?", end_ms)):
        if value is not None:
            conditions.append(cond)
            args.append(value)
    sql = " AND ".join(conditions)
    if postgres:
        parts = sql.split("?")
        sql = "".join(p + (f"${first + i}" if i < len(parts) - 1 else "")
                      for i, p in enumerate(parts))
    return sql, args


async def transaction_span(symbol: str, import_ids: Sequence[int] = (),
                           start_ms: int | None = None, end_ms: int | None = None, *,
                           owner: int) -> Span:
    """What :func:`read_fills` with the same arguments would read."""
    client = connection()
    where, args = _fills_where(is_postgres(client), owner, symbol, import_ids, start_ms, end_ms)
    rows = await client.execute_query_dict(
        f"SELECT count(*) AS n, min(ts) AS first, max(ts) AS last FROM transaction_histories "
        f"WHERE {where}", args)
    r = rows[0]
    return Span(int(r["n"]), None if r["first"] is None else int(r["first"]),
                None if r["last"] is None else int(r["last"]))


async def read_fills(symbol: str, import_ids: Sequence[int] = (),
                     start_ms: int | None = None, end_ms: int | None = None, *,
                     owner: int) -> Fills:
    """``owner``'s stored fills of ``symbol`` (of the given batches: all when empty) with
    ``start_ms <= time < end_ms``, in time order, as replay columns (``row``: each one's row
    in its file)."""
    client = connection()
    postgres = is_postgres(client)
    async with client.acquire_connection() as conn:
        if postgres:
            where, args = _fills_where(True, owner, symbol, import_ids, start_ms, end_ms)
            assets = [r[0] or "" for r in await conn.fetch(
                f"SELECT DISTINCT fee_asset FROM transaction_histories WHERE {where}", *args)]
            where, args = _fills_where(True, owner, symbol, import_ids, start_ms, end_ms, 2)
            sql = ("SELECT ts, (CASE WHEN side = 'buy' THEN 1 ELSE -1 END)::float8, "
                   "coalesce(price, 'NaN'::float8), quantity, fee, array_position($1::text[], coalesce(fee_asset, ''))::float8, "
                   f"file_row::float8 FROM transaction_histories WHERE {where} ORDER BY ts, id")
            ts, (side, price, qty, fee, code, row) = await copy_query(
                conn, sql, (assets, *args), n_floats=6)
            names = np.array(assets or [""], dtype=object)[(code.astype(np.int64) - 1)]
            return Fills.from_arrays(symbol, ts, side.astype(np.int8), price, qty, fee,
                                     names.astype(str), row.astype(np.int64))
        where, args = _fills_where(False, owner, symbol, import_ids, start_ms, end_ms)
        cursor = await conn.execute(
            "SELECT ts, side, price, quantity, fee, coalesce(fee_asset, ''), file_row "
            f"FROM transaction_histories WHERE {where} ORDER BY ts, id", args)
        cursor.row_factory = None
        try:
            rows = await cursor.fetchall()
        finally:
            await cursor.close()
    if not rows:
        return Fills.from_arrays(symbol, [], [], [], [], [], "", [])
    cols = list(zip(*rows, strict=True))
    return Fills.from_arrays(symbol, cols[0], np.array(cols[1], dtype=str), cols[2], cols[3],
                             cols[4], np.array(cols[5], dtype=str), cols[6])


async def count_imports(*, owner: OwnerScope) -> int:
    """How many batches ``owner`` may see."""
    return await scoped(TransactionImport.all(), owner).count()
