"""Replay executions: create them, move them through their life cycle, read them.

Life cycle as for backtests (``store.backtests``): ``queued`` -> ``running`` (claimed under a
lease, ``store.leases``) -> ``succeeded`` (``store.replay_results.save_replay``: everything in
one transaction) or ``failed`` / ``cancelled``. Every transition is conditional on the current
status, and ending a run as failed or cancelled clears any result, so nothing partial remains.

Reads take ``owner`` (``store.scope``); another owner's replay is reported
missing, as an unknown id is. Records leave the result arrays out (``store.replay_results``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.jobs import TERMINAL, Stage
from store.jobs import stage_of
from store.keyset import id_desc, page_of
from store.models import Backtest, ReplayExecution, RunStatus
from store.scope import ALL_OWNERS, OwnerScope, scoped
from store.trade_list import trade_records

SOURCES = ("transactions", "backtest")
_BLOBS = ("curves", "fill_records", "trade_records")
# plain columns without the blobs (db_fields holds the foreign keys' columns only once Tortoise
# is initialised, and this module may be imported before or after)
_COLUMNS = tuple(dict.fromkeys(("owner_id", "backtest_id", *sorted(
    f for f in ReplayExecution._meta.db_fields if f not in _BLOBS))))


@dataclass(frozen=True)
class NewReplay:
    """What to replay: the owner's transactions of ``symbol`` (``source`` ``transactions``;
    ``parameters["import_ids"]`` limits them to some batches) or the trades of a backtest,
    on the candles of ``exchange``/``symbol``/``timeframe`` over ``[start_ms, end_ms)``.
    ``parameters`` holds the what-if model (``fill``, ``fee_rate``, ``slippage_rate``,
    ``delay_bars``)."""

    owner_id: int
    source: str
    backtest_id: int | None
    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    initial_capital: float
    parameters: dict[str, Any]
    risk_free_rate: float = 0.0


@dataclass(frozen=True)
class ReplayRecord:
    id: int
    owner_id: int
    source: str
    backtest_id: int | None
    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    initial_capital: float
    risk_free_rate: float
    parameters: dict[str, Any]
    status: RunStatus
    progress: float
    error: str | None
    result: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    stage: Stage  # done once it has ended (store.jobs.stage_of)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def import_ids(self) -> list[int]:
        return [int(i) for i in self.parameters.get("import_ids") or []]


def _record(r: dict[str, Any]) -> ReplayRecord:
    return ReplayRecord(
        r["id"], r["owner_id"], r["source"], r["backtest_id"], r["exchange"], r["symbol"] or "",
        r["timeframe"], int(r["range_start_ms"]), int(r["range_end_ms"]),
        float(r["initial_capital"]), float(r["risk_free_rate"]), dict(r["parameters"] or {}),
        RunStatus(r["status"]), float(r["progress"]), r["error"], r["result"], r["created_at"],
        r["started_at"], r["finished_at"],
        stage=stage_of(RunStatus(r["status"]), r.get("stage")))


def _now() -> datetime:
    return datetime.now(UTC)


async def create_replay(new: NewReplay) -> ReplayRecord:
    """A ``queued`` replay of ``new``."""
    if new.source not in SOURCES:
        raise ValueError(f"unknown replay source {new.source!r}")
    row = await ReplayExecution.create(
        owner_id=new.owner_id, source=new.source, backtest_id=new.backtest_id,
        exchange=new.exchange, symbol=new.symbol, timeframe=new.timeframe,
        range_start_ms=new.start_ms, range_end_ms=new.end_ms,
        initial_capital=new.initial_capital, risk_free_rate=new.risk_free_rate,
        parameters=new.parameters)
    found = await get_replay(row.id, owner=new.owner_id)
    assert found is not None
    return found


async def get_replay(replay_id: int, *, owner: OwnerScope) -> ReplayRecord | None:
    """The replay with that id if ``owner`` may see it."""
    query = scoped(ReplayExecution.filter(id=replay_id), owner)
    rows = await query.values(*_COLUMNS)
    return _record(rows[0]) if rows else None


async def get_replays(ids: Sequence[int], *, owner: OwnerScope) -> list[ReplayRecord]:
    """The replays with these ids that ``owner`` may see, in the order of ``ids``."""
    if not ids:
        return []
    query = scoped(ReplayExecution.filter(id__in=list(ids)), owner)
    by_id = {r["id"]: _record(r) for r in await query.values(*_COLUMNS)}
    return [by_id[i] for i in ids if i in by_id]


async def list_replays(*, owner: OwnerScope, after_id: int | None = None,
                       limit: int = 20, before_id: int | None = None,
                       backward: bool = False) -> tuple[list[ReplayRecord], bool]:
    """Newest first (by id): at most ``limit`` records with ``id < after_id``, and whether
    more follow (``backward``: those nearest above ``before_id``, ``store.keyset``)."""
    query = id_desc(scoped(ReplayExecution.all(), owner), after_id=after_id,
                    before_id=before_id, backward=backward)
    rows, more = page_of(await query.limit(limit + 1).values(*_COLUMNS), limit, backward)
    return [_record(r) for r in rows], more






async def backtest_trades(backtest_id: int
                          ) -> tuple[npt.NDArray[np.void], dict[str, Any], dict[str, Any]] | None:
    """A succeeded backtest's trades (``TRADE_DTYPE``, in order), its strategy snapshot and
    parameter values; None when it does not exist or has not succeeded."""
    found = await Backtest.filter(id=backtest_id, status=RunStatus.SUCCEEDED).values_list(
        "strategy_snapshot", "parameters")
    if not found:
        return None
    # the job runner's read, for the backtest's owner
    trades = await trade_records(backtest_id, owner=ALL_OWNERS)
    snapshot, params = found[0]
    return trades, dict(snapshot), dict(params or {})
