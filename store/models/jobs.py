"""The columns every job row shares: its life cycle and its lease."""

from __future__ import annotations

from typing import Any, ClassVar

from tortoise import fields
from tortoise.models import Model

from domain.jobs import RunStatus, Stage


class JobRow(Model):
    """A job's life cycle and lease (``store.jobs`` moves it, ``store.leases`` leases it).

    Each concrete job model names its kind in ``job_kind`` (``backtest``, ``sweep``...):
    ``store.jobs.job_models`` finds every job table through it, so a new kind of job needs no
    edit of a shared table. It also has an ``owner`` foreign key of its own (each with its
    ``related_name``).
    """

    job_kind: ClassVar[str] = ""
    abandoned_columns: ClassVar[dict[str, Any]] = {}
    """Columns reset when the job ends failed or cancelled (its partial results)."""

    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.QUEUED)
    stage = fields.CharEnumField(Stage, max_length=16, default=Stage.QUEUED)
    progress = fields.FloatField(default=0.0)  # 0..1, over every stage
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # The job's lease (store.leases): the attempt that runs it, its last heartbeat, attempts.
    lease = fields.CharField(max_length=64, null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        abstract = True

    @classmethod
    async def clear_results(cls, job_id: int) -> None:
        """Remove the rows of other tables that hold the results of a job that did not
        succeed (none by default)."""
