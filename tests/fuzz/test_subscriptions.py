"""The subscriptions' websocket (graphql-transport-ws) under hostile clients, against a real
``backtest serve`` (SQLite and PostgreSQL), with a real websocket client (``websockets``).

Every exchange is judged the same way (:func:`problems_of`): the server answers only with
protocol messages; each ``error`` message, and each error of a ``next`` one, has a code that is
not ``INTERNAL``; a connection it ends gets a protocol close code (:data:`PROTOCOL_CLOSES`:
4400 invalid message, 4401 not initialised, 4409 duplicate id, 4429 second init, 1009 too
big...), never a dropped connection (1006) nor 1011. Some cases also expect one answer. After
them, ``/healthz`` answers, a real subscription still runs to its end, and the server's log
holds no traceback.

- hostile ``connection_init`` payloads (not objects, garbage and huge tokens, deep nesting);
- malformed messages (not JSON, not objects, binary, unknown types, missing or mistyped
  ``id``/``payload``/``query``/``variables``/``operationName``), out-of-order ones, a
  duplicate id, a second init, oversized frames;
- hostile variables for each argument of each subscription field (walking the schema);
- generated subscription documents (hypothesis-graphql, valid and schema-violating) and
  generated message frames, a few per connection (``FUZZ_WS_EXAMPLES`` examples each,
  derandomized: a failure replays).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    print_ast,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from graph.schema import schema
from tests.fuzz.scalars import HOSTILE_TEXT, custom_scalars
from tests.fuzz.server import Served, server_problems

pytestmark = pytest.mark.fuzz

PROTOCOL = "graphql-transport-ws"
PROTOCOL_CLOSES = {1000, 1001, 1009, 4400, 4401, 4403, 4408, 4409, 4429}
SERVER_TYPES = {"connection_ack", "next", "error", "complete", "ping", "pong"}
WAIT_S = 0.6  # how long an operation may stay silent before it is taken as streaming
MAX_FRAME = 16 * 1024 * 1024  # uvicorn's default websocket message cap (--ws-max-size)
PROGRESS = "subscription($id: ID!) { backtestProgress(id: $id) { seq kind status } }"


def ws_examples() -> int:
    return int(os.environ.get("FUZZ_WS_EXAMPLES") or 25)


@dataclass
class Outcome:
    """What the server did in one connection."""

    messages: list[Any] = field(default_factory=list)  # decoded, in order
    texts: list[str] = field(default_factory=list)  # frames that were not JSON
    close_code: int | None = None  # None: still open when the client ended it
    close_reason: str = ""

    def of(self, op_id: object) -> list[Any]:
        return [m for m in self.messages if isinstance(m, dict) and m.get("id") == op_id]

    @property
    def acked(self) -> bool:
        return any(isinstance(m, dict) and m.get("type") == "connection_ack"
                   for m in self.messages)


def _error_codes(errors: object) -> Iterator[object]:
    if not isinstance(errors, list):
        yield f"not a list of errors: {errors!r}"
        return
    for error in errors:
        yield (error.get("extensions") or {}).get("code") if isinstance(error, dict) else error


def problems_of(outcome: Outcome) -> list[str]:
    """Everything in ``outcome`` that breaks the protocol or the API's error contract."""
    problems = [f"a frame that is not JSON: {t[:200]!r}" for t in outcome.texts]
    if outcome.close_code is not None and outcome.close_code not in PROTOCOL_CLOSES:
        problems.append(f"closed with {outcome.close_code} {outcome.close_reason!r}")
    for message in outcome.messages:
        if not isinstance(message, dict) or message.get("type") not in SERVER_TYPES:
            problems.append(f"not a protocol message: {str(message)[:300]}")
            continue
        errors: object = None
        if message["type"] == "error":
            errors = message.get("payload")
        elif message["type"] == "next":
            payload = message.get("payload")
            errors = payload.get("errors") if isinstance(payload, dict) else "no payload"
        if errors is None:
            continue
        for code in _error_codes(errors):
            if code is None or code == "INTERNAL" or not isinstance(code, str):
                problems.append(f"error code {code!r}: {str(message)[:500]}")
    return problems


async def _read(ws: ClientConnection, outcome: Outcome, timeout_s: float) -> bool:
    """Read one frame into ``outcome``; False on timeout."""
    try:
        frame = await asyncio.wait_for(ws.recv(), timeout_s)
    except TimeoutError:
        return False
    try:
        outcome.messages.append(json.loads(frame))
    except ValueError:
        outcome.texts.append(str(frame))
    return True


