"""An open websocket's caller is checked again while it stays open (``graph.app``'s
``SubscriptionCaps``, ``graph.auth.recheck``): signing out, or revoking the personal access token
it was opened with, closes it with 4403 saying why, and its subscriptions end; a caller still
allowed keeps it. A real uvicorn server and a real websocket client, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from graph import app as graph_app
from graph.app import create_app
from tests.graph.conftest import api_settings
from tests.graph.test_accounts import LOGIN, LOGOUT, REGISTER
from tests.serving import serve_app

pytestmark = pytest.mark.asyncio

SUBSCRIBE = {"id": "1", "type": "subscribe",
             "payload": {"query": "subscription { jobEvents { seq } }"}}
CREATE_TOKEN = """mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) {
  ... on CreatedAccessToken { token accessToken { id } } } }"""
REVOKE_TOKEN = """mutation($id: ID!) { revokeAccessToken(id: $id) { __typename } }"""


@pytest.fixture
def base(backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(graph_app, "CALLER_RECHECK_S", 0.1)
    app = create_app(api_settings(backend_url, tmp_path))
    with serve_app(app) as port:
        yield f"127.0.0.1:{port}"


async def gql(base: str, query: str, variables: dict[str, Any],
              token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"http://{base}/graphql", headers=headers,
                                     json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def sign_in(base: str, email: str) -> dict[str, Any]:
    password = "correct horse battery"
    await gql(base, REGISTER, {"input": {"email": email, "password": password,
                                         "displayName": ""}})
    session: dict[str, Any] = (await gql(base, LOGIN, {"input": {"email": email,
                                                                 "password": password}}))["login"]
    assert session["__typename"] == "AuthPayload", session
    return session


async def subscribed(base: str, token: str) -> ClientConnection:
    ws = await connect(f"ws://{base}/graphql", subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                       ping_interval=None)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    await ws.send(json.dumps(SUBSCRIBE))
    return ws


async def closed(ws: ClientConnection, within: float = 10.0) -> tuple[int | None, str]:
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), within))
            assert message.get("type") != "error", message
    except ConnectionClosed as err:
        assert err.rcvd is not None
        return err.rcvd.code, err.rcvd.reason


async def test_signing_out_closes_the_sessions_websocket(base: str) -> None:
    session = await sign_in(base, "ws@example.com")
    ws = await subscribed(base, session["accessToken"])
    await gql(base, LOGOUT, {"t": session["refreshToken"]})
    code, reason = await closed(ws)
    assert code == 4403 and "session has ended" in reason


async def test_revoking_the_token_closes_its_websocket_and_others_stay(base: str) -> None:
    session = await sign_in(base, "pat@example.com")
    created = (await gql(base, CREATE_TOKEN, {"i": {"name": "ws", "scope": "READ"}},
                         session["accessToken"]))["createAccessToken"]
    by_token = await subscribed(base, created["token"])
    by_session = await subscribed(base, session["accessToken"])
    await asyncio.sleep(0.5)  # several checks: both still allowed, both still open
    await gql(base, REVOKE_TOKEN, {"id": created["accessToken"]["id"]}, session["accessToken"])
    code, reason = await closed(by_token)
    assert code == 4403 and "revoked" in reason
    with pytest.raises(TimeoutError):  # the session's own connection is untouched
        await asyncio.wait_for(by_session.recv(), 0.5)
    await by_session.close()
