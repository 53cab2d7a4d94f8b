"""A job's state rebuilt from the database as an event (``seq`` 0), for a subscriber that
joins when the channel has no latest event (``tasks.messaging.events.follow``)."""

from __future__ import annotations

import time
from typing import Any

from store import backtest_results as results_store
from store import backtests as store_backtests
from store import sweeps as store_sweeps
from store.models import RunStatus
from tasks.execution.compute import series_payload
from tasks.jobs.lifecycle import EVENT_TOP_ROWS, summary_payload

_TERMINAL_KIND = {RunStatus.SUCCEEDED: "done", RunStatus.FAILED: "error",
                  RunStatus.CANCELLED: "cancelled"}


def state_event(status: RunStatus, progress: float, error: str | None) -> dict[str, Any]:
    """A run's status as an event (``seq`` 0): terminal kinds for ended runs."""
    event: dict[str, Any] = {"seq": 0, "kind": _TERMINAL_KIND.get(status, "status"),
                             "status": status.value, "progress": progress, "at": time.time()}
    if error:
        event["error"] = error
    return event


async def stored_backtest_state(backtest_id: int) -> dict[str, Any] | None:
    """A backtest's state as an event (``seq`` 0) built from the database, for a late
    subscriber when the channel has no latest event (``tasks.messaging.events.follow``)."""
    record = await store_backtests.get_backtest(backtest_id)
    if record is None:
        return None
    event = state_event(record.status, record.progress, record.error)
    if record.status == RunStatus.SUCCEEDED:
        summary = (await results_store.summaries_for([backtest_id]))[0]
        curve = await results_store.equity_curve(backtest_id)
        if summary is not None:
            event["summary"] = summary_payload(summary.final_equity, summary.metrics)
        if curve is not None:
            event["equity"] = series_payload(*curve)
    return event


async def stored_sweep_state(sweep_id: int) -> dict[str, Any] | None:
    """Like :func:`stored_backtest_state`, for a sweep."""
    record = await store_sweeps.get_sweep(sweep_id)
    if record is None:
        return None
    event = state_event(record.status, record.progress, record.error)
    if record.status == RunStatus.SUCCEEDED:
        table = await store_sweeps.sweep_table(sweep_id) or []
        event.update(n_sets=record.n_combinations, top=table[:EVENT_TOP_ROWS])
    return event
