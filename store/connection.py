"""The default database connection, for the modules that run SQL of their own.

Kept apart from ``store.db`` (which connects, migrates and describes the database, and so
imports those modules, e.g. ``store.owner_versions`` to install its triggers) so that they can
use the connection without importing ``store.db`` back. ``store.db`` re-exports both names.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection


def connection() -> BaseDBAsyncClient:
    """Tortoise's client of the default connection (use ``acquire_connection()`` for the
    driver's own connection: asyncpg's or aiosqlite's)."""
    return get_connection("default")


def is_postgres(client: BaseDBAsyncClient | None = None) -> bool:
    """Whether ``client`` (default: :func:`connection`) talks to PostgreSQL (else SQLite)."""
    return (client or connection()).capabilities.dialect == "postgres"
