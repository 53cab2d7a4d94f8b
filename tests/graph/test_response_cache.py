"""The response cache (``graph.response_cache``) on SQLite and PostgreSQL: answers are reused
only while the owner's backtests are unchanged, whoever changes them; other owners, admins,
errors and queries reading anything else never share or keep an answer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType

from domain.jobs import RunStatus
from graph.app import create_app
from graph.ids import encode_id
from graph.response_cache import CACHEABLE, ResponseCache, cacheable
from graph.schema import MAX_TOKENS, schema
from store import backtests as store_backtests
from store import jobs as store_jobs
from store import leases as store_leases
from store.db import connection
from store.models import Role
from store.owner_versions import install
from store.strategies import delete_strategy
from tests.graph import runs
from tests.graph.conftest import Api, api_settings, errors_of
from tests.graph.runs import seed, start, wait_for
from tests.graph.test_backtests import make_finished
from tests.store.test_backtests import new as new_backtest

pool, run_api = runs.pool, runs.run_api  # fixtures: one warmed engine pool per module

LIST = """
query($first: Int) { backtests(first: $first) {
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id status progress strategyId summary { sharpe finalEquity } } } } }"""
CORE = schema._schema  # type: ignore[attr-defined]


def cache_of(api: Api) -> ResponseCache:
    found = api.services.responses
    assert isinstance(found, ResponseCache)
    return found


async def listed(api: Api, token: str, first: int = 50) -> list[dict[str, Any]]:
    result = await api.gql(LIST, {"first": first}, token=token)
    assert "errors" not in result, result
    return [e["node"] for e in result["data"]["backtests"]["edges"]]


@pytest.mark.asyncio
async def test_answers_are_reused_until_a_backtest_of_the_owner_changes(run_api: Api) -> None:
    user, _ = await seed(run_api)
    cache = cache_of(run_api)
    run_id = await make_finished(user.id, 1.0)
    first = await listed(run_api, user.token)
    assert cache.misses == 1 and cache.hits == 0
    assert await listed(run_api, user.token) == first and cache.hits == 1

    queued = await store_backtests.create_backtest(new_backtest(user.id))  # a change: new run
    nodes = await listed(run_api, user.token)
    assert [n["id"] for n in nodes] == [encode_id("Backtest", queued.id), encode_id("Backtest", run_id)]
    assert nodes[0]["status"] == "QUEUED" and cache.misses == 2

    await store_leases.claim("backtest", queued.id, "test", 60.0)
    assert (await listed(run_api, user.token))[0]["status"] == "RUNNING"
    await store_jobs.set_progress("backtest", queued.id, 0.25)
    assert (await listed(run_api, user.token))[0]["progress"] == 0.25
    await store_jobs.finish("backtest", queued.id, RunStatus.FAILED, error="boom")
    assert (await listed(run_api, user.token))[0]["status"] == "FAILED"
    hits = cache.hits
    await listed(run_api, user.token)
    assert cache.hits == hits + 1


@pytest.mark.asyncio
async def test_a_run_that_finishes_is_listed_finished_at_once(run_api: Api) -> None:
    user, strategy_id = await seed(run_api)
    assert await listed(run_api, user.token) == []  # kept
    run_id = await start(run_api, user.token, strategy_id)
    assert [n["id"] for n in await listed(run_api, user.token)] == [run_id]  # in any state
    await wait_for(run_api, user.token, "backtest", run_id)  # polls backtest(id): cached too
    [node] = await listed(run_api, user.token)
    assert node["status"] == "SUCCEEDED" and node["summary"]["finalEquity"] > 0


@pytest.mark.asyncio
async def test_changes_made_outside_the_api_are_seen(run_api: Api) -> None:
    """Another process (a worker, a CLI command, plain SQL) and cascades: the triggers count
    them all."""
    user, strategy_id = await seed(run_api)
    run_id = await make_finished(user.id, 1.0)
    await connection().execute_query(
        f"UPDATE backtests SET strategy_id = {strategy_id} WHERE id = {run_id}")
    assert (await listed(run_api, user.token))[0]["strategyId"] == encode_id("Strategy", strategy_id)
    await delete_strategy(strategy_id, owner=user.id)  # ON DELETE SET NULL
    assert (await listed(run_api, user.token))[0]["strategyId"] is None
    await connection().execute_query(
        f"UPDATE performance_summaries SET sharpe = 7.5 WHERE backtest_id = {run_id}")
    assert (await listed(run_api, user.token))[0]["summary"]["sharpe"] == 7.5
    await connection().execute_query(f"DELETE FROM backtests WHERE id = {run_id}")
    assert await listed(run_api, user.token) == []


@pytest.mark.asyncio
async def test_other_owners_never_share_answers(run_api: Api) -> None:
    alice, _ = await seed(run_api)
    bob, _ = await seed(run_api, "b@x.io")
    cache = cache_of(run_api)
    await make_finished(alice.id, 1.0)
    assert len(await listed(run_api, alice.token)) == 1
    assert await listed(run_api, bob.token) == []  # the same query: bob's own answer
    assert cache.hits == 0 and cache.misses == 2
    await make_finished(alice.id, 2.0)  # alice's change leaves bob's answer valid
    assert await listed(run_api, bob.token) == [] and cache.hits == 1
    assert len(await listed(run_api, alice.token)) == 2 and cache.misses == 3


@pytest.mark.asyncio
async def test_admins_errors_and_other_fields_are_not_cached(run_api: Api) -> None:
    user, _ = await seed(run_api)
    admin = await run_api.user("root@x.io", Role.ADMIN)
    cache = cache_of(run_api)
    await make_finished(user.id, 1.0)
    for _ in range(2):
        assert len(await listed(run_api, admin.token)) == 1
    assert (cache.hits, cache.misses, len(cache)) == (0, 0, 0)  # admins: never
    bad = await run_api.gql(LIST, {"first": 1000}, token=user.token)
    assert errors_of(bad)[0][0] == "BAD_USER_INPUT" and len(cache) == 0  # errors: never kept
    with_trades = "{ backtests { edges { node { id trades { totalCount } } } } }"
    for _ in range(2):
        assert "errors" not in await run_api.gql(with_trades, token=user.token)
    assert len(cache) == 0
    anonymous = await run_api.gql(LIST, {"first": 5})
    assert errors_of(anonymous)[0][0] == "UNAUTHENTICATED" and len(cache) == 0


@pytest.mark.asyncio
async def test_variables_are_part_of_the_key(run_api: Api) -> None:
    user, _ = await seed(run_api)
    for sharpe in (1.0, 2.0, 3.0):
        await make_finished(user.id, sharpe)
    assert len(await listed(run_api, user.token, 1)) == 1
    assert len(await listed(run_api, user.token, 2)) == 2
    assert len(await listed(run_api, user.token, 1)) == 1
    assert cache_of(run_api).hits == 1


@pytest.mark.asyncio
async def test_concurrent_identical_requests_run_the_query_once(run_api: Api) -> None:
    user, _ = await seed(run_api)
    await make_finished(user.id, 1.0)
    cache = cache_of(run_api)
    answers = await asyncio.gather(*(listed(run_api, user.token) for _ in range(8)))
    assert all(a == answers[0] for a in answers)
    assert cache.misses == 1 and cache.hits == 7


@pytest.mark.parametrize(("query", "expected"), [
    (LIST, True),
    ("{ backtest(id: 1) { id status summary { sharpe } } }", True),
    ("query Q { backtests { ...Row } } fragment Row on BacktestConnection { edges { node {"
     " id ... on Backtest { status } __typename } } }", True),
    ("query($s: Boolean!) { backtests { edges { node { id symbol @include(if: $s) } } } }", True),
    ("{ __typename }", False),  # nothing to keep
    ("{ backtests { edges { node { id trades { totalCount } } } } }", False),
    ("{ backtests { edges { node { id equityCurve { times } } } } }", False),
    ("{ me { id } backtests { edges { cursor } } }", False),
    ("mutation { cancelBacktest(id: 1) { __typename } }", False),
    ("{ backtests { edges { cursor } } } { backtests { edges { cursor } } }", False),
    ("query A { backtests { edges { cursor } } } query B { me { id } }", False),
    ("{ backtests { ...A } } fragment A on BacktestConnection { ...A }", False),
    ("{ backtests { edges { cursor } }", False),  # does not parse
])
def test_which_queries_are_cacheable(query: str, expected: bool) -> None:
    assert cacheable(CORE, query, None, MAX_TOKENS) is expected


def test_named_operations() -> None:
    doc = "query A { backtests { edges { cursor } } } query B { me { id } }"
    assert cacheable(CORE, doc, "A", MAX_TOKENS)
    assert not cacheable(CORE, doc, "B", MAX_TOKENS)
    assert not cacheable(CORE, doc, "C", MAX_TOKENS)


def test_the_cacheable_fields_exist() -> None:
    """A renamed field would silently stop being cached: the list must name real fields."""
    for type_name, fields in CACHEABLE.items():
        found = CORE.get_type(type_name)
        assert isinstance(found, GraphQLObjectType), type_name
        assert fields <= set(found.fields), (type_name, fields - set(found.fields))


@pytest.mark.asyncio
async def test_off_when_configured_or_without_triggers(backend_url: str, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(api_settings(backend_url, tmp_path, response_cache_mb=0))
    async with app.router.lifespan_context(app):
        assert app.state.services.responses is None
    app = create_app(api_settings(backend_url, tmp_path))
    async with app.router.lifespan_context(app):
        assert app.state.services.responses is not None
        await connection().execute_script(
            "DROP TRIGGER IF EXISTS backtests_backtest_versions_update"
            + (" ON backtests" if "postgres" in backend_url else ""))
    app = create_app(api_settings(backend_url, tmp_path))
    async with app.router.lifespan_context(app):
        try:
            assert app.state.services.responses is None
            assert "backtest db migrate" in caplog.text
        finally:
            await install()  # back as it was (the PostgreSQL database is the session's)
