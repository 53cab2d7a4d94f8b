"""Strategies over the API on both backends: versions, validation problems with their paths,
ownership between users and admins, pagination, the document's JSON Schema."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from domain.strategy import strategy_json_schema
from graph.auth import Viewer
from graph.context import Context
from graph.ids import decode_id, encode_id
from graph.strategies import load_strategy
from store import tokens as store_tokens
from store.models import Role, TokenScope
from tests.graph.conftest import Api, SignedIn, errors_of

pytestmark = pytest.mark.asyncio

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "examples" / "sma_crossover.json")
                     .read_text())
FIELDS = """id name version document createdAt updatedAt
            parameters { name value range { start stop step } values integer }
            versions { totalCount edges { node { id version document createdAt } } }"""
CREATE = f"""
mutation($input: CreateStrategyInput!) {{
  createStrategy(input: $input) {{
    __typename
    ... on Strategy {{ {FIELDS} }}
    ... on StrategyValidationError {{ problems {{ path message }} }}
  }}
}}"""
UPDATE = f"""
mutation($id: ID!, $input: UpdateStrategyInput!) {{
  updateStrategy(id: $id, input: $input) {{
    __typename
    ... on Strategy {{ {FIELDS} }}
    ... on StrategyValidationError {{ problems {{ path message }} }}
    ... on NotFoundError {{ message }}
  }}
}}"""
DELETE = """
mutation($id: ID!) {
  deleteStrategy(id: $id) {
    __typename
    ... on DeletedStrategy { name deletedIds }
    ... on NotFoundError { message }
  }
}"""
GET = f"query($id: ID!) {{ strategy(id: $id) {{ {FIELDS} }} }}"
LIST = """
query($first: Int, $after: String) {
  strategies(first: $first, after: $after) {
    edges { cursor node { id name version versions { edges { node { version } } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def versions(strategy: dict[str, Any]) -> list[dict[str, Any]]:
    """A strategy's versions (the nodes of its ``versions`` connection)."""
    return [e["node"] for e in strategy["versions"]["edges"]]


def document(fast: int = 10, name: str | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    doc["parameters"]["fast"]["value"] = fast
    if name is not None:
        doc["name"] = name
    return doc


async def create(api: Api, who: SignedIn, name: str | None = None, **kw: Any) -> dict[str, Any]:
    result = await api.gql(CREATE, {"input": {"name": name, "document": document(**kw)}},
                           token=who.token)
    assert "errors" not in result, result
    payload: dict[str, Any] = result["data"]["createStrategy"]
    assert payload["__typename"] == "Strategy", payload
    return payload


async def update(api: Api, who: SignedIn, ident: str, **input: Any) -> dict[str, Any]:
    result = await api.gql(UPDATE, {"id": ident, "input": input}, token=who.token)
    assert "errors" not in result, result
    payload: dict[str, Any] = result["data"]["updateStrategy"]
    return payload


async def test_create_returns_the_strategy_with_its_parameters(api: Api) -> None:
    a = await api.user("a@example.com")
    s = await create(api, a, name="  My SMA  ")
    assert (s["name"], s["version"]) == ("My SMA", 1)
    assert s["document"] == {**EXAMPLE, "name": "My SMA"}  # the input's name is written in
    assert s["parameters"] == [
        {"name": "fast", "value": 10.0, "range": {"start": 5.0, "stop": 50.0, "step": 5.0},
         "values": None, "integer": True},
        {"name": "slow", "value": 50.0, "range": {"start": 20.0, "stop": 200.0, "step": 20.0},
         "values": None, "integer": True}]
    assert [v["version"] for v in versions(s)] == [1]
    without_name = await create(api, a, name=None, fast=12)
    assert without_name["name"] == EXAMPLE["name"]  # the document's own


async def test_validation_problems_carry_their_paths(api: Api) -> None:
    a = await api.user("a@example.com")
    bad = document()
    bad["entry"] = {"all": [{"left": {"price": "close"}, "op": ">", "right": 0},
                            {"left": {"indicator": "sma", "period": -3}, "op": ">", "right": 1}]}
    bad["costs"]["fee_bps"] = "ten"
    result = await api.gql(CREATE, {"input": {"document": bad}}, token=a.token)
    payload = result["data"]["createStrategy"]
    assert payload["__typename"] == "StrategyValidationError"
    paths = {p["path"]: p["message"] for p in payload["problems"]}
    assert "input.document.entry.all[1].left.period" in paths
    assert "-3" in paths["input.document.entry.all[1].left.period"]
    assert "input.document.costs.fee_bps" in paths
    for doc, path in ((["not", "an", "object"], "input.document"), ({}, "input.document.name")):
        result = await api.gql(CREATE, {"input": {"document": doc}}, token=a.token)
        problems = result["data"]["createStrategy"]["problems"]
        assert path in {p["path"] for p in problems}, problems
    result = await api.gql(CREATE, {"input": {"name": " ", "document": document()}},
                           token=a.token)
    assert result["data"]["createStrategy"]["problems"][0]["path"] == "input.name"
    await create(api, a, name="taken")
    result = await api.gql(CREATE, {"input": {"name": "taken", "document": document()}},
                           token=a.token)
    [problem] = result["data"]["createStrategy"]["problems"]
    assert problem["path"] == "input.name" and "exists already" in problem["message"]


async def test_update_saves_a_new_version_and_keeps_the_old_one(api: Api) -> None:
    a = await api.user("a@example.com")
    v1 = await create(api, a, name="sma")
    v2 = await update(api, a, v1["id"], document=document(fast=20))
    assert v2["__typename"] == "Strategy"
    assert (v2["name"], v2["version"]) == ("sma", 2) and v2["id"] != v1["id"]
    assert v2["document"]["parameters"]["fast"]["value"] == 20
    assert v2["document"]["name"] == "sma"
    assert [v["version"] for v in versions(v2)] == [1, 2]
    old = (await api.gql(GET, {"id": v1["id"]}, token=a.token))["data"]["strategy"]
    assert old["version"] == 1 and old["document"]["parameters"]["fast"]["value"] == 10
    v3 = await update(api, a, v1["id"], name="renamed")  # any version's id; latest document
    assert (v3["name"], v3["version"]) == ("renamed", 3)
    assert v3["document"] == {**v2["document"], "name": "renamed"}
    old = (await api.gql(GET, {"id": v1["id"]}, token=a.token))["data"]["strategy"]
    assert old["name"] == "renamed"  # every version follows the rename
    bad = document()
    bad["risk"]["sizing"]["mode"] = "everything"
    problems = (await update(api, a, v1["id"], document=bad))["problems"]
    assert any(p["path"] == "input.document.risk.sizing.mode" for p in problems), problems
    nothing = await update(api, a, v1["id"])
    assert nothing["problems"] == [{"path": "input", "message": nothing["problems"][0]["message"]}]


async def test_another_users_strategy_is_not_found_and_admins_see_all(api: Api) -> None:
    a = await api.user("a@example.com")
    b = await api.user("b@example.com")
    admin = await api.user("root@example.com", Role.ADMIN)
    s = await create(api, a, name="mine")
    result = await api.gql(GET, {"id": s["id"]}, token=b.token)
    assert result["data"] is None
    assert errors_of(result) == [("NOT_FOUND", f"strategy {s['id']} not found")]
    assert (await update(api, b, s["id"], name="stolen"))["__typename"] == "NotFoundError"
    deleted = (await api.gql(DELETE, {"id": s["id"]}, token=b.token))["data"]["deleteStrategy"]
    assert deleted["__typename"] == "NotFoundError"
    listed = (await api.gql(LIST, token=b.token))["data"]["strategies"]["edges"]
    assert listed == []
    got = (await api.gql(GET, {"id": s["id"]}, token=admin.token))["data"]["strategy"]
    assert got["name"] == "mine"
    v2 = await update(api, admin, s["id"], document=document(fast=30))
    assert v2["__typename"] == "Strategy" and v2["version"] == 2
    mine = (await api.gql(GET, {"id": v2["id"]}, token=a.token))["data"]["strategy"]
    assert mine["version"] == 2  # still a's strategy
    admin_list = (await api.gql(LIST, token=admin.token))["data"]["strategies"]["edges"]
    assert [e["node"]["id"] for e in admin_list] == [v2["id"]]
    for ident in ("999999", encode_id("Strategy", 999999)):
        result = await api.gql(GET, {"id": ident}, token=a.token)
        assert [c for c, _ in errors_of(result)] == ["NOT_FOUND"], ident
        payload = (await update(api, a, ident, name="x"))
        assert payload["__typename"] == "NotFoundError"
    for ident in ("abc", "-1", "0", "²", "3000000000", encode_id("Backtest", 1)):
        result = await api.gql(GET, {"id": ident}, token=a.token)
        assert [c for c, _ in errors_of(result)] == ["BAD_USER_INPUT"], ident
        result = await api.gql(UPDATE, {"id": ident, "input": {"name": "x"}}, token=a.token)
        assert [c for c, _ in errors_of(result)] == ["BAD_USER_INPUT"], ident


async def test_delete_removes_every_version(api: Api) -> None:
    a = await api.user("a@example.com")
    s = await create(api, a, name="gone")
    v2 = await update(api, a, s["id"], document=document(fast=20))
    result = await api.gql(DELETE, {"id": v2["id"]}, token=a.token)
    assert result["data"]["deleteStrategy"] == {"__typename": "DeletedStrategy", "name": "gone",
                                                "deletedIds": [s["id"], v2["id"]]}
    for ident in (s["id"], v2["id"]):
        result = await api.gql(GET, {"id": ident}, token=a.token)
        assert [c for c, _ in errors_of(result)] == ["NOT_FOUND"]
    again = await api.gql(DELETE, {"id": s["id"]}, token=a.token)
    assert again["data"]["deleteStrategy"]["__typename"] == "NotFoundError"


async def test_list_pages_through_latest_versions_with_cursors(api: Api) -> None:
    a = await api.user("a@example.com")
    made = [await create(api, a, name=f"s{i}") for i in range(5)]
    bumped = await update(api, a, made[0]["id"], document=document(fast=25))
    expected = [bumped["id"]] + [m["id"] for m in reversed(made[1:])]
    seen, after, pages = [], None, 0
    while True:
        page = (await api.gql(LIST, {"first": 2, "after": after}, token=a.token))
        conn = page["data"]["strategies"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        pages += 1
        assert all(e["cursor"] for e in conn["edges"])
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        assert after == conn["edges"][-1]["cursor"]
    assert (seen, pages) == (expected, 3)
    first = (await api.gql(LIST, token=a.token))["data"]["strategies"]["edges"][0]["node"]
    assert first["version"] == 2 and [v["version"] for v in versions(first)] == [1, 2]
    for variables in ({"first": 101}, {"first": -1}, {"after": "not-a-cursor"},
                      {"after": "WyJ4IiwxXQ"}):  # ["x",1]: decodes, but not a time
        result = await api.gql(LIST, variables, token=a.token)
        assert [c for c, _ in errors_of(result)] == ["BAD_USER_INPUT"], variables


async def test_schema_auth_and_read_only_tokens(api: Api) -> None:
    a = await api.user("a@example.com")
    result = await api.gql("{ strategySchema }", token=a.token)
    assert result["data"]["strategySchema"] == strategy_json_schema()
    # strategySchema is public documentation (issue 12): no sign-in needed
    assert (await api.gql("{ strategySchema }")) == result
    for query in ("{ strategies { edges { cursor } } }",):
        assert [c for c, _ in errors_of(await api.gql(query))] == ["UNAUTHENTICATED"]
    _, secret = await store_tokens.create_token(a.id, "ro", TokenScope.READ)
    result = await api.gql(CREATE, {"input": {"document": document()}}, token=secret)
    assert [c for c, _ in errors_of(result)] == ["FORBIDDEN"]
    assert (await api.gql(LIST, token=secret))["data"]["strategies"]["edges"] == []


async def test_load_strategy_for_other_types_is_scoped(api: Api) -> None:
    a, b = await api.user("a@example.com"), await api.user("b@example.com")
    s = await create(api, a, name="linked")

    def info(who: SignedIn) -> Any:
        context = Context(api.services)
        context.set_viewer(Viewer(who.id, Role.TRADER, TokenScope.READ_WRITE, "jwt"))
        return SimpleNamespace(context=context)

    mine = info(a)
    found, missing = await asyncio.gather(load_strategy(mine, decode_id(s["id"])[1]),
                                          load_strategy(mine, 424242))
    assert found is not None and (found.name, found.version) == ("linked", 1)
    assert missing is None
    assert await load_strategy(info(b), decode_id(s["id"])[1]) is None


SEARCH = """
query($search: String, $first: Int, $after: String) {
  strategies(search: $search, first: $first, after: $after) {
    totalCount edges { node { name version } } pageInfo { hasNextPage endCursor }
  }
}"""


async def test_search_finds_strategies_by_name_on_the_server(api: Api) -> None:
    a, b = await api.user("a@example.com"), await api.user("b@example.com")
    for name in ("SMA fast", "sma slow", "RSI dip", "100% pure_sma"):
        await create(api, a, name=name)
    await create(api, b, name="SMA of b")
    made = await create(api, a, name="SMA again")
    await update(api, a, made["id"], document=document(fast=30))  # one strategy, two versions

    async def found(search: str | None, **more: Any) -> tuple[list[str], int, dict[str, Any]]:
        result = await api.gql(SEARCH, {"search": search, **more}, token=a.token)
        assert "errors" not in result, result
        conn = result["data"]["strategies"]
        return [e["node"]["name"] for e in conn["edges"]], conn["totalCount"], conn["pageInfo"]

    names, total, _ = await found("sma")
    assert sorted(names) == ["100% pure_sma", "SMA again", "SMA fast", "sma slow"] and total == 4
    assert (await found("  SmA  "))[:2] == (names, 4)  # case and spaces ignored
    assert (await found("%"))[:2] == (["100% pure_sma"], 1)  # LIKE's wildcards are literal
    assert (await found("_"))[:2] == (["100% pure_sma"], 1)
    assert (await found("nothing"))[:2] == ([], 0)
    assert (await found(""))[1] == 5 and (await found(None))[1] == 5  # no search: all
    first, total, info = await found("sma", first=3)
    rest, _, _ = await found("sma", first=3, after=info["endCursor"])
    assert info["hasNextPage"] and first + rest == names and total == 4
    result = await api.gql(SEARCH, {"search": "x" * 201}, token=a.token)
    assert [c for c, _ in errors_of(result)] == ["BAD_USER_INPUT"]
