"""Offline does not mean stuck: against an exchange that cannot be reached (a closed port on
127.0.0.1, or a port that accepts and never answers), loading the markets for a symbol check,
a sync and a live candle watcher give up within seconds, saying the exchange is unreachable.
Nothing here reaches the internet."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from store.settings import Settings
from tasks.market.catalog import TIMEOUT_S, market_catalog
from tasks.market.exchange import ExchangeUnavailable, make_exchange
from tasks.market.live_candles import CONNECT_BUDGET_S, LiveCandles, candle_channel
from tasks.market.store import exchange_from_settings
from tasks.market.sync import sync
from tasks.messaging.broadcast import MemoryBroadcaster
from tests.support.memory_sink import MemorySink
from tests.tasks.conftest import run
from tests.tasks.fake_binance import FakeBinance
from tests.tasks.fake_market import START_MS

MIN = 60_000


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest_asyncio.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for w in held:
            w.close()
        server.close()


def settings_at(port: int) -> Settings:
    return Settings(database_url="sqlite://:memory:",
                    binance_rest_url=f"http://127.0.0.1:{port}",
                    binance_ws_url=f"ws://127.0.0.1:{port}/ws")


@pytest.mark.asyncio
async def test_the_symbol_check_catalog_degrades_within_seconds(silent_port: int) -> None:
    for port, at_most in ((closed_port(), 2.0), (silent_port, TIMEOUT_S + 1.5)):
        t0 = time.monotonic()
        assert await market_catalog("binance", settings_at(port)) is None  # checked by form
        assert time.monotonic() - t0 < at_most


@pytest.mark.asyncio
async def test_a_sync_against_an_unreachable_exchange_fails_within_seconds(
        silent_port: int) -> None:
    for port in (closed_port(), silent_port):
        exchange = exchange_from_settings("binance", settings_at(port))
        t0 = time.monotonic()
        try:
            with pytest.raises(ExchangeUnavailable) as info:
                await sync(exchange, "BTC/USDT", "1m", START_MS, sink=MemorySink())
        finally:
            await exchange.close()
        assert time.monotonic() - t0 < 8.0
        assert "binance is unreachable: loading the markets failed" in str(info.value)


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(seed=5, now_ms=START_MS + 100 * MIN, ws_max_ticks=30).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_live_watcher_on_an_unreachable_stream_reports_it_within_seconds(
        fake: FakeBinance) -> None:
    """The REST API answers (markets load), the websocket port is closed: the subscriber gets
    an ``unavailable`` error event within the connect budget, not minutes of retries."""

    def exchanges(exchange_id: str) -> object:
        ex = make_exchange(exchange_id, fake.rest_url, f"ws://127.0.0.1:{closed_port()}/ws",
                           timeout_ms=3_000, config={"rateLimit": 1})
        ex.timeout_on_exit = 0
        return ex

    async def scenario() -> None:
        broadcaster = MemoryBroadcaster()
        live = LiveCandles(broadcaster, exchanges, sink_factory=MemorySink)
        t0 = time.monotonic()
        async with broadcaster.subscribe(candle_channel("binance", "BTC/USDT", "1m")) as events, \
                live.watching("binance", "BTC/USDT", "1m"):
            event = await anext(events)
        spent = time.monotonic() - t0
        await live.aclose()
        assert event["kind"] == "error" and event["unavailable"] is True, event
        assert event["expected"] is False
        assert "binance is unreachable: its BTC/USDT 1m kline stream did not connect" in \
            event["error"]
        assert spent < CONNECT_BUDGET_S + 3.0

    run(scenario())


def test_a_live_watcher_whose_markets_cannot_load_reports_it_within_seconds() -> None:
    settings = settings_at(closed_port())

    async def scenario() -> None:
        broadcaster = MemoryBroadcaster()
        live = LiveCandles.for_settings(settings, broadcaster)
        live.sink_factory = MemorySink
        t0 = time.monotonic()
        async with broadcaster.subscribe(candle_channel("binance", "BTC/USDT", "1m")) as events, \
                live.watching("binance", "BTC/USDT", "1m"):
            event = await anext(events)
        spent = time.monotonic() - t0
        await live.aclose()
        assert event["kind"] == "error" and event.get("unavailable") is True, event
        assert "binance is unreachable: loading the markets failed" in event["error"]
        assert spent < 8.0

    run(scenario())
