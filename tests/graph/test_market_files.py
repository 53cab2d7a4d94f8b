"""Candle files and exchange markets over the API: importCandles stores a Binance kline dump (CSV
or zip) or a plain CSV under a market (coverage then lists it; a second import adds nothing),
refuses a bad file naming its row and column and storing nothing, refuses bad requests field
by field and read-only tokens; exchangeMarkets searches the fake Binance's markets."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graph.app import create_app
from graph.market_files import rank_symbols
from store import candles as store_candles
from store import tokens as store_tokens
from store.models import TokenScope
from tests.graph.conftest import Api, api_settings, errors_of
from tests.tasks.fake_binance import FakeBinance

pytestmark = pytest.mark.asyncio

IMPORT = """
mutation($file: Upload!, $symbol: String!, $timeframe: String, $exchange: String!) {
  importCandles(file: $file, symbol: $symbol, timeframe: $timeframe, exchange: $exchange) {
    __typename
    ... on CandleImport { exchange symbol timeframe filename count new first last }
    ... on CandleFileProblems { message problems { row unit column message } }
    ... on ValidationError { problems { path message } }
  }
}"""
COVERAGE = """query { marketDataCoverage(symbol: "SOL/USDT", timeframe: "1m", exchange: "binance") {
  count first last missingBars missing { first last bars } } }"""
MARKETS = """query($search: String, $first: Int!) {
  exchangeMarkets(search: $search, first: $first) { exchange source totalCount symbols } }"""

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MIN = 60_000


def kline_rows(opens: list[int]) -> str:
    """A Binance kline dump (12 columns, no header) with a bar at each open time."""
    lines = []
    for i, t in enumerate(opens):
        o = 100 + i
        lines.append(f"{t},{o}.0,{o + 2}.0,{o - 1}.0,{o + 1}.0,10.5,{t + MIN - 1},1050.0,7,5.0,"
                     "500.0,0")
    return "\n".join(lines) + "\n"


async def upload(api: Api, token: str | None, data: bytes, filename: str = "SOLUSDT-1m.csv",
                 **variables: Any) -> dict[str, Any]:
    operations = {"query": IMPORT, "variables": {"file": None, "symbol": "SOL/USDT",
                                                 "exchange": "binance", **variables}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.client.post(
        "/graphql", headers=headers,
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, data, "text/csv")})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_import_a_kline_dump_then_again(api: Api) -> None:
    alice = await api.user("alice@x.io")
    # a gap of 3 bars (minutes 5, 6, 7)
    opens = [T0 + i * MIN for i in range(5)] + [T0 + i * MIN for i in range(8, 12)]
    result = await upload(api, alice.token, kline_rows(opens).encode(), symbol="sol/usdt")
    done = result["data"]["importCandles"]
    assert done == {"__typename": "CandleImport", "exchange": "binance", "symbol": "SOL/USDT",
                    "timeframe": "1m", "filename": "SOLUSDT-1m.csv", "count": 9, "new": 9,
                    "first": "2024-01-01T00:00:00+00:00", "last": "2024-01-01T00:11:00+00:00"}
    coverage = (await api.gql(COVERAGE, token=alice.token))["data"]["marketDataCoverage"]
    assert (coverage["count"], coverage["missingBars"]) == (9, 3)
    assert coverage["missing"] == [{"first": "2024-01-01T00:05:00+00:00",
                                    "last": "2024-01-01T00:07:00+00:00", "bars": 3}]
    stored = await store_candles.read_candles("binance", "SOL/USDT", "1m")
    assert stored.close.tolist()[:2] == [101.0, 102.0]

    # market data is shared: another user's import of the same rows adds nothing
    bob = await api.user("bob@x.io")
    again = await upload(api, bob.token, kline_rows(opens[:4]).encode(), timeframe="1m")
    assert again["data"]["importCandles"]["new"] == 0
    assert again["data"]["importCandles"]["count"] == 4


async def test_zip_and_plain_csv(api: Api) -> None:
    alice = await api.user("alice@x.io")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("SOLUSDT-1m-2024-01.csv", kline_rows([T0, T0 + MIN, T0 + 2 * MIN]))
    result = await upload(api, alice.token, buf.getvalue(), "SOLUSDT-1m-2024-01.zip")
    assert result["data"]["importCandles"]["count"] == 3
    plain = ("timestamp,open,high,low,close,volume\n"
             "2024-01-01T00:03:00Z,1,2,0.5,1.5,3\n2024-01-01T00:04:00Z,1.5,2,1,1.8,4\n")
    result = await upload(api, alice.token, plain.encode(), "plain.csv")
    assert result["data"]["importCandles"]["new"] == 2
    coverage = (await api.gql(COVERAGE, token=alice.token))["data"]["marketDataCoverage"]
    assert (coverage["count"], coverage["missingBars"]) == (5, 0)


async def test_bad_files_name_the_row_and_column_and_store_nothing(api: Api) -> None:
    alice = await api.user("alice@x.io")
    rows = kline_rows([T0, T0 + MIN, T0 + 2 * MIN]).splitlines()
    rows[1] = rows[1].replace(",101.0,", ",abc,", 1)  # the open of file row 2
    result = await upload(api, alice.token, "\n".join(rows).encode())
    problems = result["data"]["importCandles"]
    assert problems["__typename"] == "CandleFileProblems"
    assert "row 2" in problems["message"] and "nothing was stored" in problems["message"]
    [p] = problems["problems"]
    assert (p["row"], p["unit"], p["column"]) == (2, "row", "open")
    assert "abc" in p["message"] and not p["message"].startswith("row ")

    high = ("timestamp,open,high,low,close,volume\n"
            "2024-01-01T00:00:00Z,1,2,0.5,1.5,3\n2024-01-01T00:01:00Z,1.5,1.2,1,1.8,4\n")
    [p] = (await upload(api, alice.token, high.encode()))["data"]["importCandles"]["problems"]
    assert (p["row"], p["column"]) == (3, "high")

    result = await upload(api, alice.token, b"PK\x03\x04not a zip", "x.zip")
    [p] = result["data"]["importCandles"]["problems"]
    assert (p["row"], p["column"]) == (0, "") and "zip" in p["message"]
    assert await store_candles.coverage("binance") == []


async def test_bad_requests_and_permissions(api: Api) -> None:
    alice = await api.user("alice@x.io")
    data = kline_rows([T0, T0 + MIN]).encode()
    result = await upload(api, alice.token, data, symbol="SOLUSDT", timeframe="7x",
                          exchange="demo")
    assert {p["path"] for p in result["data"]["importCandles"]["problems"]} == {
        "symbol", "timeframe", "exchange"}
    result = await upload(api, None, data)
    assert [c for c, _ in errors_of(result)] == ["UNAUTHENTICATED"]
    _, secret = await store_tokens.create_token(alice.id, "ro", TokenScope.READ)
    result = await upload(api, secret, data)
    assert [c for c, _ in errors_of(result)] == ["FORBIDDEN"]
    assert await store_candles.coverage("binance") == []


async def test_rank_symbols() -> None:
    symbols = {"ETH/USDT", "ETH/BTC", "BTC/USDT", "WETH/USDT", "ETHUP/USDT"}
    assert rank_symbols(symbols, "eth") == ["ETH/BTC", "ETH/USDT", "ETHUP/USDT", "WETH/USDT"]
    assert rank_symbols(symbols, "ethusdt") == ["ETH/USDT", "WETH/USDT"]
    assert rank_symbols(symbols, "ETH/U") == ["ETH/USDT", "ETHUP/USDT", "WETH/USDT"]
    assert rank_symbols(symbols, "") == sorted(symbols)


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(seed=3).start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def market_api(backend_url: str, tmp_path: Path, fake: FakeBinance) -> AsyncIterator[Api]:
    app = create_app(api_settings(backend_url, tmp_path, binance_rest_url=fake.rest_url,
                                  binance_ws_url=fake.ws_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


async def test_exchange_markets(market_api: Api, fake: FakeBinance) -> None:
    api = market_api
    alice = await api.user("alice@x.io")
    result = await api.gql(MARKETS, {"search": "eth", "first": 1}, token=alice.token)
    assert result["data"]["exchangeMarkets"] == {
        "exchange": "binance", "source": "exchange", "totalCount": 2, "symbols": ["ETH/BTC"]}
    result = await api.gql(MARKETS, {"search": "usdt", "first": 10}, token=alice.token)
    assert result["data"]["exchangeMarkets"]["symbols"] == ["BNB/USDT", "BTC/USDT", "ETH/USDT"]
    assert not fake.unexpected
    result = await api.gql(MARKETS, {"search": "x", "first": 0}, token=alice.token)
    assert [c for c, _ in errors_of(result)] == ["BAD_USER_INPUT"]
    assert [c for c, _ in errors_of(await api.gql(MARKETS, {"first": 5}))] == [
        "UNAUTHENTICATED"]
