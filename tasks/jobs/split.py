"""Jobs that Celery workers run in parts (a sweep's chunks), declared by their kind.

A kind with a :class:`SplitKind` (``tasks.jobs.registry.JobKind.split``) is started on a
worker by ``start``: it claims the queued row, cuts the work into parts (JSON objects) and
hands those not done yet to ``dispatch`` (a Celery group of ``job.part`` tasks), without
holding the row while they run. Each part runs ``run_part``; the last one to finish saves the
merged result and publishes ``done``. The in-process executor ignores this and runs the
kind's body in one piece.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.settings import Settings
    from tasks.jobs.lease import JobOptions
    from tasks.jobs.lifecycle import CandleReader
    from tasks.messaging.broadcast import Broadcaster

Part = dict[str, Any]
Dispatch = Callable[[list[Part]], Awaitable[None]]


@dataclass(frozen=True)
class SplitKind:
    start: Callable[[int, Broadcaster, JobOptions, Settings, Dispatch], Awaitable[list[Part]]]
    run_part: Callable[[int, Part, Broadcaster, JobOptions, CandleReader], Awaitable[None]]