def _ended(outcome: Outcome, op_id: object) -> bool:
    return any(m.get("type") in ("complete", "error") for m in outcome.of(op_id))


async def converse(url: str, frames: list[str | bytes], *, init: dict[str, Any] | None,
                   wait_ids: tuple[object, ...] = (), wait_s: float = WAIT_S) -> Outcome:
    """Connect, send ``connection_init`` with ``init`` (unless None) and wait for its answer,
    send ``frames``, then read until every operation of ``wait_ids`` ended (or ``wait_s``
    of silence); complete those still running and check that the connection answers a
    ping, unless the server closed it."""
    outcome = Outcome()
    try:
        async with connect(url, subprotocols=[PROTOCOL], max_size=None, open_timeout=20,
                           close_timeout=5, ping_interval=None) as ws:  # type: ignore[list-item]
            if init is not None:
                await ws.send(json.dumps({"type": "connection_init", "payload": init}))
                await _read(ws, outcome, 10)
            for frame in frames:
                await ws.send(frame)
            while not all(_ended(outcome, i) for i in wait_ids) or not wait_ids:
                if not await _read(ws, outcome, wait_s):
                    break
            running = [i for i in wait_ids if not _ended(outcome, i)]
            for op_id in running:
                await ws.send(json.dumps({"type": "complete", "id": op_id}))
            await ws.send(json.dumps({"type": "ping"}))
            while await _read(ws, outcome, 10):
                if outcome.messages and outcome.messages[-1] == {"type": "pong"}:
                    break
            else:
                outcome.texts.append("no pong within 10 s")
    except ConnectionClosed as closed:
        frame = closed.rcvd
        outcome.close_code = frame.code if frame is not None else 1006
        outcome.close_reason = frame.reason if frame is not None else "no close frame"
    return outcome


def run(coroutine: Any) -> Outcome:
    outcome: Outcome = asyncio.run(coroutine)
    return outcome


def subscribe(op_id: object, query: object, variables: object = None, **more: Any) -> str:
    payload: dict[str, Any] = {"query": query, **more}
    if variables is not None:
        payload["variables"] = variables
    return json.dumps({"type": "subscribe", "id": op_id, "payload": payload})


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_sound(served: Served, outcome: Outcome, what: str) -> None:
    problems = problems_of(outcome)
    assert not problems, (what, problems, outcome, served.log()[-5_000:])


# -- connection_init ---------------------------------------------------------------------------


