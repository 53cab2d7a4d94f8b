"""The registry of job kinds: what each kind of job is, declared once.

A kind (:class:`JobKind`) names its row table (``store.models``: the ``JobRow`` whose
``job_kind`` is the kind's name), its body (load -> compute -> save, run by
``tasks.jobs.lifecycle.run_job`` inside the shared life cycle), its Celery queue, the weights of
its progress stages, and how a late subscriber gets its results (``state_fields``). Everything
else, from the queued row to the terminal event (leases, heartbeats, fencing, retries,
recovery, cancel, events, progress and ETA), is shared and lives in ``tasks.jobs`` and
``tasks.execution`` once for every kind, on both executors.

Each kind is a module of ``tasks.jobs.kinds`` that calls :func:`register`; the package is
imported on first use, so adding a kind means adding one module there (and its row model in
``store.models``, and its GraphQL type in ``graph``), with no edit of a shared table.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain.jobs import Stage

if TYPE_CHECKING:
    from tasks.jobs.lifecycle import JobRun
    from tasks.jobs.split import SplitKind

Body = Callable[["JobRun"], Awaitable[dict[str, Any] | None]]
StateFields = Callable[[int], Awaitable[dict[str, Any]]]

DEFAULT_STAGES: Mapping[Stage, float] = {Stage.LOADING: 0.3, Stage.COMPUTING: 0.6,
                                         Stage.SAVING: 0.1}


async def no_state_fields(job_id: int) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class JobKind:
    """One kind of job (see the module docstring).

    ``body`` loads, computes and saves (the save ends the row ``succeeded``, fenced by the
    lease) and returns the fields of the ``done`` event, or None when the row was ended by
    someone else meanwhile. ``stages``: the weights of the running stages in the overall
    fraction. ``state_fields(job_id)``: the result fields of a succeeded job's state event,
    for a subscriber that joins after the live events expired. ``uses_slot``: whether it
    waits for one of the in-process executor's ``JOB_SLOTS`` (CPU-bound work) or starts at
    once (network-bound, like a market sync). ``cancelled_error``: the message a cancelled
    job keeps (None: none). ``split``: how Celery workers run it in parts (sweeps), if it can
    be split.
    """

    name: str
    queue: str
    body: Body
    stages: Mapping[Stage, float] = field(default_factory=lambda: dict(DEFAULT_STAGES))
    state_fields: StateFields = no_state_fields
    uses_slot: bool = True
    cancelled_error: str | None = None
    split: SplitKind | None = None
    description: str = ""


_KINDS: dict[str, JobKind] = {}
_loaded = False


def register(kind: JobKind) -> JobKind:
    """Add ``kind`` to the registry (its module calls this on import)."""
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"job kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind
    return kind


def _load() -> None:
    global _loaded
    if not _loaded:
        from tasks.jobs import kinds

        for module in pkgutil.iter_modules(kinds.__path__):
            importlib.import_module(f"{kinds.__name__}.{module.name}")
        _loaded = True


def job_kinds() -> dict[str, JobKind]:
    """Every registered kind by name."""
    _load()
    return dict(_KINDS)


def job_kind(name: str) -> JobKind:
    """The kind called ``name``; ``ValueError`` for an unknown one."""
    _load()
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}; one of {', '.join(sorted(_KINDS))}") \
            from None
