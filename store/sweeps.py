"""Parameter sweeps: one job per sweep, its result a ranked table kept as JSON.

Life cycle as for backtests (``store.backtests``): ``queued`` -> ``running`` -> ``succeeded`` /
``failed`` / ``cancelled``, every transition conditional on the current status. The ranked
table (``[{"rank", "params", "metrics"}, ...]``, best first; metrics that are not finite are
null) is written with the status flip in one statement, so a failed sweep has no table.

Reads take ``owner`` (``store.scope``); another owner's sweep is reported
missing, as an unknown id is. Records leave the table out; :func:`sweep_table` reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from domain.jobs import TERMINAL, Stage
from store.jobs import stage_of
from store.keyset import id_desc, page_of
from store.models import RunStatus, SweepChunk, SweepRun
from store.scope import OwnerScope, scoped

# plain columns (db_fields leaves out the foreign keys), without the result blob
_COLUMNS = ("owner_id", "strategy_id",
            *sorted(f for f in SweepRun._meta.db_fields if f != "result"))


@dataclass(frozen=True)
class NewSweep:
    owner_id: int
    strategy_id: int | None
    document: dict[str, Any]
    grid: dict[str, list[float]]  # parameter -> its values
    rank_by: str
    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    n_combinations: int


@dataclass(frozen=True)
class SweepRecord:
    id: int
    owner_id: int
    strategy_id: int | None
    strategy_snapshot: dict[str, Any]
    grid: dict[str, Any]
    rank_by: str
    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    n_combinations: int
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


def _record(r: dict[str, Any]) -> SweepRecord:
    return SweepRecord(
        r["id"], r["owner_id"], r["strategy_id"], r["strategy_snapshot"], r["grid"], r["rank_by"],
        r["exchange"], r["symbol"], r["timeframe"], int(r["range_start_ms"]),
        int(r["range_end_ms"]), int(r["n_combinations"]), RunStatus(r["status"]),
        float(r["progress"]), r["error"], r["created_at"], r["started_at"], r["finished_at"],
        stage=stage_of(RunStatus(r["status"]), r.get("stage")))


def _now() -> datetime:
    return datetime.now(UTC)


async def create_sweep(new: NewSweep) -> SweepRecord:
    """A ``queued`` sweep of ``new``."""
    row = await SweepRun.create(
        owner_id=new.owner_id, strategy_id=new.strategy_id, strategy_snapshot=new.document,
        grid=new.grid, rank_by=new.rank_by, exchange=new.exchange, symbol=new.symbol,
        timeframe=new.timeframe, range_start_ms=new.start_ms, range_end_ms=new.end_ms,
        n_combinations=new.n_combinations)
    found = await get_sweep(row.id, owner=new.owner_id)
    assert found is not None
    return found


async def get_sweep(sweep_id: int, *, owner: OwnerScope) -> SweepRecord | None:
    """The sweep with that id if ``owner`` may see it."""
    query = scoped(SweepRun.filter(id=sweep_id), owner)
    rows = await query.values(*_COLUMNS)
    return _record(rows[0]) if rows else None


async def get_sweeps(ids: Sequence[int], *, owner: OwnerScope) -> list[SweepRecord]:
    """The sweeps with these ids that ``owner`` may see, in the order of ``ids``."""
    if not ids:
        return []
    query = scoped(SweepRun.filter(id__in=list(ids)), owner)
    by_id = {r["id"]: _record(r) for r in await query.values(*_COLUMNS)}
    return [by_id[i] for i in ids if i in by_id]


async def list_sweeps(*, owner: OwnerScope, after_id: int | None = None,
                      limit: int = 20, before_id: int | None = None,
                      backward: bool = False) -> tuple[list[SweepRecord], bool]:
    """Newest first (by id, i.e. creation order), those with ``id < after_id``: at most
    ``limit`` records and whether more follow (``backward``: those nearest above
    ``before_id``, ``store.keyset``)."""
    query = id_desc(scoped(SweepRun.all(), owner), after_id=after_id, before_id=before_id,
                    backward=backward)
    rows, more = page_of(await query.limit(limit + 1).values(*_COLUMNS), limit, backward)
    return [_record(r) for r in rows], more


async def sweep_table(sweep_id: int) -> list[dict[str, Any]] | None:
    """The ranked table of a succeeded sweep (None before)."""
    rows = await SweepRun.filter(id=sweep_id).values_list("result", flat=True)
    return list(rows[0]) if rows and rows[0] is not None else None




async def save_table(sweep_id: int, rows: list[dict[str, Any]], lease: str | None = None) -> bool:
    """Store the ranked table and mark the sweep ``succeeded``; False when it was no longer
    running (nothing written). With a ``lease``, only while that attempt holds it."""
    query = SweepRun.filter(id=sweep_id, status=RunStatus.RUNNING)
    if lease is not None:
        query = query.filter(lease=lease)
    changed = await query.update(status=RunStatus.SUCCEEDED, result=rows, progress=1.0,
                                 error=None, finished_at=_now(), lease=None)
    if changed:
        await SweepChunk.filter(sweep_id=sweep_id).delete()
    return bool(changed)




async def save_chunk(sweep_id: int, chunk_index: int, rows: list[dict[str, Any]]) -> bool:
    """Keep the rows of one chunk of a running sweep (replacing a previous attempt's); False
    when the sweep is not running any more."""
    if not await SweepRun.filter(id=sweep_id, status=RunStatus.RUNNING).exists():
        return False
    async with in_transaction():
        await SweepChunk.filter(sweep_id=sweep_id, chunk_index=chunk_index).delete()
        await SweepChunk.create(sweep_id=sweep_id, chunk_index=chunk_index, rows=rows)
    return True


async def done_chunks(sweep_id: int) -> set[int]:
    """The indices of the chunks of ``sweep_id`` whose rows are kept."""
    found = await SweepChunk.filter(sweep_id=sweep_id).values_list("chunk_index", flat=True)
    return {int(str(i)) for i in found}


async def chunk_rows(sweep_id: int) -> list[dict[str, Any]]:
    """Every kept row of every chunk of ``sweep_id``."""
    out: list[dict[str, Any]] = []
    for rows in await SweepChunk.filter(sweep_id=sweep_id).values_list("rows", flat=True):
        out.extend(rows)
    return out
