"""A change counter per owner of backtests, kept by the database itself.

``backtest_versions(owner_id, version)`` holds, for each owner, a number that changes in the
same transaction as any change to that owner's rows of ``backtests`` or
``performance_summaries``: an insert, an update (progress, status, heartbeat, a strategy
deleted under it: ``ON DELETE SET NULL``...) or a delete, whoever makes it (this process,
another API process, a Celery worker, a CLI command, a cascade, plain SQL). Triggers keep it, so
no writer can forget; the API's response cache (``graph.response_cache``) reads it to know
whether a cached answer built from those rows is still exact: :func:`owner_version`, one
primary-key lookup.

The triggers are not something Tortoise's migrations express, so :func:`install` (run by
``store.db.migrate`` after the migrations, every time; each step is idempotent) creates them:

- PostgreSQL: statement-level ``AFTER`` triggers with transition tables (one per event and
  table), which add 1 to the version of every owner the statement touched, in owner order (two
  statements touching the same owners lock their counters in the same order). A statement that
  changes no row changes no version; a ``TRUNCATE`` moves every owner's.
- SQLite: row-level ``AFTER`` triggers doing the same per row.

The cost is an upsert per writing statement (a running job records its progress at most once
a second). The counter row of an owner is locked from a write until its transaction ends, so
two transactions changing the same owner's backtests commit one after the other. Counters only
ever grow: never delete rows of this table (a counter back at an earlier value could match an
answer kept then).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from store.connection import connection, is_postgres

TABLE = "backtest_versions"
WATCHED = ("backtests", "performance_summaries")  # the tables whose changes count

_TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    owner_id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0
)"""

# PostgreSQL: the owners of a statement's rows, from a transition table (``new_rows`` or
# ``old_rows``; an update counts both, in case the owner itself changed).
_PG_OWNERS = {
    "backtests": "SELECT owner_id FROM {rows}",
    "performance_summaries": ("SELECT b.owner_id FROM {rows} r "
                              "JOIN backtests b ON b.id = r.backtest_id"),
}

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION {table}_{name}_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO {versions} AS v (owner_id, version)
        SELECT owner_id, 1 FROM ({new} UNION {old}) AS o
        WHERE owner_id IS NOT NULL GROUP BY owner_id ORDER BY owner_id
        ON CONFLICT (owner_id) DO UPDATE SET version = v.version + 1;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO {versions} AS v (owner_id, version)
        SELECT owner_id, 1 FROM ({new}) AS o
        WHERE owner_id IS NOT NULL GROUP BY owner_id ORDER BY owner_id
        ON CONFLICT (owner_id) DO UPDATE SET version = v.version + 1;
    ELSE
        INSERT INTO {versions} AS v (owner_id, version)
        SELECT owner_id, 1 FROM ({old}) AS o
        WHERE owner_id IS NOT NULL GROUP BY owner_id ORDER BY owner_id
        ON CONFLICT (owner_id) DO UPDATE SET version = v.version + 1;
    END IF;
    RETURN NULL;
END $$"""

_PG_BUMP_ALL = f"""
CREATE OR REPLACE FUNCTION {TABLE}_bump_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {TABLE} SET version = version + 1;
    RETURN NULL;
