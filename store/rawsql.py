"""One transaction on the driver's own connection, the same code on SQLite and PostgreSQL.

Bulk writes that must be all or nothing (an import of 100,000 transactions, a replay's
results) run in :func:`raw_transaction`: SQL is written with ``?`` placeholders (numbered
``$n`` for asyncpg), rows go in with ``COPY`` on PostgreSQL and one ``executemany`` on SQLite
(:meth:`Raw.insert_rows`), and anything raised inside rolls the whole transaction back. As in
``store.candles``, do not call it inside a Tortoise ``in_transaction()`` block: it takes its
own connection (on SQLite, its lock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from store.backtest_results import numbered
from store.db import connection, is_postgres


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
