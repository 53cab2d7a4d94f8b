"""Backtest runs: create them, move them through their life cycle, read them.

Life cycle: :func:`create_backtest` (``queued``), then as every job (``store.jobs``, claimed
under a lease by ``store.leases``) until ``store.backtest_results.save_results`` (``succeeded``,
results in one transaction) or ``store.jobs.finish`` (failed or cancelled, results removed).

Reads are owner-scoped (``owner``: ``store.scope``); records leave out the
equity curve blob. Lists, sorting and cursors are in :mod:`store.backtest_list`, results in
:mod:`store.backtest_results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from domain.jobs import TERMINAL, RunStatus, Stage
from store.jobs import stage_of
from store.models import Backtest
from store.scope import OwnerScope, scoped

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
    stage: Stage  # done once it has ended (store.jobs.stage_of)

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
        row["error"], row["created_at"], row["started_at"], row["finished_at"],
        stage=stage_of(RunStatus(row["status"]), row.get("stage")))



async def create_backtest(new: NewBacktest) -> BacktestRecord:
    """A ``queued`` backtest of ``new``."""
    row = await Backtest.create(
        owner_id=new.owner_id, strategy_id=new.strategy_id, strategy_snapshot=new.document,
        parameters=new.parameters, exchange=new.exchange, symbol=new.symbol,
        timeframe=new.timeframe, range_start_ms=new.start_ms, range_end_ms=new.end_ms,
        initial_capital=new.initial_capital, risk_free_rate=new.risk_free_rate)
    found = await get_backtest(row.id, owner=new.owner_id)
    assert found is not None
    return found


async def get_backtest(backtest_id: int, *, owner: OwnerScope) -> BacktestRecord | None:
    """The backtest with that id if ``owner`` may see it."""
    rows = await get_backtests([backtest_id], owner=owner)
    return rows[0] if rows else None


async def get_backtests(ids: Sequence[int], *, owner: OwnerScope) -> list[BacktestRecord]:
    """The backtests with these ids that ``owner`` may see, in the order of ``ids``."""
    if not ids:
        return []
    query = scoped(Backtest.filter(id__in=list(ids)), owner)
    by_id = {r["id"]: _record(r) for r in await query.values(*_COLUMNS)}
    return [by_id[i] for i in ids if i in by_id]


class BacktestActive(Exception):
    """The backtest is queued or running: it cannot be deleted before it ends."""

    def __init__(self, record: BacktestRecord) -> None:
        super().__init__(f"backtest {record.id} is {record.status.value}")
        self.record = record


async def delete_backtest(backtest_id: int, *, owner: OwnerScope) -> BacktestRecord | None:
    """Delete a finished (succeeded, failed or cancelled) backtest with everything stored
    with it (its summary and trades go with the row); the record as it was, or None when it
    does not exist or ``owner`` may not see it. A queued or running one is left alone:
    :class:`BacktestActive` (cancel it first). Replays of it keep their results (their link
    to it turns null)."""
    async with in_transaction():
        found = await get_backtest(backtest_id, owner=owner)
        if found is None:
            return None
        if not found.is_terminal:
            raise BacktestActive(found)
        # an ended run never starts again: a row missing here was deleted meanwhile
        deleted = await Backtest.filter(id=backtest_id, status__in=list(TERMINAL)).delete()
    return found if deleted else None
