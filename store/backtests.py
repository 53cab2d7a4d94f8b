"""Backtest runs: create them, move them through their life cycle, read them.

Life cycle: :func:`create_backtest` (``queued``) -> :func:`mark_running` -> :func:`set_progress`
... -> ``store.backtest_results.save_results`` (``succeeded``, results in one transaction) or
:func:`mark_failed` / :func:`mark_cancelled`. Every transition is conditional on the current
status (``UPDATE ... WHERE status IN (...)``), so a cancel racing a finish cannot resurrect a
run, and each returns whether it happened. Ending a run as failed or cancelled also removes
any result row, so nothing partial can remain.

Reads are owner-scoped (``owner_id=None``: any owner, for admins); records leave out the
equity curve blob. Lists, sorting and cursors are in :mod:`store.backtest_list`, results in
:mod:`store.backtest_results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.models import Backtest, PerformanceSummary, RunStatus, Trade

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
TERMINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
# plain columns (db_fields leaves out the foreign keys), without the equity_curve blob
_COLUMNS = ("owner_id", "strategy_id",
            *sorted(f for f in Backtest._meta.db_fields if f != "equity_curve"))


@dataclass(frozen=True)
class NewBacktest:
    """What to run: the strategy document exactly as it will run, its parameter values, the
    market and the range ``[start_ms, end_ms)``."""

    owner_id: int
    strategy_id: int | None
    document: dict[str, Any]
    parameters: dict[str, float]
    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    initial_capital: float
    risk_free_rate: float = 0.0


@dataclass(frozen=True)
class BacktestRecord:
    id: int
    owner_id: int
    strategy_id: int | None
    strategy_snapshot: dict[str, Any]
    parameters: dict[str, Any]
    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    initial_capital: float
    risk_free_rate: float
    status: RunStatus
    progress: float
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


def record_columns(alias: str) -> str:
    """The SELECT list of a raw SQL query whose rows :func:`records_from_raw` reads
    (``alias``: the backtests table's alias in that query)."""
    return ", ".join(f"{alias}.{c}" for c in ("id", *_COLUMNS))


def records_from_raw(rows: Sequence[dict[str, Any]]) -> list[BacktestRecord]:
    """The records of raw SQL rows selected with :func:`record_columns`, converted as
    Tortoise's ``values()`` would (JSON text, and SQLite's datetime text, become objects)."""
    meta = Backtest._meta
    native = {name for _, name, _ in meta.db_native_fields}
    converters = [(name, meta.fields_map[name].to_python_value) for name in _COLUMNS
                  if name not in native and name in meta.fields_map]
    out = []
    for row in rows:
        for name, convert in converters:
            row[name] = convert(row[name])
        out.append(_record(row))
    return out


def _record(row: dict[str, Any]) -> BacktestRecord:
    return BacktestRecord(
        row["id"], row["owner_id"], row["strategy_id"], row["strategy_snapshot"],
        row["parameters"], row["exchange"], row["symbol"], row["timeframe"],
        int(row["range_start_ms"]), int(row["range_end_ms"]), float(row["initial_capital"]),
        float(row["risk_free_rate"]), RunStatus(row["status"]), float(row["progress"]),
        row["error"], row["created_at"], row["started_at"], row["finished_at"])


def _now() -> datetime:
    return datetime.now(UTC)


async def create_backtest(new: NewBacktest) -> BacktestRecord:
    """A ``queued`` backtest of ``new``."""
    row = await Backtest.create(
        owner_id=new.owner_id, strategy_id=new.strategy_id, strategy_snapshot=new.document,
        parameters=new.parameters, exchange=new.exchange, symbol=new.symbol,
        timeframe=new.timeframe, range_start_ms=new.start_ms, range_end_ms=new.end_ms,
        initial_capital=new.initial_capital, risk_free_rate=new.risk_free_rate)
    found = await get_backtest(row.id)
    assert found is not None
    return found


async def get_backtest(backtest_id: int, owner_id: int | None = None) -> BacktestRecord | None:
    """The backtest with that id if ``owner_id`` owns it (``None``: any owner)."""
    rows = await get_backtests([backtest_id], owner_id)
    return rows[0] if rows else None


async def get_backtests(ids: Sequence[int], owner_id: int | None = None) -> list[BacktestRecord]:
    """The backtests with these ids (those ``owner_id`` owns), in the order of ``ids``."""
    if not ids:
        return []
    query = Backtest.filter(id__in=list(ids))
    if owner_id is not None:
        query = query.filter(owner_id=owner_id)
    by_id = {r["id"]: _record(r) for r in await query.values(*_COLUMNS)}
    return [by_id[i] for i in ids if i in by_id]


async def mark_running(backtest_id: int) -> BacktestRecord | None:
    """``queued`` -> ``running``; the record, or None when it was not queued (cancelled)."""
    changed = await Backtest.filter(id=backtest_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=_now(), progress=0.0)
    return await get_backtest(backtest_id) if changed else None


async def set_progress(backtest_id: int, fraction: float) -> None:
    """Record the fraction done of a running backtest."""
    await Backtest.filter(id=backtest_id, status=RunStatus.RUNNING).update(
        progress=min(1.0, max(0.0, float(fraction))))


async def mark_failed(backtest_id: int, error: str, lease: str | None = None) -> bool:
    """An active run -> ``failed`` with ``error``; False when it had already ended. With a
    ``lease`` (``store.leases``), only while that attempt holds the running row."""
    return await _finish(backtest_id, RunStatus.FAILED, error, lease)


async def mark_cancelled(backtest_id: int, lease: str | None = None) -> bool:
    """An active run -> ``cancelled``; False when it had already ended (``lease``: as above)."""
    return await _finish(backtest_id, RunStatus.CANCELLED, None, lease)


async def _finish(backtest_id: int, status: RunStatus, error: str | None,
                  lease: str | None) -> bool:
    query = Backtest.filter(id=backtest_id, status__in=ACTIVE)
    if lease is not None:
        query = Backtest.filter(id=backtest_id, status=RunStatus.RUNNING, lease=lease)
    changed = await query.update(status=status, error=error, finished_at=_now(), lease=None)
    if changed:  # nothing partial may remain (a save never commits partially; be thorough)
        await Trade.filter(backtest_id=backtest_id).delete()
        await PerformanceSummary.filter(backtest_id=backtest_id).delete()
    return bool(changed)


