"""Hostile inputs never answer ``INTERNAL`` nor an HTTP 5xx (SQLite and PostgreSQL).

Every query, mutation and subscription field is found by walking the schema, so a new field is
covered without editing this file. Each ``ID``, ``String``, ``Float``, ``Int`` and ``JSON``
argument, and each such field of an input object argument (nested inputs included), is sent
hostile values in turn (Unicode digits, ids beyond 32 and 64 bits, negative, empty, 10 KB, NUL,
lone surrogates, 1e308, forged cursors...), the other required arguments getting plausible
values. Queries and mutations go over HTTP (signed in, and anonymous with a smaller set of
values), subscriptions through the schema with a viewer (and without). Every offending answer is
collected and reported together: operation, argument path, value, error.

Uploads get their own test: hostile files (JSON nested 100,000 levels, NUL characters, lone
surrogates, a huge quoted field) and hostile names through ``importTransactions``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)

from graph.app import create_app
from graph.auth import Viewer
from graph.context import Context
from graph.schema import schema
from store.models import Role, TokenScope
from store.users import create_user
from tests.graph.conftest import Api, api_settings

pytestmark = pytest.mark.asyncio

UNREACHABLE = "http://127.0.0.1:9"  # the exchange: refused at once, never the network


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


TEN_KB = "7" * 10_240
COMMON = ["", " ", "\x00", "a\x00b", "\ud800", "\udfff x", TEN_KB, "²", "١٢٣"]
ID_VALUES = [
    *COMMON,
    "0", "-1", "+1", " 1 ", "1.0", "1e3", "2147483648", "4294967296", "9223372036854775808",
    "99999999999999999999999999", _b64("Backtest:2147483648"), _b64("Backtest:-1"),
    _b64("Nope:1"), _b64("Backtest:²"), _b64("Backtest:\x00"), "QmFja3Rlc3Q6", "%%%",
]
STRING_VALUES = [
    *COMMON,
    "9223372036854775808", "-1", "'; DROP TABLE users; --", "../../etc/passwd",
    _cursor([1e30, 9223372036854775808]), _cursor([1e30, 9223372036854775808, None, 1]),
    _cursor(["sharpe", True, 1e308, 9223372036854775808]), _cursor({"a": 1}), _cursor("x"),
    _cursor(None), _cursor([]), _b64("garbage"), "!!not base64!!", "2024-13-45T99:99:99Z",
    "1h" + "\x00", "BTC/USDT\x00",
]
FLOAT_VALUES = [1e308, -1e308, 5e-324, -0.0, 0.0, -1.0, 2.0**63]
INT_VALUES = [2_147_483_647, -2_147_483_648, 0, -1]
JSON_VALUES: list[Any] = [
    1e308, "\x00", {"\x00": "\ud800"}, {"period": 1e18}, {"fast": 1e308, "slow": -1e308},
    {"fast": {"start": 1, "stop": 1e9, "step": 1}}, json.loads("[" * 20 + "]" * 20),
    {"name": TEN_KB, "entry": {"all": []}}, [],
]
DATETIME_VALUES = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "-1", "\x00", TEN_KB,
                   "+275760-09-13T00:00:00Z", "2024-01-01T00:00:00+99:00"]
ANONYMOUS_VALUES = ["\x00", "\ud800", TEN_KB, "²", "9223372036854775808", ""]

HOSTILE: dict[str, list[Any]] = {
    "ID": ID_VALUES, "String": STRING_VALUES, "Float": FLOAT_VALUES, "Int": INT_VALUES,
    "JSON": JSON_VALUES, "DateTime": DATETIME_VALUES,
}
FILLERS: dict[str, Any] = {
    "ID": "1", "String": "x", "Int": 1, "Float": 1.0, "Boolean": False, "JSON": {},
    "DateTime": "2024-01-01T00:00:00Z", "Upload": "x",
}
NAMED_FILLERS: dict[str, Any] = {
    "symbol": "DEMO/USDT", "timeframe": "1h", "exchange": "demo", "email": "fuzz@x.io",
    "password": "correct horse battery", "name": "fuzz",
}
SUBSCRIPTION_WAIT_S = 0.3
HASHING = {"login", "register", "changePassword", "signUp", "createUser"}
TIMES: dict[str, float] = {}


# -- walking the schema --------------------------------------------------------------------------


def _unwrap(t: Any) -> Any:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


def filler(t: GraphQLInputType, name: str = "", depth: int = 0) -> Any:
    """A plausible value of input type ``t`` (required fields only, for input objects)."""
    t = _unwrap(t)
    if isinstance(t, GraphQLList):
        return [filler(t.of_type, name, depth + 1)]
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, GraphQLInputObjectType):
        return {k: filler(f.type, k, depth + 1) for k, f in t.fields.items()
                if isinstance(f.type, GraphQLNonNull) and f.default_value is _undefined()}
    assert isinstance(t, GraphQLScalarType)
    if t.name in ("String", "ID") and name in NAMED_FILLERS:
        return NAMED_FILLERS[name]
    return FILLERS.get(t.name, "x")


def _undefined() -> Any:
    from graphql.pyutils import Undefined

    return Undefined


def targets(t: GraphQLInputType, path: tuple[str | int, ...],
            depth: int = 0) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """``(path inside the argument, scalar name)`` of each place a hostile value can go."""
    t = _unwrap(t)
    if isinstance(t, GraphQLList):
        yield from targets(t.of_type, (*path, 0), depth + 1)
    elif isinstance(t, GraphQLInputObjectType):
        if depth < 4:
            for k, f in t.fields.items():
                yield from targets(f.type, (*path, k), depth + 1)
    elif isinstance(t, GraphQLScalarType) and t.name in HOSTILE:
        yield path, t.name


def _set(value: Any, path: tuple[str | int, ...], hostile: Any, t: Any) -> Any:
    """``value`` (a filler of type ``t``) with ``hostile`` at ``path`` (missing parts made)."""
    if not path:
        return hostile
    head, rest = path[0], path[1:]
    t = _unwrap(t)
    if isinstance(head, int):
        assert isinstance(t, GraphQLList)
        inner = value[0] if isinstance(value, list) and value else filler(t.of_type)
        return [_set(inner, rest, hostile, t.of_type)]
    assert isinstance(t, GraphQLInputObjectType)
    out = dict(value) if isinstance(value, dict) else filler(t)
    field_type = t.fields[head].type
    current = out.get(head)
    if current is None:
        current = filler(field_type, head)
    out[head] = _set(current, rest, hostile, field_type)
    return out


def selection(field: GraphQLField) -> str:
    named = get_named_type(field.type)
    return "" if is_leaf_type(named) else " { __typename }"


class Case:
    def __init__(self, op: str, name: str, field: GraphQLField, where: str,
                 variables: dict[str, Any], shown: Any) -> None:
        self.op, self.name, self.where, self.shown = op, name, where, shown
        defs = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items() if a in variables)
        args = ", ".join(f"{a}: ${a}" for a in field.args if a in variables)
        self.query = (f"{op} Fuzz{'(' + defs + ')' if defs else ''} "
                      f"{{ {name}{'(' + args + ')' if args else ''}{selection(field)} }}")
        self.variables = variables

    def __str__(self) -> str:
        shown = repr(self.shown)
        return f"{self.op} {self.name} {self.where}={shown[:60]}"


def cases(op: str, root: GraphQLObjectType | None, values: dict[str, list[Any]]) -> list[Case]:
    out: list[Case] = []
    for name, field in (root.fields.items() if root else ()):
        tried = values
        if name in HASHING:  # each call hashes a password (~30 ms): the common values only
            tried = {k: (COMMON if k in ("ID", "String") else v[:2]) for k, v in values.items()}
        base = {a: filler(arg.type, a) for a, arg in field.args.items()
                if isinstance(arg.type, GraphQLNonNull)}
        for a, arg in field.args.items():
            for path, scalar in targets(arg.type, ()):
                for hostile in tried.get(scalar, ()):
                    variables = dict(base)
                    variables[a] = _set(base.get(a), path, hostile, arg.type)
                    where = ".".join(map(str, (a, *path)))
                    out.append(Case(op, name, field, where, variables, hostile))
        if not field.args:
            out.append(Case(op, name, field, "-", {}, None))
    return out


def all_cases(values: dict[str, list[Any]]) -> dict[str, list[Case]]:
    gs = schema._schema
    return {"query": cases("query", gs.query_type, values),
            "mutation": cases("mutation", gs.mutation_type, values),
            "subscription": cases("subscription", gs.subscription_type, values)}


# -- running -------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def fuzz_api(backend_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The app (as the ``api`` fixture) with the exchange pointed at a closed port."""
    app = create_app(api_settings(backend_url, tmp_path, binance_rest_url=UNREACHABLE,
                                  binance_ws_url=UNREACHABLE.replace("http", "ws")))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     timeout=30) as client:
            yield Api(app, client)


