"""The life cycle every job shares (backtests, sweeps, market syncs, replays...).

A job is created ``queued``, becomes ``running`` when a worker claims it, and ends
``succeeded``, ``failed`` or ``cancelled``; nothing leaves an ended status. While it runs it
goes through :class:`Stage` s: ``loading`` its inputs, ``computing``, ``saving`` its results.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a job is in its life cycle."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


class Stage(StrEnum):
    """What a job is doing: waiting, then loading its inputs, computing, saving its results;
    ``done`` once it has ended, whatever the outcome."""

    QUEUED = "queued"
    LOADING = "loading"
    COMPUTING = "computing"
    SAVING = "saving"
    DONE = "done"


ACTIVE: tuple[RunStatus, ...] = (RunStatus.QUEUED, RunStatus.RUNNING)
TERMINAL: tuple[RunStatus, ...] = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
