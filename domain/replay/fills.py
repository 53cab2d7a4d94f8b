"""Transactions of one symbol as columns (``Fills``), checked, with messages naming rows.

``Fills`` is what the replay works on: numpy arrays, one entry per transaction. Build it from
``domain.transactions.model.Transaction`` objects (``Fills.from_transactions``) or from
columns (``Fills.from_arrays``, e.g. straight from a database query). The rules are in
``domain.replay.rules``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.errors import DataError
from domain.replay.rules import FEE_BASE, FEE_OTHER, FEE_QUOTE
from domain.timeframes import iso
from domain.transactions.model import Transaction

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]


class ReplayError(DataError):
    """Transactions cannot be replayed: ``row`` is the offending transaction's row in the user's
    file when known (the message names it too)."""


def split_symbol(symbol: str) -> tuple[str, str]:
    """``("BTC", "USDT")`` for ``"BTC/USDT"``; a ``ReplayError`` for anything else."""
    parts = symbol.split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ReplayError(f"symbol {symbol!r} is not of the form BASE/QUOTE (e.g. BTC/USDT): "
                          "give the unified symbol of the transactions")
    return parts[0], parts[1]


@dataclass(frozen=True)
class Fills:
    """The transactions of one ``symbol``, as columns of equal length.

    ``side`` is +1 (buy) or -1 (sell); ``quantity`` is the executed base quantity and ``fee`` an
    amount of the fill's fee asset, coded in ``fee_asset``: ``FEE_QUOTE``, ``FEE_BASE``, or
    ``FEE_OTHER + k`` for ``other_assets[k]`` (upper case, e.g. ``"BNB"``). ``row`` is each
    transaction's row in the user's file (0 when unknown). Order is free (the replay sorts by
    time).
    """

    symbol: str
    time_ms: I64
    side: I8
    price: F64
    quantity: F64
    fee: F64
    fee_asset: I64
    other_assets: tuple[str, ...]
    row: I64

    def __len__(self) -> int:
        return int(self.time_ms.shape[0])

    @classmethod
    def from_arrays(
        cls,
        symbol: str,
        time_ms: npt.ArrayLike,
        side: npt.ArrayLike,
        price: npt.ArrayLike,
        quantity: npt.ArrayLike,
        fee: npt.ArrayLike,
        fee_asset: npt.ArrayLike | str,
        row: npt.ArrayLike | None = None,
    ) -> Fills:
        """Fills from columns. ``side`` holds +1/-1 or ``"buy"``/``"sell"``; ``fee_asset`` one
        asset name per fill, or one name for all. ``row`` defaults to 0 (unknown). The values
        are checked (``ReplayError`` naming the first bad row)."""
        base, quote = split_symbol(symbol)
        t = np.ascontiguousarray(time_ms, dtype=np.int64)
        m = t.shape[0]
        s = np.asarray(side)
        if s.dtype.kind in "USO":
            low = np.char.lower(s.astype(str))
            s_code = np.where(low == "buy", 1, np.where(low == "sell", -1, 0)).astype(np.int8)
        else:
            s_code = np.asarray(s, dtype=np.int8)
        names = np.full(m, fee_asset) if isinstance(fee_asset, str) else np.asarray(fee_asset)
        uniq, inverse = np.unique(names.astype(str), return_inverse=True)
        codes, others = _asset_codes([str(u) for u in uniq], base, quote)
        rows = np.zeros(m, dtype=np.int64) if row is None else np.asarray(row, dtype=np.int64)
        out = cls(symbol, t, np.ascontiguousarray(s_code),
                  np.ascontiguousarray(price, dtype=np.float64),
                  np.ascontiguousarray(quantity, dtype=np.float64),
                  np.ascontiguousarray(fee, dtype=np.float64),
                  np.ascontiguousarray(np.asarray(codes, dtype=np.int64)[inverse.reshape(-1)]),
                  others, np.ascontiguousarray(rows))
        out.check()
        return out

    @classmethod
    def from_transactions(cls, transactions: Sequence[Transaction], symbol: str) -> Fills:
        """Fills from ``Transaction`` objects; every one must be of ``symbol`` (``ReplayError``
        naming the first row that is not)."""
        split_symbol(symbol)
        want = symbol.upper()
        for i, tx in enumerate(transactions):
            if tx.symbol.upper() != want:
                raise ReplayError(f"{_describe_tx(tx, i)} is a {tx.symbol} transaction, but "
                                  f"{symbol} is replayed: replay one symbol at a time (filter "
                                  "the transactions by symbol)", row=tx.row or None)
        return cls.from_arrays(
            symbol,
            [tx.time_ms for tx in transactions],
            [1 if tx.side == "buy" else (-1 if tx.side == "sell" else 0) for tx in transactions],
            [tx.price for tx in transactions],
            [tx.quantity for tx in transactions],
            [tx.fee for tx in transactions],
            [tx.fee_asset for tx in transactions] if transactions else "",
            [tx.row for tx in transactions],
        )

    def take(self, index: npt.ArrayLike) -> Fills:
        """The fills at ``index`` (positions), in that order."""
        ix = np.asarray(index, dtype=np.int64)
        return Fills(self.symbol, self.time_ms[ix], self.side[ix], self.price[ix],
                     self.quantity[ix], self.fee[ix], self.fee_asset[ix], self.other_assets,
                     self.row[ix])

    def asset_name(self, code: int) -> str:
        base, quote = split_symbol(self.symbol)
        if code == FEE_QUOTE:
            return quote
        return base if code == FEE_BASE else self.other_assets[code - FEE_OTHER]

    def describe(self, i: int) -> str:
        """``"the buy at 2024-01-01T00:05Z (0.5 at 42000.0)"``: fill ``i`` for a message."""
        side = "buy" if self.side[i] > 0 else "sell"
        return (f"the {side} at {iso(int(self.time_ms[i]))} "
                f"({float(self.quantity[i])!r} at {float(self.price[i])!r})")

    def fail(self, i: int, message: str) -> ReplayError:
        """A ``ReplayError`` about fill ``i``: its row (when known) and what it is, then
        ``message``."""
        r = int(self.row[i])
        return ReplayError(f"{self.describe(i)} {message}", row=r if r > 0 else None)

    def check(self) -> None:
        """Raise ``ReplayError`` naming the first bad fill (in the given order), else return."""
        m = len(self)
        cols = (self.side, self.price, self.quantity, self.fee, self.fee_asset, self.row)
        if any(a.ndim != 1 or a.shape[0] != m for a in cols):
            lengths = ", ".join(str(a.shape[0]) for a in (self.time_ms, *cols))
            raise ReplayError(f"fill columns differ in length ({lengths}): give one value per "
                              "transaction")
        checks = [
            (~np.isin(self.side, (1, -1)), "has a side that is neither buy nor sell"),
            (~(np.isfinite(self.price) & (self.price > 0.0)), "has a price that is not a "
             "number > 0"),
            (~(np.isfinite(self.quantity) & (self.quantity > 0.0)), "has a quantity that is "
             "not a number > 0"),
            (~(np.isfinite(self.fee) & (self.fee >= 0.0)), "has a fee that is not a number >= 0"),
            ((self.fee_asset == FEE_BASE) & (self.side > 0) & (self.fee >= self.quantity),
             "pays a base fee that is not smaller than the quantity bought (the fee is taken "
             "from the base received)"),
        ]
        bad = [(int(np.argmax(mask)), msg) for mask, msg in checks if mask.any()]
        if bad:
            i, msg = min(bad, key=lambda b: b[0])
            raise self.fail(i, msg + ": fix or remove the transaction")


def _asset_codes(names: list[str], base: str, quote: str) -> tuple[list[int], tuple[str, ...]]:
    """Fee-asset codes of ``names`` (case-insensitive) and the other assets, in order."""
    others: list[str] = []
    codes: list[int] = []
    for name in names:
        u = name.strip().upper()
        if u == quote.upper() or u == "":
            codes.append(FEE_QUOTE)
        elif u == base.upper():
            codes.append(FEE_BASE)
        else:
            if u not in others:
                others.append(u)
            codes.append(FEE_OTHER + others.index(u))
    return codes, tuple(others)


def _describe_tx(tx: Transaction, i: int) -> str:
    where = "" if tx.row else f" (transaction #{i + 1})"
    return f"the {tx.side} at {iso(tx.time_ms)}{where}"