def test_hostile_connection_init(served: Served) -> None:
    """Not an object: 4400. An object with any token: acknowledged, then a subscription
    is refused as ``UNAUTHENTICATED`` unless the token is real."""
    progress = subscribe("p", PROGRESS, {"id": served.ids["backtest"]})
    for payload in ([], "Bearer x", 1, None, True):
        frame = json.dumps({"type": "connection_init", "payload": payload})
        outcome = run(converse(served.ws, [frame], init=None))
        assert_sound(served, outcome, f"init {payload!r}")
        assert outcome.close_code == 4400, (payload, outcome)
    deep = '{"type": "connection_init", "payload": {"a": ' + "[" * 50_000 + "]" * 50_000 + "}}"
    outcome = run(converse(served.ws, [deep], init=None))
    assert_sound(served, outcome, "init nested 50,000 deep")
    assert outcome.close_code == 4400, outcome

    forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."  # alg none, user 1
    hostile = [{}, {"Authorization": 1}, {"Authorization": ["Bearer x"]},
               {"Authorization": "Bearer"}, {"Authorization": "Bearer \x00"},
               {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer " + forged},
               {"Authorization": "Bearer " + "A" * 200_000}, {"token": {"nested": [1, 2]}},
               {"token": "\ud800"}, {"token": "x" * 1_000_000}, {"authorization": "Bearer ²"},
               {"Authorization": f"Bearer {served.tokens['user']}x"}]
    for payload in hostile:
        outcome = run(converse(served.ws, [progress], init=payload, wait_ids=("p",)))
        what = f"init {str(payload)[:80]}"
        assert_sound(served, outcome, what)
        assert outcome.acked, (what, outcome)
        assert [m["type"] for m in outcome.of("p")] == ["error"], (what, outcome)
        assert outcome.of("p")[0]["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for who in ("user", "pat"):
        for payload in (auth(served.tokens[who]), {"token": served.tokens[who]}):
            outcome = run(converse(served.ws, [progress], init=payload, wait_ids=("p",)))
            assert_sound(served, outcome, f"init as {who}")
            assert [m["type"] for m in outcome.of("p")] == ["next", "complete"], outcome
    assert served.healthy()


# -- malformed and out-of-order messages --------------------------------------------------------


def test_malformed_messages(served: Served) -> None:
    token = auth(served.tokens["user"])
    query = "subscription { jobEvents { kind } }"
    ok = {"query": query}
    invalid: list[tuple[str, str | bytes]] = [
        ("not JSON", "{not json"), ("binary", b'{"type": "ping"}'), ("a list", "[]"),
        ("a string", '"subscribe"'), ("a number", "1"), ("null", "null"),
        ("nested 100,000 deep", "[" * 100_000 + "]" * 100_000),
        ("no type", json.dumps({"id": "a"})), ("unknown type", json.dumps({"type": "start"})),
        ("a long unknown type", json.dumps({"type": "é" * 400})),
        ("type a long list", json.dumps({"type": ["x" * 300]})),
        ("type a list", json.dumps({"type": []})), ("type a number", json.dumps({"type": 1})),
        ("no id", json.dumps({"type": "subscribe", "payload": ok})),
        *((f"id {v!r}", json.dumps({"type": "subscribe", "id": v, "payload": ok}))
          for v in ([], {}, None, 1, 1.5, True)),
        ("no payload", json.dumps({"type": "subscribe", "id": "a"})),
        *((f"payload {v!r}", json.dumps({"type": "subscribe", "id": "a", "payload": v}))
          for v in (None, "x", [], 1)),
        ("no query", json.dumps({"type": "subscribe", "id": "a",
                                 "payload": {"operationName": None}})),
        *((f"query {v!r}", subscribe("a", v)) for v in (None, 1, [], {}, "")),
        *((f"variables {v!r}", subscribe("a", query, v)) for v in ("x", [], 1, True)),
        *((f"operationName {v!r}", subscribe("a", query, operationName=v))
          for v in (1, [], {}, True)),
        *((f"extensions {v!r}", subscribe("a", query, extensions=v)) for v in ("x", [], 1)),
        *((f"complete id {v!r}", json.dumps({"type": "complete", "id": v}))
          for v in ([], {}, None, 1)),
        ("complete without id", json.dumps({"type": "complete"})),
    ]
    for what, frame in invalid:
        outcome = run(converse(served.ws, [frame], init=token))
        assert_sound(served, outcome, what)
        assert outcome.close_code == 4400, (what, outcome)

    for what, frame in [("a syntax error", subscribe("a", "subscription {")),
                        ("an unknown operationName", subscribe("a", query, operationName="No")),
                        ("two root fields", subscribe("a", "subscription { a: jobEvents { kind } "
                                                           "b: jobEvents { kind } }"))]:
        outcome = run(converse(served.ws, [frame], init=token, wait_ids=("a",)))
        assert_sound(served, outcome, what)
        refused = [m["type"] for m in outcome.of("a")] == ["error"]
        assert refused or outcome.close_code == 4400, (what, outcome)

    fine: list[tuple[str, list[str | bytes]]] = [
        ("ping with a payload", [json.dumps({"type": "ping", "payload": {"a": [1]}})]),
        ("pong", [json.dumps({"type": "pong"})]),
        ("complete of an unknown id", [json.dumps({"type": "complete", "id": "zz"})]),
        ("a query over the websocket", [subscribe("q", "{ me { email } }")]),
        ("variables null", [json.dumps({"type": "subscribe", "id": "v",
                                         "payload": {**ok, "variables": None}})]),
        ("an empty id", [subscribe("", query)]),
        ("extra fields", [json.dumps({"type": "subscribe", "id": "x", "payload": ok,
                                      "extra": [1]})]),
    ]
    for what, frames in fine:
        outcome = run(converse(served.ws, frames, init=token))
        assert_sound(served, outcome, what)
        assert outcome.close_code is None, (what, outcome)

    ordered: list[tuple[str, dict[str, Any] | None, list[str | bytes], int]] = [
        ("subscribe before init", None, [subscribe("a", query)], 4401),
        ("a second init", token, [json.dumps({"type": "connection_init", "payload": {}})], 4429),
        ("a duplicate id", token, [subscribe("a", query), subscribe("a", query)], 4409),
    ]
    for what, init, frames, code in ordered:
        outcome = run(converse(served.ws, frames, init=init))
        assert_sound(served, outcome, what)
        assert outcome.close_code == code, (what, outcome)
    assert served.healthy()


def test_oversized_messages(served: Served) -> None:
    """A subscribe over ``MAX_REQUEST_BYTES`` (1 MB) is refused with ``PAYLOAD_TOO_LARGE``; a
    frame over the websocket's cap closes the connection with 1009."""
    token = auth(served.tokens["user"])
    big = subscribe("big", PROGRESS, {"id": served.ids["backtest"], "pad": "x" * 1_200_000})
    outcome = run(converse(served.ws, [big], init=token, wait_ids=("big",)))
    assert_sound(served, outcome, "a 1.2 MB subscribe")
    assert outcome.of("big")[0]["payload"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    huge = json.dumps({"type": "ping", "payload": {"pad": "x" * (MAX_FRAME + 1024)}})
    outcome = run(converse(served.ws, [huge], init=token))
    assert_sound(served, outcome, "a 16 MB frame")
    assert outcome.close_code == 1009, outcome
    assert served.healthy()


# -- hostile variables for every subscription field ----------------------------------------------


def _hostile_values(t: GraphQLInputType) -> list[Any]:
    """Values of the wrong kind, or of the right kind and absurd, for input type ``t``."""
    inner = t.of_type if isinstance(t, GraphQLNonNull) else t
    common: list[Any] = [None, {}, [[]], {"a": 1}]
    if isinstance(inner, GraphQLList):
        return [*common, "x", 1, [None], *([v] for v in _hostile_values(inner.of_type)[4:])]
    if isinstance(inner, GraphQLEnumType):
        return [*common, "NOPE", "", 1, True, next(iter(inner.values)).lower()]
    assert isinstance(inner, GraphQLScalarType)
    if inner.name == "Boolean":
        return [*common, "true", 1, 0, "x"]
    return [*common, *HOSTILE_TEXT, -1, 2**63, 1e308, True, "\ud800"]


def _selection(t: Any, depth: int = 0) -> str:
    """Every leaf field of output type ``t`` (and of its objects, two levels down)."""
    named = get_named_type(t)
    if is_leaf_type(named):
        return ""
    if not isinstance(named, GraphQLObjectType) or depth >= 2:
        return "{ __typename }"
    parts = ["__typename"]
    for name, f in named.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in f.args.values()):
            continue
        if is_leaf_type(get_named_type(f.type)):
            parts.append(name)
        elif depth < 1:
            parts.append(f"{name} {_selection(f.type, depth + 1)}")
    return "{ " + " ".join(parts) + " }"


PROGRESS_OF = {"backtestProgress": "backtest", "sweepProgress": "sweep",
               "replayProgress": "replay", "marketDataSyncProgress": "syncJob"}


def _plausible(served: Served, field_name: str, arg: str, t: GraphQLInputType) -> Any:
    named = get_named_type(t)
    if arg == "id":
        return served.ids[PROGRESS_OF.get(field_name, "backtest")]
    if isinstance(named, GraphQLEnumType):
        return [next(iter(named.values))] if isinstance(
            t.of_type if isinstance(t, GraphQLNonNull) else t, GraphQLList) else next(
            iter(named.values))
    return {"symbol": "DEMO/USDT", "timeframe": "1h", "exchange": "demo",
            "includeForming": False}.get(arg, "x")


def test_hostile_variables_of_every_subscription_field(served: Served) -> None:
    subscription = schema._schema.subscription_type
    assert subscription is not None and subscription.fields
    token = auth(served.tokens["user"])
    for field_name, f in subscription.fields.items():
        declared = ", ".join(f"${a}: {arg.type}" for a, arg in f.args.items())
        passed = ", ".join(f"{a}: ${a}" for a in f.args)
        query = (f"subscription({declared}) {{ {field_name}({passed}) "
                 f"{_selection(f.type)} }}") if f.args else \
            f"subscription {{ {field_name} {_selection(f.type)} }}"
        base = {a: _plausible(served, field_name, a, arg.type) for a, arg in f.args.items()
                if isinstance(arg.type, GraphQLNonNull)}
        frames: list[str | bytes] = []
        for a, arg in f.args.items():
            for value in _hostile_values(arg.type):
                frames.append(subscribe(f"{a}-{len(frames)}", query, {**base, a: value}))
        frames.append(subscribe("plausible", query, base))
        for start in range(0, len(frames), 20):  # under the per-user cap of open ones
            batch = frames[start:start + 20]
            ids = tuple(json.loads(b)["id"] for b in batch)
            outcome = run(converse(served.ws, batch, init=token, wait_ids=ids))
            assert_sound(served, outcome, f"{field_name} variables")
            assert outcome.close_code is None, (field_name, outcome)
        if field_name in PROGRESS_OF:  # the plausible variables reach the stored job
            assert outcome.of("plausible")[0]["type"] == "next", (field_name, outcome)
    assert served.healthy()


# -- generated documents and frames ---------------------------------------------------------------


def _subscriptions_as_queries() -> GraphQLSchema:
    """The schema with the Subscription type as its query root, for hypothesis-graphql (which
    generates queries and mutations only); the documents are made subscriptions again in
    :func:`_as_subscription`."""
    root = schema._schema.subscription_type
    assert root is not None
    return GraphQLSchema(query=root, types=list(schema._schema.type_map.values()))


def _as_subscription(document: DocumentNode) -> str:
    text = print_ast(document)
    if text.startswith("query"):
        return "subscription" + text[len("query"):]
    return "subscription " + text  # the shorthand "{ ... }"


def documents(served: Served, mode: Mode) -> st.SearchStrategy[str]:
    return from_schema(_subscriptions_as_queries(), custom_scalars=custom_scalars(
        served.instants), print_ast=_as_subscription, mode=mode)


def fuzz_settings() -> settings:
    """Derandomized (the same examples each run), no example database, no shrinking (a
    failure prints its example as found), ``FUZZ_WS_EXAMPLES`` examples."""
    return settings(derandomize=True, database=None, deadline=None, print_blob=True,
                    phases=[Phase.explicit, Phase.generate], max_examples=ws_examples(),
                    suppress_health_check=list(HealthCheck))


def test_generated_documents(served: Served) -> None:
    token = auth(served.tokens["user"])
    documents_of = st.one_of(documents(served, Mode.POSITIVE), documents(served, Mode.NEGATIVE))

    @fuzz_settings()
    @given(batch=st.lists(documents_of, min_size=1, max_size=6))
    def check(batch: list[str]) -> None:
        frames: list[str | bytes] = [subscribe(f"g{i}", q) for i, q in enumerate(batch)]
        ids = tuple(f"g{i}" for i in range(len(batch)))
        outcome = run(converse(served.ws, frames, init=token, wait_ids=ids))
        assert not problems_of(outcome), (problems_of(outcome), batch, outcome)
        assert outcome.close_code is None, (batch, outcome)

    check()
    assert served.healthy()


def _json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                       st.sampled_from(HOSTILE_TEXT), st.text(max_size=20))
    return st.recursive(leaves, lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c, max_size=4)),
        max_leaves=20)


