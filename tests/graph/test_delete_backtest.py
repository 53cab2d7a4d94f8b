"""deleteBacktest: an ended run goes with its results; a queued or running one is refused
(cancel it first); another user's is not found; the list and its count follow."""

from __future__ import annotations

import pytest

from store import backtest_results as results_store
from tests.graph import runs
from tests.graph.conftest import Api
from tests.graph.runs import pk, seed, start, wait_for

pytestmark = pytest.mark.asyncio
pool, run_api = runs.pool, runs.run_api  # fixtures: one warmed engine pool per module

DELETE = """
mutation($id: ID!) { deleteBacktest(id: $id) {
  __typename
  ... on DeletedBacktest { deletedId strategyName symbol }
  ... on BacktestStillRunning { message backtest { id status } }
  ... on NotFoundError { message } } }"""

CANCEL = """
mutation($id: ID!) { cancelBacktest(id: $id) { __typename ... on Backtest { status } } }"""

LIST = "{ backtests { totalCount edges { node { id } } } }"


async def test_delete_an_ended_backtest_with_its_results(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    kept = await start(run_api, user.token, strategy_id)
    gone = await start(run_api, user.token, strategy_id, params={"fast": 7})
    for run_id in (kept, gone):
        assert (await wait_for(run_api, user.token, "backtest", run_id))["status"] == "SUCCEEDED"
    assert (await run_api.gql(LIST, token=user.token))["data"]["backtests"]["totalCount"] == 2
    curve = f'query {{ backtest(id: "{gone}") {{ equityCurve {{ values }} }} }}'
    assert (await run_api.gql(curve, token=user.token))["data"]["backtest"]["equityCurve"]

    result = await run_api.gql(DELETE, {"id": gone}, token=user.token)
    assert result["data"]["deleteBacktest"] == {
        "__typename": "DeletedBacktest", "deletedId": gone, "strategyName": "SMA crossover",
        "symbol": "DEMO/USDT"}
    assert await results_store.summaries_for([pk(gone)]) == [None]
    assert await results_store.equity_curve(pk(gone)) is None
    listed = (await run_api.gql(LIST, token=user.token))["data"]["backtests"]
    assert listed == {"totalCount": 1, "edges": [{"node": {"id": kept}}]}
    again = await run_api.gql(DELETE, {"id": gone}, token=user.token)
    assert again["data"]["deleteBacktest"] == {"__typename": "NotFoundError",
                                               "message": f"backtest {gone} not found"}
    missing = await run_api.gql(f'{{ backtest(id: "{gone}") {{ id }} }}', token=user.token)
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_queued_backtest_is_kept_until_cancelled(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    run_api.services.executor.slots = 0  # nothing starts: the run waits in the queue
    run_id = await start(run_api, user.token, strategy_id)
    result = await run_api.gql(DELETE, {"id": run_id}, token=user.token)
    assert result["data"]["deleteBacktest"] == {
        "__typename": "BacktestStillRunning",
        "message": f"backtest {run_id} is queued: cancel it first",
        "backtest": {"id": run_id, "status": "QUEUED"}}
    assert (await run_api.gql(LIST, token=user.token))["data"]["backtests"]["totalCount"] == 1
    cancelled = await run_api.gql(CANCEL, {"id": run_id}, token=user.token)
    assert cancelled["data"]["cancelBacktest"]["status"] == "CANCELLED"
    result = await run_api.gql(DELETE, {"id": run_id}, token=user.token)
    assert result["data"]["deleteBacktest"]["__typename"] == "DeletedBacktest"
    assert (await run_api.gql(LIST, token=user.token))["data"]["backtests"]["totalCount"] == 0


async def test_only_the_owner_deletes(run_api: Api) -> None:
    alice, strategy_id = await seed(run_api)
    bob, _ = await seed(run_api, "b@x.io")
    run_id = await start(run_api, alice.token, strategy_id)
    await wait_for(run_api, alice.token, "backtest", run_id)
    result = await run_api.gql(DELETE, {"id": run_id}, token=bob.token)
    assert result["data"]["deleteBacktest"]["__typename"] == "NotFoundError"
    assert (await run_api.gql(LIST, token=alice.token))["data"]["backtests"]["totalCount"] == 1
    unauthenticated = await run_api.gql(DELETE, {"id": run_id})
    assert unauthenticated["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
