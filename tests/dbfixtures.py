"""Database fixtures for every test package (registered in ``tests/conftest.py``): storage and
API tests run on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL is the server of the developers' guide: ``postgres://postgres@127.0.0.1:5432``
(trust auth; override with ``BACKTEST_TEST_PG_URL``, a URL without a database name). The session
creates its own database ``bt_test_<pid>_<random>``, migrates it once and drops it at the end,
even after failures. Each test starts from empty tables (TRUNCATE on PostgreSQL, a fresh copy
of a migrated SQLite file). An unreachable server FAILS the PostgreSQL tests, with a message
saying how to start it; ``BACKTEST_SKIP_PG=1`` skips them instead.

Tortoise keeps its state per context: the ``db`` fixture initialises it for one test and
always closes the connections afterwards (an open aiosqlite connection keeps a thread, and the
process, alive).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from store.db import close_db, init_db, migrate
from store.models import ALL_MODELS
from store.settings import Settings

BACKENDS = ("sqlite", "postgresql")
# Every migration, as ``models.<name>``, in order.
MIGRATIONS = [f"models.{p.stem}" for p in
              sorted((Path(__file__).resolve().parent.parent / "migrations").glob("[0-9]*.py"))]
PG_SERVER = os.environ.get("BACKTEST_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432")
SKIP_PG = os.environ.get("BACKTEST_SKIP_PG") == "1"


class PgServer:
    """Creates and drops the databases of one test session on the PostgreSQL server."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url.rstrip("/")
        self.prefix = f"bt_test_{os.getpid()}_{secrets.token_hex(3)}"
        self.created: list[str] = []
        self.error: str | None = None

    def url(self, name: str) -> str:
        return f"{self.server_url}/{name}"

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.url("postgres"), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def create(self, suffix: str = "") -> str:
        name = self.prefix + suffix
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop(self.url(name))


def _migrate_once(url: str) -> None:
    async def run() -> None:
        try:
            await migrate(Settings(database_url=url))
        finally:
            await close_db()

    asyncio.run(run())


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer(PG_SERVER)
    try:
        asyncio.run(server._admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        server.error = (f"PostgreSQL is not reachable at {PG_SERVER} ({err}): start it (see the "
                        "developers' guide), point BACKTEST_TEST_PG_URL at another server, or "
                        "set BACKTEST_SKIP_PG=1 to skip the PostgreSQL half of the store tests")
    try:
        yield server
    finally:
        server.drop_all()


def require_pg(server: PgServer) -> None:
    if SKIP_PG:
        pytest.skip("BACKTEST_SKIP_PG=1")
    if server.error:
        pytest.fail(server.error, pytrace=False)


@pytest.fixture(scope="session")
def pg_migrated(pg_server: PgServer) -> str:
    """URL of the session's migrated PostgreSQL database."""
    require_pg(pg_server)
    url = pg_server.create()
    _migrate_once(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("store") / "template.sqlite3"
    _migrate_once(f"sqlite://{path}")
    return path


async def _truncate(url: str) -> None:
    tables = ", ".join(f'"{m._meta.db_table}"' for m in ALL_MODELS)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database with empty tables, on each backend in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite://{path}"
    url: str = request.getfixturevalue("pg_migrated")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path,
              pg_server: PgServer) -> Iterator[str]:
    """A database with no tables at all (a new SQLite file, a new PostgreSQL database)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'sub' / 'empty.sqlite3'}"  # the folder does not exist yet
        return
    require_pg(pg_server)
    url = pg_server.create(f"_e{secrets.token_hex(2)}")
    try:
        yield url
    finally:
        pg_server.drop(url)


@pytest_asyncio.fixture
async def db(backend_url: str) -> AsyncIterator[Settings]:
    """Tortoise initialised on a migrated, empty database; closed after the test."""
    settings = Settings(database_url=backend_url)
    await init_db(settings)
    try:
        yield settings
    finally:
        await close_db()


@pytest_asyncio.fixture
async def pg_db(pg_migrated: str) -> AsyncIterator[Settings]:
    """Like ``db``, on PostgreSQL only (for its own write path and extras)."""
    await _truncate(pg_migrated)
    settings = Settings(database_url=pg_migrated)
    await init_db(settings)
    try:
        yield settings
    finally:
        await close_db()
