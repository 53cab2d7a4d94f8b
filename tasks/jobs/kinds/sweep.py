"""The sweep job: one strategy over a grid of parameter sets, ranked by a metric.

Its row is ``store.models.SweepRun`` (created by ``tasks.jobs.submit.queue_sweep``). In one
piece (the in-process executor) it loads the candles, runs every set
(``tasks.execution.compute.compute_sweep``, reporting ``done``/``total`` sets) and saves the
ranked table; on Celery workers it runs in chunks (``tasks.jobs.sweep_chunks``). Its ``done``
event carries ``n_sets`` and ``top``, the best :data:`EVENT_TOP_ROWS` rows.
"""

from __future__ import annotations

from typing import Any

from domain.jobs import Stage
from store import sweeps as store_sweeps
from store.scope import ALL_OWNERS
from tasks.execution.compute import SweepTask, compute_sweep
from tasks.jobs import sweep_chunks
from tasks.jobs.lifecycle import JobRun
from tasks.jobs.registry import JobKind, register
from tasks.jobs.split import SplitKind

EVENT_TOP_ROWS = sweep_chunks.EVENT_TOP_ROWS


async def run(job: JobRun) -> dict[str, Any] | None:
    rec = await store_sweeps.get_sweep(job.job_id, owner=ALL_OWNERS)
    if rec is None:
        return None
    candles = await job.load_candles(rec)
    task = SweepTask(rec.strategy_snapshot, sweep_chunks.grid_of(rec), candles, rec.rank_by)
    out = await job.compute(compute_sweep, task)
    job.stage(Stage.SAVING)
    if not await store_sweeps.save_table(job.job_id, out.rows, lease=job.lease):
        return None
    return {"n_sets": out.n_sets, "top": out.rows[:EVENT_TOP_ROWS]}


async def state_fields(sweep_id: int) -> dict[str, Any]:
    """A succeeded sweep's results as event fields: its size and best rows."""
    rec = await store_sweeps.get_sweep(sweep_id, owner=ALL_OWNERS)
    table = await store_sweeps.sweep_table(sweep_id) or []
    return {"n_sets": 0 if rec is None else rec.n_combinations, "top": table[:EVENT_TOP_ROWS]}


KIND = register(JobKind(
    name="sweep", queue="sweeps", body=run, state_fields=state_fields,
    stages={Stage.LOADING: 0.1, Stage.COMPUTING: 0.85, Stage.SAVING: 0.05},
    split=SplitKind(start=sweep_chunks.start_sweep, run_part=sweep_chunks.run_chunk),
    description="One strategy over a grid of parameter sets, ranked by a metric."))
