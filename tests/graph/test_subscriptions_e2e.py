"""Subscriptions end to end: a real uvicorn server on 127.0.0.1 (random port, in a thread) and
gql's websocket client speaking graphql-transport-ws, authenticated in connection_init.

A backtest waits behind a running sweep (one job slot), so its subscriber sees it from
``queued`` on; the sweep is then cancelled and the events must arrive in order up to the final
summary, which, like the stored result queried afterwards, equals the engine's for the same
inputs. A late subscriber gets the final state at once; another user's backtest is an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from domain.engine.run import run_backtest
from domain.metrics import METRIC_NAMES
from domain.strategy import parse_strategy
from graph.app import create_app
from graph.auth import Tokens, load_secret
from store.candles import write_candles
from store.db import close_db, init_db
from store.strategies import create_strategy
from store.users import create_user
from tasks.execution.executor import InProcessExecutor
from tests.graph.conftest import api_settings
from tests.graph.runs import CANDLES, EXCHANGE, SMA, SYMBOL, TIMEFRAME, metric_value, run_input
from tests.serving import serve_app

pytestmark = pytest.mark.asyncio

PROGRESS = """
subscription($id: ID!) {
  backtestProgress(id: $id) {
    seq kind status progress at error equity { times values }
    summary { finalEquity totalReturn sharpe maxDrawdown nTrades winRate }
  }
}"""


@dataclass(frozen=True)
class Served:
    http: str
    ws: str
    alice: str
    bob: str
    strategy_id: int


async def _seed(settings: Any) -> tuple[str, str, int]:
    await init_db(settings)
    try:
        tokens = Tokens(load_secret(settings))
        alice = await create_user("alice@x.io", None)
        bob = await create_user("bob@x.io", None)
        strategy = await create_strategy(alice.id, "sma", SMA)
        await write_candles(EXCHANGE, SYMBOL, TIMEFRAME, CANDLES)
        return tokens.issue(alice).access_token, tokens.issue(bob).access_token, strategy.id
    finally:
        await close_db()


@pytest.fixture
def served(backend_url: str, tmp_path: Path) -> Iterator[Served]:
    """The app under uvicorn in a thread, one job slot; stopped (and joined) afterwards."""
    settings = api_settings(backend_url, tmp_path, max_concurrent_jobs=1)
    alice, bob, strategy_id = asyncio.run(_seed(settings))
    app = create_app(settings)
    services = app.state.services
    services.executor = InProcessExecutor(settings, services.broadcaster, warm=True)
    with serve_app(app) as port:
        yield Served(f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql",
                     alice, bob, strategy_id)


async def gql_http(url: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(url, json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert "errors" not in result, result
    return result["data"]


async def wait_status(url: str, token: str, kind: str, run_id: str, status: str) -> None:
    for _ in range(1_500):
        data = await gql_http(url, token, f"query($id: ID!) {{ {kind}(id: $id) {{ status }} }}",
                              {"id": run_id})
        if data[kind]["status"] == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{kind} {run_id} never became {status}")


def transport(s: Served, token: str | None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=s.ws, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"Authorization": f"Bearer {token}"} if token else {})


async def subscribe(s: Served, token: str | None, run_id: str,
                    first_seen: asyncio.Event | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    request = GraphQLRequest(PROGRESS, variable_values={"id": run_id})
    async with Client(transport=transport(s, token)) as session:
        async for result in session.subscribe(request):
            events.append(result["backtestProgress"])
            if first_seen is not None:
                first_seen.set()
    return events


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


async def test_progress_end_to_end(served: Served) -> None:
    s = served
    sweep = await gql_http(s.http, s.alice, """
        mutation($input: RunSweepInput!) { runSweep(input: $input) { ... on Sweep { id } } }""",
        {"input": {**run_input(s.strategy_id), "grid": {
            "fast": {"start": 2, "stop": 200, "step": 1},
            "slow": {"start": 10, "stop": 500, "step": 1}}}})
    sweep_id = sweep["runSweep"]["id"]
    await wait_status(s.http, s.alice, "sweep", sweep_id, "RUNNING")
    started = await gql_http(s.http, s.alice, """
        mutation($input: RunBacktestInput!) {
          runBacktest(input: $input) { ... on Backtest { id status } } }""",
        {"input": run_input(s.strategy_id)})
    run_id = started["runBacktest"]["id"]
    assert started["runBacktest"]["status"] == "QUEUED"

    first_seen = asyncio.Event()
    listener = asyncio.ensure_future(subscribe(s, s.alice, run_id, first_seen))
    await asyncio.wait_for(first_seen.wait(), 30)
    await gql_http(s.http, s.alice, "mutation($id: ID!) { cancelSweep(id: $id) { __typename } }",
                   {"id": sweep_id})
    events = await asyncio.wait_for(listener, 60)

    assert events[0]["status"] == "QUEUED" and events[0]["kind"] == "status"
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    statuses = [e["status"] for e in events]
    assert statuses[1] == "RUNNING" and statuses[-1] == "SUCCEEDED"
    assert set(statuses[1:-1]) == {"RUNNING"}
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 1.0
    times = [datetime.fromisoformat(e["at"]) for e in events]  # DateTimes
    assert times == sorted(times)
    final = events[-1]
    assert final["kind"] == "done" and final["error"] is None

    expected = run_backtest(parse_strategy(SMA), CANDLES)
    summary = final["summary"]
    assert summary["finalEquity"] == expected.final_equity
    for name in ("total_return", "sharpe", "max_drawdown", "n_trades", "win_rate"):
        assert summary[camel(name)] == metric_value(expected.metrics[name])
    assert final["equity"]["values"][-1] == expected.final_equity
    assert len(final["equity"]["times"]) <= 200

    metrics = " ".join(camel(m) for m in METRIC_NAMES)
    stored = await gql_http(s.http, s.alice, f"""
        query($id: ID!) {{ backtest(id: $id) {{
          status summary {{ finalEquity {metrics} }}
          trades(first: 100) {{ totalCount edges {{ node {{ pnl entryPrice exitPrice }} }} }}
          equityCurve(maxPoints: 100000) {{ values }} }} }}""", {"id": run_id})
    node = stored["backtest"]
    assert node["summary"] == {"finalEquity": expected.final_equity, **{
        camel(m): metric_value(expected.metrics[m]) for m in METRIC_NAMES}}
    assert node["trades"]["totalCount"] == len(expected.trades)
    assert [e["node"]["pnl"] for e in node["trades"]["edges"]] == expected.trades["pnl"].tolist()
    assert node["equityCurve"]["values"] == expected.equity.tolist()

    late = await asyncio.wait_for(subscribe(s, s.alice, run_id), 30)
    assert len(late) == 1 and late[0]["kind"] == "done" and late[0]["summary"] == summary
    swept = await gql_http(s.http, s.alice, "query($id: ID!) { sweep(id: $id) { status } }",
                           {"id": sweep_id})
    assert swept["sweep"]["status"] == "CANCELLED"


async def test_other_users_and_anonymous_are_refused(served: Served) -> None:
    s = served
    started = await gql_http(s.http, s.alice, """
        mutation($input: RunBacktestInput!) { runBacktest(input: $input) {
          ... on Backtest { id } } }""", {"input": run_input(s.strategy_id)})
    run_id = started["runBacktest"]["id"]
    with pytest.raises(TransportQueryError) as refused:
        await asyncio.wait_for(subscribe(s, s.bob, run_id), 30)
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
    with pytest.raises(TransportQueryError) as anonymous:
        await asyncio.wait_for(subscribe(s, None, run_id), 30)
    assert anonymous.value.errors is not None
    assert anonymous.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    events = await asyncio.wait_for(subscribe(s, s.alice, run_id), 60)
    assert events[-1]["kind"] == "done"
