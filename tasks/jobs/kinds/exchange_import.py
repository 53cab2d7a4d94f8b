"""The exchange import job: a user's fills fetched from the exchange's API with their stored
key into a transaction import, for chosen symbols over ``[start, end)``.

Its row is ``store.models.ExchangeImport`` (created by ``graph.exchange_keys``). The key is
decrypted here, in the process that calls the exchange, and nowhere else. Binance's
``GET /api/v3/myTrades`` (ccxt ``fetch_my_trades``, signed) answers at most
:data:`PAGE` fills over at most 24 hours, so each symbol is read window by window
(:data:`WINDOW_MS`); a full page continues from the last trade id (``fromId``) until the
window is exhausted. Each page is stored with the job's cursor in one transaction
(``store.exchange_imports.save_page``), so a retried job (a transient error on a Celery worker,
a worker that died) continues where it stopped and stores nothing twice. Events carry
``n_fetched`` (fills received) and ``symbol``; ``done`` adds ``transaction_import_id``.

A wrong or revoked key fails the job with a message saying so, and records a failed
``key.use`` in the audit log; a successful import records ``key.use`` ok. A failed or cancelled
import removes its partial batch (``ExchangeImport.clear_results``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from domain.errors import Cancelled, DataError, DomainError
from domain.jobs import Stage
from domain.transactions.model import Side, Transaction
from store import audit, exchange_keys
from store import exchange_imports as store
from store.db import active_settings
from store.exchange_imports import ExchangeImportRecord
from store.key_vault import vault_for
from store.scope import ALL_OWNERS
from tasks.jobs.lifecycle import JobRun
from tasks.jobs.registry import JobKind, register
from tasks.market.account import signed, signed_client
from tasks.request_ids import current_request_id

WINDOW_MS = 24 * 3600 * 1000  # Binance: endTime - startTime at most 24 hours
PAGE = 1000  # Binance: limit at most 1000
KEY_GONE = ("the exchange key of this import was deleted: add the key again and start a new "
            "import")
CANCELLED_ERROR = "cancelled before it finished: nothing was imported; start it again"


def to_transaction(trade: dict[str, Any], row: int) -> Transaction:
    """A ccxt unified trade as a fill (the fields a ``myTrades`` file import keeps)."""
    fee = trade.get("fee") or {}
    side: Side = "buy" if trade["side"] == "buy" else "sell"
    return Transaction(int(trade["timestamp"]), str(trade["symbol"]), side,
                       float(trade["price"]), float(trade["amount"]),
                       float(fee.get("cost") or 0.0), str(fee.get("currency") or "").upper(),
                       str(trade["id"]), row)


def windows_of(rec: ExchangeImportRecord) -> int:
    return max(1, -(-(rec.end_ms - rec.start_ms) // WINDOW_MS))


async def _audit(rec: ExchangeImportRecord, outcome: audit.Outcome, error: str | None) -> None:
    details: dict[str, Any] = {"purpose": "import", "job_id": rec.id, "exchange": rec.exchange}
    if error:
        details["error"] = error[:300]
    await audit.record("key.use", user_id=rec.owner_id, target_type="ExchangeKey",
                       target_id=rec.credential_id, outcome=outcome,
                       request_id=current_request_id(), details=details)


async def _fetch(job: JobRun, rec: ExchangeImportRecord, client: Any) -> tuple[int, int]:
    """Fetch every window of every symbol from the stored cursor on; ``(batch id, fills
    received)``."""
    cursor = dict(rec.cursor)
    n_fetched = rec.n_fetched
    per_symbol = windows_of(rec)
    i = int(cursor.get("symbol", 0))
    since = int(cursor.get("since", rec.start_ms))
    from_id = cursor.get("from_id")
    markets = await signed(rec.exchange, client.load_markets)
    unknown = [s for s in rec.symbols if s not in markets]
    if unknown:
        raise DataError(f"{rec.exchange} has no market {', '.join(unknown)}: check the symbols "
                        "(BASE/QUOTE, e.g. BTC/USDT) and start the import again")
    while True:
        while i < len(rec.symbols) and since < rec.end_ms:
            symbol = rec.symbols[i]
            until = min(since + WINDOW_MS, rec.end_ms)
            if from_id is None:  # the window from its start
                args: tuple[Any, ...] = (symbol, since, PAGE, {"until": until - 1})
            else:  # the rest of a window whose first page was full
                args = (symbol, None, PAGE, {"fromId": from_id})
            trades = await signed(rec.exchange, partial(client.fetch_my_trades, *args))
            inside = [t for t in trades if since <= int(t["timestamp"]) < until]
            if len(trades) >= PAGE and len(inside) == len(trades):
                from_id = str(int(trades[-1]["id"]) + 1)  # more in this window
            else:
                since, from_id = until, None
            txs = [to_transaction(t, n_fetched + n) for n, t in enumerate(inside, 1)]
            n_fetched += len(inside)
            job.check()
            cursor = await store.save_page(rec, job.lease, txs, {
                **cursor, "symbol": i, "since": since, "from_id": from_id}, n_fetched)
            done = i * per_symbol + (since - rec.start_ms) / WINDOW_MS
            job.sticky["n_fetched"] = job.columns["n_fetched"] = n_fetched
            job.report(min(1.0, done / (per_symbol * len(rec.symbols))), symbol=symbol)
        if i + 1 >= len(rec.symbols):
            break
        i, since, from_id = i + 1, rec.start_ms, None
    if "batch_id" not in cursor:  # nothing to fetch at all: still one (empty) batch
        cursor = await store.save_page(rec, job.lease, [], {**cursor, "symbol": i,
                                                            "since": since}, n_fetched)
    return int(cursor["batch_id"]), n_fetched


async def run(job: JobRun) -> dict[str, Any] | None:
    rec = await store.get_import(job.job_id, owner=ALL_OWNERS)
    if rec is None:
        return None
    job.sticky.update(job_id=job.job_id, n_fetched=rec.n_fetched)
    settings = job.settings or active_settings()
    if rec.credential_id is None:
        raise DataError(KEY_GONE)
    opened = await exchange_keys.open_key(rec.credential_id, rec.owner_id, vault_for(settings))
    if opened is None:
        raise DataError(KEY_GONE)
    client = signed_client(rec.exchange, opened[0], opened[1], settings)
    del opened
    try:
        job.stage(Stage.COMPUTING)
        batch, n_fetched = await job.interruptible(_fetch(job, rec, client))
    except store.LeaseLost:  # cancelled, or taken over, as the page was stored
        raise Cancelled() from None
    except DomainError as err:
        await _audit(rec, "failed", str(err))
        raise
    finally:
        await client.close()
    await _audit(rec, "ok", None)
    await exchange_keys.touch(rec.credential_id)
    job.stage(Stage.SAVING)
    if not await store.mark_succeeded(job.job_id, batch, n_fetched, lease=job.lease):
        return None
    return {"transaction_import_id": batch}


async def state_fields(job_id: int) -> dict[str, Any]:
    rec = await store.get_import(job_id, owner=ALL_OWNERS)
    if rec is None:
        return {}
    return {"job_id": job_id, "n_fetched": rec.n_fetched,
            "transaction_import_id": rec.transaction_import_id}


KIND = register(JobKind(
    name="exchange_import", queue="sync", body=run, state_fields=state_fields,
    stages={Stage.COMPUTING: 0.98, Stage.SAVING: 0.02}, uses_slot=False,
    cancelled_error=CANCELLED_ERROR,
    description="A user's fills fetched from an exchange with their key into a transaction "
                "import."))
