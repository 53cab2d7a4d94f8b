"""watch_klines() against the fake Binance kline stream: closed bars, updates, drops, backfill."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import ccxt
import numpy as np
import pytest

from domain.candles import Candles
from tasks.market.exchange import (
    ExchangeUnavailable,
    UnknownSymbol,
    make_exchange,
    override_rest_url,
    override_ws_url,
)
from tasks.market.sync import sync
from tasks.market.watch import KlineUpdate, WatchReport, watch_klines
from tests.support.memory_sink import MemorySink
from tests.tasks.conftest import FAST, connect, run
from tests.tasks.fake_binance import FakeBinance

MIN = 60_000
KEY = ("binance", "BTC/USDT", "1m")
BASE = 1_704_067_200_000
NOW = BASE + 100 * MIN  # the fake's clock when a test starts: bar 100 has just opened


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(seed=11, now_ms=NOW, ws_max_ticks=30).start()  # 30 ticks = 10 bars
    try:
        yield server
    finally:
        server.stop()


def assert_same(got: Candles, want: Candles) -> None:
    np.testing.assert_array_equal(got.ts, want.ts)
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def last_closed(fake: FakeBinance) -> int:
    return (fake.now_ms - BASE) // MIN * MIN + BASE - MIN


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def watch_until_stream_ends(fake: FakeBinance, ex: object, sink: MemorySink,
                                  updates: list[KlineUpdate], **kw: object) -> WatchReport:
    """Run the watcher until the fake has sent all its ticks and the sink caught up."""
    stop = asyncio.Event()
    report = WatchReport()
    task = asyncio.ensure_future(watch_klines(
        ex, "BTC/USDT", "1m", sink=sink, on_update=updates.append, stop_event=stop,
        backoff=FAST, report=report, **kw))  # type: ignore[arg-type]

    def caught_up() -> bool:
        if task.done():
            return True
        rows = sink._data.get(KEY, {})
        return fake.ticks >= fake.ws_max_ticks and max(rows, default=0) >= last_closed(fake)

    await until(caught_up)
    stop.set()
    return await task


def test_closed_candles_are_stored_and_every_update_forwarded(fake: FakeBinance) -> None:
    sink, updates = MemorySink(), []

    async def main() -> WatchReport:
        async with connect(fake) as ex:
            return await watch_until_stream_ends(fake, ex, sink, updates)

    report = run(main())
    want = fake.expected("BTCUSDT", "1m", NOW, fake.now_ms)
    assert len(want) == 10
    assert_same(sink.candles(*KEY), want)
    closed = [u for u in updates if u.closed]
    assert [u.ts for u in closed] == want.ts.tolist()  # each bar once, when it closed
    assert [u.close for u in closed] == want.close.tolist()
    assert any(not u.closed for u in updates)
    assert [u.ts for u in updates] == sorted(u.ts for u in updates)
    assert all(u.symbol == "BTC/USDT" and u.timeframe == "1m" for u in updates)
    assert report.closed_stored == 10 and report.backfills == 0
    assert "/api/v3/klines" not in [p for p, _ in fake.requests]
    assert fake.ws_subscriptions == ["btcusdt@kline_1m"]


@pytest.mark.parametrize("pause_s", [0.0, 0.1])
def test_a_dropped_socket_is_reconnected_and_the_gap_backfilled(fake: FakeBinance,
                                                                pause_s: float) -> None:
    # pause 0: the socket closes between two watch calls and ccxt reconnects on the next one
    # (or, on a busy machine, while the watcher already waits: then as with a pause);
    # pause 0.1: it closes while the watcher waits, which sees the NetworkError and backs off
    fake.drop_ws_after(10, skip_bars=5, pause_s=pause_s)
    sink, updates = MemorySink(), []

    async def main() -> WatchReport:
        async with connect(fake) as ex:
            await sync(ex, "BTC/USDT", "1m", BASE, sink=sink, backoff=FAST)
            return await watch_until_stream_ends(fake, ex, sink, updates)

    report = run(main())
    assert fake.ws_connections == 2
    assert report.reconnects in ((1,) if pause_s else (0, 1))
    assert report.backfills >= 1 and report.backfilled >= 5
    assert_same(sink.candles(*KEY), fake.expected("BTCUSDT", "1m", BASE, fake.now_ms))


def test_without_backfill_the_drop_leaves_a_gap(fake: FakeBinance) -> None:
    fake.drop_ws_after(10, skip_bars=5)
    sink, updates = MemorySink(), []

    async def main() -> list[tuple[int, int]]:
        async with connect(fake) as ex:
            await watch_until_stream_ends(fake, ex, sink, updates, backfill=False)
            return await sink.missing_ranges(*KEY, NOW, fake.now_ms - MIN)

    gaps = run(main())
    assert len(gaps) == 1 and gaps[0][1] - gaps[0][0] >= 4 * MIN


def test_start_up_backfills_from_the_last_stored_candle(fake: FakeBinance) -> None:
    sink, seen = MemorySink(), []

    async def on_update(u: KlineUpdate) -> None:  # async callbacks are awaited
        seen.append(u)

    async def main() -> WatchReport:
        async with connect(fake) as ex:
            await sync(ex, "BTC/USDT", "1m", BASE, BASE + 50 * MIN, sink=sink, backoff=FAST)
            stop = asyncio.Event()
            task = asyncio.ensure_future(watch_klines(
                ex, "BTC/USDT", "1m", sink=sink, on_update=on_update, stop_event=stop,
                backoff=FAST))
            await until(lambda: max(sink._data[KEY]) >= NOW + 5 * MIN)
            stop.set()
            return await task

    report = run(main())
    assert report.backfilled == 50
    got = sink.candles(*KEY)
    assert_same(got, fake.expected("BTCUSDT", "1m", BASE, int(got.ts[-1]) + 1))
    assert seen and all(isinstance(u, KlineUpdate) for u in seen)


def test_since_fills_an_empty_sink_before_the_live_bars(fake: FakeBinance) -> None:
    sink = MemorySink()

    async def main() -> WatchReport:
        async with connect(fake) as ex:
            return await watch_until_stream_ends(fake, ex, sink, [], since_ms=BASE + 90 * MIN)

    report = run(main())
    assert report.backfilled == 10
    assert_same(sink.candles(*KEY), fake.expected("BTCUSDT", "1m", BASE + 90 * MIN, fake.now_ms))


def test_without_closed_flags_closed_bars_come_over_rest(fake: FakeBinance) -> None:
    # a bar counts as closed once the next one shows up, so stream one tick into bar 110
    fake.ws_max_ticks = 31
    sink, updates = MemorySink(), []

    async def main() -> WatchReport:
        ex = ccxt.pro.binance({"rateLimit": 1, "options": {"fetchMarkets": {"types": ["spot"]}}})
        override_rest_url(ex, fake.rest_url)
        override_ws_url(ex, fake.ws_url)
        try:
            return await watch_until_stream_ends(fake, ex, sink, updates)
        finally:
            await ex.close()

    report = run(main())
    assert not any(u.closed for u in updates)
    assert report.closed_stored == 0 and report.backfilled == 10
    assert_same(sink.candles(*KEY), fake.expected("BTCUSDT", "1m", NOW, fake.now_ms))


def test_stop_is_prompt_and_bad_symbols_fail_before_streaming(fake: FakeBinance) -> None:
    fake.ws_max_ticks = 0  # the stream stays silent

    async def main() -> float:
        async with connect(fake) as ex:
            stop = asyncio.Event()
            task = asyncio.ensure_future(watch_klines(
                ex, "BTC/USDT", "1m", sink=MemorySink(), on_update=print, stop_event=stop))
            await until(lambda: fake.ws_connections == 1)
            started = time.monotonic()
            stop.set()
            report = await task
            assert report.updates == 0
            with pytest.raises(UnknownSymbol, match="BTC/USDT"):
                await watch_klines(ex, "BTC/USD", "1m", sink=MemorySink(), on_update=print,
                                   stop_event=asyncio.Event())
            return time.monotonic() - started

    assert run(main()) < 1.0
    assert fake.ws_connections == 1


def test_consecutive_connection_failures_are_bounded(fake: FakeBinance) -> None:
    async def main() -> None:
        ex = make_exchange(rest_url=fake.rest_url, ws_url=f"{fake.ws_url[:-3]}/api/v3/ping",
                           config={"rateLimit": 1})  # not a websocket: every handshake fails
        ex.timeout_on_exit = 0
        try:
            with pytest.raises(ExchangeUnavailable, match="kline stream failed 2 times in a row"):
                await watch_klines(ex, "BTC/USDT", "1m", sink=MemorySink(), on_update=print,
                                   stop_event=asyncio.Event(), backoff=FAST, max_failures=1)
        finally:
            await ex.close()

    run(main())
