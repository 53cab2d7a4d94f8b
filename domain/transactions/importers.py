"""Trade history files -> :class:`~domain.transactions.model.Transaction` lists.

Formats (the ``fmt`` argument of :func:`parse_transactions`):

``binance_export``
    Binance's spot trade history export, CSV or XLSX: see
    :mod:`domain.transactions.binance_export`.
``binance_my_trades``
    The JSON body of Binance's ``GET /api/v3/myTrades``: see
    :mod:`domain.transactions.binance_my_trades`.
``plain_csv``
    ``timestamp,symbol,side,price,quantity,fee,fee_asset[,trade_id]``: see
    :mod:`domain.transactions.plain_csv`.

Checks common to every format, after each row's own (numbers, dates, side, symbol):

* **order**: the dates must be sorted, oldest first or newest first (Binance exports list the
  newest first), the same way through the file; the direction is the one most consecutive rows
  follow (when they all have the same time: newest first for ``binance_export``, oldest first
  for the others), and each row that goes the other way is a problem ("dates out of order"). For
  ``binance_my_trades`` the order is checked per symbol (the endpoint answers one symbol at a
  time, and users concatenate the answers).
* **duplicate trade ids**: a (symbol, trade id) seen twice in one file (trade ids are unique
  per symbol on Binance, not across symbols). Fills without a trade id are never duplicates of
  each other: partial fills of one order may be identical.
* **no transactions**: an empty file, or a header and nothing else.

Every problem is collected, then :class:`~domain.transactions.model.ImportProblems` is raised
listing them all (sorted by row); nothing is returned in part.

The result is sorted by time, oldest first. Fills with equal times keep the file's order read
in the file's own direction: a newest-first file is reversed as a whole (so partial fills
listed newest first come out in the order they happened).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from operator import attrgetter

import numpy as np

from domain.csv import gc_paused
from domain.errors import DomainError
from domain.transactions.binance_export import parse_binance_export
from domain.transactions.binance_my_trades import parse_binance_my_trades
from domain.transactions.fields import BAD_TEXT, BadFile, Parsed, Symbols, brief, iso
from domain.transactions.model import ImportProblems, RowProblem, Transaction
from domain.transactions.plain_csv import parse_plain_csv

FORMATS = ("binance_export", "binance_my_trades", "plain_csv")
_time, _symbol, _trade_id = attrgetter("time_ms"), attrgetter("symbol"), attrgetter("trade_id")
_fee_asset = attrgetter("fee_asset")


def parse_transactions(data: bytes, fmt: str, *, filename: str | None = None,
                       symbols: Mapping[str, str] | None = None,
                       known_symbols: Collection[str] | None = None) -> list[Transaction]:
    """Parse a trade history file of format ``fmt`` (one of :data:`FORMATS`).

    ``filename`` only helps tell an XLSX export from a CSV one (the bytes are checked first).
    ``symbols`` maps exchange ids to unified symbols (``{"BNBBTC": "BNB/BTC"}``, built from
    ccxt's markets: ``{m["id"]: m["symbol"]}``) for ids with no slash (``binance_my_trades``,
    ``plain_csv``); without it, or for ids it lacks, the id is split at a known quote asset. A
    Binance export's Pair is split by the assets of its Executed and Amount columns instead.
    ``known_symbols`` (unified, ``"BTC/USDT"``), when given, refuses any other symbol in every
    format (and also helps split ids).

    Row numbers (``Transaction.row``, ``RowProblem.row``) are the file's: the header is row 1
    (CSV, and the sheet's own row numbers in XLSX); for JSON they are the 1-based item of the
    array (``RowProblem.unit == "item"``); row 0 is the whole file.

    Raises ``DomainError`` for an unknown ``fmt`` and ``ImportProblems`` listing every bad row.
    """
    if fmt not in FORMATS:
        raise DomainError(f"unknown transaction file format {fmt!r}: expected one of "
                          f"{', '.join(FORMATS)}")
    resolver = Symbols(symbols, known_symbols)
    with gc_paused():  # a transaction object per row: the cyclic GC would rescan them all
        try:
            if fmt == "binance_export":
                parsed = parse_binance_export(data, filename, resolver)
            elif fmt == "binance_my_trades":
                parsed = parse_binance_my_trades(data, resolver)
            else:
                parsed = parse_plain_csv(data, resolver)
        except BadFile as err:
            raise ImportProblems([RowProblem(err.row, err.column, str(err))]) from None
        return _finish(parsed)


def _finish(parsed: Parsed) -> list[Transaction]:
    """The checks across rows, then the transactions oldest first (or ImportProblems)."""
    txs, problems = parsed.transactions, list(parsed.problems)
    groups = _groups(txs) if parsed.order_by_symbol else [txs]
    descending = [_check_order(g, parsed, problems) for g in groups]
    _check_duplicates(txs, parsed, problems)
    _check_text(txs, parsed, problems)
    if not txs and not problems:
        problems.append(RowProblem(0, "", "no transactions: the file has no rows of fills"))
    if problems:
        problems.sort(key=lambda p: p.row)
        raise ImportProblems(problems)
    if len(groups) == 1:
        return txs[::-1] if descending[0] else txs
    oriented = [tx for g, desc in zip(groups, descending, strict=True)
                for tx in (reversed(g) if desc else g)]
    return sorted(oriented, key=lambda tx: tx.time_ms)


def _check_text(txs: list[Transaction], parsed: Parsed, problems: list[RowProblem]) -> None:
    """A problem for each symbol, fee asset or trade id holding a control character (NUL...)
    or a lone surrogate (:data:`~domain.transactions.fields.BAD_TEXT`): one scan of each
    field's distinct values joined, rows looked at only when one is found."""
    word = parsed.unit
    for column, get in ((parsed.symbol_column, _symbol), (parsed.fee_asset_column, _fee_asset),
                        (parsed.id_column, _trade_id)):
        values = {v for v in map(get, txs) if v}
        if not BAD_TEXT.search("\n".join(values)):
            continue
        for tx in txs:
            value = get(tx)
            if value and BAD_TEXT.search(value):
                problems.append(RowProblem(tx.row, column, f"{brief(value)} holds a control "
                                           "character or an invalid one (a lone surrogate)",
                                           unit=word))


def _groups(txs: list[Transaction]) -> list[list[Transaction]]:
    by_symbol: dict[str, list[Transaction]] = {}
    for tx in txs:
        by_symbol.setdefault(tx.symbol, []).append(tx)
    return list(by_symbol.values())


def _check_order(txs: list[Transaction], parsed: Parsed, problems: list[RowProblem]) -> bool:
    """Whether ``txs`` (in file order) run newest first; a problem for each row going the other
    way than most rows do. When the times do not tell (all equal, or as many steps up as down),
    the format's usual direction is taken."""
    steps = np.diff(np.array(list(map(_time, txs)), dtype=np.int64))
    up, down = int(np.count_nonzero(steps > 0)), int(np.count_nonzero(steps < 0))
    descending = down > up if up != down else parsed.newest_first
    if not (up and down):
        return descending
    word, col = parsed.unit, parsed.time_column
    way, rel = ("newest first", "after") if descending else ("oldest first", "before")
    for i in np.flatnonzero(steps > 0 if descending else steps < 0).tolist():
        prev, tx = txs[i], txs[i + 1]
        problems.append(RowProblem(
            tx.row, col, f"dates out of order: {iso(tx.time_ms)} is {rel} "
            f"{iso(prev.time_ms)} on {word} {prev.row}, but the file is sorted {way} "
            "(sort the whole file by date)", unit=word))
    return descending


def _check_duplicates(txs: list[Transaction], parsed: Parsed,
                      problems: list[RowProblem]) -> None:
    """A problem for each (symbol, trade id) met before in the file."""
    keys = [k for k in zip(map(_symbol, txs), map(_trade_id, txs), strict=True) if k[1]]
    if len(set(keys)) == len(keys):
        return
    seen: dict[tuple[str, str | None], int] = {}
    word = parsed.unit
    for tx in txs:
        if tx.trade_id is not None:
            first = seen.setdefault((tx.symbol, tx.trade_id), tx.row)
            if first != tx.row:
                problems.append(RowProblem(tx.row, parsed.id_column, f"duplicate trade id "
                                           f"{tx.trade_id} of {tx.symbol} (also {word} {first})",
                                           unit=word))
