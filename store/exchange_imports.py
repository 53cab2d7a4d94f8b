"""Imports of a user's fills from an exchange's API: the job rows and the pages they store.

A job goes ``queued -> running -> succeeded | failed | cancelled`` like every job
(``store.jobs``); ``tasks.jobs.kinds.exchange_import`` runs it. Its fills go to one
transaction import (``transaction_imports``, format ``binance_my_trades``: the same records a
file import of ``myTrades`` makes), created with the first page. :func:`save_page` stores a
page of fills and the job's new cursor in ONE transaction, fenced by the job's lease: a retried
job continues from the cursor and stores nothing twice (the rules of
``store.transaction_imports`` also skip fills stored by any earlier import). Reads take
``owner`` (``store.scope``): another owner's job is reported missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from domain.jobs import TERMINAL, RunStatus, Stage
from domain.transactions.model import Transaction
from store import jobs as store_jobs
from store.keyset import id_desc, page_of
from store.models import ExchangeImport
from store.rawsql import Raw, raw_transaction
from store.scope import OwnerScope, scoped

# the same rules as a file import (store.transaction_imports): its SQL is reused as it is
from store.transaction_imports import (
    _COLUMNS,
    _EXISTING,
    _lock,
    new_transactions,
    stored_keys,
)

FORMAT = "binance_my_trades"


class LeaseLost(Exception):
    """The job is no longer running under this lease (cancelled, or taken over): the page was
    not stored."""


@dataclass(frozen=True)
class ExchangeImportRecord:
    id: int
    owner_id: int
    credential_id: int | None
    exchange: str
    symbols: list[str]
    start_ms: int
    end_ms: int
    name: str
    n_fetched: int
    cursor: dict[str, Any]
    transaction_import_id: int | None
    status: RunStatus
    progress: float
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    stage: Stage

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


def _record(row: ExchangeImport) -> ExchangeImportRecord:
    status = RunStatus(row.status)
    return ExchangeImportRecord(
        row.id, row.owner_id, row.credential_id, row.exchange, list(row.symbols),
        int(row.start_ms), int(row.end_ms), row.name, int(row.n_fetched), dict(row.cursor or {}),
        row.transaction_import_id, status, float(row.progress), row.error, row.created_at,
        row.started_at, row.finished_at, stage=store_jobs.stage_of(status, row.stage))


async def create_import(owner_id: int, credential_id: int, exchange: str, symbols: list[str],
                        start_ms: int, end_ms: int, name: str) -> ExchangeImportRecord:
    """A new queued job (inputs checked by the caller)."""
    row = await ExchangeImport.create(owner_id=owner_id, credential_id=credential_id,
                                      exchange=exchange, symbols=symbols, start_ms=start_ms,
                                      end_ms=end_ms, name=name)
    return _record(row)


async def get_import(job_id: int, *, owner: OwnerScope) -> ExchangeImportRecord | None:
    row = await scoped(ExchangeImport.filter(id=job_id), owner).first()
    return None if row is None else _record(row)


async def get_imports(ids: Sequence[int], *, owner: OwnerScope) -> list[ExchangeImportRecord]:
    """The jobs with these ids that ``owner`` may see, in the order of ``ids``."""
    rows = await scoped(ExchangeImport.filter(id__in=list(ids)), owner)
    found = {r.id: _record(r) for r in rows}
    return [found[i] for i in ids if i in found]


async def list_imports(*, owner: OwnerScope, after_id: int | None = None, limit: int = 20,
                       before_id: int | None = None, backward: bool = False
                       ) -> tuple[list[ExchangeImportRecord], bool]:
    """Newest first (by id), keyset pages as ``store.keyset``."""
    query = id_desc(scoped(ExchangeImport.all(), owner), after_id=after_id,
                    before_id=before_id, backward=backward)
    rows, more = page_of(await query.limit(limit + 1), limit, backward)
    return [_record(r) for r in rows], more


_NEW_BATCH = ("INSERT INTO transaction_imports (owner_id, name, format, exchange, filename, "
              "n_rows, n_stored, n_duplicates, first_ts, last_ts, symbols, created_at) "
              "VALUES (?, ?, ?, ?, NULL, 0, 0, 0, NULL, NULL, {json}, ?)")
_BATCH_OF = ("SELECT n_rows, n_stored, n_duplicates, first_ts, last_ts, symbols "
             "FROM transaction_imports WHERE id = ? AND owner_id = ?")
_UPDATE_BATCH = ("UPDATE transaction_imports SET n_rows = ?, n_stored = ?, n_duplicates = ?, "
                 "first_ts = ?, last_ts = ?, symbols = {json} WHERE id = ?")
_FENCE = ("UPDATE exchange_imports SET cursor = {json}, n_fetched = ? "
          "WHERE id = ? AND status = 'running' AND lease = ?")


async def _batch(raw: Raw, job: ExchangeImportRecord, cursor: dict[str, Any]) -> int:
    batch = cursor.get("batch_id")
    if batch is not None:
        return int(batch)
    return await raw.insert_id(_NEW_BATCH.format(json=raw.json()), job.owner_id, job.name,
                               FORMAT, job.exchange, "[]", raw.now())


def _symbols(value: Any) -> list[str]:
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return list(value or [])


async def save_page(job: ExchangeImportRecord, lease: str, txs: Sequence[Transaction],
                    cursor: dict[str, Any], n_fetched: int) -> dict[str, Any]:
    """Store a page of fills in the job's batch (created with the first page), the batch's
    counts, and the job's ``cursor`` and ``n_fetched``, in one transaction; the cursor as
    stored (with ``batch_id``). ``LeaseLost`` (nothing stored) when the job is not running
    under ``lease`` any more."""
    async with raw_transaction() as raw:
        await _lock(raw, job.owner_id)
        batch = await _batch(raw, job, cursor)
        cursor = {**cursor, "batch_id": batch}
        fresh: list[Transaction] = []
        fingerprints: list[str | None] = []
        if txs:
            first = min(tx.time_ms for tx in txs)
            last = max(tx.time_ms for tx in txs)
            stored = await raw.fetch(_EXISTING, job.owner_id, first // 1000 * 1000,
                                     (last // 1000 + 1) * 1000)
            fresh, fingerprints = new_transactions(txs, stored_keys(stored, with_ids=False))
            now = raw.now()
            rows = [(job.owner_id, batch, job.exchange, tx.symbol, "trade", tx.side, tx.time_ms,
                     tx.price, tx.quantity, tx.fee, tx.fee_asset, tx.trade_id, fp, tx.row, now)
                    for tx, fp in zip(fresh, fingerprints, strict=True)]
            await raw.insert_rows("transaction_histories", _COLUMNS, rows)
            (n_rows, n_stored, n_dup, lo, hi, symbols), = await raw.fetch(_BATCH_OF, batch,
                                                                         job.owner_id)
            lo = first if lo is None else min(int(lo), first)
            hi = last if hi is None else max(int(hi), last)
            names = sorted(set(_symbols(symbols)) | {tx.symbol for tx in txs})
            await raw.execute(_UPDATE_BATCH.format(json=raw.json()), int(n_rows) + len(txs),
                              int(n_stored) + len(fresh), int(n_dup) + len(txs) - len(fresh),
                              lo, hi, orjson.dumps(names).decode(), batch)
        changed = await raw.execute(_FENCE.format(json=raw.json()),
                                    orjson.dumps(cursor).decode(), n_fetched, job.id, lease)
        if not changed:
            raise LeaseLost(job.id)
    return cursor


async def mark_succeeded(job_id: int, batch_id: int, n_fetched: int, *, lease: str) -> bool:
    """A running job -> ``succeeded`` with its batch; False when it was no longer running
    under ``lease``."""
    return await store_jobs.finish("exchange_import", job_id, RunStatus.SUCCEEDED, lease=lease,
                                   transaction_import_id=batch_id, n_fetched=n_fetched)
