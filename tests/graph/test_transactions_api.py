"""Importing trade history over the API (SQLite and PostgreSQL): multipart uploads in each
format, re-imports stored once, batches listed, paged and deleted, bad files refused with
every bad row named and nothing stored, symbols checked against the exchange's markets, and
everything scoped to its owner."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from domain.demo import demo_candles
from graph.app import create_app
from store.candles import write_candles
from store.models import Role
from tests.domain.transactions.helpers import EXPORT_HEADER, fixture, xlsx
from tests.domain.transactions.test_large import N, plain_rows
from tests.graph.conftest import Api, api_settings, errors_of
from tests.tasks.fake_binance import FakeBinance

pytestmark = pytest.mark.asyncio

IMPORT = """
mutation($file: Upload!, $format: TransactionFormat!, $name: String, $exchange: String!) {
  importTransactions(file: $file, format: $format, name: $name, exchange: $exchange) {
    __typename
    ... on TransactionImport { id name format exchange filename nRows nStored nDuplicates
                               firstTime lastTime symbols }
    ... on TransactionFileProblems { message totalCount problems { row unit column message } }
    ... on ValidationError { problems { path message } }
  }
}"""
LIST = """
query($filter: TransactionFilterInput, $first: Int, $after: String) {
  transactions(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id importId symbol side time price quantity fee feeAsset tradeId row } }
    pageInfo { hasNextPage endCursor }
  }
}"""
IMPORTS = """query($after: String) { transactionImports(first: 1, after: $after) {
  edges { node { id name nStored } } pageInfo { hasNextPage endCursor } } }"""
DELETE = """mutation($id: ID!) { deleteTransactionImport(id: $id) {
  __typename ... on TransactionImport { id name } ... on NotFoundError { message } } }"""


async def upload(api: Api, token: str | None, data: bytes, fmt: str, filename: str = "t.csv",
                 **variables: Any) -> dict[str, Any]:
    """Post the GraphQL multipart request (operations, map, the file part)."""
    operations = {"query": IMPORT, "variables": {"file": None, "format": fmt,
                                                 "exchange": "demo", **variables}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.client.post(
        "/graphql", headers=headers,
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, data, "application/octet-stream")})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def markets(*symbols: str) -> None:
    """Store a few candles of each symbol under the exchange "demo" (its markets)."""
    for symbol in symbols:
        await write_candles("demo", symbol, "1h",
                            dataclasses.replace(demo_candles(5), symbol=symbol))


async def test_import_list_page_and_delete(api: Api) -> None:
    await markets("BTC/USDT", "ETH/USDT", "ETH/BTC")
    alice, bob = await api.user("alice@x.io"), await api.user("bob@x.io")
    result = await upload(api, alice.token, fixture("plain.csv"), "PLAIN_CSV", "mine.csv")
    first = result["data"]["importTransactions"]
    assert first["__typename"] == "TransactionImport", result
    assert (first["name"], first["filename"], first["format"]) == ("mine.csv", "mine.csv",
                                                                   "PLAIN_CSV")
    assert (first["nRows"], first["nStored"], first["nDuplicates"]) == (5, 5, 0)
    assert first["symbols"] == ["BTC/USDT", "ETH/BTC", "ETH/USDT"]
    again = (await upload(api, alice.token, fixture("plain.csv"), "PLAIN_CSV",
                          name="again"))["data"]["importTransactions"]
    assert (again["name"], again["nStored"], again["nDuplicates"]) == ("again", 0, 5)

    seen, after = [], None
    while True:
        page = (await api.gql(LIST, {"first": 3, "after": after},
                              token=alice.token))["data"]["transactions"]
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 5 and [n["time"] for n in seen] == sorted(n["time"] for n in seen)
    assert {n["importId"] for n in seen} == {first["id"]}
    eth = (await api.gql(LIST, {"filter": {"symbol": "ETH/USDT"}}, token=alice.token))
    assert [e["node"]["side"] for e in eth["data"]["transactions"]["edges"]] == ["SELL"]
    # the filter takes what the output gives (one Side enum)
    sells = await api.gql(LIST, {"filter": {"side": "SELL"}}, token=alice.token)
    assert {e["node"]["side"] for e in sells["data"]["transactions"]["edges"]} == {"SELL"}

    page = (await api.gql(IMPORTS, token=alice.token))["data"]["transactionImports"]
    assert [e["node"]["name"] for e in page["edges"]] == ["again"]
    page = (await api.gql(IMPORTS, {"after": page["pageInfo"]["endCursor"]},
                          token=alice.token))["data"]["transactionImports"]
    assert [e["node"]["name"] for e in page["edges"]] == ["mine.csv"]

    # bob sees none of it and cannot delete it
    assert (await api.gql(LIST, token=bob.token))["data"]["transactions"]["edges"] == []
    denied = await api.gql(DELETE, {"id": first["id"]}, token=bob.token)
    assert denied["data"]["deleteTransactionImport"]["__typename"] == "NotFoundError"
    one = await api.gql("query($id: ID!) { transactionImport(id: $id) { id } }",
                        {"id": first["id"]}, token=bob.token)
    assert errors_of(one)[0][0] == "NOT_FOUND"
    admin = await api.user("root@x.io", Role.ADMIN)
    assert len((await api.gql(LIST, token=admin.token))["data"]["transactions"]["edges"]) == 5

    deleted = await api.gql(DELETE, {"id": first["id"]}, token=alice.token)
    assert deleted["data"]["deleteTransactionImport"]["name"] == "mine.csv"
    assert (await api.gql(LIST, token=alice.token))["data"]["transactions"]["edges"] == []


async def test_binance_export_as_xlsx_and_csv(api: Api) -> None:
    await markets("BTC/USDT", "ETH/BTC", "ETH/USDT", "1INCH/USDT")
    user = await api.user("a@x.io")
    csv_text = fixture("binance_export.csv").decode()
    rows = [EXPORT_HEADER] + [
        [c.strip('"') for c in line.split('","')] for line in csv_text.splitlines()[1:]]
    result = await upload(api, user.token, xlsx(rows), "BINANCE_EXPORT", "export.xlsx")
    book = result["data"]["importTransactions"]
    assert book["__typename"] == "TransactionImport", result
    assert book["nStored"] == len(rows) - 1
    same = (await upload(api, user.token, fixture("binance_export.csv"), "BINANCE_EXPORT",
                         "export.csv"))["data"]["importTransactions"]
    assert (same["nStored"], same["nDuplicates"]) == (0, len(rows) - 1)


async def test_bad_files_are_refused_whole(api: Api) -> None:
    await markets("BTC/USDT")
    user = await api.user("a@x.io")
    wrong = await upload(api, user.token, b"when,what\n1,2\n", "PLAIN_CSV")
    problems = wrong["data"]["importTransactions"]
    assert problems["__typename"] == "TransactionFileProblems"
    assert problems["problems"][0]["row"] in (0, 1) and problems["totalCount"] >= 1
    rows = plain_rows()
    rows[N // 2] = rows[N // 2].replace("BTC/USDT,buy,", "BTC/USDT,buy,-")
    big = await upload(api, user.token, "\n".join(rows).encode(), "PLAIN_CSV", "big.csv")
    refused = big["data"]["importTransactions"]
    assert refused["__typename"] == "TransactionFileProblems", big
    assert refused["totalCount"] == 1
    assert refused["problems"] == [{"row": N // 2 + 1, "unit": "row", "column": "price",
                                    "message": refused["problems"][0]["message"]}]
    assert "finite number > 0" in refused["problems"][0]["message"]
    unknown = await upload(api, user.token, fixture("plain.csv"), "PLAIN_CSV")  # ETH/...
    found = unknown["data"]["importTransactions"]
    assert {(p["row"], p["column"]) for p in found["problems"]} == {(4, "symbol"), (6, "symbol")}
    assert "unknown symbol ETH/USDT" in found["problems"][0]["message"]
    bad = await upload(api, user.token, fixture("plain.csv"), "PLAIN_CSV", name="x" * 201,
                       exchange="nowhere")
    assert {p["path"] for p in bad["data"]["importTransactions"]["problems"]} == {"name"}
    assert (await api.gql(LIST, token=user.token))["data"]["transactions"]["edges"] == []
    assert (await api.gql(IMPORTS, token=user.token))["data"]["transactionImports"][
        "edges"] == []
    not_multipart = await api.gql(IMPORT, {"file": "a,b", "format": "PLAIN_CSV",
                                           "exchange": "demo"}, token=user.token)
    assert not_multipart["data"]["importTransactions"]["problems"][0]["path"] == "file"
    anonymous = await upload(api, None, fixture("plain.csv"), "PLAIN_CSV")
    assert errors_of(anonymous)[0][0] == "UNAUTHENTICATED"
    assert "Traceback" not in json.dumps(big)


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(seed=3).start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def binance_api(backend_url: str, tmp_path: Path, fake: FakeBinance
                      ) -> AsyncIterator[Api]:
    app = create_app(api_settings(backend_url, tmp_path, binance_rest_url=fake.rest_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


async def test_symbols_are_checked_against_the_exchange(binance_api: Api) -> None:
    user = await binance_api.user("a@x.io")
    data = fixture("binance_my_trades.json")  # BNBBTC is not a market of the fake Binance
    result = await upload(binance_api, user.token, data, "BINANCE_MY_TRADES", "t.json",
                          exchange="binance")
    refused = result["data"]["importTransactions"]
    assert refused["__typename"] == "TransactionFileProblems", result
    assert {(p["row"], p["unit"], p["column"]) for p in refused["problems"]} == {
        (1, "item", "symbol"), (2, "item", "symbol"), (3, "item", "symbol")}
    items = json.loads(data)[3:]  # the ETHUSDT fills
    result = await upload(binance_api, user.token, json.dumps(items).encode(),
                          "BINANCE_MY_TRADES", "t.json", exchange="binance")
    stored = result["data"]["importTransactions"]
    assert (stored["nStored"], stored["symbols"]) == (2, ["ETH/USDT"])
