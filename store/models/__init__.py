"""Every Tortoise model of the product, one module per concern.

Times of market events (candles, trades, ranges) are UTC milliseconds in BIGINT columns, as
everywhere in the system; bookkeeping times (created, started, finished) are timezone-aware
datetimes. The schema is created and changed only by the migrations in ``migrations/``
(``tortoise makemigrations`` after editing a model; see ``store/db.py``).

``market_data`` is written and read in bulk by :mod:`store.candles` with raw SQL, never through
these model objects row by row; :class:`MarketData` exists so the migrations own its schema.

The first line of each model's docstring becomes its table comment: keep ";" out of it (Tortoise's
SQLite migration runner splits statements on semicolons). In ``Meta.indexes`` name foreign keys
by their column (``owner_id``). Job rows (backtests, sweeps, syncs, replays) share the columns
of the abstract :class:`~store.models.jobs.JobRow`.
"""

from __future__ import annotations

from tortoise.models import Model

from domain.jobs import RunStatus, Stage
from store.models.accounts import (
    AccessToken,
    AuditLog,
    AuthSession,
    ExchangeCredential,
    RefreshToken,
    Role,
    TokenScope,
    User,
)
from store.models.exchange_imports import ExchangeImport
from store.models.jobs import JobRow
from store.models.market import CandleBlock, CandleSeriesVersion, MarketData, SyncJob
from store.models.runs import Backtest, PerformanceSummary, SweepChunk, SweepRun
from store.models.strategies import Strategy
from store.models.transactions import ReplayExecution, TransactionImport, TransactionRecord

ALL_MODELS: tuple[type[Model], ...] = (
    User, AccessToken, ExchangeCredential, Strategy, Backtest, SweepRun, SweepChunk, SyncJob,
    PerformanceSummary, MarketData, TransactionImport, TransactionRecord, ReplayExecution,
    AuditLog, CandleBlock, CandleSeriesVersion, AuthSession, RefreshToken, ExchangeImport,
)
__models__ = ALL_MODELS

__all__ = [
    "ALL_MODELS",
    "AccessToken",
    "AuditLog",
    "AuthSession",
    "Backtest",
    "CandleBlock",
    "CandleSeriesVersion",
    "ExchangeCredential",
    "ExchangeImport",
    "JobRow",
    "MarketData",
    "PerformanceSummary",
    "RefreshToken",
    "ReplayExecution",
    "Role",
    "RunStatus",
    "Stage",
    "Strategy",
    "SweepChunk",
    "SweepRun",
    "SyncJob",
    "TokenScope",
    "TransactionImport",
    "TransactionRecord",
    "User",
]
