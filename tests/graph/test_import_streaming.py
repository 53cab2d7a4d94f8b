"""Imports of a million rows leave the server responsive: while ``importTransactions`` and
``importCandles`` each parse and store a 1,000,000-row CSV (through the app's HTTP interface:
a multipart upload), ``/healthz`` is asked again and again, and every answer arrives before the
import ends (parsing and the work over every row run off the event loop). No threshold on
speed: the latencies are printed, not asserted. And the hostile 1.5 KB XLSX declaring
``A1:XFD1048576`` is answered, over the API, with the problem naming its row and column."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graph.app import create_app
from tests.domain.transactions.test_xlsx_limits import _row, header_and, workbook
from tests.graph.conftest import Api, api_settings
from tests.graph.test_transactions_api import IMPORT, markets, upload

pytestmark = pytest.mark.asyncio

ROWS = 1_000_000
START_MS = 1_704_067_200_000  # 2024-01-01
IMPORT_CANDLES = """
mutation($file: Upload!) {
  importCandles(file: $file, symbol: "BTC/USDT", timeframe: "1m", exchange: "binance") {
    __typename ... on CandleImport { count new } ... on CandleFileProblems { message }
    ... on ValidationError { problems { path message } }
  }
}"""


def transactions_csv() -> bytes:
    lines = [b"timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id"]
    lines += [b"%d,BTC/USDT,%s,42000.5,0.01,0.01,USDT,%d"
              % (START_MS + i * 1000, b"buy" if i % 2 else b"sell", i) for i in range(ROWS)]
    return b"\n".join(lines) + b"\n"


def candles_csv() -> bytes:
    lines = [b"timestamp,open,high,low,close,volume"]
    lines += [b"%d,42000.5,42100.0,41900.0,42050.25,12.5" % (START_MS + i * 60_000)
              for i in range(ROWS)]
    return b"\n".join(lines) + b"\n"


@pytest_asyncio.fixture
async def served(backend_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    app = create_app(api_settings(backend_url, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     timeout=600) as client:
            yield Api(app, client)


async def import_while_probing(api: Api, query: str, data: bytes,
                               variables: dict[str, Any]) -> tuple[dict[str, Any], list[float]]:
    """Upload ``data`` with ``query`` and ask ``/healthz`` until the import answers; the
    import's answer and the latency of every ``/healthz`` answered while it ran."""
    user = await api.user("big@example.com")
    operations = {"query": query, "variables": {"file": None, **variables}}
    upload = asyncio.create_task(api.client.post(
        "/graphql", headers={"Authorization": f"Bearer {user.token}"},
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("big.csv", data, "text/csv")}))
    latencies: list[float] = []
    while not upload.done():
        started = time.perf_counter()
        health = await api.client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        if upload.done():  # answered after the import ended: not counted
            break
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    response = await upload
    assert response.status_code == 200, response.text[:500]
    result: dict[str, Any] = response.json()
    print(f"{len(latencies)} /healthz answers during the import, the slowest in "
          f"{max(latencies, default=0) * 1000:.0f} ms")
    return result, latencies


async def test_healthz_answers_during_a_million_transactions(served: Api) -> None:
    await markets("BTC/USDT")
    result, latencies = await import_while_probing(
        served, IMPORT, transactions_csv(), {"format": "PLAIN_CSV", "exchange": "demo"})
    answer = result["data"]["importTransactions"]
    assert answer["__typename"] == "TransactionImport", answer
    assert answer["nRows"] == ROWS and answer["nStored"] == ROWS
    assert len(latencies) >= 5  # the loop kept answering all along


async def test_healthz_answers_during_a_million_candles(served: Api) -> None:
    result, latencies = await import_while_probing(served, IMPORT_CANDLES, candles_csv(), {})
    answer = result["data"]["importCandles"]
    assert answer == {"__typename": "CandleImport", "count": ROWS, "new": ROWS}
    assert len(latencies) >= 5


async def test_the_hostile_xlsx_over_the_api(served: Api) -> None:
    data = workbook(header_and(_row(1_048_576, [(16_384, "x")])))  # declares A1:XFD1048576
    await markets("BTC/USDT")
    user = await served.user("x@example.com")
    result = await upload(served, user.token, data, "BINANCE_EXPORT", "trades.xlsx")
    answer = result["data"]["importTransactions"]
    assert answer["__typename"] == "TransactionFileProblems"
    [problem] = answer["problems"]
    assert (problem["row"], problem["column"]) == (1_048_576, "XFD")
    assert problem["message"].startswith("row 1048576 has a cell in column XFD")
