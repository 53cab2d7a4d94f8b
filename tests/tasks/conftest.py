"""Fixtures for the market-data tests: a fake Binance per test, and ccxt clients pointed at it.

Tests are plain functions that drive their coroutine with ``run`` (``asyncio.run`` with a time
limit), so no asyncio plugin is needed; the fake runs in its own thread and event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from tasks.market.exchange import Exchange, make_exchange
from tasks.market.retry import Backoff
from tests.tasks.fake_binance import FakeBinance

T = TypeVar("T")

FAST = Backoff(base=0.01, cap=0.05, jitter=0.0)
"""Tiny backoff for tests."""


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    async def limited() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(limited())


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(seed=7).start()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def connect(fake: FakeBinance, *, timeout_ms: int = 3_000,
                  rate_limit_ms: int = 1) -> AsyncIterator[Exchange]:
    """A ccxt.pro binance pointed at ``fake`` (rate limiter on, with a tiny interval), closed after."""
    exchange = make_exchange("binance", rest_url=fake.rest_url, ws_url=fake.ws_url,
                             timeout_ms=timeout_ms, config={"rateLimit": rate_limit_ms})
    exchange.timeout_on_exit = 0  # ccxt sleeps 250 ms in close() for TLS shutdown; plain HTTP here
    try:
        yield exchange
    finally:
        await exchange.close()
