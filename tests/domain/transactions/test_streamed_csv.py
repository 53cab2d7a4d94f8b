"""CSV files are decoded and split a piece at a time (``fields.byte_records``) with the same
records as reading the whole text (``csv_records(decode(...))``): line ends cut between
pieces (``\\r|\\n``), characters cut between pieces, quoted fields spanning lines, blank lines,
a byte-order mark; a byte that is not UTF-8 is named by its position in the file."""

from __future__ import annotations

import pytest

from domain.transactions import fields
from domain.transactions.fields import BadFile, byte_records, csv_records, decode

SAMPLES = [
    b"a,b\r\nc,d\r\n\r\ne,f",
    b"a,b\rc,d\r\re,f\r",
    b"a,b\n\nc,d\n\n",
    "\ufeffname,caf\u00e9,\u20ac,\U0001f600\nx,y,z,w\n".encode(),
    b'a,"b\nc",d\r\n"e ""q""",f\n\n',
    b"",
    b"\n",
    b"only",
]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 1 << 20])
@pytest.mark.parametrize("data", SAMPLES)
def test_pieces_give_the_same_records(data: bytes, size: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fields, "CHUNK_BYTES", size)
    expected = [list(r) for r in csv_records(decode(data))]
    got = [list(r) for r in byte_records(data)]
    if b'"' in data and b"\r\n" in data:  # a quoted line end is read as \n
        expected = [[f.replace("\r\n", "\n") for f in r] for r in expected]
    assert got == expected


@pytest.mark.parametrize("size", [1, 4, 1 << 20])
def test_a_bad_byte_is_named_by_its_position(size: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fields, "CHUNK_BYTES", size)
    data = "a,\u00e9\nb,c\n".encode() + b"\xff,d\n"
    with pytest.raises(BadFile, match=r"invalid start byte at byte 9\)"):
        list(byte_records(data))
    with pytest.raises(BadFile, match=r"unexpected end of data at byte 3\)"):
        list(byte_records(b"a,b\xc3"))
