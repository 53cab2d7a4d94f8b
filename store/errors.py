"""Expected failures of the store, with messages that say what to do.

They subclass ``domain.errors.DomainError`` so the CLI and the API map them like every other
expected failure (one line, no traceback).
"""

from __future__ import annotations

from domain.errors import DomainError


class StoreError(DomainError):
    """Base class of the store's expected failures."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached or opened (server down, wrong URL, missing database)."""


class SchemaNotReady(StoreError):
    """The database is reachable but its tables are missing or behind the migrations."""


class UnsupportedDatabase(StoreError):
    """``DATABASE_URL`` names a backend the store does not support (only SQLite, PostgreSQL)."""
