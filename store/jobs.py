"""The life cycle of every job row, whatever its kind (backtest, sweep, sync, replay...).

Each job table is a :class:`~store.models.jobs.JobRow`: ``status``, ``stage``, ``progress``,
``error``, the times and the lease. This module moves any of them along by kind name
(:func:`job_models` finds the tables through ``JobRow.job_kind``, so a new kind needs no edit
here); ``store.leases`` claims and fences them; each kind's own module creates its rows and
saves its results (which also ends them ``succeeded``).

Every transition is conditional on the current status (``UPDATE ... WHERE status IN
(...)``), so a cancel racing a finish cannot resurrect a job, and each returns whether it
happened. Ending a job ``failed`` or ``cancelled`` also removes whatever results it had
(``JobRow.clear_results``), so nothing partial remains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise.expressions import Q

from domain.jobs import ACTIVE, TERMINAL, RunStatus, Stage
from store.models import ALL_MODELS
from store.models.jobs import JobRow
from store.scope import OwnerScope, scoped

STATE_COLUMNS = ("id", "owner_id", "status", "stage", "progress", "error", "created_at",
                 "started_at", "finished_at")


@cache
def job_models() -> dict[str, type[JobRow]]:
    """Every job table by kind name (``backtest``, ``sweep``, ``sync``, ``replay``...)."""
    return {m.job_kind: m for m in ALL_MODELS if issubclass(m, JobRow) and m.job_kind}


def job_model(kind: str) -> type[JobRow]:
    try:
        return job_models()[kind]
    except KeyError:
        raise ValueError(f"unknown job kind {kind!r}") from None


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobState:
    """A job's life cycle as stored: what every kind has in common."""

    kind: str
    id: int
    owner_id: int
    status: RunStatus
    stage: Stage
    progress: float
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def eta_s(self, at: datetime | None = None) -> float | None:
        """Seconds left, extrapolated from the progress so far (None when it is not running or
        has made no progress yet)."""
        if self.status != RunStatus.RUNNING or self.started_at is None or self.progress <= 0:
            return None
        elapsed = max(0.0, ((at or now()) - self.started_at).total_seconds())
        return elapsed * (1.0 - self.progress) / self.progress


def stage_of(status: RunStatus, stage: str | None) -> Stage:
    """The stage a row reports: its stored one while it is active, ``done`` once it ended."""
    return Stage.DONE if status in TERMINAL else Stage(stage or Stage.QUEUED)


def state_of(kind: str, row: dict[str, Any]) -> JobState:
    status = RunStatus(row["status"])
    stage = stage_of(status, row.get("stage"))
    return JobState(kind, int(row["id"]), int(row["owner_id"]), status, stage,
                    float(row["progress"]), row["error"], row["created_at"], row["started_at"],
                    row["finished_at"])


async def get_state(kind: str, job_id: int, *, owner: OwnerScope) -> JobState | None:
    """The life cycle of job ``kind``/``job_id`` if ``owner`` may see it."""
    rows = await scoped(job_model(kind).filter(id=job_id), owner).values(*STATE_COLUMNS)
    return state_of(kind, rows[0]) if rows else None


async def set_progress(kind: str, job_id: int, fraction: float, stage: Stage | None = None,
                       **columns: Any) -> None:
    """Record how far a running job got (and its stage, and kind-specific ``columns``)."""
    changes: dict[str, Any] = {"progress": min(1.0, max(0.0, float(fraction))), **columns}
    if stage is not None:
        changes["stage"] = stage
    await job_model(kind).filter(id=job_id, status=RunStatus.RUNNING).update(**changes)


