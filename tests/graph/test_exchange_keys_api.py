"""Exchange keys over the API against the fake Binance (SQLite and PostgreSQL): only the mask
comes back, keys are their owner's alone, the connection test, the import job through
importExchangeTrades (and jobs / cancelJob / node), and no plaintext key or secret in the
database, the logs or Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from graph.app import create_app
from graph.exchange_keys import MAX_KEYS_PER_USER
from store import db as store_db
from store.models import AuditLog
from tests.graph.conftest import Api, SignedIn, api_settings, errors_of
from tests.tasks.fake_binance import FakeBinance
from tests.tasks.fake_binance_account import make_trades

pytestmark = pytest.mark.asyncio

START = 1_704_067_200_000
DAY = 86_400_000
KEY_FIELDS = "id exchange label keyMask createdAt lastUsedAt"
ADD = f"""mutation($input: AddExchangeKeyInput!) {{ addExchangeKey(input: $input) {{
  __typename ... on ExchangeKey {{ {KEY_FIELDS} }}
  ... on ValidationError {{ problems {{ path message }} }} }} }}"""
LIST = f"{{ exchangeKeys {{ {KEY_FIELDS} }} }}"
TEST = """mutation($id: ID!) { testExchangeKey(id: $id) { __typename
  ... on ExchangeKeyTest { ok message key { id keyMask lastUsedAt } }
  ... on NotFoundError { message } } }"""
DELETE = """mutation($id: ID!) { deleteExchangeKey(id: $id) { __typename
  ... on DeletedExchangeKey { deletedId } ... on NotFoundError { message } } }"""
IMPORT_FIELDS = """id kind status error nFetched symbols start end name key { id keyMask }
  transactionImport { id nRows nStored symbols format }"""
IMPORT = f"""mutation($input: ImportExchangeTradesInput!) {{ importExchangeTrades(input: $input) {{
  __typename ... on ExchangeImport {{ {IMPORT_FIELDS} }}
  ... on ValidationError {{ problems {{ path message }} }} ... on NotFoundError {{ message }} }} }}"""
GET_IMPORT = f"query($id: ID!) {{ exchangeImport(id: $id) {{ {IMPORT_FIELDS} finishedAt }} }}"


def new_key() -> tuple[str, str]:
    return secrets.token_hex(32), secrets.token_hex(32)


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance().start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def api(backend_url: str, tmp_path: Path, fake: FakeBinance, redis_url: str
              ) -> AsyncIterator[Api]:
    """The app with the exchange pointing at the fake, progress over Redis."""
    app = create_app(api_settings(backend_url, tmp_path, binance_rest_url=fake.rest_url,
                                  redis_url=redis_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


async def add_key(api: Api, who: SignedIn, key: str, secret: str, label: str = "main",
                  exchange: str = "binance") -> dict[str, Any]:
    result = await api.gql(ADD, {"input": {"exchange": exchange, "label": label, "apiKey": key,
                                           "apiSecret": secret}}, token=who.token)
    assert "errors" not in result, result
    found: dict[str, Any] = result["data"]["addExchangeKey"]
    return found


async def wait_import(api: Api, who: SignedIn, ident: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        job = (await api.gql(GET_IMPORT, {"id": ident}, token=who.token))["data"]["exchangeImport"]
        if job["finishedAt"] is not None:
            return dict(job)
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.05)


async def test_keys_show_only_a_mask_and_are_validated(api: Api) -> None:
    a = await api.user("a@example.com")
    key, secret = new_key()
    added = await add_key(api, a, key, secret)
    assert added["__typename"] == "ExchangeKey" and added["keyMask"] == "••••" + key[-4:]
    assert (added["exchange"], added["label"], added["lastUsedAt"]) == ("binance", "main", None)
    await add_key(api, a, *new_key(), label="second")
    listed = (await api.gql(LIST, token=a.token))["data"]["exchangeKeys"]
    assert [k["label"] for k in listed] == ["second", "main"]  # newest first
    full = await api.gql("query($id: ID!) { node(id: $id) { ... on ExchangeKey { keyMask } } }",
                         {"id": added["id"]}, token=a.token)
    assert full["data"]["node"] == {"keyMask": added["keyMask"]}
    text = str(listed) + str(added)
    assert key not in text and secret not in text

    cases = [({"label": "  "}, "input.label", "give a label"),
             ({"label": "x" * 101}, "input.label", "longer than 100"),
             ({"label": "main"}, "input.label", "already have a binance key labelled 'main'"),
             ({"exchange": "kraken", "label": "k"}, "input.exchange", "unknown exchange"),
             ({"apiKey": ""}, "input.apiKey", "give the API key"),
             ({"apiSecret": "has space"}, "input.apiSecret", "spaces"),
             ({"apiKey": "k" * 300}, "input.apiKey", "longer than 256")]
    for change, path, message in cases:
        body = {"exchange": "binance", "label": "other", "apiKey": key, "apiSecret": secret,
                **change}
        result = (await api.gql(ADD, {"input": body}, token=a.token))["data"]["addExchangeKey"]
        assert result["__typename"] == "ValidationError", (change, result)
        assert any(p["path"] == path and message in p["message"]
                   for p in result["problems"]), (change, result)
    assert len((await api.gql(LIST, token=a.token))["data"]["exchangeKeys"]) == 2
    for n in range(2, MAX_KEYS_PER_USER):
        await add_key(api, a, *new_key(), label=f"k{n}")
    body = {"exchange": "binance", "label": "one too many", "apiKey": key, "apiSecret": secret}
    result = (await api.gql(ADD, {"input": body}, token=a.token))["data"]["addExchangeKey"]
    assert result["__typename"] == "ValidationError"
    assert f"you have {MAX_KEYS_PER_USER} exchange keys" in result["problems"][0]["message"]
    anonymous = await api.gql(LIST)
    assert errors_of(anonymous)[0][0] == "UNAUTHENTICATED"


async def test_another_user_cannot_see_test_delete_or_import_with_my_key(
        api: Api, fake: FakeBinance) -> None:
    a, b = await api.user("a@example.com"), await api.user("b@example.com")
    key, secret = new_key()
    fake.accounts.add(key, secret)
    mine = await add_key(api, a, key, secret)
    assert (await api.gql(LIST, token=b.token))["data"]["exchangeKeys"] == []
    node = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": mine["id"]},
                         token=b.token)
    assert node["data"]["node"] is None
    for query in (TEST, DELETE):
        result = await api.gql(query, {"id": mine["id"]}, token=b.token)
        payload = next(iter(result["data"].values()))
        assert payload["__typename"] == "NotFoundError", result
    imported = await api.gql(IMPORT, {"input": {
        "keyId": mine["id"], "symbols": ["BTC/USDT"], "start": "2024-01-01T00:00:00Z",
        "end": "2024-01-02T00:00:00Z"}}, token=b.token)
    assert imported["data"]["importExchangeTrades"]["__typename"] == "NotFoundError"
    assert fake.accounts.signed == 0  # B's attempts never reached the exchange
    # still there, untouched, for A
    listed = (await api.gql(LIST, token=a.token))["data"]["exchangeKeys"]
    assert [k["id"] for k in listed] == [mine["id"]] and listed[0]["lastUsedAt"] is None


async def test_connection_test_and_delete(api: Api, fake: FakeBinance) -> None:
    a = await api.user("a@example.com")
    key, secret = new_key()
    fake.accounts.add(key, secret, balances={"BTC": "0.5", "USDT": "100"})
    good = await add_key(api, a, key, secret)
    wrong = await add_key(api, a, key, "f" * 64, label="typo")
    unknown = await add_key(api, a, *new_key(), label="unknown")

    ok = (await api.gql(TEST, {"id": good["id"]}, token=a.token))["data"]["testExchangeKey"]
    assert ok["ok"] is True and "2 asset(s)" in ok["message"]
    assert ok["key"]["lastUsedAt"] is not None
    bad = (await api.gql(TEST, {"id": wrong["id"]}, token=a.token))["data"]["testExchangeKey"]
    assert bad["ok"] is False and "Signature for this request is not valid" in bad["message"]
    assert "refused the API key" in bad["message"]
    gone = (await api.gql(TEST, {"id": unknown["id"]}, token=a.token))["data"]["testExchangeKey"]
    assert gone["ok"] is False and "Invalid API-key" in gone["message"]
    assert fake.accounts.refused[-1022] == 1 and fake.accounts.refused[-2015] == 1

    fake.stop()  # the exchange out of reach
    down = (await api.gql(TEST, {"id": good["id"]}, token=a.token))["data"]["testExchangeKey"]
    assert down["ok"] is False and "could not be reached" in down["message"]

    deleted = await api.gql(DELETE, {"id": good["id"]}, token=a.token)
    assert deleted["data"]["deleteExchangeKey"] == {"__typename": "DeletedExchangeKey",
                                                    "deletedId": good["id"]}
    again = await api.gql(DELETE, {"id": good["id"]}, token=a.token)
    assert again["data"]["deleteExchangeKey"]["__typename"] == "NotFoundError"
    entries = await AuditLog.all().order_by("id").values("action", "outcome", "details",
                                                         "entity_type")
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("key.create", "ok"), ("key.create", "ok"), ("key.create", "ok"), ("key.use", "ok"),
        ("key.use", "failed"), ("key.use", "failed"), ("key.use", "failed"), ("key.delete", "ok")]
    assert all(e["entity_type"] == "ExchangeKey" for e in entries)
    assert key not in str(entries) and secret not in str(entries)


@pytest_asyncio.fixture
async def published(redis_url: str) -> AsyncIterator[list[bytes]]:
    """Every message published on Redis while the test runs (closed even when it fails)."""
    seen: list[bytes] = []
    listener = aioredis.from_url(redis_url)
    pubsub = listener.pubsub()
    await pubsub.psubscribe("*")

    async def collect() -> None:
        async for message in pubsub.listen():
            seen.append(repr(message).encode())

    collector = asyncio.create_task(collect())
    try:
        yield seen
    finally:
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
        await pubsub.aclose()
        await listener.aclose()


async def test_import_job_end_to_end_with_no_plaintext_anywhere(
        api: Api, fake: FakeBinance, redis_url: str, caplog: pytest.LogCaptureFixture,
        published: list[bytes]) -> None:
    caplog.set_level(logging.DEBUG)
    a, b = await api.user("a@example.com"), await api.user("b@example.com")
    key, secret = new_key()
    fake.accounts.add(key, secret, trades=make_trades("BTCUSDT", START, 1_200, 60_000)
                      + make_trades("ETHUSDT", START + DAY, 20, 3_600_000, first_id=1))
    mine = await add_key(api, a, key, secret)
    assert (await api.gql(TEST, {"id": mine["id"]}, token=a.token))["data"][
        "testExchangeKey"]["ok"] is True

    bad = await api.gql(IMPORT, {"input": {"keyId": mine["id"], "symbols": ["BTCUSDT", "BTCUSDT"],
                                           "start": "2024-01-03T00:00:00Z",
                                           "end": "2024-01-01T00:00:00Z"}}, token=a.token)
    problems = {p["path"] for p in bad["data"]["importExchangeTrades"]["problems"]}
    assert problems == {"input.symbols.0", "input.symbols.1", "input.symbols", "input.end"}

    started = await api.gql(IMPORT, {"input": {
        "keyId": mine["id"], "symbols": ["btc/usdt", "ETH/USDT"],
        "start": "2024-01-01T00:00:00Z", "end": "2024-01-03T00:00:00Z"}}, token=a.token)
    job = started["data"]["importExchangeTrades"]
    assert job["__typename"] == "ExchangeImport" and job["kind"] == "EXCHANGE_IMPORT"
    assert job["symbols"] == ["BTC/USDT", "ETH/USDT"] and job["key"]["id"] == mine["id"]
    assert job["name"] == "binance BTC/USDT, ETH/USDT 2024-01-01 to 2024-01-02"  # the last day
    done = await wait_import(api, a, job["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["nFetched"] == 1_220
    assert done["transactionImport"]["nRows"] == 1_220
    assert done["transactionImport"]["format"] == "BINANCE_MY_TRADES"
    assert sorted(done["transactionImport"]["symbols"]) == ["BTC/USDT", "ETH/USDT"]
    fills = await api.gql("query($id: ID!) { transactions(filter: {importId: $id}, first: 5) "
                          "{ totalCount } }", {"id": done["transactionImport"]["id"]},
                          token=a.token)
    assert fills["data"]["transactions"]["totalCount"] == 1_220  # the Transactions page's

    # a job like the others: jobs, node, cancelJob; another user's is NOT_FOUND
    jobs = await api.gql("{ jobs(filter: {kinds: [EXCHANGE_IMPORT]}) { edges { node { id "
                         "kind status } } } }", token=a.token)
    assert [e["node"]["id"] for e in jobs["data"]["jobs"]["edges"]] == [job["id"]]
    cancel = "mutation($id: ID!) { cancelJob(id: $id) { __typename ... on Job { status } } }"
    assert (await api.gql(cancel, {"id": job["id"]}, token=a.token))["data"]["cancelJob"] == {
        "__typename": "ExchangeImport", "status": "SUCCEEDED"}
    assert (await api.gql(cancel, {"id": job["id"]}, token=b.token))["data"]["cancelJob"][
        "__typename"] == "NotFoundError"
    assert (await api.gql(GET_IMPORT, {"id": job["id"]}, token=b.token))["data"][
        "exchangeImport"] is None

    # deleting the key leaves the import and its fills; its key reads null
    await api.gql(DELETE, {"id": mine["id"]}, token=a.token)
    after = (await api.gql(GET_IMPORT, {"id": job["id"]}, token=a.token))["data"]["exchangeImport"]
    assert after["key"] is None and after["transactionImport"]["nRows"] == 1_220
    await add_key(api, a, key, secret, label="again")  # stored again, to be looked for below

    await asyncio.sleep(0.2)  # (the last messages reach the listener)
    needles = (key.encode(), secret.encode())

    # the database: every row of every table, as text
    client = store_db.connection()
    tables = [r["name"] if isinstance(r, dict) else r[0] for r in (await client.execute_query(
        "SELECT name FROM sqlite_master WHERE type = 'table'" if "sqlite" in
        type(client).__module__ else
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"))[1]]
    assert "exchange_credentials" in tables and "exchange_imports" in tables
    for table in tables:
        rows = (await client.execute_query(f"SELECT * FROM {table}"))[1]
        dumped = repr([tuple(dict(r).values()) for r in rows]).encode()
        assert not any(n in dumped for n in needles), table
        assert not any(n.hex().encode() in dumped for n in needles), table
    # the logs
    logged = "\n".join(r.getMessage() + repr(r.args) + str(r.exc_text) for r in caplog.records)
    assert key not in logged and secret not in logged
    # ccxt's request lines (headers included) are there, with the key masked
    assert any(r.name == "ccxt.signed" and "X-MBX-APIKEY': '***'" in r.getMessage()
               for r in caplog.records)
    # Redis: every key's value, and every message published during the test
    store = aioredis.from_url(redis_url)
    try:
        for name in await store.keys("*"):
            kind = (await store.type(name)).decode()
            value: Any = {"string": store.get, "list": lambda n: store.lrange(n, 0, -1),
                          "hash": store.hgetall, "set": store.smembers,
                          "zset": lambda n: store.zrange(n, 0, -1),
                          "stream": lambda n: store.xrange(n)}[kind](name)
            dumped = repr(await value).encode()
            assert not any(n in dumped for n in needles), name
    finally:
        await store.aclose()
    assert published and not any(n in m for m in published for n in needles)
