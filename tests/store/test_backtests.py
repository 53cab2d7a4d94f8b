"""store.backtests and store.backtest_list on SQLite and PostgreSQL: life cycle transitions,
results in one transaction, curve blobs, lists with filters, metric sorting and keyset pages."""

from __future__ import annotations

import math
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from domain.demo import demo_candles
from domain.engine.run import run_backtest
from domain.jobs import RunStatus, Stage
from domain.metrics import METRIC_NAMES
from domain.series import downsample_minmax, drawdown, minmax_indices
from domain.strategy import parse_strategy
from store import backtest_results as results_store
from store import backtests as store
from store import jobs as store_jobs
from store import trade_list
from store.backtest_list import BacktestFilter, SortKey, list_backtests
from store.leases import claim
from store.scope import ALL_OWNERS
from store.settings import Settings
from store.users import create_user

DOC = {"name": "t", "side": "long",
       "entry": {"left": {"price": "close"}, "op": ">", "right": {"indicator": "sma", "period": 5}},
       "exit": {"left": {"price": "close"}, "op": "<", "right": {"indicator": "sma", "period": 5}}}


def new(owner: int, symbol: str = "BTC/USDT", strategy_id: int | None = None) -> store.NewBacktest:
    return store.NewBacktest(owner, strategy_id, DOC, {}, "binance", symbol, "1h", 0, 3_600_000,
                             10_000.0)


def results(sharpe: float | None = 0.5, n_trades: int = 3) -> results_store.Results:
    candles = demo_candles(200)
    r = run_backtest(parse_strategy(DOC), candles)
    metrics = dict(r.metrics)
    metrics["sharpe"] = math.nan if sharpe is None else sharpe
    return results_store.Results(r.trades[:n_trades], candles.ts, r.equity, metrics, r.final_equity,
                         "f" * 64, "test")


async def finished(owner: int, sharpe: float | None = 0.5, **kw: Any) -> int:
    record = await store.create_backtest(new(owner, **kw))
    assert await claim("backtest", record.id, "test", 60.0)
    assert await results_store.save_results(record.id, results(sharpe))
    return record.id


