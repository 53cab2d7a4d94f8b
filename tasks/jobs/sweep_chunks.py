"""A sweep split in chunks across Celery workers: start it, run each chunk, merge the table.

:func:`start_sweep` claims the queued sweep (under a lease, like a backtest), cuts its grid into
chunks of ``SWEEP_CHUNK_SIZE`` parameter sets and hands the chunks not done yet to ``dispatch``
(a Celery group); it does not hold the sweep while they run. Each chunk (:func:`run_chunk`)
computes its sets (``tasks.execution.compute.compute_sweep_chunk``), keeps its best rows in
``sweep_chunks`` (a redelivered chunk replaces its own row) and reports its progress as a part
of the sweep's (``Broadcaster.publish_part``: the whole sweep's fraction, never going back).
Every chunk records a heartbeat on the sweep's row while it runs. The chunk that finds every
chunk done merges them (``tasks.execution.compute.merge_sweep_rows``: the same table as one run of the
whole grid) and saves the table; the status change is conditional, so when two chunks finish
together only one saves and publishes ``done``.

Cancelling sets the sweep's cancel flag: each running chunk stops at its next engine chunk;
the first to stop marks the sweep ``cancelled`` and publishes it. A chunk that fails marks the
sweep failed (the others then stop writing: the sweep is no longer running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from domain.errors import Cancelled, DomainError
from domain.jobs import RunStatus, Stage
from domain.strategy import parameter_grid, parse_strategy
from store import leases as store_leases
from store import sweeps as store_sweeps
from store.scope import ALL_OWNERS
from store.settings import Settings
from tasks.execution.compute import (
    CancelToken,
    SweepChunkTask,
    compute_sweep_chunk,
    merge_sweep_rows,
    run_in_thread,
)
from tasks.jobs.lease import JobOptions, TransientJobError, claim, keep_lease
from tasks.jobs.lifecycle import INTERNAL_ERROR, CandleReader, finish_job, job_events, load_candles
from tasks.jobs.split import Dispatch, Part
from tasks.jobs.transient import is_transient
from tasks.messaging.broadcast import Broadcaster

EVENT_TOP_ROWS = 10

log = logging.getLogger("tasks.jobs.sweep_chunks")


@dataclass(frozen=True)
class Chunk:
    sweep_id: int
    index: int
    start: int
    stop: int
    n_chunks: int

    def part(self) -> Part:
        return {"index": self.index, "start": self.start, "stop": self.stop,
                "n_chunks": self.n_chunks}

    @classmethod
    def of(cls, sweep_id: int, part: Part) -> Chunk:
        return cls(sweep_id, int(part["index"]), int(part["start"]), int(part["stop"]),
                   int(part["n_chunks"]))


def grid_of(record: store_sweeps.SweepRecord) -> dict[str, list[float]]:
    return {str(k): [float(x) for x in v] for k, v in record.grid.items()}


def chunks_of(sweep_id: int, n_sets: int, size: int) -> list[Chunk]:
    """``[0, n_sets)`` cut in chunks of ``size`` sets."""
    starts = list(range(0, n_sets, max(1, size)))
    return [Chunk(sweep_id, k, a, min(n_sets, a + size), len(starts))
            for k, a in enumerate(starts)]


async def start_sweep(sweep_id: int, broadcaster: Broadcaster, opts: JobOptions,
                      settings: Settings, dispatch: Dispatch) -> list[Part]:
    """Claim the queued sweep and dispatch its chunks not done yet (``SWEEP_CHUNK_SIZE`` sets
    each); the dispatched parts."""
    chunk_size = settings.sweep_chunk_size
    opts = opts.with_lease()
    if not await claim("sweep", sweep_id, opts):
        return []
    record = await store_sweeps.get_sweep(sweep_id, owner=ALL_OWNERS)
    if record is None:
        return []
    events = job_events(broadcaster, "sweep", sweep_id, record.owner_id)
    try:
        strategy = parse_strategy(record.strategy_snapshot)
        n_sets = len(await asyncio.to_thread(parameter_grid, strategy, grid_of(record)))
    except DomainError as err:
        await finish_job("sweep", sweep_id, broadcaster, str(err), opts.lease)
        return []
    chunks = chunks_of(sweep_id, n_sets, chunk_size)
    done = await store_sweeps.done_chunks(sweep_id)
    await events.emit("status", RunStatus.RUNNING.value, len(done) / max(1, len(chunks)),
                      stage=Stage.COMPUTING.value, chunks=len(chunks))
    pending = [c for c in chunks if c.index not in done]
    if not pending:
        await merge(sweep_id, record.owner_id, chunks[0].n_chunks if chunks else 0, n_sets,
                    broadcaster)
        return []
    parts = [c.part() for c in pending]
    await dispatch(parts)
    return parts


async def run_chunk(sweep_id: int, part: Part, broadcaster: Broadcaster, opts: JobOptions,
                    read: CandleReader | None = None) -> None:
    """Run one chunk (``part``, as :meth:`Chunk.part` made it) of a running sweep (see the
    module docstring); raises :class:`TransientJobError` on a transient error (the caller
    retries the chunk)."""
    chunk = Chunk.of(sweep_id, part)
    record = await store_sweeps.get_sweep(chunk.sweep_id, owner=ALL_OWNERS)
    if record is None or record.status != RunStatus.RUNNING:
        return
    events = job_events(broadcaster, "sweep", chunk.sweep_id, record.owner_id)
    token = CancelToken()
    loop = asyncio.get_running_loop()
    name = f"chunk{chunk.index}"
    publishing: set[asyncio.Task[Any]] = set()

    def on_progress(payload: dict[str, Any]) -> None:  # on the loop, in order
        if publishing:  # the previous one is still on its way: skip this one
            return
        task = loop.create_task(events.emit_part(name, int(payload["done"]),
                                                 record.n_combinations, chunk=chunk.index,
                                                 stage=Stage.COMPUTING.value))
        publishing.add(task)
        task.add_done_callback(publishing.discard)

    async def beat() -> bool:  # the chunks share the sweep: any chunk keeps it alive
        await store_leases.touch("sweep", chunk.sweep_id)
        return True

    error: str | None = None
    try:
        async with keep_lease("sweep", chunk.sweep_id, opts, token.cancel, beat):
            candles = await (read or load_candles)(record.exchange, record.symbol,
                                                   record.timeframe, record.start_ms,
                                                   record.end_ms)
            task = SweepChunkTask(record.strategy_snapshot, grid_of(record), candles,
                                  record.rank_by, chunk.start, chunk.stop)
            out = await run_in_thread(compute_sweep_chunk, task, on_progress, token)
            # a cancel that came while the last engine chunk ran: keep nothing of this one
            if token.cancelled or (opts.cancel_requested is not None
                                   and await opts.cancel_requested()):
                raise Cancelled()
        await asyncio.gather(*publishing, return_exceptions=True)
        with contextlib.suppress(Exception):
            await events.emit_part(name, chunk.stop - chunk.start, record.n_combinations,
                                   chunk=chunk.index, stage=Stage.COMPUTING.value)
        if not await store_sweeps.save_chunk(chunk.sweep_id, chunk.index, out.rows):
            return
        if len(await store_sweeps.done_chunks(chunk.sweep_id)) >= chunk.n_chunks:
            await merge(chunk.sweep_id, record.owner_id, chunk.n_chunks,
                        record.n_combinations, broadcaster)
        return
    except Cancelled:
        if token.reason is None:
            await finish_job("sweep", chunk.sweep_id, broadcaster)
            return
        error = token.reason
    except Exception as err:
        if is_transient(err):
            raise TransientJobError(f"{type(err).__name__}: {err}") from err
        if isinstance(err, DomainError):
            error = str(err)
        else:
            log.exception("sweep %s chunk %s failed", chunk.sweep_id, chunk.index)
            error = INTERNAL_ERROR
    finally:
        await asyncio.gather(*publishing, return_exceptions=True)
    await finish_job("sweep", chunk.sweep_id, broadcaster, error)


async def merge(sweep_id: int, owner_id: int, n_chunks: int, n_sets: int,
                broadcaster: Broadcaster) -> bool:
    """Save the merged table of a sweep whose chunks are all done and publish ``done``; False
    when another chunk did it first (or the sweep ended)."""
    rows = merge_sweep_rows(await store_sweeps.chunk_rows(sweep_id))
    if not await store_sweeps.save_table(sweep_id, rows):
        return False
    await job_events(broadcaster, "sweep", sweep_id, owner_id).emit(
        "done", RunStatus.SUCCEEDED.value, 1.0, stage=Stage.DONE.value, eta=0.0, n_sets=n_sets,
        top=rows[:EVENT_TOP_ROWS], chunks=n_chunks)
    return True
