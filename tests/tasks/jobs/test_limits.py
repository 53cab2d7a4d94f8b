"""Per-user caps and bounds of job requests (both backends): MAX_QUEUED_JOBS counts a user's
queued and running jobs of every kind, MAX_SWEEP_SETS refuses a grid before it is built, and
initial capital and risk-free rate are bounded. Problems come back located by domain path."""

from __future__ import annotations

from typing import Any

import pytest

from domain.strategy import parse_strategy
from store import jobs as store_jobs
from store.backtests import NewBacktest, create_backtest
from store.models import RunStatus
from store.settings import Settings
from store.strategies import create_strategy
from store.sync_jobs import create_sync_job
from store.users import create_user
from tasks.jobs import submit
from tasks.jobs.control import check_quota
from tasks.jobs.replay_submit import ReplayRequest, queue_replay
from tasks.jobs.submit import (
    BacktestRequest,
    InvalidRequest,
    Market,
    SweepRequest,
    queue_backtest,
    queue_sweep,
)
from tasks.messaging.broadcast import MemoryBroadcaster

pytestmark = pytest.mark.asyncio

DOC: dict[str, Any] = {
    "name": "sma", "parameters": {"fast": {"value": 5}, "slow": {"value": 20}},
    "entry": {"left": {"indicator": "sma", "period": "$fast"}, "op": "crosses_above",
              "right": {"indicator": "sma", "period": "$slow"}},
    "exit": {"left": {"indicator": "sma", "period": "$fast"}, "op": "crosses_below",
             "right": {"indicator": "sma", "period": "$slow"}}}
MARKET = Market("demo", "DEMO/USDT", "1h", 0, 3_600_000 * 100)


class Recorder:
    def __init__(self) -> None:
        self.submitted: list[tuple[str, int]] = []

    async def submit(self, kind: str, job_id: int) -> None:
        self.submitted.append((kind, job_id))

    async def cancel(self, kind: str, job_id: int) -> bool:
        return False


def limits(db: Settings, **caps: int) -> Settings:
    return Settings(database_url=db.database_url, **caps)


async def _setup() -> tuple[int, int]:
    user = await create_user("a@x.io", None)
    strategy = await create_strategy(user.id, "sma", parse_strategy(DOC).document)
    return user.id, strategy.id


async def _backtest(owner: int, settings: Settings | None, **extra: Any) -> Any:
    strategy_id = extra.pop("strategy_id")
    return await queue_backtest(owner, owner, BacktestRequest(strategy_id, MARKET, **extra),
                                Recorder(), MemoryBroadcaster(), settings=settings)  # type: ignore[arg-type]


def _paths(err: pytest.ExceptionInfo[InvalidRequest]) -> set[str]:
    return {path for path, _ in err.value.problems}


async def test_queued_jobs_of_every_kind_count_toward_the_cap(db: Settings) -> None:
    owner, strategy_id = await _setup()
    other = await create_user("b@x.io", None)
    settings = limits(db, max_queued_jobs=3)
    assert await check_quota(owner, settings) == []
    await create_sync_job(owner, "demo", "DEMO/USDT", "1h", 0, 3_600_000)  # a queued sync
    await _backtest(owner, settings, strategy_id=strategy_id)
    await _backtest(owner, settings, strategy_id=strategy_id)
    [(path, message)] = await check_quota(owner, settings)
    assert path == "" and "3 jobs queued or running" in message and "(3)" in message
    with pytest.raises(InvalidRequest) as refused:
        await _backtest(owner, settings, strategy_id=strategy_id)
    assert _paths(refused) == {""}
    with pytest.raises(InvalidRequest) as refused:
        await queue_sweep(owner, owner, SweepRequest(strategy_id, MARKET, {"fast": [5, 6]}),
                          Recorder(), MemoryBroadcaster(), settings=settings)  # type: ignore[arg-type]
    assert "" in _paths(refused)
    with pytest.raises(InvalidRequest) as refused:
        await queue_replay(owner, owner, ReplayRequest(symbol="DEMO/USDT", import_ids=(1,)),
                           Recorder(), MemoryBroadcaster(), settings=settings)  # type: ignore[arg-type]
    assert "" in _paths(refused)
    assert await check_quota(other.id, settings) == []  # per user
    assert await check_quota(owner, limits(db, max_queued_jobs=0)) == []  # 0: no cap
    assert await check_quota(owner, None) == []  # no settings (the CLI): no cap
    # an ended job frees its place
    ended = await create_backtest(NewBacktest(owner, strategy_id, DOC, {}, "demo", "DEMO/USDT",
                                              "1h", 0, 1, 1000.0))
    assert ended.status == RunStatus.QUEUED
    assert len(await check_quota(owner, limits(db, max_queued_jobs=4))) == 1
    await store_jobs.finish("backtest", ended.id, RunStatus.CANCELLED)
    assert await check_quota(owner, limits(db, max_queued_jobs=4)) == []