def _internal(errors: Any) -> list[str]:
    found = []
    for e in errors or []:
        ext = (e.get("extensions") if isinstance(e, dict) else e.extensions) or {}
        message = e.get("message") if isinstance(e, dict) else e.message
        if ext.get("code") == "INTERNAL" or not ext.get("code"):
            found.append(f"{ext.get('code') or 'no code'}: {str(message)[:120]}")
    return found


async def _post(api: Api, case: Case, token: str | None) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = json.dumps({"query": case.query, "variables": case.variables}).encode()
    response = await api.client.post("/graphql", content=body, headers={
        **headers, "Content-Type": "application/json"})
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}: {response.text[:120]}"]
    try:
        result = response.json()
    except ValueError:
        return [f"HTTP {response.status_code}, not JSON: {response.text[:120]}"]
    return _internal(result.get("errors"))


def _context(api: Api, user_id: int | None) -> Context:
    context = Context(api.services)
    if user_id is not None:
        context.set_viewer(Viewer(user_id, Role.TRADER, TokenScope.READ_WRITE, "jwt"))
    return context


async def _subscribe(api: Api, case: Case, user_id: int | None) -> list[str]:
    stream = await schema.subscribe(case.query, variable_values=case.variables,
                                    context_value=_context(api, user_id))
    if not isinstance(stream, AsyncIterator):
        return _internal(stream.errors)
    found: list[str] = []
    try:
        first = await asyncio.wait_for(anext(stream), SUBSCRIPTION_WAIT_S)
        found = _internal(first.errors)
    except (TimeoutError, StopAsyncIteration):
        pass  # still open, waiting for events; or ended quietly
    finally:
        await stream.aclose()
    return found


