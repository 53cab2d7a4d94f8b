"""The HTTP layer (issue 12): every error carries ``extensions.code`` (400s included),
GraphQL over HTTP's media type, NUL characters, DateTime messages, CORS, request ids, the body
size cap, introspection limits and the per-user cap on open subscriptions."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from graph.app import create_app
from graph.schema import MAX_INTROSPECTION_DEPTH, MAX_TYPE_WRAPPING
from store.users import create_user
from tests.graph.conftest import Api, api_settings, errors_of

GQL_RESPONSE = "application/graphql-response+json"


def codes(response: httpx.Response) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in response.json()["errors"]]


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b'{"query": ""}', "application/json", 400),
    (b"{not json", "application/json", 400),
    (b'[{"query": "{ __typename }"}]', "application/json", 400),
    (b"query=x", "text/plain", 400),
    (b'{"query": "query A { __typename }", "operationName": "Z"}', "application/json", 400),
    (b'{"query": "subscription { jobEvents { seq } }"}', "application/json", 400),
    (b'{"query": "query A { __typename } query B { __typename }"}', "application/json", 400),
])
@pytest.mark.asyncio
async def test_request_errors_carry_codes(api: Api, body: bytes, content_type: str,
                                          status: int) -> None:
    user = await api.user("a@example.com")
    response = await api.client.post("/graphql", content=body, headers={
        "content-type": content_type, "authorization": f"Bearer {user.token}"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert codes(response) == ["BAD_REQUEST"]


@pytest.mark.asyncio
async def test_get_mutation_and_other_methods(api: Api) -> None:
    mutation = 'mutation { login(input: {email: "a@b.co", password: "x"}) { __typename } }'
    response = await api.client.get("/graphql", params={"query": mutation})
    assert response.status_code == 400 and codes(response) == ["BAD_REQUEST"]
    response = await api.client.get("/graphql", params={"query": mutation},
                                    headers={"accept": GQL_RESPONSE})
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert codes(response) == ["METHOD_NOT_ALLOWED"]
    response = await api.client.put("/graphql", content=b"{}")
    assert response.status_code == 405 and codes(response) == ["METHOD_NOT_ALLOWED"]


@pytest.mark.asyncio
async def test_graphql_response_media_type(api: Api) -> None:
    headers = {"accept": f"{GQL_RESPONSE}, application/json;q=0.9"}
    ok = await api.client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert ok.status_code == 200 and ok.headers["content-type"] == GQL_RESPONSE
    bad = await api.client.post("/graphql", json={"query": "{ nope }"}, headers=headers)
    assert bad.status_code == 400 and bad.headers["content-type"] == GQL_RESPONSE
    assert "data" not in bad.json() and codes(bad) == ["BAD_USER_INPUT"]
    # a field error is not a request error: 200 with data
    me = await api.client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
    assert me.status_code == 200 and "data" in me.json()
    legacy = await api.client.post("/graphql", json={"query": "{ nope }"})
    assert legacy.status_code == 200 and legacy.headers["content-type"] == "application/json"


@pytest.mark.asyncio
async def test_nul_characters_are_bad_user_input(api: Api) -> None:
    login = "mutation($i: LoginInput!) { login(input: $i) { __typename } }"
    result = await api.gql(login, {"i": {"email": "a\u0000@example.com", "password": "x"}})
    assert result["data"] is None
    [(code, message)] = errors_of(result)
    assert code == "BAD_USER_INPUT" and "NUL" in message and "i.email" in message
    literal = 'mutation { login(input: {email: "a\\u0000@x.io", password: "x"}) { __typename } }'
    assert [c for c, _ in errors_of(await api.gql(literal))] == ["BAD_USER_INPUT"]
    user = await api.user("a@example.com")
    token = "mutation($n: String!) { createAccessToken(input: {name: $n}) { __typename } }"
    result = await api.gql(token, {"n": "x\u0000"}, token=user.token)
    assert [c for c, _ in errors_of(result)] == ["BAD_USER_INPUT"]
    assert (await api.gql("{ me { email } }", token=user.token))["data"]["me"]["email"]


@pytest.mark.asyncio
async def test_bad_datetime_says_the_format(api: Api) -> None:
    user = await api.user("a@example.com")
    query = "query($f: DateTime) { backtests(filter: {createdFrom: $f}) { totalCount } }"
    result = await api.gql(query, {"f": "yesterday"}, token=user.token)
    [(code, message)] = errors_of(result)
    assert code == "BAD_USER_INPUT" and "2024-01-01T00:00:00Z" in message, message
    assert "isoformat" not in message and "dateutil" not in message
    for good in ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00"):  # no zone: UTC
        result = await api.gql(query, {"f": good}, token=user.token)
        assert "errors" not in result, result


@pytest.mark.asyncio
async def test_introspection_limits(api: Api) -> None:
    # GraphiQL's own introspection query (ofType nested nine times) passes
    full = get_introspection_query(descriptions=True, specified_by_url=True,
                                   directive_is_repeatable=True, schema_description=True,
                                   input_value_deprecation=True)
    assert "errors" not in await api.gql(full)

    def cycle(levels: int) -> str:  # fields { type { fields { type ... name } } }: `levels` deep
        inner = "name"
        for i in range(levels - 2):  # the outermost is `fields`, right under `types`
            inner = f"{'type' if (levels - 3 - i) % 2 else 'fields'} {{ {inner} }}"
        return "{ __schema { types { " + inner + " } } }"

    def wrapped(times: int) -> str:
        return "{ __type(name: \"Query\") { " + "ofType { " * times + "name" + " }" * times \
            + " } }"

    assert "errors" not in await api.gql(cycle(6))  # (graphql-core refuses 4 nested `fields`)
    assert "errors" not in await api.gql(wrapped(MAX_TYPE_WRAPPING))
    for refused in (cycle(MAX_INTROSPECTION_DEPTH + 1), cycle(12), wrapped(MAX_TYPE_WRAPPING + 1)):
        errors = errors_of(await api.gql(refused))
        assert errors and all(code == "BAD_USER_INPUT" and "introspection depth" in message.lower()
                              for code, message in errors), errors
    aliases = "{ " + " ".join(f"a{i}: __schema {{ queryType {{ name }} }}" for i in range(20)) \
        + " }"
    assert {c for c, _ in errors_of(await api.gql(aliases))} == {"BAD_USER_INPUT"}


@pytest.mark.asyncio
async def test_strategy_schema_is_public(api: Api) -> None:
    result = await api.gql("{ strategySchema }")
    assert "errors" not in result and result["data"]["strategySchema"]


@pytest.mark.asyncio
async def test_body_size_cap(backend_url: str, tmp_path: Path) -> None:
    app = create_app(api_settings(backend_url, tmp_path, max_request_bytes=10_000))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            big = {"query": "{ __typename }", "variables": {"x": "y" * 20_000}}
            response = await client.post("/graphql", json=big)
            assert response.status_code == 413 and codes(response) == ["PAYLOAD_TOO_LARGE"]

            async def chunks() -> Any:  # no Content-Length: refused while reading
                yield b'{"query": "{ __typename }", "variables": {"x": "'
                for _ in range(5):
                    yield b"y" * 5_000
                yield b'"}}'

            response = await client.post("/graphql", content=chunks(),
                                         headers={"content-type": "application/json"})
            assert response.status_code == 413 and codes(response) == ["PAYLOAD_TOO_LARGE"]
            small = await client.post("/graphql", json={"query": "{ __typename }"})
            assert small.json() == {"data": {"__typename": "Query"}}


@pytest.mark.asyncio
async def test_cors(backend_url: str, tmp_path: Path, api: Api) -> None:
    preflight = {"origin": "https://app.example.com", "access-control-request-method": "POST",
                 "access-control-request-headers": "authorization, content-type"}
    # default: no CORS headers, preflight answered without them
    response = await api.client.options("/graphql", headers=preflight)
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers
    app = create_app(api_settings(backend_url, tmp_path / "cors",
                                  cors_origins=("https://app.example.com",)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.options("/graphql", headers=preflight)
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "https://app.example.com"
            assert "authorization" in response.headers["access-control-allow-headers"].lower()
            response = await client.post("/graphql", json={"query": "{ __typename }"},
                                         headers={"origin": "https://app.example.com"})
            assert response.headers["access-control-allow-origin"] == "https://app.example.com"
            assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
            other = await client.post("/graphql", json={"query": "{ __typename }"},
                                      headers={"origin": "https://evil.example.com"})
            assert "access-control-allow-origin" not in other.headers


def test_cors_setting() -> None:
    from store.settings import Settings
    settings = Settings.from_env({"CORS_ORIGINS": "https://a.example.com/, http://localhost:5173"})
    assert settings.cors_origins == ("https://a.example.com", "http://localhost:5173")
    assert Settings.from_env({}).cors_origins == ()
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        Settings.from_env({"CORS_ORIGINS": "app.example.com"})


@pytest.mark.asyncio
async def test_request_ids(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    from tasks.request_ids import install_log_records
    install_log_records()
    response = await api.client.post("/graphql", json={"query": "{ __typename }"},
                                      headers={"x-request-id": "client-id-1"})
    assert response.headers["x-request-id"] == "client-id-1"
    for bad in ("has space", "x" * 200, "<script>"):
        response = await api.client.post("/graphql", json={"query": "{ __typename }"},
                                          headers={"x-request-id": bad})
        assert response.headers["x-request-id"] != bad and len(response.headers["x-request-id"]) == 32
    response = await api.client.post("/graphql", content=b"{bad")
    assert response.status_code == 400 and response.headers["x-request-id"]
    assert (await api.client.get("/healthz")).headers["x-request-id"]
    # a log line of the request carries its id
    with caplog.at_level(logging.INFO):
        logging.getLogger("tasks.test").info("outside")
        user = await api.user("a@example.com")
        await api.client.post(
            "/graphql", headers={"x-request-id": "req-42", "authorization": f"Bearer {user.token}"},
            json={"query": 'mutation { syncMarketData(input: {exchange: "demo", '
                           'symbol: "DEMO/USDT", timeframe: "1h"}) { __typename } }'})
    ids = {r.getMessage(): getattr(r, "request_id", None) for r in caplog.records}
    assert ids["outside"] == "-"
    queued = [m for m in ids if "queued (request req-42)" in m]
    if queued:  # the sync job was accepted: its queued line names the request
        assert ids[queued[0]] == "req-42"


@pytest.mark.asyncio
async def test_subscription_cap_per_user(backend_url: str, tmp_path: Path) -> None:
    app = create_app(api_settings(backend_url, tmp_path, max_subscriptions_per_user=2))
    async with app.router.lifespan_context(app):
        record = await create_user("a@example.com", None)
        token = app.state.services.tokens.issue(record).access_token
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[Any] = asyncio.Queue()
        scope = {"type": "websocket", "path": "/graphql", "raw_path": b"/graphql",
                 "headers": [(b"host", b"test")], "query_string": b"", "scheme": "ws",
                 "subprotocols": ["graphql-transport-ws"], "server": ("test", 80),
                 "client": ("127.0.0.1", 1), "root_path": "", "asgi": {"version": "3.0"}}

        async def send(message: dict[str, Any]) -> None:
            await inbox.put({"type": "websocket.receive", "text": json.dumps(message)})

        async def receive() -> dict[str, Any]:
            while True:
                event = await asyncio.wait_for(outbox.get(), 5)
                if event["type"] == "websocket.send":
                    return json.loads(event["text"])  # type: ignore[no-any-return]
                assert event["type"] == "websocket.accept"
                assert any(k == b"x-request-id" for k, _ in event.get("headers", []))

        await inbox.put({"type": "websocket.connect"})
        task = asyncio.create_task(app(scope, inbox.get, outbox.put))
        try:
            await send({"type": "connection_init", "payload": {"token": token}})
            assert (await receive())["type"] == "connection_ack"
            subscribe = {"query": "subscription { jobEvents { seq } }"}
            for i in range(3):
                await send({"id": str(i), "type": "subscribe", "payload": subscribe})
            message = await receive()
            assert message["type"] == "error" and message["id"] == "2", message
            assert message["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            assert app.state.services.subscriptions.open_count(record.id) == 2
            await send({"id": "0", "type": "complete"})
            await asyncio.sleep(0.1)
            assert app.state.services.subscriptions.open_count(record.id) == 1
            await send({"id": "3", "type": "subscribe",
                        "payload": {**subscribe, "variables": {"x": "\u0000"}}})
            message = await receive()
            assert message["id"] == "3" and message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        finally:
            await inbox.put({"type": "websocket.disconnect", "code": 1000})
            await asyncio.wait_for(task, 5)
        assert app.state.services.subscriptions.open_count(record.id) == 0
