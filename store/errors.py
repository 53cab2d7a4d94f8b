"""Expected failures of the store, with messages that say what to do.

They subclass ``domain.errors.DomainError`` so the CLI and the API map them like every other
expected failure (one line, no traceback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.errors import DomainError

if TYPE_CHECKING:
    from store.settings import Settings


class StoreError(DomainError):
    """Base class of the store's expected failures."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached or opened (server down, wrong URL, missing database)."""


class SchemaNotReady(StoreError):
    """The database is reachable but its tables are missing or behind the migrations."""


class UnsupportedDatabase(StoreError):
    """``DATABASE_URL`` names a backend the store does not support (only SQLite, PostgreSQL)."""


def unreachable_message(settings: Settings, err: BaseException) -> str:
    """What to say when the database of ``settings`` cannot be reached or opened."""
    url = settings.safe_database_url
    if settings.backend == "sqlite":
        return (f"cannot open the SQLite database {url}: {err}. Check that its folder is "
                "writable, or set DATABASE_URL to another location")
    return (f"cannot connect to the database at {url}: {err}. Start PostgreSQL (or fix "
            "DATABASE_URL), create the database if it does not exist, and retry; unset "
            "DATABASE_URL to use the local SQLite file instead")