async def finish(kind: str, job_id: int, status: RunStatus, *, error: str | None = None,
                 lease: str | None = None, **columns: Any) -> bool:
    """An active job -> ``status`` (failed or cancelled; a kind's own save ends it
    succeeded), with ``error``; its results cleared. False when it had ended already. With a
    ``lease`` (``store.leases``), only while that attempt holds the running row."""
    if status not in TERMINAL:
        raise ValueError(f"{status} is not a terminal status")
    model = job_model(kind)
    query = model.filter(id=job_id, status__in=ACTIVE)
    if lease is not None:
        query = model.filter(id=job_id, status=RunStatus.RUNNING, lease=lease)
    changes: dict[str, Any] = {"status": status, "stage": Stage.DONE, "error": error,
                               "finished_at": now(), "lease": None, **columns}
    if status == RunStatus.SUCCEEDED:
        changes["progress"] = 1.0
    else:
        changes.update(model.abandoned_columns)
    changed = await query.update(**changes)
    if changed and status != RunStatus.SUCCEEDED:
        await model.clear_results(job_id)
    return bool(changed)


@dataclass(frozen=True)
class JobCursor:
    """Where a page of :func:`list_jobs` ended: the last job's creation time, kind and id."""

    created_at: datetime
    kind: str
    id: int


async def list_jobs(*, owner: OwnerScope, kinds: Sequence[str] | None = None,
                    statuses: Sequence[RunStatus] | None = None,
                    after: JobCursor | None = None,
                    limit: int = 20, before: JobCursor | None = None,
                    backward: bool = False) -> tuple[list[JobState], bool]:
    """Jobs of every kind (or ``kinds``), newest first (creation time, then kind, then id),
    at most ``limit`` after ``after``; and whether more follow. Each table is read once,
    with the same keyset condition and limit, and the pages merged. ``backward``: the
    ``limit`` jobs nearest before ``before`` (conditions and order reversed, the page put back
    newest first), and whether more precede them."""
    wanted = list(kinds) if kinds is not None else sorted(job_models())
    found: list[JobState] = []
    order = ("created_at", "id") if backward else ("-created_at", "-id")
    for kind in wanted:
        query = scoped(job_model(kind).all(), owner)
        if statuses:
            query = query.filter(status__in=list(statuses))
        if after is not None:
            query = query.filter(_after(kind, after))
        if before is not None:
            query = query.filter(_before(kind, before))
        rows = await query.order_by(*order).limit(limit + 1).values(*STATE_COLUMNS)
        found.extend(state_of(kind, r) for r in rows)
    found.sort(key=lambda s: (s.created_at, s.kind, s.id), reverse=not backward)
    page = found[:limit]
    if backward:
        page.reverse()
    return page, len(found) > limit


def _before(kind: str, before: JobCursor) -> Q:
    """The rows of ``kind`` that sort before the cursor (newer: creation time, kind, id)."""
    later = Q(created_at__gt=before.created_at)
    if kind > before.kind:
        return Q(created_at__gte=before.created_at)
    if kind == before.kind:
        return later | Q(created_at=before.created_at, id__gt=before.id)
    return later


def _after(kind: str, after: JobCursor) -> Q:
    """The rows of ``kind`` that sort after the cursor (creation time, kind, id; all
    descending)."""
    earlier = Q(created_at__lt=after.created_at)
    if kind < after.kind:
        return Q(created_at__lte=after.created_at)
    if kind == after.kind:
        return earlier | Q(created_at=after.created_at, id__lt=after.id)
    return earlier


async def count_jobs(*, owner: OwnerScope, kinds: Sequence[str] | None = None,
                     statuses: Sequence[RunStatus] | None = None) -> int:
    total = 0
    for kind in (list(kinds) if kinds is not None else sorted(job_models())):
        query = scoped(job_model(kind).all(), owner)
        if statuses:
            query = query.filter(status__in=list(statuses))
        total += await query.count()
    return total


async def status_counts() -> dict[tuple[str, str], int]:
    """How many rows of every job table (every owner) are in each status, by ``(kind,
    status)``: one grouped count per table (``/metrics``' ``backtest_jobs``)."""
    from tortoise.functions import Count

    counts: dict[tuple[str, str], int] = {}
    for kind, model in sorted(job_models().items()):
        rows = await (model.all().annotate(n=Count("id")).group_by("status")
                      .values_list("status", "n"))
        for status, n in rows:
            counts[(kind, str(getattr(status, "value", status)))] = int(n)
    return counts
