"""Malformed graphql-transport-ws messages close the connection with 4400 and a reason that
fits a close frame, instead of dropping it (1006) with a traceback or answering ``INTERNAL``
(``graph.ws_messages``; found by the websocket fuzz of ``tests/fuzz``). A real uvicorn server,
a real websocket client, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from graph.app import create_app
from graph.ws_messages import MAX_REASON_BYTES, json_size, message_problem, short_reason
from tests.graph.conftest import api_settings
from tests.serving import serve_app

QUERY = "subscription { jobEvents { kind } }"


def test_message_problem() -> None:
    good = {"type": "subscribe", "id": "1", "payload": {"query": QUERY, "variables": None,
                                                        "operationName": None}}
    assert message_problem(good) is None
    assert message_problem({"type": "ping"}) is None
    assert message_problem({"type": "complete", "id": "1"}) is None
    assert message_problem({"type": "unknown"}) is None  # strawberry names it
    bad: list[Any] = [
        [], "x", 1, None,
        {"type": "subscribe", "id": [], "payload": {"query": QUERY}},
        {"type": "subscribe", "id": 1, "payload": {"query": QUERY}},
        {"type": "complete", "id": {}},
        {"type": "subscribe", "id": "1", "payload": None},
        {"type": "subscribe", "id": "1", "payload": "x"},
        {"type": "subscribe", "id": "1", "payload": {"query": None}},
        {"type": "subscribe", "id": "1", "payload": {"query": " "}},
        {"type": "subscribe", "id": "1", "payload": {"query": QUERY, "variables": []}},
        {"type": "subscribe", "id": "1", "payload": {"query": QUERY, "operationName": 1}},
        {"type": "subscribe", "id": "1", "payload": {"query": QUERY, "extensions": "x"}},
    ]
    for message in bad:
        assert message_problem(message), message


def test_short_reason_and_json_size() -> None:
    assert short_reason("fine") == "fine"
    cut = short_reason("é" * 200)
    assert len(cut.encode()) <= MAX_REASON_BYTES and cut.endswith("...")
    assert json_size({"a": "x"}) == len(b'{"a":"x"}')
    assert json_size({"a": "\ud800"}) == len(b'{"a": "\\ud800"}')  # orjson refuses it
    deep: Any = []
    for _ in range(300):  # deeper than orjson encodes
        deep = [deep]
    assert json_size(deep) == 2 * 301


@pytest.fixture
def ws_url(backend_url: str, tmp_path: Path) -> Iterator[str]:
    app = create_app(api_settings(backend_url, tmp_path))
    with serve_app(app) as port:
        yield f"ws://127.0.0.1:{port}/graphql"


async def exchange(url: str, *frames: str) -> tuple[list[Any], int | None, str]:
    """Init (anonymous), send ``frames``, read for a while: the messages and the close."""
    messages: list[Any] = []
    try:
        async with connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                           max_size=None, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            for frame in frames:
                await ws.send(frame)
            while True:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 2)))
    except TimeoutError:
        return messages, None, ""
    except ConnectionClosed as closed:
        frame = closed.rcvd
        return messages, frame.code if frame else 1006, frame.reason if frame else ""


def subscribe(op_id: Any, payload: Any) -> str:
    return json.dumps({"type": "subscribe", "id": op_id, "payload": payload})


@pytest.mark.asyncio
async def test_malformed_messages_close_with_4400(ws_url: str) -> None:
    for frame in ["[]", '"x"', "1", "null", "[" * 100_000 + "]" * 100_000,
                  subscribe([], {"query": QUERY}), subscribe("a", None),
                  subscribe("a", {"query": None}), subscribe("a", {"query": QUERY,
                                                                   "operationName": 1}),
                  json.dumps({"type": "complete", "id": []}),
                  json.dumps({"type": "é" * 400})]:
        messages, code, reason = await exchange(ws_url, frame)
        assert [m["type"] for m in messages] == ["connection_ack"], (frame[:50], messages)
        assert code == 4400, (frame[:50], code, reason)
        assert 0 < len(reason.encode()) <= MAX_REASON_BYTES


@pytest.mark.asyncio
async def test_odd_subscribes_get_errors_with_codes(ws_url: str) -> None:
    # a lone surrogate in the variables: measured for the size cap, then refused like over HTTP
    messages, code, _ = await exchange(ws_url, subscribe("s", {
        "query": "subscription($id: ID!) { backtestProgress(id: $id) { seq } }",
        "variables": {"id": "\ud800"}}))
    assert code is None and messages[1]["type"] == "error", messages
    assert messages[1]["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # an operationName the document lacks
    messages, code, _ = await exchange(ws_url, subscribe("o", {"query": QUERY,
                                                              "operationName": "Nope"}))
    assert code is None and messages[1]["type"] == "error", messages
    assert messages[1]["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Nope" in messages[1]["payload"][0]["message"]
