"""PostgreSQL's binary COPY format for rows of one BIGINT and some DOUBLE PRECISION columns.

The format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): an
11-byte signature, a 32-bit flags word, a 32-bit header-extension length and the extension;
then per row a 16-bit field count and, per field, a 32-bit byte length and the value, all
big-endian; then a 16-bit -1. With NOT NULL fixed-width columns every row has the same layout,
so a whole buffer is one numpy record array: no Python object per row in either direction.
"""

from __future__ import annotations

import struct

import asyncpg
import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)


def row_dtype(n_floats: int, text_sizes: tuple[int, ...] = ()) -> np.dtype[np.void]:
    """The on-the-wire layout of a row: texts of the given byte sizes (the same in every row),
    then ts BIGINT, then ``n_floats`` DOUBLE PRECISION."""
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, size in enumerate(text_sizes):
        fields += [(f"len_t{i}", ">i4"), (f"t{i}", f"S{size}")]
    fields += [("len_ts", ">i4"), ("ts", ">i8")]
    for i in range(n_floats):
        fields += [(f"len_{i}", ">i4"), (f"f{i}", ">f8")]
    return np.dtype(fields)


def encode(ts: I64, floats: list[F64], texts: tuple[str, ...] = ()) -> memoryview:
    """The COPY ... FROM STDIN (FORMAT binary) payload of these columns, in one buffer (a
    memoryview: asyncpg takes ``bytes`` for a file path). ``texts`` are leading text columns
    holding the same non-empty value in every row (e.g. exchange, symbol, timeframe)."""
    raw = tuple(t.encode() for t in texts)
    if any(not t for t in raw):
        raise ValueError("constant text columns must not be empty")
    dtype = row_dtype(len(floats), tuple(len(t) for t in raw))
    n = ts.shape[0]
    buf = np.empty(len(HEADER) + n * dtype.itemsize + len(TRAILER), dtype=np.uint8)
    buf[:len(HEADER)] = np.frombuffer(HEADER, dtype=np.uint8)
    buf[len(buf) - len(TRAILER):] = np.frombuffer(TRAILER, dtype=np.uint8)
    rec = buf[len(HEADER):len(buf) - len(TRAILER)].view(dtype)
    rec["n"] = len(raw) + 1 + len(floats)
    for i, t in enumerate(raw):
        rec[f"len_t{i}"] = len(t)
        rec[f"t{i}"] = t
    rec["len_ts"] = 8
    rec["ts"] = ts
    for i, col in enumerate(floats):
        rec[f"len_{i}"] = 8
        rec[f"f{i}"] = col
    return buf.data


def decode(data: bytes, n_floats: int) -> tuple[I64, list[F64]]:
    """Columns (native, contiguous) from a COPY ... TO STDOUT (FORMAT binary) payload."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY payload")
    (ext_len,) = struct.unpack_from(">i", data, len(SIGNATURE) + 4)
    start = len(HEADER) + ext_len
    if data[-2:] != TRAILER:
        raise ValueError("binary COPY payload is truncated (no trailer)")
    dtype = row_dtype(n_floats)
    body = memoryview(data)[start:len(data) - 2]
    if len(body) % dtype.itemsize:
        raise ValueError("binary COPY rows are not fixed-width (a NULL or an unexpected type)")
    rec = np.frombuffer(body, dtype=dtype)
    lengths_ok = (rec["n"] == 1 + n_floats).all() and (rec["len_ts"] == 8).all() and all(
        (rec[f"len_{i}"] == 8).all() for i in range(n_floats))
    if not lengths_ok:
        raise ValueError("binary COPY rows are not fixed-width (a NULL or an unexpected type)")
    ts = rec["ts"].astype(np.int64)
    return ts, [rec[f"f{i}"].astype(np.float64) for i in range(n_floats)]


async def query(conn: asyncpg.Connection, sql: str, args: tuple[object, ...],
                n_floats: int) -> tuple[I64, list[F64]]:
    """Run ``sql`` (selecting a BIGINT then ``n_floats`` DOUBLE PRECISION columns, none NULL)
    through ``COPY (...) TO STDOUT`` in binary and return its columns."""
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    await conn.copy_from_query(sql, *args, output=sink, format="binary")
    return decode(b"".join(chunks), n_floats)
