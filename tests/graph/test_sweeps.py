"""Sweeps over the API (SQLite and PostgreSQL): the ranked table equals the engine's sweep,
grid validation, cancelling a running sweep, ownership across users."""

from __future__ import annotations

from typing import Any

import pytest

from domain.engine.sweep import run_sweep
from domain.strategy import parameter_grid, parse_strategy
from graph.ids import encode_id
from store.models import Role
from tests.graph import runs
from tests.graph.conftest import Api, errors_of
from tests.graph.runs import (
    CANDLES,
    SMA,
    metric_value,
    run_input,
    seed,
    wait_for,
)

pytestmark = pytest.mark.asyncio
pool, run_api = runs.pool, runs.run_api  # fixtures: one warmed engine pool per module

RUN = """
mutation($input: RunSweepInput!) {
  runSweep(input: $input) {
    __typename
    ... on Sweep { id status nCombinations grid rankBy }
    ... on ValidationError { problems { path message } }
    ... on NotFoundError { message }
  }
}"""

SWEEP = """
query($id: ID!) {
  sweep(id: $id) {
    id status error nCombinations rankBy
    rows(first: 100) { totalCount edges { node {
      rank params metrics { sharpe totalReturn maxDrawdown nTrades finalEquity } } } }
  }
}"""

CANCEL = """
mutation($id: ID!) { cancelSweep(id: $id) {
  __typename ... on Sweep { id status } ... on NotFoundError { message } } }"""


async def start_sweep(api: Api, token: str, strategy_id: int, grid: Any, **extra: Any
                      ) -> dict[str, Any]:
    result = await api.gql(RUN, {"input": {**run_input(strategy_id), "grid": grid, **extra}},
                           token=token)
    assert "errors" not in result, result
    payload: dict[str, Any] = result["data"]["runSweep"]
    return payload


async def test_ranked_table_equals_the_engine(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    grid = {"fast": [5, 10, 15], "slow": {"start": 30, "stop": 90, "step": 30}}
    created = await start_sweep(run_api, user.token, strategy_id, grid, rankBy="TOTAL_RETURN")
    assert created["__typename"] == "Sweep" and created["nCombinations"] == 9
    assert created["grid"] == {"fast": [5, 10, 15], "slow": [30, 60, 90]}
    node = await wait_for(run_api, user.token, "sweep", created["id"])
    assert node["status"] == "SUCCEEDED", node
    result = await run_api.gql(SWEEP, {"id": created["id"]}, token=user.token)
    rows = [e["node"] for e in result["data"]["sweep"]["rows"]["edges"]]
    assert result["data"]["sweep"]["rows"]["totalCount"] == len(rows)

    strategy = parse_strategy(SMA)
    sets = parameter_grid(strategy, {"fast": [5, 10, 15], "slow": [30, 60, 90]})
    expected = run_sweep(strategy, CANDLES, sets, rank_by="total_return")
    assert [r["rank"] for r in rows] == list(range(1, 10))
    assert [r["params"] for r in rows] == [r.params for r in expected.rows]
    for got, want in zip(rows, expected.rows, strict=True):
        assert got["metrics"]["sharpe"] == metric_value(want.metrics["sharpe"])
        assert got["metrics"]["totalReturn"] == want.metrics["total_return"]
        assert got["metrics"]["finalEquity"] == pytest.approx(
            10_000 * (1 + want.metrics["total_return"]))


async def test_bad_grids_are_validation_errors(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)

    async def problems(grid: Any, **extra: Any) -> dict[str, str]:
        payload = await start_sweep(run_api, user.token, strategy_id, grid, **extra)
        assert payload["__typename"] == "ValidationError", payload
        return {p["path"]: p["message"] for p in payload["problems"]}

    found = await problems({"fast": {"start": 9, "stop": 1, "step": 1}, "slow": [], "nope": [1]})
    assert found["input.grid.fast"] == "start must be <= stop, got 9 > 1"
    assert found["input.grid.slow"] == "no values"
    assert set(found) == {"input.grid.fast", "input.grid.slow"}
    found = await problems({"nope": [1], "fast": [2.5]})
    assert set(found) == {"input.grid.nope", "input.grid.fast"}
    assert set(await problems([1, 2], timeframe="nope")) == {"input.grid", "input.timeframe"}
    payload = await start_sweep(run_api, user.token, 999, {})
    assert payload == {"__typename": "NotFoundError",
                       "message": f"strategy {encode_id('Strategy', 999)} not found"}


async def test_cancel_a_running_sweep(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    big = {"fast": {"start": 2, "stop": 200, "step": 1}, "slow": {"start": 10, "stop": 500,
                                                                  "step": 1}}
    created = await start_sweep(run_api, user.token, strategy_id, big)
    await wait_for(run_api, user.token, "sweep", created["id"], ("RUNNING",))
    result = await run_api.gql(CANCEL, {"id": created["id"]}, token=user.token)
    assert result["data"]["cancelSweep"]["__typename"] == "Sweep"
    node = await wait_for(run_api, user.token, "sweep", created["id"], timeout=10)
    assert node["status"] == "CANCELLED"
    result = await run_api.gql(SWEEP, {"id": created["id"]}, token=user.token)
    assert result["data"]["sweep"]["rows"] is None


async def test_ownership(run_api: Api) -> None:
    alice, strategy_id = await seed(run_api)
    bob, _ = await seed(run_api, "b@x.io")
    admin = await run_api.user("root@x.io", Role.ADMIN)
    created = await start_sweep(run_api, alice.token, strategy_id, {"fast": [5, 10]})
    sweep_id = created["id"]
    await wait_for(run_api, alice.token, "sweep", sweep_id)
    result = await run_api.gql(SWEEP, {"id": sweep_id}, token=bob.token)
    assert errors_of(result) == [("NOT_FOUND", f"sweep {sweep_id} not found")]
    result = await run_api.gql(CANCEL, {"id": sweep_id}, token=bob.token)
    assert result["data"]["cancelSweep"]["__typename"] == "NotFoundError"
    payload = await start_sweep(run_api, bob.token, strategy_id, {"fast": [5]})
    assert payload["__typename"] == "NotFoundError"
    listed = "{ sweeps(first: 10) { edges { node { id } } pageInfo { hasNextPage } } }"
    assert (await run_api.gql(listed, token=bob.token))["data"]["sweeps"]["edges"] == []
    mine = (await run_api.gql(listed, token=alice.token))["data"]["sweeps"]
    assert mine == {"edges": [{"node": {"id": sweep_id}}], "pageInfo": {"hasNextPage": False}}
    result = await run_api.gql(SWEEP, {"id": sweep_id}, token=admin.token)
    assert result["data"]["sweep"]["status"] == "SUCCEEDED"


async def test_sweeps_pages(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    ids = [(await start_sweep(run_api, user.token, strategy_id, {"fast": [f]}))["id"]
           for f in (5, 10, 15)]
    query = "query($after: String) { sweeps(first: 2, after: $after) { edges { node { id } } " \
            "pageInfo { hasNextPage endCursor } } }"
    first = (await run_api.gql(query, token=user.token))["data"]["sweeps"]
    assert [e["node"]["id"] for e in first["edges"]] == ids[::-1][:2]
    assert first["pageInfo"]["hasNextPage"]
    second = (await run_api.gql(query, {"after": first["pageInfo"]["endCursor"]},
                                token=user.token))["data"]["sweeps"]
    assert [e["node"]["id"] for e in second["edges"]] == [ids[0]]
    for sweep_id in ids:
        await wait_for(run_api, user.token, "sweep", sweep_id)
