"""Connecting Tortoise, applying migrations, and describing the database.

Typical use (a CLI command, a worker, the API's lifespan)::

    await init_db()          # or init_db(Settings(...)); connects and checks the server
    ...                      # models and store.candles work from here on
    await close_db()

Migrations are Tortoise's built-in ones in the top-level ``migrations`` package. Create one
after editing ``store/models.py`` with::

    .venv/bin/tortoise -c store.tortoise_config.TORTOISE_ORM makemigrations --name what_changed

and apply them with ``backtest db migrate`` (or ``await migrate()``), which also sets up the
PostgreSQL extras of ``market_data``: a TimescaleDB hypertable with compression of old chunks
when the extension is available, otherwise a BRIN index on ``ts``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.exceptions import DBConnectionError
from tortoise.migrations.executor import MigrationExecutor

from store import owner_versions, pg_extras
from store.connection import connection, is_postgres
from store.errors import DatabaseUnavailable, UnsupportedDatabase, unreachable_message
from store.models import ALL_MODELS
from store.settings import Settings, get_settings

log = logging.getLogger(__name__)

APP_LABEL = "models"
MIGRATIONS_MODULE = "migrations"
MODELS_MODULE = "store.models"

__all__ = ["APP_LABEL", "MIGRATIONS_MODULE", "MODELS_MODULE", "active_settings", "close_db",
           "connection", "database", "db_info", "existing_tables", "init_db", "is_postgres",
           "is_transient_error", "migrate", "migration_state", "private_dir",
           "private_sqlite_files", "tortoise_config", "unreachable_message"]

_active: Settings | None = None
_last_backend: str | None = None


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """The Tortoise configuration for ``settings`` (one app, ``models``, with its migrations)."""
    if settings.backend not in ("sqlite", "postgresql"):
        raise UnsupportedDatabase(
            f"DATABASE_URL {settings.safe_database_url}: unsupported backend "
            f"{settings.backend!r}; use sqlite://PATH or postgres://USER@HOST:PORT/DB")
    return {
        "connections": {"default": settings.database_url},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """``path``, created (with its parents) readable by its owner only (0700) when missing: the
    data folder and the SQLite file's folder. An existing folder keeps its mode (it may be
    shared on purpose, e.g. a home directory)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    return path


