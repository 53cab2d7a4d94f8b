"""store.leases on SQLite and PostgreSQL: claiming a job, heartbeats, taking over an abandoned
one, the lease as a fencing token for result writes, requeueing and finding stale jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.demo import demo_candles
from domain.engine.run import run_backtest
from domain.strategy import parse_strategy
from store import backtest_results as results_store
from store import backtests, leases
from store import jobs as store_jobs
from store import sweeps as store_sweeps
from store.models import Backtest, RunStatus
from store.scope import ALL_OWNERS
from store.settings import Settings
from store.trade_list import count_matching_trades
from store.users import create_user

pytestmark = pytest.mark.asyncio

DOC = {"name": "t", "side": "long",
       "entry": {"left": {"price": "close"}, "op": ">", "right": {"indicator": "sma", "period": 5}},
       "exit": {"left": {"price": "close"}, "op": "<", "right": {"indicator": "sma", "period": 5}}}


async def queued() -> int:
    user = await create_user("lease@x.io", None)
    record = await backtests.create_backtest(backtests.NewBacktest(
        user.id, None, DOC, {}, "binance", "BTC/USDT", "1h", 0, 3_600_000, 10_000.0))
    return record.id


async def age_heartbeat(job_id: int, seconds: float) -> None:
    await Backtest.filter(id=job_id).update(heartbeat_at=leases.now() - timedelta(seconds=seconds))


def results() -> results_store.Results:
    candles = demo_candles(300)
    r = run_backtest(parse_strategy(DOC), candles)
    return results_store.Results(r.trades, candles.ts, r.equity, r.metrics, r.final_equity)


async def test_claim_heartbeat_and_take_over(db: Settings) -> None:
    job = await queued()
    assert await leases.claim("backtest", job, "A", stale_after_s=60)
    assert not await leases.claim("backtest", job, "B", stale_after_s=60)  # A is alive
    assert await leases.heartbeat("backtest", job, "A")
    assert not await leases.heartbeat("backtest", job, "B")
    await age_heartbeat(job, 120)
    assert await leases.claim("backtest", job, "B", stale_after_s=60)  # A vanished
    assert not await leases.heartbeat("backtest", job, "A")  # A learns it lost the lease
    row = await Backtest.get(id=job)
    assert (row.status, row.lease, row.attempts) == (RunStatus.RUNNING, "B", 2)


async def test_the_lease_fences_result_writes(db: Settings) -> None:
    job = await queued()
    assert await leases.claim("backtest", job, "A", stale_after_s=60)
    await age_heartbeat(job, 120)
    assert await leases.claim("backtest", job, "B", stale_after_s=60)
    out = results()
    assert not await results_store.save_results(job, out, lease="A")  # the stale attempt
    assert await count_matching_trades(job, owner=ALL_OWNERS) == 0
    assert not await store_jobs.finish("backtest", job, RunStatus.FAILED, error="late", lease="A")
    assert await results_store.save_results(job, out, lease="B")
    assert await count_matching_trades(job, owner=ALL_OWNERS) == len(out.trades)
    # a redelivery of the same attempt's save changes nothing: exactly once
    assert not await results_store.save_results(job, out, lease="B")
    assert await count_matching_trades(job, owner=ALL_OWNERS) == len(out.trades)
    row = await Backtest.get(id=job)
    assert row.status == RunStatus.SUCCEEDED and row.lease is None


async def test_release_requeue_and_stale_lists(db: Settings) -> None:
    job = await queued()
    assert await leases.stale_queued("backtest", 60) == [job]  # never dispatched
    await leases.mark_dispatched("backtest", job)
    assert await leases.stale_queued("backtest", 60) == []
    assert await leases.claim("backtest", job, "A", stale_after_s=60)
    assert await leases.release("backtest", job, "A")
    assert (await Backtest.get(id=job)).status == RunStatus.QUEUED
    assert await leases.claim("backtest", job, "B", stale_after_s=60)
    assert await leases.stale_running("backtest", 60) == []
    assert not await leases.requeue("backtest", job, 60)  # alive: left alone
    await age_heartbeat(job, 120)
    [stale] = await leases.stale_running("backtest", 60)
    assert (stale.job_id, stale.attempts) == (job, 2)
    assert await leases.requeue("backtest", job, 60)
    row = await Backtest.get(id=job)
    assert (row.status, row.lease) == (RunStatus.QUEUED, None)
    assert await leases.lease_of("backtest", job) == (RunStatus.QUEUED, None)
    assert await leases.lease_of("backtest", job + 100) is None


async def test_sweep_chunks_are_kept_once_and_dropped_with_the_sweep(db: Settings) -> None:
    user = await create_user("chunks@x.io", None)
    sweep = await store_sweeps.create_sweep(store_sweeps.NewSweep(
        user.id, None, DOC, {"p": [1.0, 2.0]}, "sharpe", "binance", "BTC/USDT", "1h", 0,
        3_600_000, 2))
    rows = [{"index": 0, "key": 1.0, "params": {}, "metrics": {}}]
    assert not await store_sweeps.save_chunk(sweep.id, 0, rows)  # not running yet
    assert await leases.claim("sweep", sweep.id, "A", stale_after_s=60)
    assert await store_sweeps.save_chunk(sweep.id, 0, rows)
    assert await store_sweeps.save_chunk(sweep.id, 0, rows)  # a redelivered chunk replaces
    assert await store_sweeps.done_chunks(sweep.id) == {0}
    assert await store_sweeps.chunk_rows(sweep.id) == rows
    assert await store_jobs.finish("sweep", sweep.id, RunStatus.CANCELLED)
    assert await store_sweeps.done_chunks(sweep.id) == set()


async def test_unknown_kind(db: Settings) -> None:
    with pytest.raises(ValueError, match="unknown job kind"):
        await leases.claim("nope", 1, "A", 60)
