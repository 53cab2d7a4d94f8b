"""XLSX trade histories are streamed and capped (``domain.transactions.binance_export``): a
1.5 KB workbook declaring ``A1:XFD1048576`` (17 billion cells) is read with bounded memory and
answered with a clear problem naming the row and column; the declared dimension is never
trusted; rows, columns and cells are capped. The workbooks are zips written by hand."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Sequence

import pytest

from domain.transactions import binance_export
from domain.transactions.importers import parse_transactions
from domain.transactions.model import ImportProblems

HEADER = ("Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee")
ROW = ("2024-01-05 13:45:12", "BTCUSDT", "BUY", "42000", "0.01BTC", "420USDT", "0.42USDT")

_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target='
        '"xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
        'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name="Trades" sheetId="1" r:id='
        '"rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target='
        '"worksheets/sheet1.xml"/></Relationships>'),
}


def _column(n: int) -> str:
    name = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


def _row(n: int, cells: Sequence[tuple[int, str]]) -> str:
    body = "".join(f'<c r="{_column(c)}{n}" t="inlineStr"><is><t>{v}</t></is></c>'
                   for c, v in cells)
    return f'<row r="{n}">{body}</row>'


def workbook(rows: Sequence[str], dimension: str = "A1:XFD1048576") -> bytes:
    """A minimal workbook (no styles, no shared strings) whose one sheet declares
    ``dimension`` and holds ``rows`` (``<row>`` elements)."""
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
             f'openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/>'
             f'<sheetData>{"".join(rows)}</sheetData></worksheet>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in {**_PARTS, "xl/worksheets/sheet1.xml": sheet}.items():
            z.writestr(name, text)
    return out.getvalue()


def header_and(*rows: str) -> list[str]:
    return [_row(1, list(enumerate(HEADER, 1))), *rows]


def problems_of(data: bytes) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportProblems) as err:
        parse_transactions(data, "binance_export", filename="trades.xlsx")
    return [(p.row, p.column, p.message) for p in err.value.problems]


def test_the_hostile_file_is_a_clear_problem_with_bounded_memory() -> None:
    # a header, then one cell at the far corner of the declared A1:XFD1048576
    data = workbook(header_and(_row(1_048_576, [(16_384, "x")])))
    assert len(data) < 1_600  # about 1.5 KB
    tracemalloc.start()
    try:
        found = problems_of(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024  # (reading the declared size took gigabytes)
    [(row, column, message)] = found
    assert (row, column) == (1_048_576, "XFD")
    assert message.startswith("row 1048576 has a cell in column XFD (column 16,384)")
    assert "up to column BL (64)" in message and "delete the cells" in message


def test_the_declared_dimension_is_not_trusted() -> None:
    data = workbook(header_and(_row(2, list(enumerate(ROW, 1)))))  # declares A1:XFD1048576
    tracemalloc.start()
    try:
        [tx] = parse_transactions(data, "binance_export", filename="trades.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024
    assert (tx.symbol, tx.side, tx.price, tx.quantity, tx.row) == ("BTC/USDT", "buy", 42000.0,
                                                                   0.01, 2)


def test_a_wide_row_is_refused_at_once() -> None:
    found = problems_of(workbook(header_and(_row(2, [*enumerate(ROW, 1), (65, "extra")]))))
    assert found == [(2, "BM", "row 2 has a cell in column BM (column 65); a trade history is "
                      "read up to column BL (64): delete the cells to the right of the "
                      "export's columns")]
    # 64 columns are read (the extra ones are ignored)
    [tx] = parse_transactions(workbook(header_and(_row(2, [*enumerate(ROW, 1), (64, "x")]))),
                              "binance_export", filename="trades.xlsx")
    assert tx.row == 2


def test_rows_and_cells_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = header_and(*(_row(n, list(enumerate(ROW, 1))) for n in range(2, 7)))
    monkeypatch.setattr(binance_export, "MAX_XLSX_ROWS", 4)
    [(row, column, message)] = problems_of(workbook(rows))
    assert (row, column) == (5, "") and "more than the 4 rows" in message
    monkeypatch.setattr(binance_export, "MAX_XLSX_ROWS", 1_000)
    monkeypatch.setattr(binance_export, "MAX_XLSX_CELLS", 20)
    [(row, column, message)] = problems_of(workbook(rows))
    assert row == 3 and "more than 20 cells by row 3" in message  # 7 + 7 + 7 > 20


def test_shared_strings_too_large_unpacked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binance_export, "MAX_XLSX_PART_BYTES", 100)
    [(row, _, message)] = problems_of(workbook(header_and()))
    assert row == 0 and "unpack to" in message and "as CSV instead" in message
