"""Replays over the API (SQLite and PostgreSQL, the engine's process pool): imported
transactions replayed with a what-if model give the domain's results; a backtest replayed
gives back its equity; replayProgress streams to the end; bad input is a ValidationError;
another user's replays and backtests are NOT_FOUND."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from domain.replay import ReplayModel, what_if
from domain.transactions.model import Transaction
from graph.auth import Viewer
from graph.context import Context
from graph.ids import encode_id
from graph.schema import schema
from store.models import Role, TokenScope
from store.transaction_imports import NewImport, save_import
from tests.graph import runs
from tests.graph.conftest import Api, SignedIn, errors_of
from tests.graph.runs import CANDLES, EXCHANGE, SYMBOL, TIMEFRAME, iso, seed, start, wait_for

pytestmark = pytest.mark.asyncio
pool, run_api = runs.pool, runs.run_api  # fixtures: one warmed engine pool per module

RUN = """
mutation($input: RunReplayInput!) {
  runReplay(input: $input) {
    __typename
    ... on Replay { id status source exchange symbol timeframe from to fill feeBps slippageBps
                    delayBars initialCapital importIds }
    ... on ValidationError { problems { path message } }
    ... on NotFoundError { message }
  }
}"""
REPLAY = """
query($id: ID!) {
  replay(id: $id) {
    id status error
    summary { finalEquity totalReturn sharpe maxDrawdown nTrades }
    actualSummary { finalEquity }
    totals { nFills nRoundTrips nDropped droppedRows slippage feeAttribution pnlDifference
             droppedPnl actualFees replayedFees openPosition }
    fills(first: 100) { totalCount edges { node { seq row side price replayPrice slippage
                                                  feeAttribution replayTime } }
                        pageInfo { hasNextPage } }
    trades(first: 5) { totalCount edges { node { pnl exitReason } } }
    equityCurve(maxPoints: 100000) { times values }
    actualEquityCurve(maxPoints: 50) { values }
    drawdownCurve(maxPoints: 50) { values }
    realizedPnlCurve(maxPoints: 50) { values }
    unrealizedPnlCurve(maxPoints: 50) { values }
    positionCurve(maxPoints: 50) { values }
  }
}"""
PROGRESS = """subscription($id: ID!) { replayProgress(id: $id) {
  replayId seq kind status progress error summary { finalEquity } totals { nFills }
  equity { values } } }"""


def history(n: int = 200) -> list[Transaction]:
    rng = np.random.default_rng(5)
    bars = np.sort(rng.choice(np.arange(5, len(CANDLES) - 5), n, replace=False))
    return [Transaction(int(CANDLES.ts[j]) + 60_000, SYMBOL, "buy" if i % 3 else "sell",
                        float(CANDLES.close[j]), 0.5 + i % 4, 0.01, "USDT", str(i), i + 2)
            for i, j in enumerate(bars.tolist())]


async def replay_of(api: Api, token: str, **input: Any) -> dict[str, Any]:
    result = await api.gql(RUN, {"input": input}, token=token)
    assert "errors" not in result, result
    payload: dict[str, Any] = result["data"]["runReplay"]
    return payload


def context_of(api: Api, who: SignedIn) -> Context:
    context = Context(api.services)
    context.set_viewer(Viewer(who.id, Role.TRADER, TokenScope.READ_WRITE, "jwt"))
    return context


async def events_of(api: Api, who: SignedIn, ident: str) -> list[Any]:
    stream = await schema.subscribe(PROGRESS, variable_values={"id": ident},
                                    context_value=context_of(api, who))
    assert isinstance(stream, AsyncIterator)
    return [r async for r in stream]


async def test_transactions_replayed_with_a_what_if(run_api: Api) -> None:
    user, _ = await seed(run_api)
    txs = history()
    batch = await save_import(NewImport(user.id, "h", "plain_csv", EXCHANGE, None, txs))
    created = await replay_of(run_api, user.token, symbol=SYMBOL, timeframe=TIMEFRAME,
                              exchange=EXCHANGE, importIds=[encode_id("TransactionImport", batch.id)],
                              fill="OPEN",
                              feeBps=5, slippageBps=3, delayBars=2, initialCapital=50_000)
    assert created["__typename"] == "Replay", created
    assert (created["fill"], created["feeBps"], created["delayBars"]) == ("OPEN", 5.0, 2)
    assert created["importIds"] == [encode_id("TransactionImport", batch.id)] and created["source"] == "TRANSACTIONS"
    node = await wait_for(run_api, user.token, "replay", created["id"])
    assert node["status"] == "SUCCEEDED", node
    events = await events_of(run_api, user, created["id"])  # late: the final state at once
    assert [e.data["replayProgress"]["kind"] for e in events] == ["done"]
    assert events[0].data["replayProgress"]["totals"]["nFills"] == len(txs)

    got = (await run_api.gql(REPLAY, {"id": created["id"]}, token=user.token))["data"]["replay"]
    # from the first fill's bar to the end of the last one's, plus the 2 bars of the delay
    candles = CANDLES.slice_time(txs[0].time_ms - 60_000, txs[-1].time_ms - 60_000 + 3 * 3_600_000)
    want = what_if(txs, candles, 50_000.0, ReplayModel("open", 0.0005, 0.0003, 2))
    assert got["summary"]["finalEquity"] == pytest.approx(want.replayed.final_equity, abs=1e-6)
    assert got["actualSummary"]["finalEquity"] == pytest.approx(want.actual.final_equity,
                                                                abs=1e-6)
    totals = got["totals"]
    assert totals["nDropped"] == want.n_dropped == 0
    assert totals["slippage"] == pytest.approx(want.slippage, abs=1e-6)
    assert totals["feeAttribution"] == pytest.approx(want.fee_attribution, abs=1e-6)
    assert totals["pnlDifference"] == pytest.approx(
        totals["slippage"] + totals["feeAttribution"], abs=1e-6)
    fills = got["fills"]
    assert fills["totalCount"] == len(txs) and fills["pageInfo"]["hasNextPage"]
    first = fills["edges"][0]["node"]
    assert first["row"] == txs[0].row and first["replayPrice"] == pytest.approx(
        want.replayed.fills["replay_price"][0])
    assert got["trades"]["totalCount"] == len(want.replayed.trades)
    np.testing.assert_allclose(got["equityCurve"]["values"], want.replayed.equity, atol=1e-9)
    assert len(got["equityCurve"]["times"]) == len(candles)
    for name in ("actualEquityCurve", "drawdownCurve", "realizedPnlCurve",
                 "unrealizedPnlCurve", "positionCurve"):
        assert 0 < len(got[name]["values"]) <= 50


async def test_a_backtest_replayed_gives_back_its_equity(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    backtest_id = await start(run_api, user.token, strategy_id)
    assert (await wait_for(run_api, user.token, "backtest", backtest_id))["status"] == "SUCCEEDED"
    created = await replay_of(run_api, user.token, backtestId=backtest_id)
    assert (created["source"], created["symbol"], created["timeframe"]) == (
        "BACKTEST", SYMBOL, TIMEFRAME)
    events = await events_of(run_api, user, created["id"])
    kinds = [e.data["replayProgress"]["kind"] for e in events]
    assert kinds[-1] == "done" and all(e.errors is None for e in events), events
    replayed = (await run_api.gql(REPLAY, {"id": created["id"]},
                                  token=user.token))["data"]["replay"]
    original = await run_api.gql(
        "query($id: ID!) { backtest(id: $id) { summary { finalEquity nTrades } "
        "equityCurve(maxPoints: 100000) { values } } }", {"id": backtest_id}, token=user.token)
    bt = original["data"]["backtest"]
    assert replayed["summary"]["finalEquity"] == pytest.approx(bt["summary"]["finalEquity"],
                                                               abs=0.005)
    assert np.abs(np.array(replayed["equityCurve"]["values"])
                  - np.array(bt["equityCurve"]["values"])).max() < 0.005
    assert replayed["summary"]["nTrades"] == bt["summary"]["nTrades"]


async def test_bad_input_and_ownership(run_api: Api) -> None:
    alice, strategy_id = await seed(run_api)
    bob = await run_api.user("bob@x.io")
    await save_import(NewImport(alice.id, "h", "plain_csv", EXCHANGE, None, history(20)))
    bad = await replay_of(run_api, alice.token, symbol=SYMBOL, timeframe="9q", feeBps=-1,
                          delayBars=-1)
    assert bad["__typename"] == "ValidationError"
    assert {p["path"] for p in bad["problems"]} == {"input.feeBps", "input.delayBars",
                                                     "input.timeframe"}
    bad = await replay_of(run_api, alice.token, symbol=SYMBOL, timeframe="9q")
    assert [p["path"] for p in bad["problems"]] == ["input.timeframe"]
    assert "9q" in bad["problems"][0]["message"]
    none = await replay_of(run_api, bob.token, symbol=SYMBOL, timeframe=TIMEFRAME,
                           exchange=EXCHANGE)
    assert [p["path"] for p in none["problems"]] == ["input.symbol"]  # bob imported nothing

    backtest_id = await start(run_api, alice.token, strategy_id)
    assert (await wait_for(run_api, alice.token, "backtest", backtest_id))["status"] == "SUCCEEDED"
    stolen = await replay_of(run_api, bob.token, backtestId=backtest_id)
    assert stolen == {"__typename": "NotFoundError", "message": f"backtest {backtest_id} not found"}
    created = await replay_of(run_api, alice.token, symbol=SYMBOL, timeframe=TIMEFRAME,
                              exchange=EXCHANGE)
    query = "query($id: ID!) { replay(id: $id) { id } }"
    assert errors_of(await run_api.gql(query, {"id": created["id"]}, token=bob.token)) == [
        ("NOT_FOUND", f"replay {created['id']} not found")]
    listed = await run_api.gql("{ replays { edges { node { id } } } }", token=bob.token)
    assert listed["data"]["replays"]["edges"] == []
    cancel = """mutation($id: ID!) { cancelReplay(id: $id) {
      __typename ... on Replay { status } ... on NotFoundError { message } } }"""
    refused = await run_api.gql(cancel, {"id": created["id"]}, token=bob.token)
    assert refused["data"]["cancelReplay"]["__typename"] == "NotFoundError"
    await wait_for(run_api, alice.token, "replay", created["id"])
    mine = await run_api.gql("{ replays { edges { node { id } } } }", token=alice.token)
    assert [e["node"]["id"] for e in mine["data"]["replays"]["edges"]] == [created["id"]]
    stream = await events_of(run_api, bob, created["id"])
    assert stream[0].errors and stream[0].errors[0].extensions == {"code": "NOT_FOUND"}


async def test_candles_missing_fail_the_replay_with_a_clear_message(run_api: Api) -> None:
    user, _ = await seed(run_api)
    txs = [dataclasses.replace(t, symbol="BTC/USDT") for t in history(5)]
    await save_import(NewImport(user.id, "h", "plain_csv", EXCHANGE, None, txs))
    created = await replay_of(run_api, user.token, symbol="BTC/USDT", timeframe=TIMEFRAME,
                              exchange=EXCHANGE, **{"from": iso(txs[0].time_ms - 60_000)})
    node = await wait_for(run_api, user.token, "replay", created["id"])
    assert node["status"] == "FAILED"
    assert node["error"].startswith("no demo BTC/USDT 1h candles are stored in that range")
