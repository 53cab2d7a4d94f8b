"""Helpers for the backtest and sweep API tests: one warmed process pool per test module, an
``api`` whose executor uses it, seeded users, strategies and candles, and waiting for runs.

The engine's workers start once per module (``pool``), not once per test: each test's app gets
an :class:`~tasks.execution.executor.InProcessExecutor` sharing that pool (``run_api``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from domain.demo import demo_candles
from graph.app import create_app
from graph.ids import decode_id, encode_id
from store.candles import write_candles
from store.strategies import create_strategy
from tasks.execution.executor import InProcessExecutor
from tasks.execution.pool import ComputePool
from tests.graph.conftest import Api, SignedIn, api_settings

ROOT = Path(__file__).resolve().parents[2]
SMA: dict[str, Any] = json.loads((ROOT / "examples" / "sma_crossover.json").read_text())
EXCHANGE, SYMBOL, TIMEFRAME = "demo", "DEMO/USDT", "1h"
CANDLES = demo_candles(3_000, TIMEFRAME)
START_MS, END_MS = int(CANDLES.ts[0]), int(CANDLES.ts[-1]) + 3_600_000
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


@pytest.fixture(scope="module")
def pool() -> Iterator[ComputePool]:
    """Two engine processes, started and warmed once for the module."""
    shared = ComputePool(2)
    asyncio.run(shared.warm())
    try:
        yield shared
    finally:
        asyncio.run(shared.close())


@pytest_asyncio.fixture
async def run_api(backend_url: str, tmp_path: Path, pool: ComputePool) -> AsyncIterator[Api]:
    """Like ``api``, with an executor of two slots on the module's pool."""
    settings = api_settings(backend_url, tmp_path, max_concurrent_jobs=2)
    app = create_app(settings)
    services = app.state.services
    services.executor = InProcessExecutor(settings, services.broadcaster, pool=pool)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


async def seed(api: Api, email: str = "a@x.io", document: dict[str, Any] | None = None,
               ) -> tuple[SignedIn, int]:
    """A user with a strategy (SMA crossover by default), and the demo candles stored."""
    user = await api.user(email)
    record = await create_strategy(user.id, "sma " + email, document or SMA)
    await write_candles(EXCHANGE, SYMBOL, TIMEFRAME, CANDLES)
    return user, record.id


def pk(global_id: str) -> int:
    """The database id in an object's global id (``graph.ids``)."""
    return decode_id(global_id)[1]


def run_input(strategy_id: int, **extra: Any) -> dict[str, Any]:
    return {"strategyId": encode_id("Strategy", strategy_id), "exchange": EXCHANGE, "symbol": SYMBOL,
            "timeframe": TIMEFRAME, "from": iso(START_MS), "to": iso(END_MS), **extra}


RUN = """
mutation($input: RunBacktestInput!) {
  runBacktest(input: $input) {
    __typename
    ... on Backtest { id status }
    ... on ValidationError { problems { path message } }
    ... on NotFoundError { message }
  }
}"""


async def start(api: Api, token: str, strategy_id: int, **extra: Any) -> str:
    """Queue a backtest; its id."""
    result = await api.gql(RUN, {"input": run_input(strategy_id, **extra)}, token=token)
    assert "errors" not in result, result
    payload = result["data"]["runBacktest"]
    assert payload["__typename"] == "Backtest", result
    return str(payload["id"])


async def wait_for(api: Api, token: str, kind: str, run_id: str, statuses: tuple[str, ...] = TERMINAL,
                   timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``backtest``/``sweep`` until its status is one of ``statuses``."""
    query = f"query($id: ID!) {{ {kind}(id: $id) {{ id status progress error }} }}"
    deadline = time.monotonic() + timeout
    while True:
        result = await api.gql(query, {"id": run_id}, token=token)
        node: dict[str, Any] = result["data"][kind]
        if node["status"] in statuses:
            return node
        assert time.monotonic() < deadline, f"{kind} {run_id} still {node['status']}"
        await asyncio.sleep(0.02)


def metric_value(x: float) -> float | None:
    """An engine metric as the API shows it (null when NaN or infinite)."""
    return x if x == x and abs(x) != float("inf") else None