async def _run(api: Api, everything: dict[str, list[Case]], anonymous: bool) -> list[str]:
    failures: list[str] = []
    seen_users = 0
    for op in ("query", "mutation", "subscription"):
        by_field: dict[str, list[Case]] = {}
        for case in everything[op]:
            by_field.setdefault(case.name, []).append(case)
        for name, field_cases in by_field.items():
            user_id, token = None, None
            if not anonymous:  # a fresh user per field: a logout or a revoke harms no other
                seen_users += 1
                record = await create_user(f"fuzz{seen_users}@x.io", None)
                user_id = record.id
                token = api.services.tokens.issue(record).access_token
            t0 = time.monotonic()
            for case in field_cases:
                if op == "subscription":
                    problems = await _subscribe(api, case, user_id)
                else:
                    problems = await _post(api, case, token)
                failures.extend(f"{'anonymous ' if anonymous else ''}{case}: {p}"
                                for p in problems)
            TIMES[f"{op} {name}"] = TIMES.get(f"{op} {name}", 0.0) + time.monotonic() - t0
    return failures


async def test_hostile_arguments_never_answer_internal(fuzz_api: Api) -> None:
    started = time.monotonic()
    signed_in = all_cases(HOSTILE)
    anonymous = all_cases({k: ANONYMOUS_VALUES if k in ("ID", "String") else v[:2]
                           for k, v in HOSTILE.items()})
    n = sum(map(len, signed_in.values())) + sum(map(len, anonymous.values()))
    assert sum(map(len, signed_in.values())) > 500  # the walk found the schema's arguments
    failures = await _run(fuzz_api, signed_in, anonymous=False)
    failures += await _run(fuzz_api, anonymous, anonymous=True)
    elapsed = time.monotonic() - started
    print(f"\n{n} requests in {elapsed:.1f} s, {len(failures)} INTERNAL or 5xx")
    print("slowest:", sorted(TIMES.items(), key=lambda kv: -kv[1])[:5])
    assert not failures, f"{len(failures)} of {n} answers were INTERNAL or 5xx:\n" + \
        "\n".join(failures)


