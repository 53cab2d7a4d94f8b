"""Bad requests never give an HTTP 500 or a traceback: malformed bodies, GET mutations, wrong
variable types, unknown IDs, over-deep, over-long and over-aliased queries. Unexpected errors
are masked (queries and subscriptions alike); introspection and GraphiQL can be switched off;
the pagination helpers refuse bad cursors and page sizes."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import strawberry

from graph.app import create_app
from graph.errors import INTERNAL_MESSAGE, TOO_COMPLEX_MESSAGE, ApiError, NotFound
from graph.ids import encode_id
from graph.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, BacktestSchema, extensions
from graph.types_common import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    decode_cursor,
    encode_cursor,
    page_size,
    parse_id,
)
from tests.graph.conftest import Api, api_settings, errors_of

REVOKE = ("mutation($id: ID!) { revokeAccessToken(id: $id) { __typename "
          "... on AccessToken { id } ... on NotFoundError { message } } }")
CREATE = ("mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) "
          "{ __typename } }")


def only_error(result: dict[str, Any]) -> tuple[str, str]:
    assert result.get("data") is None, result
    [error] = errors_of(result)
    return error


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text


# A small recursive schema with the real extensions, for what the product's types cannot
# reach on their own (a legal query deeper than the limit, a resolver that crashes).

@strawberry.type
class Node:
    value: int = 1

    @strawberry.field
    def child(self) -> Node:
        return Node()

    @strawberry.field
    def crash(self) -> int:
        raise RuntimeError("secret detail /etc/passwd")

    @strawberry.field
    def missing(self) -> int:
        raise NotFound("thing", 7)


@strawberry.type
class Sub:
    @strawberry.subscription
    async def ticks(self, crash_after: int) -> AsyncGenerator[int, None]:
        for i in range(crash_after):
            yield i
        raise RuntimeError("secret detail in a stream")


TINY = BacktestSchema(query=Node, subscription=Sub, extensions=extensions())


def nested(depth: int) -> str:
    """A query ``depth`` fields deep."""
    return "{ " + "child { " * (depth - 1) + "value" + " }" * depth


@pytest.mark.asyncio
async def test_depth_limit() -> None:
    # The depth counts the levels below the root field: MAX_DEPTH + 1 fields in all.
    ok = await TINY.execute(nested(MAX_DEPTH + 1))
    assert ok.errors is None
    result = await TINY.execute(nested(MAX_DEPTH + 2))
    assert result.errors is not None and result.data is None
    [error] = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT"}
    assert f"exceeds maximum operation depth of {MAX_DEPTH}" in error.message


@pytest.mark.asyncio
async def test_unexpected_errors_are_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="graph.errors"):
        result = await TINY.execute("{ crash }")
    assert result.errors is not None
    [error] = result.errors
    assert error.message == INTERNAL_MESSAGE and error.extensions == {"code": "INTERNAL"}
    assert "secret" not in str(error.formatted)
    assert "secret detail" in caplog.text  # the server's log keeps the cause, once
    assert caplog.text.count("internal error in crash") == 1

    missing = await TINY.execute("{ missing }")
    assert missing.errors is not None
    assert missing.errors[0].extensions == {"code": "NOT_FOUND"}
    assert missing.errors[0].message == "thing 7 not found"


@pytest.mark.asyncio
async def test_errors_in_subscription_streams_are_masked() -> None:
    stream = await TINY.subscribe("subscription { ticks(crashAfter: 1) }")
    assert isinstance(stream, AsyncIterator)
    results = [r async for r in stream]
    assert results[0].data == {"ticks": 0}
    last = results[-1]
    assert last.errors is not None
    assert [e.message for e in last.errors] == [INTERNAL_MESSAGE]
    assert last.errors[0].extensions == {"code": "INTERNAL"}


@pytest.mark.asyncio
async def test_token_alias_and_complexity_limits(api: Api) -> None:
    too_long = "{ me { " + "id " * MAX_TOKENS + "} }"
    code, message = only_error(await api.gql(too_long))
    assert code == "BAD_USER_INPUT" and f"more than {MAX_TOKENS} tokens" in message

    aliases = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(MAX_ALIASES + 1)) + " }"
    code, message = only_error(await api.gql(aliases))
    assert code == "BAD_USER_INPUT"
    assert message == f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"

    # Under the token limit, but graphql-core gives up comparing that many repeated fields.
    repeated = "{ me { " + "id " * (MAX_TOKENS - 10) + "} }"
    code, message = only_error(await api.gql(repeated))
    assert (code, message) == ("BAD_USER_INPUT", TOO_COMPLEX_MESSAGE)

    deep = "{ me { " + "a { " * (MAX_DEPTH + 1) + "b" + " }" * (MAX_DEPTH + 1) + " } }"
    errors = errors_of(await api.gql(deep))
    assert {c for c, _ in errors} == {"BAD_USER_INPUT"}
    assert any(f"maximum operation depth of {MAX_DEPTH}" in m for _, m in errors)


@pytest.mark.asyncio
async def test_syntax_and_unknown_field_errors(api: Api) -> None:
    code, message = only_error(await api.gql("{ me { id "))
    assert code == "BAD_USER_INPUT" and message.startswith("Syntax Error")
    code, message = only_error(await api.gql("{ nope }"))
    assert code == "BAD_USER_INPUT" and "nope" in message


@pytest.mark.parametrize(("body", "content_type", "says"), [
    (b"{not json", "application/json", "Unable to parse"),
    (b"\xff\xfe{", "application/json", "Unable to parse"),
    (b"[" * 100_000, "application/json", "Unable to parse"),
    (b'"just a string"', "application/json", "must be an object"),
    (b"42", "application/json", "must be an object"),
    (b"[1, 2]", "application/json", "Batching is not enabled"),
    (b'{"variables": {}}', "application/json", "No GraphQL query"),
    (b'{"query": 5}', "application/json", "must be a string"),
    (b'{"query": "{ me { id } }", "variables": "x"}', "application/json", "must be an object"),
    (b"query=x", "text/plain", "Unsupported content type"),
])
@pytest.mark.asyncio
async def test_malformed_bodies_are_400(api: Api, body: bytes, content_type: str,
                                        says: str) -> None:
    response = await api.client.post("/graphql", content=body,
                                     headers={"content-type": content_type})
    assert response.status_code == 400
    assert says in response.text
    assert_no_traceback(response.text)


@pytest.mark.asyncio
async def test_get_requests(api: Api) -> None:
    mutation = 'mutation { login(input: {email: "a@b.co", password: "x"}) { __typename } }'
    response = await api.client.get("/graphql", params={"query": mutation})
    assert response.status_code == 400
    assert "mutations are not allowed when using GET" in response.text
    response = await api.client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}
    response = await api.client.get("/graphql", params={"query": "{ __typename }",
                                                        "variables": "{bad"})
    assert response.status_code == 400 and "Unable to parse" in response.text
    response = await api.client.put("/graphql", content=b"{}")
    assert response.status_code == 405


@pytest.mark.asyncio
async def test_wrong_variable_types(api: Api) -> None:
    user = await api.user("a@example.com")
    cases: list[tuple[str, dict[str, Any]]] = [
        (REVOKE, {"id": {"an": "object"}}),
        (REVOKE, {}),
        (CREATE, {"i": {"name": "x", "expiresInDays": "soon"}}),
        (CREATE, {"i": {"name": "x", "expiresInDays": 99_999_999_999}}),
        (CREATE, {"i": {"name": "x", "scope": "EVERYTHING"}}),
        (CREATE, {"i": {"nome": "x"}}),
    ]
    for query, variables in cases:
        result = await api.gql(query, variables, token=user.token)
        assert result["data"] is None
        errors = errors_of(result)
        assert errors and all(code == "BAD_USER_INPUT" for code, _ in errors), errors
        assert all(message.startswith("Variable '$") for _, message in errors), errors
    literal = 'mutation { createAccessToken(input: {name: "x", expiresInDays: 9999999999}) ' \
              "{ __typename } }"
    code, message = only_error(await api.gql(literal, token=user.token))
    assert code == "BAD_USER_INPUT" and "32-bit" in message


@pytest.mark.asyncio
async def test_unknown_ids_are_not_found(api: Api) -> None:
    user = await api.user("a@example.com")
    for ident in ("999999", encode_id("AccessToken", 999999)):  # a mutation: a union member
        answer = (await api.gql(REVOKE, {"id": ident}, token=user.token))["data"]
        result = answer["revokeAccessToken"]
        assert result["__typename"] == "NotFoundError", (ident, result)
        assert result["message"] == f"access token {ident} not found"
    # a malformed id is not an id that names nothing: BAD_USER_INPUT, saying what an id is
    for ident in ("abc", "-1", "0", "1e3", "9" * 40, " ", "1; DROP TABLE users", "²",
                  "3000000000", encode_id("Backtest", 1)):
        code, message = only_error(await api.gql(REVOKE, {"id": ident}, token=user.token))
        assert code == "BAD_USER_INPUT" and "invalid id" in message, (ident, message)


@pytest.mark.asyncio
async def test_huge_page_sizes_and_bad_cursors(api: Api) -> None:
    user = await api.user("a@example.com")
    query = "query($n: Int, $c: String) { strategies(first: $n, after: $c) " \
            "{ pageInfo { hasNextPage } } }"
    ok = await api.gql(query, {"n": MAX_PAGE_SIZE}, token=user.token)
    assert ok == {"data": {"strategies": {"pageInfo": {"hasNextPage": False}}}}
    code, message = only_error(await api.gql(query, {"n": 1_000_000}, token=user.token))
    assert code == "BAD_USER_INPUT" and f"at most {MAX_PAGE_SIZE}" in message
    code, _ = only_error(await api.gql(query, {"n": 10**15}, token=user.token))
    assert code == "BAD_USER_INPUT"  # not even a GraphQL Int
    code, message = only_error(await api.gql(query, {"c": "garbage"}, token=user.token))
    assert code == "BAD_USER_INPUT" and "cursor" in message


@pytest_asyncio.fixture
async def closed_api(backend_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with ``GRAPHQL_IDE=0``: no GraphiQL, no introspection."""
    app = create_app(api_settings(backend_url, tmp_path, graphql_ide=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.mark.asyncio
async def test_ide_and_introspection_on_by_default(api: Api) -> None:
    page = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 302 and page.headers["location"] == "/playground"  # no CDN
    result = await api.gql("{ __schema { queryType { name } } }")
    assert result == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@pytest.mark.asyncio
async def test_ide_and_introspection_off(closed_api: httpx.AsyncClient) -> None:
    page = await closed_api.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404 and "graphiql" not in page.text.lower()
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "User") { name } }'):
        result = (await closed_api.post("/graphql", json={"query": query})).json()
        assert result["data"] is None
        code, message = errors_of(result)[0]
        assert code == "BAD_USER_INPUT" and "introspection has been disabled" in message
    response = await closed_api.post("/graphql", json={"query": "{ __typename }"})
    assert response.json() == {"data": {"__typename": "Query"}}