def frames_of(served: Served) -> st.SearchStrategy[str]:
    """Message-shaped JSON: a real or made-up type, an id of any kind, a payload of any kind
    (real queries and variables now and then)."""
    queries = st.sampled_from([PROGRESS, "subscription { jobEvents { kind } }", "{ __typename }",
                               "subscription { nope }", "query { me { email } }"])
    payloads = st.one_of(_json_values(), st.fixed_dictionaries(
        {"query": queries}, optional={"variables": st.one_of(
            st.just({"id": served.ids["backtest"]}), _json_values()),
            "operationName": st.one_of(st.none(), st.text(max_size=8), _json_values())}))
    message = st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(["subscribe", "complete", "ping", "pong",
                                            "connection_init", "next", "error"]),
                           st.text(max_size=10))},
        optional={"id": st.one_of(st.text(max_size=5), _json_values()), "payload": payloads})
    return st.one_of(message, _json_values()).map(json.dumps)


def test_generated_frames(served: Served) -> None:
    token = auth(served.tokens["user"])

    @fuzz_settings()
    @given(frames=st.lists(frames_of(served), min_size=1, max_size=5))
    def check(frames: list[str]) -> None:
        outcome = run(converse(served.ws, list(frames), init=token, wait_s=0.3))
        assert not problems_of(outcome), (problems_of(outcome), frames, outcome)

    check()
    assert served.healthy()


# -- afterwards ---------------------------------------------------------------------------------


def test_still_serving_afterwards(served: Served) -> None:
    """After every fuzzer of this backend: a subscription runs to its end, and the server
    logged no error."""
    outcome = run(converse(served.ws, [subscribe("p", PROGRESS, {"id": served.ids["backtest"]})],
                           init=auth(served.tokens["user"]), wait_ids=("p",), wait_s=10))
    assert [m["type"] for m in outcome.of("p")] == ["next", "complete"], outcome
    assert outcome.of("p")[0]["payload"]["data"]["backtestProgress"]["status"] == "SUCCEEDED"
    assert served.healthy()
    problems = server_problems(served.log())
    assert not problems, "the server logged errors:\n" + problems