# -- uploads -------------------------------------------------------------------------------------

IMPORT = """mutation($file: Upload!, $format: TransactionFormat!, $name: String,
                     $exchange: String!) {
  importTransactions(file: $file, format: $format, name: $name, exchange: $exchange) {
    __typename } }"""

TRADE = {"symbol": "BTCUSDT", "id": 1, "price": "1", "qty": "1", "commission": "0",
         "commissionAsset": "USDT", "time": 1_704_470_400_000, "isBuyer": True}
HEADER = b"timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id\n"
HOSTILE_FILES: list[tuple[str, bytes]] = [
    ("BINANCE_MY_TRADES", b"[" * 100_000 + b"]" * 100_000),
    ("BINANCE_MY_TRADES", b'[{"a":' * 5_000 + b"1" + b"}]" * 5_000),
    ("BINANCE_MY_TRADES", json.dumps([{**TRADE, "price": json.loads("[" * 900 + "]" * 900)}])
     .encode()),
    ("BINANCE_MY_TRADES", json.dumps([{**TRADE, "id": "\ud800"}]).encode()),
    ("BINANCE_MY_TRADES", json.dumps([{**TRADE, "commissionAsset": "US\x00DT"}]).encode()),
    ("BINANCE_MY_TRADES", json.dumps([{**TRADE, "symbol": "BTC\x00/USDT"}]).encode()),
    ("BINANCE_MY_TRADES", json.dumps([{**TRADE, "time": 10**300}]).encode()),
    ("BINANCE_MY_TRADES", json.dumps([{**TRADE, "price": 1e308, "qty": 1e308}]).encode()),
    ("BINANCE_MY_TRADES", b'[{"symbol":"BTCUSDT","id":' + b"9" * 5_000 + b"}]"),
    ("PLAIN_CSV", HEADER + b"1704470400000,BTC/USDT,buy,1,1,0,USDT,a\x00b\n"),
    ("PLAIN_CSV", HEADER + b'1704470400000,"' + b"B" * 200_000 + b'",buy,1,1,0,USDT,\n'),
    ("PLAIN_CSV", HEADER + b"9" * 5_000 + b",BTC/USDT,buy,1,1,0,USDT,\n"),
    ("PLAIN_CSV", HEADER + "1704470400000,BTC/USDT,buy,1,1,0,USDT,é\n".encode("latin-1")),
    ("PLAIN_CSV", (HEADER + b"1704470400000,BTC/USDT,buy,1,1,0,USDT,\n").decode()
     .encode("utf-16")),
    ("BINANCE_EXPORT", b"Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n2024-01-01 00:00:00,"
                       b"BTC\x00USDT,BUY,1,1BTC,1USDT,0USDT\n"),
    ("BINANCE_EXPORT", b"PK\x03\x04" + b"\x00" * 64),
]


async def test_hostile_uploads_never_answer_internal(fuzz_api: Api) -> None:
    record = await create_user("up@x.io", None)
    token = fuzz_api.services.tokens.issue(record).access_token
    failures: list[str] = []
    sends: list[tuple[str, bytes, dict[str, Any]]] = [
        (fmt, data, {}) for fmt, data in HOSTILE_FILES]
    sends += [("PLAIN_CSV", HEADER, {"name": v}) for v in ANONYMOUS_VALUES]
    sends += [("PLAIN_CSV", HEADER, {"exchange": v}) for v in ANONYMOUS_VALUES]
    for fmt, data, extra in sends:
        operations = {"query": IMPORT, "variables": {
            "file": None, "format": fmt, "exchange": "demo", "name": None, **extra}}
        response = await fuzz_api.client.post(
            "/graphql", headers={"Authorization": f"Bearer {token}"},
            data={"operations": json.dumps(operations),
                  "map": json.dumps({"0": ["variables.file"]})},
            files={"0": ("t.json", data, "application/octet-stream")})
        what = f"{fmt} {data[:30]!r}... {extra!r:.60}"
        if response.status_code >= 500:
            failures.append(f"{what}: HTTP {response.status_code}")
            continue
        failures.extend(f"{what}: {p}" for p in _internal(response.json().get("errors")))
    assert not failures, "\n".join(failures)