def private_sqlite_files(path: Path) -> None:
    """The SQLite database ``path`` readable by its owner only (0600): created empty with that
    mode when missing (SQLite takes an empty file for a new database, and creates its
    ``-wal``, ``-shm`` and ``-journal`` files with the database's mode), or narrowed to it,
    with those side files, when it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        for file in (path, *(path.with_name(path.name + s) for s in SQLITE_SIDE_FILES)):
            try:
                if file.stat().st_mode & 0o077:
                    file.chmod(PRIVATE_FILE_MODE)
            except FileNotFoundError:
                continue
    else:
        os.close(fd)


def _sqlite_path(url: str) -> Path | None:
    path = url.split("://", 1)[1].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


async def init_db(settings: Settings | None = None, *, share_across_tasks: bool = False) -> None:
    """Initialise Tortoise for ``settings`` (default: :func:`get_settings`) and check that the
    database answers; raises :class:`DatabaseUnavailable` with the URL and what to do.

    ``share_across_tasks=True`` makes the connection visible to other asyncio tasks (an ASGI
    lifespan initialises it in one task and serves requests in others).
    """
    global _active, _last_backend
    settings = settings or get_settings()
    config = tortoise_config(settings)
    if _last_backend not in (None, settings.backend):
        # Tortoise caches each model's INSERT/DELETE SQL per connection *name* for the life of
        # the process; after switching dialects under the same name ("default": tests, tools
        # copying between databases) those statements would use the wrong placeholders.
        EXECUTOR_CACHE.clear()
    _last_backend = settings.backend
    if settings.backend == "sqlite" and (path := _sqlite_path(settings.database_url)):
        private_dir(path.parent)
        private_sqlite_files(path)
    await Tortoise.init(config=config, _enable_global_fallback=share_across_tasks)
    _active = settings
    try:
        await connection().execute_query("SELECT 1")
    except (OSError, asyncpg.PostgresError, DBConnectionError, sqlite3.Error) as err:
        await close_db()
        raise DatabaseUnavailable(unreachable_message(settings, err)) from err


async def close_db() -> None:
    """Close every connection opened since :func:`init_db` (safe to call twice)."""
    global _active
    await Tortoise.close_connections()
    _active = None


@asynccontextmanager
async def database(settings: Settings | None = None) -> AsyncIterator[Settings]:
    """``async with database(): ...``: :func:`init_db`, then always :func:`close_db` (an
    unclosed SQLite connection keeps its worker thread, and so the process, alive)."""
    await init_db(settings)
    try:
        yield active_settings()
    finally:
        await close_db()


def active_settings() -> Settings:
    """The settings :func:`init_db` was called with (raises if it was not)."""
    if _active is None:
        raise RuntimeError("the database is not initialised: call store.db.init_db() first")
    return _active


def _executor(settings: Settings) -> MigrationExecutor:
    return MigrationExecutor(connection(), tortoise_config(settings)["apps"])


async def migrate(settings: Settings | None = None) -> list[str]:
    """Apply the pending migrations (then the PostgreSQL extras of ``market_data`` and the
    change counters' triggers of ``store.owner_versions``) and return the names of those
    applied. Leaves the database initialised; call :func:`close_db` after. Running it again is
    a no-op."""
    await init_db(settings)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")
            log.info("applied migration %s.%s", app_label, name)

    await _executor(active_settings()).migrate(progress=progress)
    if is_postgres():
        async with connection().acquire_connection() as raw:
            await pg_extras.setup_market_data(raw)
            await pg_extras.setup_results(raw)
    await owner_versions.install()
    return applied


async def migration_state() -> tuple[list[str], list[str]]:
    """(applied, pending) migration names, as ``app.name``, in order."""
    executor = _executor(active_settings())
    applied = [f"{k.app_label}.{k.name}" for k in await executor.recorder.applied_migrations()]
    pending = [f"{s.migration.app_label}.{s.migration.name}"
               for s in await executor.plan() if not s.backward]
    return applied, pending


async def existing_tables() -> set[str]:
    client = connection()
    if is_postgres(client):
        sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return {row["name"] for row in await client.execute_query_dict(sql)}


async def db_info() -> dict[str, Any]:
    """What the database is and holds: ``backend`` (sqlite | postgresql), ``url`` (without
    password), ``server_version``, ``market_data_storage`` ("timescaledb hypertable",
    "plain table + BRIN index", "plain table" or "sqlite table"), ``timescaledb`` (PostgreSQL:
    "in use", "available, not in use ..." or "not installed ..."; SQLite: None), ``migrations``
    ({"applied": [...], "pending": [...]}) and ``tables`` (table name -> row count, None when the
    table does not exist yet)."""
    settings = active_settings()
    client = connection()
    postgres = is_postgres(client)
    version_sql = "SELECT version() AS v" if postgres else "SELECT sqlite_version() AS v"
    version = (await client.execute_query_dict(version_sql))[0]["v"]
    applied, pending = await migration_state()
    present = await existing_tables()
    counts: dict[str, int | None] = {}
    for model in ALL_MODELS:
        table = model._meta.db_table
        if table in present:
            rows = await client.execute_query_dict(f'SELECT count(*) AS n FROM "{table}"')
            counts[table] = int(rows[0]["n"])
        else:
            counts[table] = None
    timescaledb: str | None = None
    if postgres:
        async with client.acquire_connection() as raw:
            storage = await pg_extras.market_data_storage(raw)
            if storage == pg_extras.HYPERTABLE:
                timescaledb = "in use"
            elif await pg_extras.timescaledb_available(raw):
                timescaledb = ("available, not in use: `backtest db migrate` sets it up (it "
                               "needs timescaledb in shared_preload_libraries)")
            else:
                timescaledb = "not installed on this server"
    else:
        storage = "sqlite table"
    return {
        "backend": "postgresql" if postgres else "sqlite",
        "url": settings.safe_database_url,
        "server_version": str(version),
        "market_data_storage": storage,
        "timescaledb": timescaledb,
        "migrations": {"applied": applied, "pending": pending},
        "tables": counts,
    }


_TRANSIENT_PG = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                 asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError,
                 asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)


def is_transient_error(err: BaseException) -> bool:
    """Whether ``err`` (or what caused it) is the database being unreachable for a while (a
    connection lost or refused, the server restarting), as opposed to a bad query or data:
    worth retrying the job later."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (DatabaseUnavailable, DBConnectionError, ConnectionError,
                                TimeoutError, *_TRANSIENT_PG)):
            return True
        if isinstance(current, OSError) and not isinstance(current, FileNotFoundError):
            return True
        current = current.__cause__ or current.__context__
    return False
