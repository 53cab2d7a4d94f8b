"""Backtests over the API (SQLite and PostgreSQL): a run's stored result equals the engine's,
validation, cancel, failure without partial results, ownership across users."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from domain.engine.rules import EXIT_REASONS
from domain.engine.run import run_backtest
from domain.metrics import METRIC_NAMES
from domain.strategy import parse_strategy
from graph.ids import encode_id
from store import backtest_results as results_store
from store import backtests as store_backtests
from store import leases as store_leases
from store import trade_list
from store.models import Role
from store.scope import ALL_OWNERS
from tests.graph import runs
from tests.graph.conftest import Api, errors_of
from tests.graph.runs import (
    CANDLES,
    RUN,
    SMA,
    metric_value,
    pk,
    run_input,
    seed,
    start,
    wait_for,
)
from tests.store.test_backtests import new as new_backtest
from tests.store.test_backtests import results as stored_results

pytestmark = pytest.mark.asyncio
pool, run_api = runs.pool, runs.run_api  # fixtures: one warmed engine pool per module

SUMMARY = "summary { finalEquity " + " ".join(
    "".join(w.capitalize() if i else w for i, w in enumerate(m.split("_"))) for m in METRIC_NAMES
) + " }"

RESULT = f"""
query($id: ID!, $after: String) {{
  backtest(id: $id) {{
    id status progress error params initialCapital riskFreeRate strategyName from to
    {SUMMARY}
    trades(first: 10, after: $after) {{
      totalCount pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{ seq entryTime exitTime entryPrice exitPrice quantity direction pnl fees
                       return exitReason }} }}
    }}
    equityCurve(maxPoints: 100000) {{ times values }}
    drawdownCurve(maxPoints: 50) {{ times values }}
  }}
}}"""

COLUMNS = """query($id: ID!) { backtest(id: $id) { tradeColumns { count entryTimes exitTimes
  entryPrices exitPrices quantities directions grossPnl fees pnl returns exitReasons } } }"""

CANCEL = """
mutation($id: ID!) { cancelBacktest(id: $id) {
  __typename ... on Backtest { id status } ... on NotFoundError { message } } }"""


async def fetch_result(api: Api, token: str, run_id: str) -> tuple[dict[str, Any], list[dict]]:
    trades: list[dict[str, Any]] = []
    after = None
    while True:
        result = await api.gql(RESULT, {"id": run_id, "after": after}, token=token)
        assert "errors" not in result, result
        node = result["data"]["backtest"]
        trades += [e["node"] for e in node["trades"]["edges"]]
        if not node["trades"]["pageInfo"]["hasNextPage"]:
            return node, trades
        after = node["trades"]["pageInfo"]["endCursor"]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


async def test_result_equals_the_engine(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    run_id = await start(run_api, user.token, strategy_id, params={"fast": 12},
                         initialCapital=5000, riskFreeRate=0.02)
    assert (await wait_for(run_api, user.token, "backtest", run_id))["status"] == "SUCCEEDED"
    node, trades = await fetch_result(run_api, user.token, run_id)

    expected = run_backtest(parse_strategy({**SMA, "initial_capital": 5000}), CANDLES,
                            {"fast": 12}, risk_free_rate=0.02)
    assert node["progress"] == 1.0 and node["error"] is None
    assert node["params"] == {"fast": 12, "slow": 50}
    assert node["initialCapital"] == 5000 and node["strategyName"] == "SMA crossover"
    assert node["summary"]["finalEquity"] == expected.final_equity
    for name in METRIC_NAMES:
        assert node["summary"][camel(name)] == metric_value(expected.metrics[name]), name
    t = expected.trades
    assert node["trades"]["totalCount"] == len(t) == len(trades) > 10  # several pages
    assert [x["seq"] for x in trades] == list(range(len(t)))
    assert [x["pnl"] for x in trades] == t["pnl"].tolist()
    assert [x["entryPrice"] for x in trades] == t["entry_price"].tolist()
    assert [x["exitReason"] for x in trades] == [EXIT_REASONS[r].upper() for r in t["exit_reason"]]
    assert trades[0]["entryTime"].startswith("2023-01-")
    columns = (await run_api.gql(COLUMNS, {"id": run_id}, token=user.token))["data"][
        "backtest"]["tradeColumns"]  # the same trades, at once
    assert columns["count"] == len(t)
    for field, name in (("entryTimes", "entry_time"), ("exitTimes", "exit_time"),
                        ("entryPrices", "entry_price"), ("exitPrices", "exit_price"),
                        ("quantities", "quantity"), ("directions", "direction"),
                        ("grossPnl", "gross_pnl"), ("fees", "fees"), ("pnl", "pnl"),
                        ("returns", "return")):
        assert columns[field] == t[name].astype(float).tolist(), field
    assert columns["exitReasons"] == [x["exitReason"] for x in trades]
    curve = node["equityCurve"]
    assert curve["values"] == expected.equity.tolist()
    assert curve["times"] == CANDLES.ts.astype(float).tolist()
    dd = node["drawdownCurve"]
    assert len(dd["values"]) <= 50 and dd["times"][-1] == curve["times"][-1]
    assert max(dd["values"]) == pytest.approx(expected.metrics["max_drawdown"], rel=1e-12)


async def test_bad_input_is_a_validation_error(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)

    async def problems(**extra: Any) -> dict[str, str]:
        result = await run_api.gql(RUN, {"input": run_input(strategy_id, **extra)},
                                   token=user.token)
        payload = result["data"]["runBacktest"]
        assert payload["__typename"] == "ValidationError", result
        return {p["path"]: p["message"] for p in payload["problems"]}

    found = await problems(timeframe="7x", params={"nope": 1, "fast": 2.5}, initialCapital=-1)
    assert set(found) == {"input.timeframe", "input.initialCapital"}
    found = await problems(params={"nope": 1, "fast": 2.5}, riskFreeRate=-2)
    assert set(found) == {"input.params.nope", "input.params.fast", "input.riskFreeRate"}
    found = await problems(**{"from": "2024-01-01T00:00:00Z", "to": "2023-01-01T00:00:00Z"},
                           params=[1])
    assert set(found) == {"input.to", "input.params"}
    result = await run_api.gql(RUN, {"input": run_input(999)}, token=user.token)
    assert result["data"]["runBacktest"] == {"__typename": "NotFoundError",
                                             "message": f"strategy {encode_id('Strategy', 999)} "
                                                        "not found"}


async def test_no_candles_fails_with_a_clear_message(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    run_id = await start(run_api, user.token, strategy_id, symbol="NONE/USDT")
    node = await wait_for(run_api, user.token, "backtest", run_id)
    assert node["status"] == "FAILED"
    assert "no demo NONE/USDT 1h candles are stored" in node["error"]


async def test_failed_save_leaves_nothing_partial(run_api: Api,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    user, strategy_id = await seed(run_api)

    async def broken(*args: Any) -> None:  # the trades are in, then the summary fails
        raise RuntimeError("disk full")

    monkeypatch.setattr(results_store, "_insert_summary", broken)
    run_id = await start(run_api, user.token, strategy_id)
    node = await wait_for(run_api, user.token, "backtest", run_id)
    assert node["status"] == "FAILED" and "failed on the server side" in node["error"]
    assert await trade_list.count_matching_trades(pk(run_id), owner=ALL_OWNERS) == 0
    assert await results_store.summaries_for([pk(run_id)]) == [None]
    assert await results_store.equity_curve(pk(run_id)) is None
    result = await run_api.gql(RESULT, {"id": run_id}, token=user.token)
    assert result["data"]["backtest"]["summary"] is None


async def test_cancel_a_queued_backtest(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    executor = run_api.services.executor
    executor.slots = 0  # nothing starts: every run waits in the queue
    first = await start(run_api, user.token, strategy_id)
    second = await start(run_api, user.token, strategy_id)
    assert executor.queued == [("backtest", pk(first)), ("backtest", pk(second))]
    result = await run_api.gql(CANCEL, {"id": first}, token=user.token)
    assert result["data"]["cancelBacktest"] == {"__typename": "Backtest", "id": first,
                                                "status": "CANCELLED"}
    assert executor.queued == [("backtest", pk(second))]
    executor.slots = 2
    executor._pump()
    assert (await wait_for(run_api, user.token, "backtest", second))["status"] == "SUCCEEDED"
    again = await run_api.gql(CANCEL, {"id": second}, token=user.token)  # finished: unchanged
    assert again["data"]["cancelBacktest"]["status"] == "SUCCEEDED"


async def test_ownership(run_api: Api) -> None:
    alice, strategy_id = await seed(run_api)
    bob, _ = await seed(run_api, "b@x.io")
    admin = await run_api.user("root@x.io", Role.ADMIN)
    run_id = await start(run_api, alice.token, strategy_id)
    await wait_for(run_api, alice.token, "backtest", run_id)

    result = await run_api.gql(RESULT, {"id": run_id}, token=bob.token)
    assert errors_of(result) == [("NOT_FOUND", f"backtest {run_id} not found")]
    result = await run_api.gql(CANCEL, {"id": run_id}, token=bob.token)
    assert result["data"]["cancelBacktest"]["__typename"] == "NotFoundError"
    result = await run_api.gql(RUN, {"input": run_input(strategy_id)}, token=bob.token)
    assert result["data"]["runBacktest"]["__typename"] == "NotFoundError"  # alice's strategy
    listed = "{ backtests { edges { node { id } } } }"
    assert (await run_api.gql(listed, token=bob.token))["data"]["backtests"]["edges"] == []
    assert (await run_api.gql(listed, token=alice.token))["data"]["backtests"]["edges"] == [
        {"node": {"id": run_id}}]
    result = await run_api.gql(RESULT, {"id": run_id}, token=admin.token)
    assert result["data"]["backtest"]["status"] == "SUCCEEDED"
    assert errors_of(await run_api.gql(RESULT, {"id": run_id}))[0][0] == "UNAUTHENTICATED"
    assert errors_of(await run_api.gql(RESULT, {"id": "x1"}, token=alice.token))[0][0] == \
        "BAD_USER_INPUT"  # a malformed id (one that names nothing is NOT_FOUND, above)


async def test_concurrent_runs_all_succeed(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    ids = [await start(run_api, user.token, strategy_id, params={"fast": f})
           for f in (5, 10, 15, 20, 25)]
    assert len(run_api.services.executor.running) <= 2
    nodes = await asyncio.gather(*(wait_for(run_api, user.token, "backtest", i) for i in ids))
    assert {n["status"] for n in nodes} == {"SUCCEEDED"}
    equities = [(await results_store.summaries_for([pk(i)]))[0] for i in ids]
    expected = [run_backtest(parse_strategy(SMA), CANDLES, {"fast": f}).final_equity
                for f in (5, 10, 15, 20, 25)]
    assert np.array_equal([s.final_equity for s in equities if s], expected)


LIST = """
query($filter: BacktestFilter, $sort: BacktestSort, $first: Int, $after: String) {
  backtests(filter: $filter, sort: $sort, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status symbol summary { sharpe totalReturn finalEquity } } }
  }
}"""


async def make_finished(owner: int, sharpe: float | None, symbol: str = "BTC/USDT") -> int:
    record = await store_backtests.create_backtest(new_backtest(owner, symbol=symbol))
    await store_leases.claim("backtest", record.id, "test", 60.0)
    assert await results_store.save_results(record.id, stored_results(sharpe))
    return record.id


async def test_list_sorts_filters_and_pages(run_api: Api) -> None:
    alice, _ = await seed(run_api)
    bob, _ = await seed(run_api, "b@x.io")
    sharpes = [0.3, None, 1.2, -0.5, 0.3, 2.0]
    ids = [await make_finished(alice.id, s, "ETH/USDT" if i % 2 else "BTC/USDT")
           for i, s in enumerate(sharpes)]
    await make_finished(bob.id, 9.9)
    sort = {"field": "SHARPE", "direction": "DESC"}
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        result = await run_api.gql(LIST, {"sort": sort, "first": 4, "after": after},
                                   token=alice.token)
        conn = result["data"]["backtests"]
        seen += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    by_id = dict(zip(ids, sharpes, strict=True))
    expected = sorted((i for i in ids if by_id[i] is not None), key=lambda i: (-by_id[i], -i))
    expected += sorted((i for i in ids if by_id[i] is None), reverse=True)
    assert [pk(n["id"]) for n in seen] == expected
    assert [n["summary"]["sharpe"] for n in seen] == [by_id[i] for i in expected]

    result = await run_api.gql(LIST, {"filter": {"symbol": "ETH/USDT", "status": ["SUCCEEDED"]}},
                               token=alice.token)
    assert [pk(e["node"]["id"]) for e in result["data"]["backtests"]["edges"]] == ids[1::2][::-1]
    wrong = await run_api.gql(LIST, {"first": 4, "after": after}, token=alice.token)
    assert errors_of(wrong)[0][0] == "BAD_USER_INPUT"  # a SHARPE cursor with the CREATED order
    too_many = await run_api.gql(LIST, {"first": 1000}, token=alice.token)
    assert errors_of(too_many)[0][0] == "BAD_USER_INPUT"


async def test_a_page_of_summaries_costs_a_constant_number_of_queries(
        run_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from store.db import connection

    user, _ = await seed(run_api)
    client = connection()
    counted: list[str] = []
    for name in ("execute_query", "execute_query_dict"):
        original = getattr(client, name)

        def counting(sql: str, *args: Any, _original: Any = original) -> Any:
            counted.append(sql)
            return _original(sql, *args)

        monkeypatch.setattr(client, name, counting)

    async def queries_for_page(n: int) -> int:
        counted.clear()
        result = await run_api.gql(LIST, {"first": 50}, token=user.token)
        edges = result["data"]["backtests"]["edges"]
        assert len(edges) == n and all(e["node"]["summary"] for e in edges)
        # not counting the read of the owner's change counter (graph.response_cache), nor the
        # check of the caller every request makes (store.sessions.caller_state)
        return len([sql for sql in counted
                    if "backtest_versions" not in sql and "auth_sessions" not in sql])

    for _ in range(5):
        await make_finished(user.id, 1.0)
    small = await queries_for_page(5)
    for _ in range(45):
        await make_finished(user.id, 1.0)
    assert await queries_for_page(50) == small == 1  # the rows with their summaries
    assert await queries_for_page(50) == 0  # unchanged since: the response cache's answer
