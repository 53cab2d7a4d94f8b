"""The job bodies' reliability rules without workers (SQLite and PostgreSQL): transient errors
give the job back to the queue, the cancel flag and the time limit stop a run, a lost lease
stops an attempt without writing, and the recovery pass requeues, fails or re-dispatches."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from domain.demo import demo_candles
from domain.errors import Cancelled
from store import backtests as store_backtests
from store import leases
from store.backtests import NewBacktest
from store.candles import write_candles
from store.models import Backtest, RunStatus
from store.settings import Settings
from store.users import create_user
from tasks.execution.celery.tasks import backoff_s, gave_up_message
from tasks.execution.compute import CancelToken
from tasks.execution.executor import InProcessExecutor
from tasks.jobs.lease import LEASE_LOST, JobOptions, TransientJobError, time_limit_message
from tasks.jobs.lifecycle import run_job
from tasks.jobs.recovery import gave_up, recover
from tasks.messaging.broadcast import MemoryBroadcaster
from tasks.messaging.events import channel

pytestmark = pytest.mark.asyncio

DOC = {"name": "t", "side": "long",
       "entry": {"left": {"price": "close"}, "op": ">", "right": {"indicator": "sma", "period": 5}},
       "exit": {"left": {"price": "close"}, "op": "<", "right": {"indicator": "sma", "period": 5}}}
CANDLES = demo_candles(2_000)


async def queued_backtest(email: str = "r@x.io") -> int:
    user = await create_user(email, None)
    await write_candles("demo", "DEMO/USDT", "1h", CANDLES)
    record = await store_backtests.create_backtest(NewBacktest(
        user.id, None, DOC, {}, "demo", "DEMO/USDT", "1h", int(CANDLES.ts[0]),
        int(CANDLES.ts[-1]) + 1, 10_000.0))
    return record.id


async def slow_runner(fn: Any, task: Any, on_progress: Any, cancel: CancelToken) -> Any:
    """A runner whose engine takes a while, checking the token like the engine does."""
    for _ in range(500):
        if cancel.cancelled:
            raise Cancelled()
        await asyncio.sleep(0.01)
    raise AssertionError("never stopped")


async def test_a_transient_error_requeues_when_retrying(db: Settings) -> None:
    job = await queued_backtest()
    broadcaster = MemoryBroadcaster()

    async def unreachable(*_: Any) -> Any:
        raise ConnectionRefusedError("the database went away")

    with pytest.raises(TransientJobError, match="went away"):
        await run_job("backtest", job, broadcaster, read=unreachable,
                               options=JobOptions(retry_transient=True))
    row = await Backtest.get(id=job)
    assert (row.status, row.lease, row.attempts) == (RunStatus.QUEUED, None, 1)
    event = await broadcaster.latest(channel("backtest", job))
    assert event is not None and event["status"] == "queued" and "retrying" in event

    # without retries (the in-process executor) it fails, with the error as its reason
    await run_job("backtest", job, broadcaster, read=unreachable)
    row = await Backtest.get(id=job)
    assert row.status == RunStatus.FAILED and row.attempts == 2


async def test_cancel_flag_time_limit_and_lost_lease(db: Settings) -> None:
    broadcaster = MemoryBroadcaster()
    flag = {"on": False}

    async def requested() -> bool:
        return flag["on"]

    job = await queued_backtest()
    run = asyncio.create_task(run_job("backtest",
        job, broadcaster, runner=slow_runner,
        options=JobOptions(cancel_requested=requested, heartbeat_s=0.05)))
    await asyncio.sleep(0.3)
    flag["on"] = True
    await asyncio.wait_for(run, 5)
    assert (await Backtest.get(id=job)).status == RunStatus.CANCELLED

    job2 = await queued_backtest("r2@x.io")
    await run_job("backtest", job2, broadcaster, runner=slow_runner,
                           options=JobOptions(time_limit_s=0.2))
    row = await Backtest.get(id=job2)
    assert row.status == RunStatus.FAILED and row.error == time_limit_message(0.2)

    job3 = await queued_backtest("r3@x.io")
    run = asyncio.create_task(run_job("backtest",
        job3, broadcaster, runner=slow_runner, options=JobOptions(heartbeat_s=0.05)))
    await asyncio.sleep(0.2)
    await Backtest.filter(id=job3).update(lease="someone-else")  # taken over
    await asyncio.wait_for(run, 5)
    row = await Backtest.get(id=job3)
    assert (row.status, row.lease) == (RunStatus.RUNNING, "someone-else")  # untouched
    assert row.trade_records is None
    assert LEASE_LOST.startswith("stopped")


def settings_of(db: Settings, **extra: Any) -> Settings:
    values: dict[str, Any] = {"database_url": db.database_url, "job_stale_after_s": 60.0,
                              "job_max_attempts": 2, "visibility_timeout_s": 600.0}
    values.update(extra)
    return Settings(**values)


async def test_recovery_requeues_fails_and_redispatches(db: Settings) -> None:
    broadcaster = MemoryBroadcaster()
    sent: list[tuple[str, int]] = []

    async def dispatch(kind: str, job_id: int) -> None:
        sent.append((kind, job_id))

    dead = await queued_backtest()
    assert await leases.claim("backtest", dead, "gone", 60)
    hopeless = await queued_backtest("h@x.io")
    for attempt in ("a1", "a2"):
        await Backtest.filter(id=hopeless).update(heartbeat_at=leases.now() - timedelta(hours=1))
        assert await leases.claim("backtest", hopeless, attempt, 60)
    lost = await queued_backtest("l@x.io")  # queued, dispatched long ago
    await Backtest.filter(id=lost).update(heartbeat_at=leases.now() - timedelta(hours=1))
    alive = await queued_backtest("a@x.io")
    await leases.mark_dispatched("backtest", alive)
    for job in (dead, hopeless):
        await Backtest.filter(id=job).update(heartbeat_at=leases.now() - timedelta(hours=1))

    report = await recover(settings_of(db), broadcaster, dispatch)
    assert report.requeued == [("backtest", dead)]
    assert report.failed == [("backtest", hopeless)]
    assert ("backtest", lost) in report.redispatched
    assert ("backtest", alive) not in report.redispatched
    assert sent.count(("backtest", dead)) >= 1 and ("backtest", lost) in sent
    row = await Backtest.get(id=hopeless)
    assert row.status == RunStatus.FAILED and row.error == gave_up(2)
    event = await broadcaster.latest(channel("backtest", hopeless))
    assert event is not None and event["kind"] == "error"
    assert (await Backtest.get(id=dead)).status == RunStatus.QUEUED
    # a second pass right after finds nothing new to requeue or fail
    again = await recover(settings_of(db), broadcaster, dispatch)
    assert again.requeued == [] and again.failed == []


async def test_in_process_executor_runs_what_a_previous_server_left(db: Settings) -> None:
    orphan = await queued_backtest()  # queued by a server that stopped
    settings = Settings(database_url=db.database_url, max_concurrent_jobs=1)
    executor = InProcessExecutor(settings, MemoryBroadcaster(), recover=True)
    await executor.start()
    try:
        for _ in range(600):
            if (await Backtest.get(id=orphan)).status == RunStatus.SUCCEEDED:
                break
            await asyncio.sleep(0.05)
        assert (await Backtest.get(id=orphan)).status == RunStatus.SUCCEEDED
    finally:
        await executor.stop()


async def test_backoff_and_messages() -> None:
    assert 0.75 <= backoff_s(0) <= 1.0
    assert 6.0 <= backoff_s(3) <= 8.0
    assert backoff_s(20) <= 60.0
    assert "3 attempts" in gave_up_message(3, "ConnectionError: x")
