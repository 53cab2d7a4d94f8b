"""Importing a trade history file: check the request, parse every row, store it as one batch.

:func:`import_transactions` is what the API's ``importTransactions`` and ``backtest replay
import`` call. The file is parsed in a thread (``domain.transactions.parse_transactions``:
every bad row is collected, with its row number, column and reason, and
``domain.transactions.model.ImportProblems`` raised listing them all); symbols are resolved
and checked against the exchange's markets (``tasks.market.catalog``); then
``store.transaction_imports.save_import`` stores the batch and its new transactions in one
transaction. A file with any problem stores nothing.

Request problems (an unknown format, a name too long, an exchange without markets) come back
as :class:`InvalidImport`, each located by the API input field's name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import ccxt

from domain.errors import DomainError
from domain.transactions.importers import FORMATS, parse_transactions
from domain.transactions.model import ImportProblems, RowProblem, Transaction
from store.candles import KEY_MAX_LEN
from store.settings import Settings
from store.transaction_imports import NewImport, save_import
from store.transactions import ImportRecord
from tasks.market.catalog import MarketCatalog, market_catalog

MAX_FILE_BYTES = 64 * 1024 * 1024
NAME_MAX_LEN = 200
FILENAME_MAX_LEN = 255
_LIMITS = (("symbol", "symbol", KEY_MAX_LEN), ("fee_asset", "fee asset", 16),
           ("trade_id", "trade id", 64))


class InvalidImport(DomainError):
    """The request has problems: ``problems`` lists ``(field, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))


@dataclass(frozen=True)
class ImportRequest:
    """A file of ``format`` (``domain.transactions.importers.FORMATS``) to import for
    ``owner_id`` as a batch called ``name`` (default: the file name)."""

    owner_id: int
    data: bytes
    format: str
    name: str | None = None
    filename: str | None = None
    exchange: str = "binance"


def _request_problems(req: ImportRequest) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if req.format not in FORMATS:
        problems.append(("format", f"unknown format {req.format!r}: use one of "
                                   f"{', '.join(FORMATS)}"))
    if req.name is not None and not 0 < len(req.name.strip()) <= NAME_MAX_LEN:
        problems.append(("name", f"give 1 to {NAME_MAX_LEN} characters"))
    if not 0 < len(req.exchange.strip()) <= KEY_MAX_LEN:
        problems.append(("exchange", f"give 1 to {KEY_MAX_LEN} characters"))
    if not req.data:
        problems.append(("file", "the file is empty"))
    elif len(req.data) > MAX_FILE_BYTES:
        problems.append(("file", f"the file has {len(req.data):,} bytes, more than the "
                                 f"{MAX_FILE_BYTES:,} allowed: split it into several imports"))
    return problems


def _too_long(txs: list[Transaction], unit: str) -> list[RowProblem]:
    """Values longer than their columns hold (a problem per row and field)."""
    out: list[RowProblem] = []
    for field, what, most in _LIMITS:
        for tx in txs:
            value = getattr(tx, field)
            if value is not None and len(value) > most:
                out.append(RowProblem(tx.row, field, f"the {what} {value[:40]!r} is longer "
                                      f"than {most} characters", unit=unit))
    return out


def parse_file(req: ImportRequest, catalog: MarketCatalog | None) -> list[Transaction]:
    """The file's transactions, oldest first, or ``ImportProblems`` listing every bad row."""
    txs = parse_transactions(req.data, req.format, filename=req.filename,
                             symbols=None if catalog is None else catalog.ids,
                             known_symbols=None if catalog is None else catalog.symbols)
    problems = _too_long(txs, "item" if req.format == "binance_my_trades" else "row")
    if problems:
        raise ImportProblems(sorted(problems, key=lambda p: p.row))
    return txs


async def import_transactions(req: ImportRequest, settings: Settings) -> ImportRecord:
    """Check, parse and store ``req`` (see the module docstring); the batch's record.

    Raises :class:`InvalidImport` for a bad request and ``ImportProblems`` for a bad file;
    either way nothing is stored.
    """
    problems = _request_problems(req)
    exchange = req.exchange.strip().lower()
    catalog = None
    if not problems:
        catalog = await market_catalog(exchange, settings)
        if catalog is not None and not catalog.symbols and exchange not in ccxt.exchanges:
            problems.append(("exchange", f"unknown exchange {exchange!r}: use an exchange id "
                                         "ccxt knows (e.g. binance), or one whose candles are "
                                         "stored (`backtest data list`)"))
    if problems:
        raise InvalidImport(problems)
    txs = await asyncio.to_thread(parse_file, req, catalog)
    filename = (req.filename or "").strip()[-FILENAME_MAX_LEN:] or None
    name = (req.name or "").strip() or filename or f"{req.format} import"
    return await save_import(NewImport(req.owner_id, name[:NAME_MAX_LEN], req.format, exchange,
                                       filename, txs))
