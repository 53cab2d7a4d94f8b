"""A job's state rebuilt from the database as an event (``seq`` 0), for a subscriber that
joins when the channel has no latest event (``tasks.messaging.events.follow``)."""

from __future__ import annotations

import time
from typing import Any

from domain.jobs import RunStatus
from store import jobs as store_jobs
from store.jobs import JobState
from store.scope import ALL_OWNERS
from tasks.jobs.registry import job_kind

_TERMINAL_KIND = {RunStatus.SUCCEEDED: "done", RunStatus.FAILED: "error",
                  RunStatus.CANCELLED: "cancelled"}


def state_event(state: JobState) -> dict[str, Any]:
    """A job's stored state as an event (``seq`` 0): terminal kinds for ended jobs."""
    event: dict[str, Any] = {"seq": 0, "kind": _TERMINAL_KIND.get(state.status, "status"),
                             "status": state.status.value, "stage": state.stage.value,
                             "progress": state.progress, "eta": state.eta_s(),
                             "at": time.time()}
    if state.error:
        event["error"] = state.error
    return event


async def stored_state(kind: str, job_id: int) -> dict[str, Any] | None:
    """Job ``kind``/``job_id``'s state as an event built from the database (with the kind's
    result fields once it succeeded: ``JobKind.state_fields``); None when it does not exist."""
    state = await store_jobs.get_state(kind, job_id, owner=ALL_OWNERS)
    if state is None:
        return None
    event = state_event(state)
    if state.status == RunStatus.SUCCEEDED:
        event.update(await job_kind(kind).state_fields(job_id))
    return event
