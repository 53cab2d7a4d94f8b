"""LiveCandles against the fake Binance kline stream: one shared watcher per market, started by
the first subscriber and stopped after the last; candle and error events on the channel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from store.settings import Settings
from tasks.market.exchange import Exchange, make_exchange
from tasks.market.live_candles import LiveCandles, candle_channel, error_event, publisher
from tasks.market.watch import KlineUpdate
from tasks.messaging.broadcast import Event, MemoryBroadcaster
from tests.support.memory_sink import MemorySink
from tests.tasks.conftest import FAST, run
from tests.tasks.fake_binance import FakeBinance
from tests.tasks.fake_market import START_MS

MIN = 60_000
CHANNEL = candle_channel("binance", "BTC/USDT", "1m")


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    # the clock on a minute boundary: 20 s ticks close a 1m bar every third tick
    server = FakeBinance(seed=11, now_ms=START_MS + 100 * MIN, ws_max_ticks=90).start()
    try:
        yield server
    finally:
        server.stop()


class Exchanges:
    """Builds clients pointed at the fake and remembers them (to check they get closed)."""

    def __init__(self, fake: FakeBinance) -> None:
        self.fake = fake
        self.made: list[Exchange] = []

    def __call__(self, exchange_id: str) -> Exchange:
        ex = make_exchange(exchange_id, self.fake.rest_url, self.fake.ws_url, timeout_ms=3_000,
                           config={"rateLimit": 1})
        ex.timeout_on_exit = 0
        self.made.append(ex)
        return ex


async def closed_candles(events: Any, n: int) -> list[Event]:
    out: list[Event] = []
    async for event in events:
        assert event["kind"] == "candle", event
        if event["closed"]:
            out.append(event)
            if len(out) == n:
                return out
    raise AssertionError("the channel ended")


def test_subscribers_share_one_watcher_stopped_after_the_last(fake: FakeBinance) -> None:
    async def scenario() -> None:
        broadcaster, sink, exchanges = MemoryBroadcaster(), MemorySink(), Exchanges(fake)
        live = LiveCandles(broadcaster, exchanges, sink_factory=lambda: sink, backoff=FAST)
        async with broadcaster.subscribe(CHANNEL) as first_events, \
                live.watching("binance", "BTC/USDT", "1m") as ch1:
            assert ch1 == CHANNEL
            async with broadcaster.subscribe(CHANNEL) as second_events, \
                    live.watching("binance", "BTC/USDT", "1m"):
                assert live.active() == {("binance", "BTC/USDT", "1m"): 2}
                a = await closed_candles(first_events, 2)
                b = await closed_candles(second_events, 2)
            assert live.active() == {("binance", "BTC/USDT", "1m"): 1}
        assert live.active() == {}
        await live.aclose()  # waits for the background stop
        assert len(exchanges.made) == 1 and fake.ws_connections == 1
        assert a == b
        for event in a:
            o, h, lo, c, v = (float(x) for x in fake.bar("BTCUSDT", "1m", event["ts"]))
            assert (event["open"], event["high"], event["low"], event["close"],
                    event["volume"]) == (o, h, lo, c, v)
        stored = sink.candles("binance", "BTC/USDT", "1m")
        assert {e["ts"] for e in a} <= set(stored.ts.tolist())  # closed bars are stored

    run(scenario())


def test_a_failing_watcher_reports_and_is_restarted(fake: FakeBinance) -> None:
    async def scenario() -> None:
        broadcaster, exchanges = MemoryBroadcaster(), Exchanges(fake)
        live = LiveCandles(broadcaster, exchanges, sink_factory=MemorySink, backoff=FAST)
        bad = candle_channel("binance", "NOPE/USDT", "1m")
        for _ in range(2):
            async with broadcaster.subscribe(bad) as events, \
                    live.watching("binance", "NOPE/USDT", "1m"):
                event = await anext(events)
            assert event["kind"] == "error" and event["expected"] is True  # the request's fault
            assert "unknown symbol 'NOPE/USDT'" in event["error"]
        await live.aclose()
        assert len(exchanges.made) == 2  # a new watcher for the second subscriber

    run(scenario())


def test_a_server_side_failure_is_not_expected(fake: FakeBinance) -> None:
    class BrokenSink(MemorySink):
        async def write(self, *args: Any, **kwargs: Any) -> int:
            raise RuntimeError("disk full")

    async def scenario() -> None:
        broadcaster, exchanges = MemoryBroadcaster(), Exchanges(fake)
        live = LiveCandles(broadcaster, exchanges, sink_factory=BrokenSink, backoff=FAST,
                           max_failures=1)
        async with broadcaster.subscribe(CHANNEL) as events, \
                live.watching("binance", "BTC/USDT", "1m"):
            async for event in events:
                if event["kind"] == "error":
                    break
        await live.aclose()
        assert event["expected"] is False and "failed on the server side" in event["error"]
        assert "code" not in event  # no API error codes: the API maps ``expected`` to one

    run(scenario())


def test_publisher_events_and_the_app_instance() -> None:
    async def scenario() -> None:
        broadcaster = MemoryBroadcaster()
        update = KlineUpdate("binance", "ETH/USDT", "5m", 300_000, 1.0, 2.0, 0.5, 1.5, 10.0,
                             True)
        await publisher(broadcaster)(update)
        event = await broadcaster.latest(candle_channel("binance", "ETH/USDT", "5m"))
        assert event == {"seq": 1, "kind": "candle", "exchange": "binance", "symbol": "ETH/USDT",
                         "timeframe": "5m", "ts": 300_000, "open": 1.0, "high": 2.0,
                         "low": 0.5, "close": 1.5, "volume": 10.0, "closed": True}
        assert error_event("no", expected=True) == {"kind": "error", "error": "no",
                                                     "expected": True}
        settings = Settings(database_url="sqlite://:memory:", binance_rest_url="http://127.0.0.1:9",
                            binance_ws_url="ws://127.0.0.1:9")
        live = LiveCandles.for_settings(settings, broadcaster)
        assert live.broadcaster is broadcaster and live.active() == {}
        ex = live.exchange_factory("binance")
        try:
            assert "127.0.0.1:9" in str(ex.urls["api"])
        finally:
            await ex.close()
        await live.aclose()  # nothing watched: nothing to stop

    run(scenario())


def test_leaving_while_being_cancelled_still_stops_the_watcher(fake: FakeBinance) -> None:
    async def scenario() -> None:
        broadcaster, exchanges = MemoryBroadcaster(), Exchanges(fake)
        live = LiveCandles(broadcaster, exchanges, sink_factory=MemorySink, backoff=FAST)

        async def subscriber() -> None:
            async with broadcaster.subscribe(CHANNEL) as events, \
                    live.watching("binance", "BTC/USDT", "1m"):
                async for _ in events:
                    pass

        task = asyncio.ensure_future(subscriber())
        while fake.ticks < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert live.active() == {}
        await live.aclose()
        assert all(ex.clients == {} or all(c.closed for c in ex.clients.values())
                   for ex in exchanges.made)

    run(scenario())
