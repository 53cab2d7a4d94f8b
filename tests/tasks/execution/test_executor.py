"""The compute pool, the job bodies and the in-process executor: progress relayed in order,
cooperative cancel, failures as outcomes, a dead worker, FIFO slots, a clean stop."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from domain.demo import demo_candles
from domain.engine.run import run_backtest
from domain.errors import Cancelled, DataError
from domain.strategy import parse_strategy
from store import backtests as store_backtests
from store import jobs as store_jobs
from store.backtests import NewBacktest
from store.candles import write_candles
from store.models import RunStatus
from store.scope import ALL_OWNERS
from store.settings import Settings
from store.users import create_user
from tasks.execution.compute import CancelToken
from tasks.execution.executor import InProcessExecutor
from tasks.execution.pool import ComputeCrashed, ComputeFailed, ComputePool, WorkerDied
from tasks.jobs.lifecycle import INTERRUPTED, run_job
from tasks.messaging.broadcast import MemoryBroadcaster
from tasks.messaging.events import channel

DOC = {"name": "t", "side": "long",
       "entry": {"left": {"price": "close"}, "op": ">", "right": {"indicator": "sma", "period": 5}},
       "exit": {"left": {"price": "close"}, "op": "<", "right": {"indicator": "sma", "period": 5}}}
CANDLES = demo_candles(2_000)


def counting(task: int, report: Any, cancelled: Any) -> int:
    """Reports 1..task, then returns task; stops early when cancelled."""
    for i in range(1, task + 1):
        if cancelled():
            raise Cancelled()
        report({"progress": i / task, "i": i})
        time.sleep(0.002)
    return task


def until_cancelled(task: None, report: Any, cancelled: Any) -> None:
    report({"progress": 0.0})
    deadline = time.monotonic() + 30
    while not cancelled() and time.monotonic() < deadline:
        time.sleep(0.005)
    raise Cancelled()


def failing(task: str, report: Any, cancelled: Any) -> None:
    if task == "domain":
        raise DataError("no candles: sync them")
    if task == "die":
        os._exit(3)
    raise ZeroDivisionError("oops")


@pytest.fixture(scope="module")
def pool() -> Iterator[ComputePool]:
    shared = ComputePool(2)
    asyncio.run(shared.warm())
    try:
        yield shared
    finally:
        asyncio.run(shared.close())


@pytest.mark.asyncio
async def test_progress_arrives_in_order_and_the_result_returns(pool: ComputePool) -> None:
    seen: list[int] = []
    assert await pool.run(counting, 50, lambda p: seen.append(p["i"]), CancelToken()) == 50
    await asyncio.sleep(0.1)  # payloads still in the pipe are dropped after the end
    assert seen == sorted(seen) and len(seen) >= 40


@pytest.mark.asyncio
async def test_cancel_stops_the_worker_cooperatively(pool: ComputePool) -> None:
    token = CancelToken()
    started = asyncio.Event()
    run = asyncio.ensure_future(pool.run(until_cancelled, None, lambda _: started.set(), token))
    await asyncio.wait_for(started.wait(), 10)
    t0 = time.monotonic()
    token.cancel()
    with pytest.raises(Cancelled):
        await run
    assert time.monotonic() - t0 < 1.0


@pytest.mark.asyncio
async def test_failures_come_back_as_outcomes(pool: ComputePool) -> None:
    with pytest.raises(ComputeFailed, match="no candles: sync them"):
        await pool.run(failing, "domain", lambda _: None, CancelToken())
    with pytest.raises(ComputeCrashed, match="ZeroDivisionError: oops"):
        await pool.run(failing, "crash", lambda _: None, CancelToken())
    with pytest.raises(WorkerDied):
        await pool.run(failing, "die", lambda _: None, CancelToken())
    assert await pool.run(counting, 3, lambda _: None, CancelToken()) == 3  # rebuilt


async def prepare(settings: Settings, n: int = 1) -> list[int]:
    user = await create_user("a@x.io", None)
    await write_candles("demo", "DEMO/USDT", "1h", CANDLES)
    ids = []
    for _ in range(n):
        record = await store_backtests.create_backtest(NewBacktest(
            user.id, None, DOC, {}, "demo", "DEMO/USDT", "1h", 0, 2**62, 10_000.0))
        ids.append(record.id)
    return ids


@pytest_asyncio.fixture
async def events() -> AsyncIterator[MemoryBroadcaster]:
    broadcaster = MemoryBroadcaster()
    yield broadcaster
    await broadcaster.close()


@pytest.mark.asyncio
async def test_job_in_a_thread_publishes_in_order(db: Settings, events: MemoryBroadcaster) -> None:
    (run_id,) = await prepare(db)
    seen: list[dict[str, Any]] = []

    async def listen() -> None:
        async with events.subscribe(channel("backtest", run_id)) as stream:
            async for event in stream:
                seen.append(event)
                if event["kind"] == "done":
                    return

    listener = asyncio.ensure_future(listen())
    await asyncio.sleep(0)
    await run_job("backtest", run_id, events)  # the default runner: a thread (Celery's way)
    await asyncio.wait_for(listener, 10)
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    assert seen[0]["status"] == "running" and seen[-1]["kind"] == "done"
    expected = run_backtest(parse_strategy(DOC), CANDLES)
    assert seen[-1]["summary"]["final_equity"] == expected.final_equity
    record = await store_backtests.get_backtest(run_id, owner=ALL_OWNERS)
    assert record is not None and record.status == RunStatus.SUCCEEDED


@pytest.mark.asyncio
async def test_job_cancelled_or_interrupted(db: Settings, events: MemoryBroadcaster) -> None:
    first, second, third = await prepare(db, 3)
    token = CancelToken()
    token.cancel()
    await run_job("backtest", first, events, cancel=token)
    token = CancelToken()
    token.cancel(INTERRUPTED)
    await run_job("backtest", second, events, cancel=token)
    await store_jobs.finish("backtest", third, RunStatus.CANCELLED)
    await run_job("backtest", third, events)  # not queued any more: left alone
    records = [await store_backtests.get_backtest(i, owner=ALL_OWNERS) for i in (first, second, third)]
    assert [r.status for r in records if r] == [RunStatus.CANCELLED, RunStatus.FAILED,
                                                RunStatus.CANCELLED]
    assert records[1] is not None and records[1].error == INTERRUPTED
    assert (await events.latest(channel("backtest", first)))["kind"] == "cancelled"  # type: ignore[index]


@pytest.mark.asyncio
async def test_executor_slots_fifo_and_stop(db: Settings, events: MemoryBroadcaster,
                                            pool: ComputePool) -> None:
    ids = await prepare(db, 4)
    executor = InProcessExecutor(Settings(db.database_url, max_concurrent_jobs=1), events,
                                 pool=pool)
    await executor.start()
    for run_id in ids[:3]:
        await executor.submit("backtest", run_id)
    assert executor.running == [("backtest", ids[0])]
    assert executor.queued == [("backtest", ids[1]), ("backtest", ids[2])]
    deadline = time.monotonic() + 30
    while executor.running or executor.queued:
        assert len(executor.running) <= 1 and time.monotonic() < deadline
        await asyncio.sleep(0.01)
    done = [await store_backtests.get_backtest(i, owner=ALL_OWNERS) for i in ids[:3]]
    assert all(r is not None and r.status == RunStatus.SUCCEEDED for r in done)
    finished = [r.finished_at for r in done if r]
    assert finished == sorted(finished)  # in submission order

    executor.slots = 0  # the last one stays queued
    await executor.submit("backtest", ids[3])
    assert not await executor.cancel("backtest", 999)
    await executor.stop()
    last = await store_backtests.get_backtest(ids[3], owner=ALL_OWNERS)
    assert last is not None and last.status == RunStatus.FAILED and last.error == INTERRUPTED
    with pytest.raises(RuntimeError):
        await executor.submit("backtest", ids[3])


@pytest.mark.asyncio
async def test_queued_jobs_wait_for_the_next_server_when_it_recovers(
        db: Settings, events: MemoryBroadcaster, pool: ComputePool) -> None:
    [run_id] = await prepare(db, 1)
    settings = Settings(db.database_url, max_concurrent_jobs=1)
    executor = InProcessExecutor(settings, events, pool=pool, recover=True)
    await executor.start()
    executor.slots = 0  # it stays queued
    await executor.submit("backtest", run_id)
    await executor.stop()
    left = await store_backtests.get_backtest(run_id, owner=ALL_OWNERS)
    assert left is not None and left.status == RunStatus.QUEUED and left.error is None

    following = InProcessExecutor(settings, events, pool=pool, recover=True)
    await following.start()  # its recovery runs what the last server left queued
    try:
        deadline = time.monotonic() + 30
        while (done := await store_backtests.get_backtest(run_id, owner=ALL_OWNERS)) is not None \
                and done.status != RunStatus.SUCCEEDED:
            assert time.monotonic() < deadline, done.status
            await asyncio.sleep(0.05)
    finally:
        await following.stop()


@pytest.mark.asyncio
async def test_own_pool_is_joined_on_stop(db: Settings, events: MemoryBroadcaster) -> None:
    executor = InProcessExecutor(Settings(db.database_url, max_concurrent_jobs=2), events,
                                 warm=True)
    await executor.start()
    pids = await executor.pool.warm()
    token = CancelToken()
    running = asyncio.ensure_future(executor.pool.run(until_cancelled, None, lambda _: None, token))
    await asyncio.sleep(0.2)
    await executor.stop()  # the running work is told to stop, the workers are joined
    with pytest.raises(Cancelled):
        await running
    for pid in set(pids):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
