"""Binance's spot trade history export (Orders -> Trade History -> Export), CSV or XLSX.

Columns (names matched case-insensitively, in any order, others ignored)::

    Date(UTC),Pair,Side,Price,Executed,Amount,Fee
    2024-01-05 13:45:12,BTCUSDT,BUY,42000.00,0.0100BTC,420.00USDT,0.00021BNB

* ``Date(UTC)``: ``YYYY-MM-DD HH:MM:SS`` in UTC (any ISO-8601 date-time is read; naive = UTC).
* ``Pair``: the exchange id (``BTCUSDT``); ``BTC/USDT`` is read too.
* ``Executed`` (base), ``Amount`` (quote) and ``Fee`` are a number followed by its asset;
  numbers may have thousands separators (``"1,234.50USDT"``, quoted in CSV). The base and
  quote come from the suffixes of Executed and Amount and must make the Pair (assets whose name
  starts with digits, ``1INCH`` or ``1000SATS``, are told apart with the Pair's help).
* ``Fee`` may be in the quote, the base or any other asset (BNB). A zero fee may omit it.

XLSX files (told by the zip signature or the ``.xlsx`` name) are read with openpyxl, first
sheet, header on the first non-empty row; row numbers are the sheet's. Cells may hold text,
numbers or dates. ``Amount`` is only checked (> 0): the price is the ``Price`` column. The
sheet is streamed a row at a time, its declared dimension ignored, and capped: at most
:data:`MAX_XLSX_COLUMNS` columns in a row, :data:`MAX_XLSX_ROWS` rows and
:data:`MAX_XLSX_CELLS` cells, past which the import stops naming the row (and column). A
1.5 KB file declaring ``A1:XFD1048576`` no longer fills memory with 17 billion empty cells.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from domain.transactions.fields import (
    EPOCH_NAIVE,
    INF,
    LETTERS,
    MS,
    SIDES,
    BadFile,
    Parsed,
    Symbols,
    Unusual,
    brief,
    byte_records,
    first_record,
    grouped_float,
    iso_ms,
    locate,
    non_negative,
    positive,
    side,
)
from domain.transactions.model import RowProblem, Transaction

COLUMNS = ("Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee")
MAX_XLSX_COLUMNS = 64
"""The widest row read from an XLSX sheet (column BL); an export has 7 columns."""
MAX_XLSX_ROWS = 1_048_576
"""The most rows read from an XLSX sheet (Excel's own limit)."""
MAX_XLSX_CELLS = 10_000_000
"""The most cells read from an XLSX sheet, every row's width summed (a million rows of 10)."""
MAX_XLSX_PART_BYTES = 256 * 1024 * 1024
"""The most bytes the workbook's parts other than sheets (shared strings...) may unpack to."""
_HINT = "a Binance spot trade history export has the columns " + ",".join(COLUMNS)
_Split = tuple[str, str, str]
"""(base, quote, unified), or ("", column, message) when the assets do not make the pair."""


def parse_binance_export(data: bytes, filename: str | None, symbols: Symbols) -> Parsed:
    if data[:4] == b"PK\x03\x04" or (filename or "").lower().endswith(".xlsx"):
        return _parse(_xlsx_records(data), symbols, strict_width=False)
    return _parse(byte_records(data), symbols, strict_width=True)


def _parse(records: Iterator[Sequence[str]], symbols: Symbols, strict_width: bool) -> Parsed:
    out = Parsed([], [], COLUMNS[0], "", newest_first=True, symbol_column="Pair",
                 fee_asset_column="Fee")
    header_row, header = first_record(records)
    if header is None:
        return out
    where, out.problems = locate(header, COLUMNS, (), header_row, _HINT)
    if out.problems:
        return out
    f = _File(header, where, symbols, strict_width, out.problems)
    out.time_column = f.names[0]
    i_date, i_pair, i_side, i_price, i_ex, i_am, i_fee = f.at
    width, splits, slow, txs = len(header), f.simple_splits, f.slow, out.transactions
    fromiso = datetime.fromisoformat
    row = header_row
    # The fast path takes the common row (naive date, BUY/SELL, assets of letters, numbers in
    # range) and anything else goes to the slow path, which decides and says what is wrong.
    for rec in records:
        row += 1
        try:
            if len(rec) != width:
                raise Unusual
            t = (fromiso(rec[i_date]) - EPOCH_NAIVE) // MS
            sd = SIDES[rec[i_side]]
            p, ex, am, fe = rec[i_price], rec[i_ex], rec[i_am], rec[i_fee]
            ex_num, am_num, fee_num = ex.rstrip(LETTERS), am.rstrip(LETTERS), fe.rstrip(LETTERS)
            unified = splits[rec[i_pair], ex[len(ex_num):], am[len(am_num):]]
            fee_asset = fe[len(fee_num):]
            price = float(p) if "," not in p else grouped_float(p)
            qty = float(ex_num) if "," not in ex_num else grouped_float(ex_num)
            amount = float(am_num) if "," not in am_num else grouped_float(am_num)
            fee = float(fee_num) if "," not in fee_num else grouped_float(fee_num)
            if not (0 < price < INF and 0 < qty < INF and 0 < amount < INF and 0 <= fee < INF
                    and fee_asset.isupper()):
                raise Unusual
            txs.append(Transaction(t, unified, sd, price, qty, fee, fee_asset, None, row))
        except (ValueError, TypeError, KeyError, Unusual):
            tx = slow(rec, row)
            if tx is not None:
                txs.append(tx)
    return out


class _File:
    """One export's columns (indexes and the file's names) and the pairs met so far."""

    def __init__(self, header: Sequence[str], where: dict[str, int], symbols: Symbols,
                 strict_width: bool, problems: list[RowProblem]) -> None:
        self.at = tuple(where[c] for c in COLUMNS)
        self.names = tuple(header[i].strip() for i in self.at)
        self.width, self.need = len(header), max(self.at) + 1
        self.symbols, self.strict_width, self.problems = symbols, strict_width, problems
        self.splits: dict[tuple[str, str, str], _Split] = {}
        self.simple_splits: dict[tuple[str, str, str], str] = {}
        """(Pair, Executed's suffix, Amount's suffix) -> unified, when both are upper-case
        letters, for the fast path."""

    def slow(self, rec: Sequence[str], row: int) -> Transaction | None:
        """The row's transaction, or None after adding its problems (None for a blank row)."""
        n_date, n_pair, n_side, n_price, n_ex, n_am, n_fee = self.names
        i_date, i_pair, i_side, i_price, i_ex, i_am, i_fee = self.at
        problems = self.problems
        if not any(rec):
            return None
        if len(rec) < self.need or (self.strict_width and len(rec) != self.width):
            problems.append(RowProblem(row, "", f"{len(rec)} fields where the header has "
                                       f"{self.width}: quote values that contain commas "
                                       "(\"1,234.50USDT\")"))
            return None
        n = len(problems)

        def bad(column: str, message: str) -> None:
            problems.append(RowProblem(row, column, message))

        t, sd, price, qty, fee = 0, SIDES["buy"], 0.0, 0.0, 0.0
        try:
            t = iso_ms(rec[i_date])
        except ValueError as err:
            bad(n_date, str(err))
        try:
            sd = side(rec[i_side])
        except ValueError as err:
            bad(n_side, str(err))
        try:
            price = positive(rec[i_price], True)
        except ValueError as err:
            bad(n_price, str(err))
        ex, am, fe = rec[i_ex], rec[i_am], rec[i_fee]
        ex_num, am_num = ex.rstrip(LETTERS), am.rstrip(LETTERS)
        key = (rec[i_pair], ex[len(ex_num):], am[len(am_num):])
        split = self.splits.get(key)
        if split is None:
            split = self.splits[key] = _split_pair(*key, self.symbols)
            if split[0] == key[1] and split[1] == key[2]:
                self.simple_splits[key] = split[2]
        base, quote, unified = split
        if not base:
            bad({"Executed": n_ex, "Amount": n_am}.get(quote, n_pair), unified)
        else:
            if len(base) != len(key[1]):  # an asset starting with digits (1INCH)
                ex_num = ex[: -len(base)] if ex.upper().endswith(base) else ex
            if len(quote) != len(key[2]):
                am_num = am[: -len(quote)] if am.upper().endswith(quote) else am
        try:
            qty = positive(ex_num, True)
        except ValueError as err:
            bad(n_ex, _amount_problem(err, ex))
        try:
            positive(am_num, True)
        except ValueError as err:
            bad(n_am, _amount_problem(err, am))
        fee_num = fe.rstrip(LETTERS)
        fee_asset = fe[len(fee_num):].upper()
        try:
            if fee_asset not in (base, quote) and (base[:1].isdigit() or quote[:1].isdigit()):
                fee_asset, fee_num = _digit_asset(fe, fee_asset, fee_num, base, quote)
            fee = non_negative(fee_num, True)
            if not fee_asset:
                if fee:
                    raise ValueError(f"no asset after the fee {brief(fe)}: expected like "
                                     "0.00021BNB")
                fee_asset = quote
        except ValueError as err:
            bad(n_fee, _amount_problem(err, fe))
        if len(problems) > n:
            return None
        return Transaction(t, unified, sd, price, qty, fee, fee_asset, None, row)


def _amount_problem(err: ValueError, field: str) -> str:
    """The message about an amount with its asset suffix (``0.0100BTC``)."""
    if str(err).startswith("not a number"):
        return (f"not an amount: {brief(field)} (expected a number followed by its asset, "
                "like 0.0100BTC)")
    return str(err)


def _digit_asset(field: str, asset: str, num: str, base: str, quote: str) -> tuple[str, str]:
    """The fee's asset when it is the base or the quote and its name starts with digits."""
    for a in sorted((base, quote), key=len, reverse=True):
        if len(a) > len(asset) and field.upper().endswith(a):
            return a, field[: -len(a)]
    return asset, num


def _split_pair(pair: str, ex_asset: str, am_asset: str, symbols: Symbols) -> _Split:
    """Base and quote from the suffixes of Executed and Amount, checked against the Pair."""
    if not ex_asset:
        return "", "Executed", "no asset after the amount: expected like 0.0100BTC"
    if not am_asset:
        return "", "Amount", "no asset after the amount: expected like 420.00USDT"
    p, ea, aa = pair.strip().upper(), ex_asset.upper(), am_asset.upper()
    base = quote = ""
    if p.replace("/", "") == ea + aa:
        base, quote = ea, aa
    else:  # the suffixes may be the ends of names starting with digits: 1INCH, 1000SATS
        joined = p.replace("/", "")
        for k in range(len(joined) - 1, 0, -1):
            b, q = joined[:k], joined[k:]
            if _digits_then(b, ea) and _digits_then(q, aa):
                base, quote = b, q
                break
    if not base or ("/" in p and p != f"{base}/{quote}"):
        return "", "Pair", (f"the pair {brief(pair.strip())} does not match Executed in {ea} and "
                            f"Amount in {aa}")
    unified = f"{base}/{quote}"
    try:
        symbols.check_known(unified)
    except ValueError as err:
        return "", "Pair", str(err)
    return base, quote, unified


def _digits_then(name: str, suffix: str) -> bool:
    """``name`` is ``suffix``, or digits followed by it (``1INCH`` for the suffix ``INCH``)."""
    return name == suffix or (name.endswith(suffix) and name[: -len(suffix)].isdigit())


def _column_name(n: int) -> str:
    """The spreadsheet name of the 1-based column ``n``: 1 -> A, 27 -> AA, 16384 -> XFD."""
    name = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


def _check_parts(data: bytes) -> None:
    """Refuse a workbook whose parts other than the sheets would take more than
    :data:`MAX_XLSX_PART_BYTES` unpacked (shared strings are read into memory whole; the
    sheets are streamed). The sizes are the zip's own; reading past them fails its CRC check."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            other = sum(i.file_size for i in z.infolist()
                        if not i.filename.startswith("xl/worksheets/"))
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise BadFile(f"not a readable XLSX workbook ({type(err).__name__}: {err}): export "
                      "the trade history again, as XLSX or CSV") from None
    if other > MAX_XLSX_PART_BYTES:
        raise BadFile(f"the workbook's shared strings and styles unpack to {other:,} bytes, "
                      f"more than the {MAX_XLSX_PART_BYTES:,} read: export the trade history "
                      "as CSV instead")


def _xlsx_records(data: bytes) -> Iterator[list[str]]:
    """The rows of the first sheet as text (blank ones included), read one at a time: the
    sheet's declared dimension (``<dimension ref="A1:XFD1048576"/>``) is ignored, each row is
    as wide as its last cell (or the widest row before it). Past :data:`MAX_XLSX_COLUMNS` columns in a row,
    :data:`MAX_XLSX_ROWS` rows or :data:`MAX_XLSX_CELLS` cells in all, reading stops with a
    ``BadFile`` naming the row (and the column)."""
    import openpyxl  # only XLSX imports need it
    from openpyxl.worksheet._reader import WorkSheetParser

    _check_parts(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style" and the like
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # zipfile, XML and openpyxl errors alike
        raise BadFile(f"not a readable XLSX workbook ({type(err).__name__}: {err}): export "
                      "the trade history again, as XLSX or CSV") from None
    try:
        if not book.worksheets:
            return
        sheet = book.worksheets[0]
        with sheet._get_source() as source:  # the sheet's XML, streamed (as openpyxl does)
            parser = WorkSheetParser(source, sheet._shared_strings, data_only=True,
                                     epoch=book.epoch, date_formats=book._date_formats,
                                     timedelta_formats=book._timedelta_formats)
            yield from _sheet_rows(parser.parse())
    except (BadFile, GeneratorExit):
        raise
    except Exception as err:  # XML and zip errors in the middle of the sheet
        raise BadFile(f"the sheet cannot be read ({type(err).__name__}: {err}): export the "
                      "trade history again, as XLSX or CSV") from None
    finally:
        book.close()


def _sheet_rows(parsed: Iterator[tuple[int, list[dict[str, Any]]]]) -> Iterator[list[str]]:
    """Rows of text from openpyxl's parse (row number, cells with their column), with a blank
    row for each number skipped; every cap checked on a row before the blank rows leading to
    it are given out."""
    cells = 0
    expected = 1
    widest = 0  # rows are padded to the widest so far (the header's, usually), as in the sheet
    for n, row in parsed:
        if n > MAX_XLSX_ROWS:
            raise BadFile(f"the sheet has a row {n:,}, more than the {MAX_XLSX_ROWS:,} rows "
                          "read: split the export into several files", n)
        width = max((c["column"] for c in row), default=0)
        if width > MAX_XLSX_COLUMNS:
            last = _column_name(width)
            raise BadFile(f"row {n} has a cell in column {last} (column {width:,}); a trade "
                          f"history is read up to column {_column_name(MAX_XLSX_COLUMNS)} "
                          f"({MAX_XLSX_COLUMNS}): delete the cells to the right of the "
                          "export's columns", n, last)
        widest = width = max(widest, width)
        cells += width
        if cells > MAX_XLSX_CELLS:
            raise BadFile(f"the sheet has more than {MAX_XLSX_CELLS:,} cells by row {n}: "
                          "split the export into several files", n)
        for _ in range(expected, n):
            yield []
        values = [""] * width
        for c in row:
            if c["column"] >= 1:
                values[c["column"] - 1] = _cell_text(c["value"])
        yield values
        expected = n + 1


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, float):
        return repr(v)
    return str(v)