END $$"""

_PG_EVENTS = {
    "insert": "INSERT ON {table} REFERENCING NEW TABLE AS new_rows",
    "update": "UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "DELETE ON {table} REFERENCING OLD TABLE AS old_rows",
}

# SQLite: the owner of a row (``NEW`` or ``OLD``), with the 1 a new counter starts at.
_SQLITE_OWNER = {
    "backtests": "SELECT {row}.owner_id, 1 WHERE {row}.owner_id IS NOT NULL",
    "performance_summaries": "SELECT owner_id, 1 FROM backtests WHERE id = {row}.backtest_id",
}

_SQLITE_BUMP = (f"INSERT INTO {TABLE} (owner_id, version) {{select}} "
                "ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;")


def trigger_names(postgres: bool) -> list[tuple[str, str]]:
    """``(table, trigger)`` of every trigger :func:`install` creates."""
    events = ("insert", "update", "delete", "truncate") if postgres else (
        "insert", "update", "delete")
    return [(table, f"{table}_{TABLE}_{event}") for table in WATCHED for event in events]


def _pg_function(table: str) -> str:
    owners = _PG_OWNERS[table]
    return _PG_FUNCTION.format(table=table, name=TABLE, versions=TABLE,
                               new=owners.format(rows="new_rows"),
                               old=owners.format(rows="old_rows"))


def _pg_trigger(table: str, trigger: str) -> str:
    event = trigger.rsplit("_", 1)[1]
    if event == "truncate":  # no rows to look at: every owner's counter moves
        return (f"CREATE TRIGGER {trigger} AFTER TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {TABLE}_bump_all()")
    clause = _PG_EVENTS[event].format(table=table)
    return (f"CREATE TRIGGER {trigger} AFTER {clause} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {table}_{TABLE}_bump()")


def _sqlite_trigger(table: str, trigger: str) -> str:
    owner = _SQLITE_OWNER[table]
    event = trigger.rsplit("_", 1)[1]
    if event == "update" and table == "backtests":
        # the owner's counter, and the former owner's too if the owner itself changed
        body = (_SQLITE_BUMP.format(select=owner.format(row="NEW")) + " "
                + _SQLITE_BUMP.format(select=owner.format(row="OLD")
                                      + " AND OLD.owner_id IS NOT NEW.owner_id"))
    else:
        body = _SQLITE_BUMP.format(select=owner.format(row="OLD" if event == "delete"
                                                       else "NEW"))
    return (f"CREATE TRIGGER IF NOT EXISTS {trigger} AFTER {event.upper()} ON {table} "
            f"FOR EACH ROW BEGIN {body} END")


async def install() -> None:
    """Create the table, the functions and the missing triggers (idempotent, in one
    transaction on PostgreSQL; ``store.db.migrate`` runs it)."""
    client = connection()
    if not is_postgres(client):
        await client.execute_script(_TABLE_SQL)
        for table, trigger in trigger_names(False):
            await client.execute_script(_sqlite_trigger(table, trigger))
        return
    async with client.acquire_connection() as conn, conn.transaction():
        await conn.execute(_TABLE_SQL)
        await conn.execute(_PG_BUMP_ALL)
        for table in WATCHED:
            await conn.execute(_pg_function(table))
        for table, trigger in trigger_names(True):
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = $2::regclass",
                trigger, table)
            if not exists:
                await conn.execute(_pg_trigger(table, trigger))


async def installed() -> bool:
    """Whether this database has every trigger (one migrated before they existed has not:
    ``backtest db migrate`` adds them)."""
    client = connection()
    postgres = is_postgres(client)
    names = [trigger for _, trigger in trigger_names(postgres)]
    if postgres:
        sql = ("SELECT count(*) AS n FROM pg_trigger WHERE NOT tgisinternal AND tgname IN "
               f"({', '.join(f'${i + 1}' for i in range(len(names)))})")
    else:
        sql = ("SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name IN "
               f"({', '.join('?' * len(names))})")
    rows = await client.execute_query_dict(sql, names)
    return int(rows[0]["n"]) == len(names)


_SELECT_PG = f"SELECT owner_id, version FROM {TABLE} WHERE owner_id = ANY($1::int[])"


async def owner_versions(owner_ids: Sequence[int], conn: Any = None) -> dict[int, int]:
    """The change counter of each of ``owner_ids`` (0 before their first change), in one
    query (on PostgreSQL, on the driver connection ``conn`` when given)."""
    ids = sorted(set(owner_ids))
    if conn is not None:
        rows = await conn.fetch(_SELECT_PG, ids)
    else:
        client = connection()
        if is_postgres(client):
            async with client.acquire_connection() as held:
                rows = await held.fetch(_SELECT_PG, ids)
        else:
            rows = await client.execute_query_dict(
                f"SELECT owner_id, version FROM {TABLE} WHERE owner_id IN "
                f"({', '.join('?' * len(ids))})", ids)
    found = {int(r["owner_id"]): int(r["version"]) for r in rows}
    return {i: found.get(i, 0) for i in ids}


async def owner_version(owner_id: int) -> int:
    """The change counter of ``owner_id``'s backtests (0 before their first change)."""
    return (await owner_versions([owner_id]))[owner_id]


class VersionReader:
    """Reads counters for many concurrent callers with few queries (one reader per event
    loop; the API's response cache has one).

    A caller's owner joins the next query not yet sent, which goes out as soon as the
    previous one has answered: each answer is read after its caller asked (so a change
    committed before the request is always seen), and under load one query serves every
    request that arrived during the previous one. On PostgreSQL the queries run on one pool
    connection held while callers keep coming (released after :data:`LINGER_S` without any):
    taking a connection from the pool and giving it back costs asyncpg a reset round trip,
    about three times the lookup itself.
    """

    LINGER_S = 0.05

    def __init__(self) -> None:
        self._waiting: dict[int, list[asyncio.Future[int]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def version(self, owner_id: int) -> int:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._waiting.setdefault(owner_id, []).append(future)
        self._wake.set()
        if self._task is None:
            self._task = loop.create_task(self._serve())
        return await future

    async def _serve(self) -> None:
        respawn = True
        try:
            await asyncio.sleep(0)  # the callers of this turn of the loop join the first query
            if is_postgres(connection()):
                async with connection().acquire_connection() as conn:
                    while await self._more() and await self._read(conn):
                        pass
            else:
                while self._waiting and await self._read(None):
                    pass
        except asyncio.CancelledError:  # the loop is closing: so are its callers
            respawn = False
            self._fail(self._waiting, RuntimeError("the version read was interrupted"))
            self._waiting = {}
            raise
        except Exception as err:  # the connection failed: its callers have been told
            self._fail(self._waiting, err)
            self._waiting = {}
        finally:
            self._task = None
            if respawn and self._waiting:  # arrived while it was ending
                self._task = asyncio.get_running_loop().create_task(self._serve())

    async def _more(self) -> bool:
        """Whether callers are waiting, or come within LINGER_S."""
        if not self._waiting:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.LINGER_S)
        return bool(self._waiting)

    async def _read(self, conn: Any) -> bool:
        """Answer the waiting callers; False (they get the error) when the query failed."""
        batch, self._waiting = self._waiting, {}
        try:
            found = await owner_versions(list(batch), conn)
        except Exception as err:
            self._fail(batch, err)
            return False
        except BaseException:
            self._fail(batch, RuntimeError("the version read was interrupted"))
            raise
        for owner, futures in batch.items():
            for future in futures:
                if not future.done():
                    future.set_result(found[owner])
        return True

    @staticmethod
    def _fail(batch: dict[int, list[asyncio.Future[int]]], err: Exception) -> None:
        for futures in batch.values():
            for future in futures:
                if not future.done():
                    future.set_exception(err)