def test_cursor_round_trip_and_bad_cursors() -> None:
    key = (1_700_000_000_000, 42, "x", None, 1.5)
    cursor = encode_cursor(key)
    assert "=" not in cursor and decode_cursor(cursor) == key
    assert decode_cursor(cursor, length=5) == key
    for bad in ("", "!!!", "bm90IGpzb24", encode_cursor((1,))[:-1] + "$", "e30"):  # e30: {}
        with pytest.raises(ApiError) as info:
            decode_cursor(bad)
        assert info.value.code == "BAD_USER_INPUT" and "endCursor" in info.value.message
    with pytest.raises(ApiError):
        decode_cursor(cursor, length=2)


def test_page_size() -> None:
    assert page_size(None) == DEFAULT_PAGE_SIZE
    assert page_size(0) == 0 and page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE
    for bad in (MAX_PAGE_SIZE + 1, 10**12, -1):
        with pytest.raises(ApiError) as info:
            page_size(bad)
        assert info.value.code == "BAD_USER_INPUT"
    with pytest.raises(ApiError, match=f"at most {MAX_PAGE_SIZE}"):
        page_size(10**12)


def test_parse_id() -> None:
    # ids are global (graph.ids); a bare decimal id is accepted during the transition
    assert parse_id(encode_id("Thing", 17), "Thing") == 17
    assert parse_id("17", "Thing") == 17 and parse_id(3, "Thing") == 3
    for bad in ("x", "²", "3000000000", "", encode_id("Other", 1)):
        with pytest.raises(ApiError, match="invalid id") as info:
            parse_id(bad, "Thing")
        assert info.value.code == "BAD_USER_INPUT"
