"""The replay job on both backends: stored transactions and a finished backtest's trades
replayed, the results saved in one piece and equal to the domain's, what-ifs, BNB fees
converted with stored candles, failures and cancels recorded, stale replays recovered."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from domain.candles import resample
from domain.demo import demo_candles
from domain.replay import ReplayModel, replay_metrics, transactions_from_trades, what_if
from domain.replay.placement import align_prices
from domain.transactions.model import Transaction
from store import leases as store_leases
from store import replay_results
from store import replays as store_replays
from store import transactions as store_transactions
from store.backtests import NewBacktest, create_backtest, get_backtest
from store.candles import write_candles
from store.models import RunStatus
from store.scope import ALL_OWNERS
from store.settings import Settings
from store.transaction_imports import NewImport, save_import
from store.users import create_user
from tasks.execution.compute import CancelToken
from tasks.jobs.control import cancel_job
from tasks.jobs.lifecycle import run_job
from tasks.jobs.recovery import recover
from tasks.jobs.replay_submit import ReplayRequest, queue_replay
from tasks.jobs.state import stored_state
from tasks.jobs.submit import InvalidRequest
from tasks.messaging.broadcast import MemoryBroadcaster
from tasks.messaging.events import channel

pytestmark = pytest.mark.asyncio
SYMBOL = "DEMO/USDT"
CANDLES = demo_candles(2_000, "1h")
BNB = dataclasses.replace(demo_candles(2_000, "1h", seed=9, symbol="BNB/USDT"))
DOC = {"name": "t", "side": "long",
       "entry": {"left": {"price": "close"}, "op": ">", "right": {"indicator": "sma", "period": 5}},
       "exit": {"left": {"price": "close"}, "op": "<", "right": {"indicator": "sma", "period": 5}},
       "costs": {"fee_bps": 10, "slippage_bps": 0}}


class Recorder:
    """An executor that only records what it was given (the test runs the job itself)."""

    def __init__(self) -> None:
        self.submitted: list[int] = []

    async def submit(self, kind: str, job_id: int) -> None:
        assert kind == "replay"
        self.submitted.append(job_id)

    async def cancel(self, kind: str, job_id: int) -> bool:
        return False


def history(n: int = 300, seed: int = 3) -> list[Transaction]:
    """Buys and sells of DEMO/USDT near the close of random bars, fees in USDT, DEMO or BNB."""
    rng = np.random.default_rng(seed)
    bars = np.sort(rng.choice(np.arange(10, len(CANDLES) - 10), n, replace=False))
    out = []
    for i, j in enumerate(bars.tolist()):
        price = float(CANDLES.close[j]) * (1 + rng.normal(0, 0.001))
        qty = float(rng.uniform(0.1, 2.0))
        asset = ("USDT", "DEMO", "BNB")[i % 3]
        fee = {"USDT": 0.001 * qty * price, "DEMO": 0.001 * qty, "BNB": 0.0005}[asset]
        out.append(Transaction(int(CANDLES.ts[j]) + 1_000 * (i % 50), SYMBOL,
                               "buy" if rng.random() < 0.55 else "sell", price, qty, fee, asset,
                               str(i), i + 2))
    return out


async def setup(bnb: bool = True) -> tuple[int, list[Transaction], int]:
    user = await create_user("a@x.io", None)
    await write_candles("demo", SYMBOL, "1h", CANDLES)
    if bnb:
        await write_candles("demo", "BNB/USDT", "1h", BNB)
    txs = history()
    batch = await save_import(NewImport(user.id, "h", "plain_csv", "demo", None, txs))
    return user.id, txs, batch.id


async def queue(owner: int, **kw: Any) -> tuple[int, Recorder, MemoryBroadcaster]:
    executor, events = Recorder(), MemoryBroadcaster()
    req = ReplayRequest(**{"symbol": SYMBOL, "timeframe": "1h", "exchange": "demo", **kw})
    record = await queue_replay(owner, owner, req, executor, events)  # type: ignore[arg-type]
    assert executor.submitted == [record.id]
    return record.id, executor, events


async def test_transactions_replayed_and_saved_as_the_domain_computes(db: Settings) -> None:
    owner, txs, _ = await setup()
    replay_id, _, events = await queue(owner, fill="typical", fee_bps=7.5, slippage_bps=2,
                                       delay_bars=1)
    record = await store_replays.get_replay(replay_id, owner=ALL_OWNERS)
    assert record is not None and record.status == RunStatus.QUEUED
    first, last = min(t.time_ms for t in txs), max(t.time_ms for t in txs)
    assert record.start_ms == first - first % 3_600_000  # the bars of the first and last fills
    assert record.end_ms == last - last % 3_600_000 + 2 * 3_600_000  # and the delay's bar
    assert record.parameters["fee_rate"] == 0.00075
    seen: list[dict[str, Any]] = []
    async with events.subscribe(channel("replay", replay_id)) as stream:
        await run_job("replay", replay_id, events)
        async for event in stream:
            seen.append(event)
            if event["kind"] in ("done", "error", "cancelled"):
                break
    assert seen[0]["kind"] == "status" and seen[-1]["kind"] == "done"
    done = (await store_replays.get_replay(replay_id, owner=ALL_OWNERS))
    assert done is not None and done.status == RunStatus.SUCCEEDED, done.error

    candles = CANDLES.slice_time(record.start_ms, record.end_ms)
    model = ReplayModel("typical", 0.00075, 0.0002, 1)
    want = what_if(txs, candles, 10_000.0, model,
                   conversions={"BNB": align_prices(candles, BNB)})
    assert done.result is not None
    totals, summary = done.result["totals"], done.result["summary"]
    assert summary["final_equity"] == pytest.approx(want.replayed.final_equity, abs=1e-6)
    assert done.result["actual_summary"]["final_equity"] == pytest.approx(
        want.actual.final_equity, abs=1e-6)
    assert totals["slippage"] == pytest.approx(want.slippage, abs=1e-6)
    assert totals["fee_attribution"] == pytest.approx(want.fee_attribution, abs=1e-6)
    assert totals["n_dropped"] == want.n_dropped and totals["n_fills"] == len(txs)
    metrics = replay_metrics(want.replayed)
    for name in ("sharpe", "max_drawdown", "n_trades", "total_return"):
        assert summary[name] == pytest.approx(metrics[name], rel=1e-9, abs=1e-12)
    fills = await replay_results.fills_page(replay_id, None, 1_000)
    assert len(fills) == len(txs) == await replay_results.count_fills(replay_id)
    assert [f.file_row for f in fills] == want.replayed.fills["row"].tolist()
    got = np.array([np.nan if f.slippage is None else f.slippage for f in fills])
    np.testing.assert_allclose(got, want.replayed.fills["slippage"], rtol=1e-12, atol=1e-9)
    trades = await replay_results.trades_page(replay_id, None, 10_000)
    assert len(trades) == len(want.replayed.trades)
    assert math.fsum(t.pnl for t in trades) == pytest.approx(want.replayed.net_pnl, abs=1e-6)
    curves = await replay_results.replay_curves(replay_id)
    assert curves is not None
    np.testing.assert_array_equal(curves[1]["equity"], want.replayed.equity)
    np.testing.assert_array_equal(curves[1]["actual_equity"], want.actual.equity)
    np.testing.assert_array_equal(curves[1]["position"], want.replayed.position)
    state = await stored_state("replay", replay_id)
    assert state is not None and state["kind"] == "done" and state["totals"] == totals


async def test_a_backtest_replayed_gives_back_its_equity(db: Settings) -> None:
    user = await create_user("a@x.io", None)
    await write_candles("demo", SYMBOL, "1h", CANDLES)
    await write_candles("other", SYMBOL, "4h", resample(CANDLES, "4h").candles)
    bt = await create_backtest(NewBacktest(user.id, None, DOC, {}, "demo", SYMBOL, "1h",
                                           int(CANDLES.ts[0]), int(CANDLES.ts[-1]) + 3_600_000,
                                           10_000.0))
    events = MemoryBroadcaster()
    await run_job("backtest", bt.id, events)
    assert (await get_backtest(bt.id, owner=ALL_OWNERS)).status == RunStatus.SUCCEEDED  # type: ignore[union-attr]
    replay_id, _, _ = await queue(user.id, backtest_id=bt.id, symbol=None, timeframe=None,
                                  exchange=None)
    await run_job("replay", replay_id, events)
    done = await store_replays.get_replay(replay_id, owner=ALL_OWNERS)
    assert done is not None and done.status == RunStatus.SUCCEEDED, done.error
    assert (done.exchange, done.timeframe, done.source) == ("demo", "1h", "backtest")
    times, curves = await replay_results.replay_curves(replay_id)  # type: ignore[misc]
    bt_curve = await replay_results.replay_curves(replay_id)
    assert bt_curve is not None
    from store.backtest_results import equity_curve

    bt_times, bt_equity = await equity_curve(bt.id)  # type: ignore[misc]
    np.testing.assert_array_equal(times, bt_times)
    assert np.abs(curves["equity"] - bt_equity).max() < 0.005  # to the cent
    # the robustness check: the same trades on another exchange's 4h candles, filled at opens
    other_id, _, _ = await queue(user.id, backtest_id=bt.id, symbol=None, timeframe="4h",
                                 exchange="other", fill="open")
    await run_job("replay", other_id, events)
    other = await store_replays.get_replay(other_id, owner=ALL_OWNERS)
    assert other is not None and other.status == RunStatus.SUCCEEDED, other.error
    assert other.result is not None and other.result["totals"]["n_fills"] > 0
    await events.close()


async def test_trades_of_a_backtest_are_its_fills(db: Settings) -> None:
    """The backtest source is domain.replay.transactions_from_trades of the stored trades."""
    user = await create_user("a@x.io", None)
    await write_candles("demo", SYMBOL, "1h", CANDLES)
    bt = await create_backtest(NewBacktest(user.id, None, DOC, {}, "demo", SYMBOL, "1h",
                                           int(CANDLES.ts[0]), int(CANDLES.ts[-1]) + 1, 1e4))
    await run_job("backtest", bt.id, MemoryBroadcaster())
    found = await store_replays.backtest_trades(bt.id)
    assert found is not None and len(found[0]) > 0
    txs = transactions_from_trades(found[0], SYMBOL, 0.001)
    assert txs[0].fee == pytest.approx(0.001 * txs[0].quantity * txs[0].price)


async def test_bad_requests_are_refused_with_their_fields(db: Settings) -> None:
    owner, _, _ = await setup()
    other = await create_user("b@x.io", None)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"fill": "mid", "fee_bps": -1, "slippage_bps": float("nan"), "delay_bars": -2},
         {"fill", "fee_bps", "slippage_bps", "delay_bars"}),
        ({"timeframe": "7x"}, {"timeframe"}),
        ({"symbol": "SOL/USDT"}, {"symbol"}),
        ({"import_ids": (999,)}, {"import_ids", "symbol"}),
        ({"start_ms": int(CANDLES.ts[50]), "end_ms": int(CANDLES.ts[40])}, {"to"}),
        ({"initial_capital": 0.0}, {"initial_capital"}),
    ]
    for kw, fields in cases:
        with pytest.raises(InvalidRequest) as info:
            await queue(owner, **kw)
        assert {p for p, _ in info.value.problems} == fields, (kw, info.value.problems)
    with pytest.raises(InvalidRequest):  # another user has no transactions
        await queue(other.id)


async def test_failures_are_recorded(db: Settings) -> None:
    owner, _, batch = await setup(bnb=False)
    events = MemoryBroadcaster()
    replay_id, _, _ = await queue(owner)
    await run_job("replay", replay_id, events)
    failed = await store_replays.get_replay(replay_id, owner=ALL_OWNERS)
    assert failed is not None and failed.status == RunStatus.FAILED
    assert "pay their fee in BNB: store demo BNB/USDT 1h candles" in (failed.error or "")
    assert await replay_results.count_fills(replay_id) == 0
    # transactions deleted after the replay was queued
    replay_id, _, _ = await queue(owner)
    await store_transactions.delete_import(batch, owner=owner)
    await run_job("replay", replay_id, events)
    gone = await store_replays.get_replay(replay_id, owner=ALL_OWNERS)
    assert gone is not None and "no DEMO/USDT transactions are stored" in (gone.error or "")


async def test_cancel_and_recovery(db: Settings) -> None:
    owner, _, _ = await setup()
    events = MemoryBroadcaster()
    replay_id, executor, _ = await queue(owner)
    cancelled = await cancel_job("replay", replay_id, owner=owner, executor=executor,  # type: ignore[arg-type]
                                 broadcaster=events)
    assert cancelled is not None and cancelled.status == RunStatus.CANCELLED
    await run_job("replay", replay_id, events)  # not queued any more: left alone
    assert (await store_replays.get_replay(replay_id, owner=ALL_OWNERS)).status == RunStatus.CANCELLED  # type: ignore[union-attr]

    token = CancelToken()
    token.cancel()
    replay_id, _, _ = await queue(owner)
    await run_job("replay", replay_id, events, cancel=token)
    assert (await store_replays.get_replay(replay_id, owner=ALL_OWNERS)).status == RunStatus.CANCELLED  # type: ignore[union-attr]

    stuck, _, _ = await queue(owner)
    assert await store_leases.claim("replay", stuck, "gone-worker", 60.0)
    dispatched: list[tuple[str, int]] = []

    async def dispatch(kind: str, job_id: int) -> None:
        dispatched.append((kind, job_id))

    stale = dataclasses.replace(db, job_stale_after_s=0.0)
    report = await recover(stale, events, dispatch)
    assert ("replay", stuck) in report.requeued and ("replay", stuck) in dispatched
    await run_job("replay", stuck, events)
    assert (await store_replays.get_replay(stuck, owner=ALL_OWNERS)).status == RunStatus.SUCCEEDED  # type: ignore[union-attr]
