"""Imported trade history: one :class:`Transaction` per fill, whatever file it came from.

The importers (``domain.transactions.importers``) turn a user's file into a list of
transactions, or raise :class:`ImportProblems` listing every bad row; the replay
(``domain.replay``) rebuilds positions and PnL from them. Everything here is pure: no I/O.

Conventions
-----------
* ``time_ms``: the fill time, UTC milliseconds.
* ``symbol``: ccxt's unified form, ``BASE/QUOTE`` (``BTC/USDT``); ``base`` and ``quote`` split it.
* ``side``: ``"buy"`` (receive base, pay quote) or ``"sell"``.
* ``price``: quote per one base, > 0. ``quantity``: base units, > 0 (the executed amount).
* ``fee`` >= 0, an amount of ``fee_asset`` (the quote, the base, BNB or any other asset).
* ``trade_id``: the exchange's trade id when the file has one, else None; the store dedupes
  on it, else on :meth:`Transaction.fingerprint`.
* ``row``: where it came from in the user's file, for messages: the 1-based row (the header is
  row 1) of a CSV or XLSX file, or the 1-based item number in a JSON array.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from domain.errors import DomainError

Side = Literal["buy", "sell"]


@dataclass(frozen=True)
class Transaction:
    time_ms: int
    symbol: str
    side: Side
    price: float
    quantity: float
    fee: float
    fee_asset: str
    trade_id: str | None = None
    row: int = 0

    @property
    def base(self) -> str:
        return self.symbol.split("/", 1)[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/", 1)[1]

    @property
    def signed_quantity(self) -> float:
        """+quantity for a buy, -quantity for a sell."""
        return self.quantity if self.side == "buy" else -self.quantity

    def fingerprint(self) -> str:
        """A stable hash of what the fill is (not of where it was in the file, nor of which
        exchange label or file format it came with): see :func:`fill_fingerprint`."""
        return fill_fingerprint(self.time_ms, self.symbol, self.side, self.price,
                                self.quantity, self.fee, self.fee_asset)


def fill_fingerprint(time_ms: int, symbol: str, side: str, price: float, quantity: float,
                     fee: float, fee_asset: str) -> str:
    """The dedupe key of a fill on its normalised fields: the time in whole seconds (a Binance
    export gives seconds, ``myTrades`` and epoch-ms files give milliseconds: the same fill
    must match), the unified symbol, the side in lower case and the numbers as floats (so
    ``42,000.00`` and ``42000`` agree). The exchange label and the trade id are not part of
    it."""
    text = "|".join((str(int(time_ms) // 1000), symbol.upper(), side.lower(),
                     repr(float(price)), repr(float(quantity)), repr(float(fee)),
                     fee_asset.upper()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RowProblem:
    """One bad row: its 1-based row number in the file (header = row 1), the column (the file's
    own column name, or "" for the whole row) and what is wrong.

    ``unit`` says what ``row`` counts: ``"row"`` (CSV, XLSX) or ``"item"`` (the 1-based index of
    an element of a JSON array; ``column`` is then the element's key). ``row`` 0 is the whole
    file (not JSON, no transactions at all).
    """

    row: int
    column: str
    message: str
    unit: str = "row"

    def __str__(self) -> str:
        where = "the file" if self.row == 0 else f"{self.unit} {self.row}"
        if self.column:
            where += f", {'key' if self.unit == 'item' else 'column'} {self.column}"
        return f"{where}: {self.message}"


class ImportProblems(DomainError):
    """A file could not be imported: ``problems`` lists every bad row (the import stores
    nothing)."""

    MAX_IN_MESSAGE = 20

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[: self.MAX_IN_MESSAGE])
        more = len(self.problems) - self.MAX_IN_MESSAGE
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"the file has {len(self.problems)} problem(s); nothing was imported:\n"
                         f"{shown}{tail}")