@pytest.mark.asyncio
async def test_life_cycle_and_results(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    record = await store.create_backtest(new(user.id))
    assert record.status == RunStatus.QUEUED and record.strategy_snapshot == DOC
    assert not await results_store.save_results(record.id, results())  # not running: nothing written
    assert await trade_list.count_matching_trades(record.id, owner=ALL_OWNERS) == 0
    assert await claim("backtest", record.id, "test", 60.0)
    running = await store.get_backtest(record.id, owner=ALL_OWNERS)
    assert running is not None and running.status == RunStatus.RUNNING and running.started_at
    assert not await claim("backtest", record.id, "other", 60.0)  # held by a live lease
    await store_jobs.set_progress("backtest", record.id, 0.5, Stage.COMPUTING)
    state = await store_jobs.get_state("backtest", record.id, owner=ALL_OWNERS)
    assert state is not None and state.progress == 0.5 and state.stage == Stage.COMPUTING

    res = results(sharpe=None, n_trades=5)
    res.metrics["profit_factor"] = math.inf
    assert await results_store.save_results(record.id, res)
    done = await store.get_backtest(record.id, owner=ALL_OWNERS)
    assert done is not None and done.status == RunStatus.SUCCEEDED and done.progress == 1.0
    (summary,) = await results_store.summaries_for([record.id])
    assert summary is not None and summary.final_equity == res.final_equity
    assert math.isnan(summary.metrics["sharpe"]) and summary.metrics["profit_factor"] == math.inf
    for name in METRIC_NAMES:
        if name not in ("sharpe", "profit_factor"):
            assert summary.metrics[name] == pytest.approx(res.metrics[name], nan_ok=True)
    page = await trade_list.list_trades(record.id, owner=ALL_OWNERS, limit=3)
    assert [t.seq for t in page.rows] == [0, 1, 2] and page.has_next
    assert [t.pnl for t in page.rows] == res.trades["pnl"][:3].tolist()
    rest = await trade_list.list_trades(record.id, owner=ALL_OWNERS, after=page.keys[-1])
    assert [t.seq for t in rest.rows] == [3, 4] and not rest.has_next
    assert np.array_equal(await trade_list.trade_records(record.id, owner=ALL_OWNERS), res.trades)
    assert await trade_list.count_matching_trades(record.id, owner=user.id + 1) == 0
    times, equity = await results_store.equity_curve(record.id)  # type: ignore[misc]
    assert np.array_equal(times, res.times) and np.array_equal(equity, res.equity)
    assert not await store_jobs.finish("backtest", record.id, RunStatus.FAILED, error="late")
    assert not await store_jobs.finish("backtest", record.id, RunStatus.CANCELLED)  # ended
    state = await store_jobs.get_state("backtest", record.id, owner=ALL_OWNERS)
    assert state is not None and state.stage == Stage.DONE


@pytest.mark.asyncio
async def test_failed_and_cancelled_keep_nothing(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    queued = await store.create_backtest(new(user.id))
    assert await store_jobs.finish("backtest", queued.id, RunStatus.CANCELLED)
    assert (await store.get_backtest(queued.id, owner=ALL_OWNERS)).status == RunStatus.CANCELLED  # type: ignore[union-attr]
    record = await store.create_backtest(new(user.id))
    assert await claim("backtest", record.id, "test", 60.0)
    assert await store_jobs.finish("backtest", record.id, RunStatus.FAILED, error="boom")
    failed = await store.get_backtest(record.id, owner=ALL_OWNERS)
    assert failed is not None and failed.error == "boom" and failed.finished_at is not None
    assert not await results_store.save_results(record.id, results())
    assert await trade_list.count_matching_trades(record.id, owner=ALL_OWNERS) == 0
    assert await results_store.summaries_for([record.id, queued.id, 999]) == [None, None, None]


@pytest.mark.asyncio
async def test_owner_scope(db: Settings) -> None:
    alice = await create_user("a@x.io", None)
    bob = await create_user("b@x.io", None)
    run = await finished(alice.id)
    assert await store.get_backtest(run, owner=alice.id) is not None
    assert await store.get_backtest(run, owner=bob.id) is None
    assert await store.get_backtest(run, owner=ALL_OWNERS) is not None
    assert (await list_backtests(BacktestFilter(), owner=bob.id)).rows == []
    assert [r.id for r in (await list_backtests(BacktestFilter(), owner=ALL_OWNERS)).rows] == [run]


async def page_through(owner: int, sort: SortKey, descending: bool, size: int,
                       flt: BacktestFilter | None = None) -> list[tuple[float | None, int]]:
    keys: list[tuple[float | None, int]] = []
    after = None
    while True:
        page = await list_backtests(flt or BacktestFilter(), owner=owner, sort=sort,
                                    descending=descending, after=after, limit=size)
        assert [r.id for r in page.rows] == [k[1] for k in page.keys]
        keys += page.keys
        if not page.has_next:
            return keys
        after = page.keys[-1]


@pytest.mark.asyncio
async def test_sorting_and_keyset_pages(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    sharpes = [0.5, None, 1.5, -0.2, 0.5, None, 2.0, 0.0]
    ids = [await finished(user.id, s) for s in sharpes]
    queued = (await store.create_backtest(new(user.id))).id  # no summary: sorts last
    by_id = dict(zip(ids, sharpes, strict=True)) | {queued: None}

    def expected(descending: bool) -> list[int]:
        valued = sorted((i for i in by_id if by_id[i] is not None),
                        key=lambda i: (by_id[i], i), reverse=descending)
        nulls = sorted((i for i in by_id if by_id[i] is None), reverse=descending)
        return valued + nulls

    for descending in (True, False):
        for size in (1, 2, 4, 20):
            keys = await page_through(user.id, SortKey.SHARPE, descending, size)
            assert [k[1] for k in keys] == expected(descending), (descending, size)
    created = await page_through(user.id, SortKey.CREATED, True, 3)
    assert [k[1] for k in created] == sorted(by_id, reverse=True)
    drawdowns = await page_through(user.id, SortKey.MAX_DRAWDOWN, False, 4)
    assert [k[1] for k in drawdowns][-1] == queued


@pytest.mark.asyncio
async def test_filters(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    a = await finished(user.id, symbol="ETH/USDT")
    b = await finished(user.id)
    c = (await store.create_backtest(new(user.id))).id

    async def ids(**kw: Any) -> list[int]:
        return [r.id for r in (await list_backtests(BacktestFilter(**kw), owner=user.id)).rows]

    assert await ids(symbol="ETH/USDT") == [a]
    assert await ids(statuses=(RunStatus.QUEUED,)) == [c]
    assert await ids(statuses=(RunStatus.QUEUED, RunStatus.SUCCEEDED)) == [c, b, a]
    now = datetime.now(UTC)
    assert await ids(created_from=now - timedelta(minutes=5)) == [c, b, a]
    assert await ids(created_from=now + timedelta(minutes=5)) == []
    assert await ids(created_to=now - timedelta(minutes=5)) == []
    assert await ids(created_to=(now + timedelta(minutes=5)).replace(tzinfo=None)) == [c, b, a]
    assert await ids(strategy_id=123) == []


def test_curve_blob_round_trip() -> None:
    times = np.arange(5, dtype=np.int64) * 3_600_000
    equity = np.array([1.0, 2.5, -3.0, 4.0, 5.0])
    t, e = results_store.decode_curve(results_store.encode_curve(times, equity))
    assert np.array_equal(t, times) and np.array_equal(e, equity)


def test_downsampling_keeps_extremes_and_ends() -> None:
    rng = np.random.default_rng(1)
    values = np.cumsum(rng.normal(size=100_001))
    times = np.arange(values.size, dtype=np.int64)
    for points in (2, 3, 10, 1_000):
        t, v = downsample_minmax(times, values, points)
        assert 2 <= v.size <= points
        assert v[0] == values[0] and v[-1] == values[-1]
        assert np.all(np.diff(t) > 0)
        if points >= 4:
            assert v.max() == values.max() and v.min() == values.min()
    assert minmax_indices(values[:7], 10).tolist() == list(range(7))
    assert minmax_indices(values[:0], 10).size == 0
    dd = drawdown(np.array([90.0, 110.0, 99.0, 121.0]), 100.0)
    assert dd == pytest.approx([0.1, 0.0, 0.1, 0.0])


def test_curve_blob_formats_round_trip_bit_exact() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    equity = np.cumsum(rng.normal(size=n)) + 1_000.0
    equity[rng.random(n) < 0.5] = np.nan  # runs of repeats, NaNs, signed zeros, infinities
    equity = np.where(np.isnan(equity), np.roll(equity, 1), equity)
    equity[:3] = [-0.0, 0.0, np.inf]
    regular = np.arange(n, dtype=np.int64) * 60_000 + 1_700_000_000_000
    irregular = np.cumsum(rng.integers(1, 5, size=n)) * 60_000
    for times in (regular, irregular, regular[:1], regular[:0]):
        e = equity[:times.size]
        t, got = results_store.decode_curve(results_store.encode_curve(times, e))
        assert np.array_equal(t, times)
        assert np.array_equal(got.view(np.int64), e.view(np.int64))  # bit for bit
    # blobs written before (EQD1, and the first format) still decode
    words = np.empty(2 * n, dtype="<i8")
    with np.errstate(over="ignore"):
        words[:n] = np.diff(regular, prepend=np.int64(0))
        words[n:] = np.diff(equity.view(np.int64), prepend=np.int64(0))
    for blob in (b"EQD1" + zlib.compress(words.tobytes(), 1),
                 zlib.compress(regular.astype("<i8").tobytes() + equity.astype("<f8").tobytes())):
        t, got = results_store.decode_curve(blob)
        assert np.array_equal(t, regular)
        assert np.array_equal(got.view(np.int64), equity.view(np.int64))
