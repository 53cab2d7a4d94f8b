"""One transaction on the driver's own connection, the same code on SQLite and PostgreSQL.

Bulk writes that must be all or nothing (an import of 100,000 transactions, a replay's
results) run in :func:`raw_transaction`: SQL is written with ``?`` placeholders (numbered
``$n`` for asyncpg), rows go in with ``COPY`` on PostgreSQL (binary, built by numpy, for
numeric columns: :meth:`Raw.copy_columns`) and one ``executemany`` on SQLite, and anything
raised inside rolls the whole transaction back. As in ``store.candles``, do not call it inside
a Tortoise ``in_transaction()`` block: it takes its own connection (on SQLite, its lock).
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from store.backtest_results import numbered
from store.db import connection, is_postgres
from store.pgcopy import HEADER, TRAILER

_PG_TYPES = {"i2": ">i2", "i4": ">i4", "i8": ">i8", "f8": ">f8"}


def encode_columns(columns: Sequence[tuple[npt.NDArray[Any], str]]) -> memoryview:
    """The binary ``COPY ... FROM STDIN`` payload of equal-length numeric columns, each
    ``(values, kind)`` with kind ``i2`` (SMALLINT), ``i4`` (INTEGER), ``i8`` (BIGINT) or ``f8``
    (DOUBLE PRECISION); no NULLs (every row has the same layout, so the whole payload is one
    numpy record array)."""
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, (_, kind) in enumerate(columns):
        fields += [(f"len_{i}", ">i4"), (f"v{i}", _PG_TYPES[kind])]
    dtype = np.dtype(fields)
    n = int(columns[0][0].shape[0]) if columns else 0
    buf = np.empty(len(HEADER) + n * dtype.itemsize + len(TRAILER), dtype=np.uint8)
    buf[:len(HEADER)] = np.frombuffer(HEADER, dtype=np.uint8)
    buf[len(buf) - len(TRAILER):] = np.frombuffer(TRAILER, dtype=np.uint8)
    rec = buf[len(HEADER):len(buf) - len(TRAILER)].view(dtype)
    rec["n"] = len(columns)
    for i, (values, kind) in enumerate(columns):
        rec[f"len_{i}"] = struct.calcsize(_PG_TYPES[kind])
        rec[f"v{i}"] = values
    return buf.data


class Raw:
    """The connection of one open transaction (see the module docstring)."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def now(self) -> Any:
        """The current time as a value for a datetime column (Tortoise keeps SQLite
        datetimes as ``str(dt)``)."""
        now = datetime.now(UTC)
        return now if self.postgres else str(now)

    def json(self, placeholder: str = "?") -> str:
        """A placeholder for a JSON value given as text (jsonb on PostgreSQL)."""
        return f"{placeholder}::jsonb" if self.postgres else placeholder

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows it changed."""
        if self.postgres:
            status: str = await self.conn.execute(numbered(True, sql), *args)
            last = status.rsplit(" ", 1)[-1]
            return int(last) if last.isdigit() else 0
        cursor = await self.conn.execute(sql, args)
        try:
            return int(cursor.rowcount)
        finally:
            await cursor.close()

    async def insert_id(self, sql: str, *args: Any) -> int:
        """Run an ``INSERT`` of one row; its id."""
        if self.postgres:
            return int(await self.conn.fetchval(numbered(True, sql) + " RETURNING id", *args))
        cursor = await self.conn.execute(sql, args)
        try:
            return int(cursor.lastrowid)
        finally:
            await cursor.close()

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """The rows of a query, as tuples."""
        if self.postgres:
            return [tuple(r) for r in await self.conn.fetch(numbered(True, sql), *args)]
        cursor = await self.conn.execute(sql, args)
        cursor.row_factory = None  # plain tuples (Tortoise sets sqlite3.Row on the connection)
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()

    async def insert_rows(self, table: str, columns: Sequence[str],
                          rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples in the order of ``columns``)."""
        if not rows:
            return
        if self.postgres:
            await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))
            return
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        await self.conn.executemany(sql, rows)

    async def copy_columns(self, table: str, columns: Sequence[tuple[str, npt.NDArray[Any], str]]
                           ) -> None:
        """Insert equal-length numeric columns ``(name, values, kind)`` (kinds as for
        :func:`encode_columns`; NaN in an ``f8`` column is stored as NULL)."""
        if not columns or columns[0][1].shape[0] == 0:
            return
        names = [name for name, _, _ in columns]
        floats = [values for _, values, kind in columns if kind == "f8"]
        has_nan = np.zeros(columns[0][1].shape[0], dtype=np.bool_)
        for values in floats:
            has_nan |= np.isnan(values)
        if not self.postgres or has_nan.all():
            await self.insert_rows(table, names, _tuples(columns, None))
            return
        clean = ~has_nan
        payload = encode_columns([(values[clean], kind) for _, values, kind in columns])
        await self.conn.copy_to_table(table, columns=names, format="binary", source=payload)
        if has_nan.any():  # rare rows (fills dropped by a delay): NULLs, through records
            await self.insert_rows(table, names, _tuples(columns, has_nan))


def _tuples(columns: Sequence[tuple[str, npt.NDArray[Any], str]],
            mask: npt.NDArray[np.bool_] | None) -> list[tuple[Any, ...]]:
    lists: list[list[Any]] = []
    for _, values, kind in columns:
        picked = values if mask is None else values[mask]
        items: list[Any] = picked.tolist()
        if kind == "f8":
            items = [None if x != x else x for x in items]  # NaN -> NULL
        lists.append(items)
    return list(zip(*lists, strict=True))


@asynccontextmanager
async def raw_transaction() -> AsyncIterator[Raw]:
    """One transaction on the driver's connection: committed when the block ends, rolled
    back when it raises."""
    client = connection()
    postgres = is_postgres(client)
    async with client.acquire_connection() as conn:
        if postgres:
            async with conn.transaction():
                yield Raw(conn, True)
            return
        await conn.execute("BEGIN")
        try:
            yield Raw(conn, False)
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