async def test_a_sweep_over_the_cap_is_refused_before_its_grid_is_built(
        db: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, strategy_id = await _setup()

    def never(*_: Any) -> Any:
        raise AssertionError("the grid was built")

    monkeypatch.setattr(submit, "parameter_grid", never)
    grid = {"fast": {"start": 1, "stop": 1000, "step": 1}, "slow": {"start": 1, "stop": 1000,
                                                                   "step": 1}}
    with pytest.raises(InvalidRequest) as refused:
        await queue_sweep(owner, owner, SweepRequest(strategy_id, MARKET, grid), Recorder(),
                          MemoryBroadcaster(), settings=limits(db, max_sweep_sets=100_000))  # type: ignore[arg-type]
    [(path, message)] = refused.value.problems
    assert path == "grid"
    assert "1,000,000 parameter sets" in message and "100,000" in message
    monkeypatch.undo()
    fine = await queue_sweep(owner, owner, SweepRequest(strategy_id, MARKET, {"fast": [5, 6]}),
                             Recorder(), MemoryBroadcaster(),  # type: ignore[arg-type]
                             settings=limits(db, max_sweep_sets=2))
    assert fine.n_combinations == 2


@pytest.mark.parametrize(("extra", "path"), [
    ({"initial_capital": 1e308}, "initial_capital"),
    ({"initial_capital": 1e12 + 1}, "initial_capital"),
    ({"initial_capital": 0.0}, "initial_capital"),
    ({"risk_free_rate": 1e300}, "risk_free_rate"),
    ({"risk_free_rate": -1.0}, "risk_free_rate"),
    ({"risk_free_rate": 1.5}, "risk_free_rate"),
])
async def test_capital_and_rate_are_bounded(db: Settings, extra: dict[str, float],
                                            path: str) -> None:
    owner, strategy_id = await _setup()
    with pytest.raises(InvalidRequest) as refused:
        await _backtest(owner, None, strategy_id=strategy_id, **extra)
    assert _paths(refused) == {path}
    replay = ReplayRequest(symbol="DEMO/USDT", import_ids=(1,), **extra)
    with pytest.raises(InvalidRequest) as refused:
        await queue_replay(owner, owner, replay, Recorder(), MemoryBroadcaster())  # type: ignore[arg-type]
    assert path in _paths(refused)


async def test_the_largest_capital_and_rate_are_accepted(db: Settings) -> None:
    owner, strategy_id = await _setup()
    record = await _backtest(owner, None, strategy_id=strategy_id, initial_capital=1e12,
                             risk_free_rate=1.0)
    assert record.initial_capital == 1e12


@pytest.mark.parametrize("symbol", ["DEMO/USDT\x00", "\ud800", "DE\x1fMO"])
async def test_unstorable_market_names_are_problems(db: Settings, symbol: str) -> None:
    owner, strategy_id = await _setup()
    market = Market("demo", symbol, "1h", 0, 3_600_000)
    with pytest.raises(InvalidRequest) as refused:
        await queue_backtest(owner, owner, BacktestRequest(strategy_id, market), Recorder(),  # type: ignore[arg-type]
                             MemoryBroadcaster())
    assert _paths(refused) == {"symbol"}
    with pytest.raises(InvalidRequest) as refused:
        await queue_replay(owner, owner, ReplayRequest(symbol=symbol, import_ids=(1,)),
                           Recorder(), MemoryBroadcaster())  # type: ignore[arg-type]
    assert _paths(refused) == {"symbol"}
