"""A plain CSV of fills, for any exchange::

    timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id
    2024-01-05T13:45:12Z,BTC/USDT,buy,42000,0.01,0.42,USDT,8123

* Columns in any order (matched case-insensitively); ``trade_id`` is optional; others ignored.
* ``timestamp``: ISO-8601 (``2024-01-05T13:45:12.250Z``, an offset, or naive = UTC) or epoch
  milliseconds (an integer; microseconds, above 10^14, are floored to milliseconds).
* ``symbol``: ``BTC/USDT``, or an exchange id (``BTCUSDT``) split as
  :class:`~domain.transactions.fields.Symbols` says. ``side``: buy or sell, any case.
* ``price`` > 0, ``quantity`` > 0 (base units), ``fee`` >= 0: plain numbers, '.' decimal point.
* ``fee_asset``: any asset (upper-cased); it may be empty when the fee is 0 (the quote is used).
* ``trade_id``: empty means none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain.transactions.fields import (
    EPOCH,
    EPOCH_NAIVE,
    INF,
    MICROS_ABOVE,
    MS,
    SECONDS_BELOW,
    SIDES,
    Parsed,
    Symbols,
    Unusual,
    byte_records,
    first_record,
    locate,
    non_negative,
    positive,
    side,
    time_ms,
)
from domain.transactions.model import RowProblem, Transaction

COLUMNS = ("timestamp", "symbol", "side", "price", "quantity", "fee", "fee_asset")
OPTIONAL = ("trade_id",)
_HINT = "a plain CSV needs " + ",".join(COLUMNS) + " (and optionally trade_id), in any order"


def parse_plain_csv(data: bytes, symbols: Symbols) -> Parsed:
    records = byte_records(data)
    out = Parsed([], [], "timestamp", "trade_id")
    header_row, header = first_record(records)
    if header is None:
        return out
    where, out.problems = locate(header, COLUMNS, OPTIONAL, header_row, _HINT)
    if out.problems:
        return out
    f = _File(header, where, symbols, out.problems)
    out.time_column, out.id_column = f.names[0], f.id_name
    i_ts, i_sym, i_side, i_price, i_qty, i_fee, i_fa = f.at
    i_id = f.i_id
    width, resolved, slow, txs = len(header), symbols.resolved, f.slow, out.transactions
    fromiso = datetime.fromisoformat
    row = header_row
    # The fast path takes the common row and leaves anything else to the slow path, which
    # decides and says what is wrong.
    for rec in records:
        row += 1
        try:
            if len(rec) != width:
                raise Unusual
            ts = rec[i_ts]
            if ts.isdecimal():
                t = int(ts)
                if not SECONDS_BELOW <= t <= MICROS_ABOVE:
                    raise Unusual
            else:
                dt = fromiso(ts)
                t = (dt - (EPOCH_NAIVE if dt.tzinfo is None else EPOCH)) // MS
            sym = resolved[rec[i_sym]]
            sd = SIDES[rec[i_side]]
            price, qty, fee = float(rec[i_price]), float(rec[i_qty]), float(rec[i_fee])
            fa = rec[i_fa]
            if not (0 < price < INF and 0 < qty < INF and 0 <= fee < INF and fa.isalnum()
                    and fa.isupper()):
                raise Unusual
            tid = (rec[i_id].strip() or None) if i_id >= 0 else None
            txs.append(Transaction(t, sym, sd, price, qty, fee, fa, tid, row))
        except (ValueError, KeyError, Unusual):
            tx = slow(rec, row)
            if tx is not None:
                txs.append(tx)
    return out


class _File:
    """One file's columns: indexes and the file's own names."""

    def __init__(self, header: Sequence[str], where: dict[str, int], symbols: Symbols,
                 problems: list[RowProblem]) -> None:
        self.at = tuple(where[c] for c in COLUMNS)
        self.names = tuple(header[i].strip() for i in self.at)
        self.i_id = where.get("trade_id", -1)
        self.id_name = header[self.i_id].strip() if self.i_id >= 0 else "trade_id"
        self.width, self.symbols, self.problems = len(header), symbols, problems

    def slow(self, rec: Sequence[str], row: int) -> Transaction | None:
        """The row's transaction, or None after adding its problems (None for a blank row)."""
        problems = self.problems
        if len(rec) != self.width:
            if any(rec):
                problems.append(RowProblem(row, "", f"{len(rec)} fields where the header has "
                                           f"{self.width}"))
            return None
        n_ts, n_sym, n_side, n_price, n_qty, n_fee, n_fa = self.names
        ts, sym, sd, price, qty, fee, fa = (rec[i] for i in self.at)
        n = len(problems)
        values: dict[str, Any] = {}
        for name, parse, text in ((n_ts, time_ms, ts), (n_sym, self.symbols.unified, sym),
                                  (n_side, side, sd), (n_price, positive, price),
                                  (n_qty, positive, qty), (n_fee, non_negative, fee)):
            try:
                values[name] = parse(text)
            except ValueError as err:
                problems.append(RowProblem(row, name, str(err)))
        fa = fa.strip().upper()
        if not fa:
            if values.get(n_fee, 0.0):
                problems.append(RowProblem(row, n_fa, "empty: say which asset the fee was "
                                           "paid in"))
            elif n_sym in values:
                fa = values[n_sym].partition("/")[2]
        if len(problems) > n:
            return None
        tid = (rec[self.i_id].strip() or None) if self.i_id >= 0 else None
        return Transaction(values[n_ts], values[n_sym], values[n_side], values[n_price],
                           values[n_qty], values[n_fee], fa, tid, row)
