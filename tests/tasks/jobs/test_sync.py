"""run_sync_job against the fake Binance on both backends: the row's life cycle, the events on
its channel, failures with clear messages, cancellation, and late subscribers."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest

from store import candles as store_candles
from store import sync_jobs
from store.models import RunStatus
from store.scope import ALL_OWNERS
from store.settings import Settings
from store.users import create_user
from tasks.execution.compute import CancelToken
from tasks.jobs.lifecycle import run_job
from tasks.jobs.state import stored_state
from tasks.jobs.sync_submit import check_sync_request
from tasks.messaging.broadcast import Event, MemoryBroadcaster
from tasks.messaging.events import channel, follow, is_terminal
from tests.tasks.fake_binance import FakeBinance

MIN = 60_000


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(seed=5).start()
    try:
        yield server
    finally:
        server.stop()


def settings_for(db: Settings, fake: FakeBinance) -> Settings:
    return dataclasses.replace(db, binance_rest_url=fake.rest_url, binance_ws_url=fake.ws_url)


async def new_job(symbol: str = "BTC/USDT", *, start_ms: int, bars: int) -> int:
    owner = await create_user("a@example.com", None)
    job = await sync_jobs.create_sync_job(owner.id, "binance", symbol, "1m", start_ms,
                                          start_ms + bars * MIN)
    assert job.status == RunStatus.QUEUED and job.progress == 0.0
    return job.id


async def run_and_collect(job_id: int, settings: Settings) -> list[Event]:
    broadcaster = MemoryBroadcaster()
    events: list[Event] = []
    async with broadcaster.subscribe(channel("sync", job_id)) as stream:
        await run_job("sync", job_id, broadcaster, settings=settings)
        async for event in stream:
            events.append(event)
            if is_terminal(event):
                break
    return events


@pytest.mark.asyncio
async def test_a_job_stores_the_candles_and_reports_progress(db: Settings,
                                                             fake: FakeBinance) -> None:
    job_id = await new_job(start_ms=fake.start_ms, bars=2_500)
    events = await run_and_collect(job_id, settings_for(db, fake))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "status" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"progress"} and len(kinds) >= 5  # 3 pages at least
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert [e["status"] for e in events[:-1]] == ["running"] * (len(events) - 1)
    assert events[-1]["status"] == "succeeded" and events[-1]["stored"] == 2_500
    job = await sync_jobs.get_sync_job(job_id, owner=ALL_OWNERS)
    assert job is not None
    assert (job.status, job.stored, job.progress, job.error) == (RunStatus.SUCCEEDED, 2_500,
                                                                 1.0, None)
    assert job.started_at is not None and job.finished_at is not None
    stored = await store_candles.read_candles("binance", "BTC/USDT", "1m")
    want = fake.expected("BTCUSDT", "1m", fake.start_ms, fake.start_ms + 2_500 * MIN)
    np.testing.assert_array_equal(stored.ts, want.ts)
    np.testing.assert_array_equal(stored.close, want.close)
    # a job runs once: running it again changes and publishes nothing
    assert await run_and_collect_nothing(job_id, settings_for(db, fake))


async def run_and_collect_nothing(job_id: int, settings: Settings) -> bool:
    broadcaster = MemoryBroadcaster()
    await run_job("sync", job_id, broadcaster, settings=settings)
    return await broadcaster.latest(channel("sync", job_id)) is None


@pytest.mark.asyncio
async def test_an_unknown_symbol_fails_the_job_with_a_clear_message(db: Settings,
                                                                    fake: FakeBinance) -> None:
    job_id = await new_job("NOPE/USDT", start_ms=fake.start_ms, bars=10)
    events = await run_and_collect(job_id, settings_for(db, fake))
    assert [e["kind"] for e in events if e["kind"] != "progress"] == ["status", "error"]
    assert "unknown symbol 'NOPE/USDT'" in events[-1]["error"]
    job = await sync_jobs.get_sync_job(job_id, owner=ALL_OWNERS)
    assert job is not None and job.status == RunStatus.FAILED
    assert job.error == events[-1]["error"] and job.finished_at is not None


@pytest.mark.asyncio
async def test_a_cancelled_job_is_marked_cancelled(db: Settings, fake: FakeBinance) -> None:
    job_id = await new_job(start_ms=fake.start_ms, bars=100)
    fake.delay_next(5.0)  # the first page hangs
    broadcaster = MemoryBroadcaster()
    async with broadcaster.subscribe(channel("sync", job_id)) as stream:
        token = CancelToken()
        task = asyncio.ensure_future(run_job("sync", job_id, broadcaster, cancel=token,
                                             settings=settings_for(db, fake)))
        first = await anext(stream)
        assert first["kind"] == "status"
        await asyncio.sleep(0.2)
        token.cancel()  # a user's cancel: the hanging request is dropped at once
        await asyncio.wait_for(task, 2.0)
        last = await anext(stream)
        while last["kind"] == "progress":
            last = await anext(stream)
    assert last["kind"] == "cancelled" and last["status"] == "cancelled"
    job = await sync_jobs.get_sync_job(job_id, owner=ALL_OWNERS)
    assert job is not None and job.status == RunStatus.CANCELLED and "cancelled" in (job.error or "")


@pytest.mark.asyncio
async def test_a_late_subscriber_gets_the_final_state_from_the_database(
        db: Settings, fake: FakeBinance) -> None:
    job_id = await new_job(start_ms=fake.start_ms, bars=30)
    await run_and_collect(job_id, settings_for(db, fake))

    async def stored() -> Event | None:
        return await stored_state("sync", job_id)

    # another process's broadcaster: no latest event; the row tells the end
    seen = [e async for e in follow(MemoryBroadcaster(), channel("sync", job_id), stored)]
    assert len(seen) == 1
    assert seen[0]["kind"] == "done" and seen[0]["status"] == "succeeded"
    assert seen[0]["stored"] == 30 and seen[0]["seq"] == 0


def test_requests_are_checked_before_a_job_is_made() -> None:
    assert check_sync_request("binance", "BTC/USDT", "1h", 0, None) == []
    problems = dict(check_sync_request("nosuchexchange", " ", "1H", 10, 5))
    assert set(problems) == {"exchange", "symbol", "timeframe", "until"}
    assert "did you mean 1h" in problems["timeframe"]
    assert dict(check_sync_request("binance", "X" * 40, "1h", -5, None)).keys() == {"symbol",
                                                                                   "since"}
