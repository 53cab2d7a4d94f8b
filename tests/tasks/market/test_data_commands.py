"""cli/data_sync_commands.py against the fake Binance (the sink and URLs patched in), and
tasks.market.store.StoreSink syncing into a real SQLite database."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest

from cli import data_sync_commands as commands
from cli.errors import UsageError
from domain.candles import Candles
from domain.timeframes import iso
from tasks.market.exchange import make_exchange
from tasks.market.store import StoreSink
from tasks.market.sync import CandleSink, SyncReport, sync
from tests.support.memory_sink import MemorySink
from tests.tasks.conftest import FAST, connect, run
from tests.tasks.fake_binance import FakeBinance

KEY = ("binance", "BTC/USDT", "1m")


@pytest.fixture
def sink(fake: FakeBinance, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemorySink]:
    memory = MemorySink()

    @contextlib.asynccontextmanager
    async def database() -> AsyncIterator[CandleSink]:
        yield memory

    monkeypatch.setattr(commands, "store_sink", database)
    monkeypatch.setattr(commands, "exchange_from_settings",
                        lambda _id: make_exchange(_id, fake.rest_url, fake.ws_url))
    yield memory


def test_data_sync_prints_a_summary(fake: FakeBinance, sink: MemorySink,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(symbol="BTC/USDT", timeframe="1m", since="2024-01-01",
                              until="2024-01-01T02:00:00Z", exchange="binance")
    assert commands.cmd_data_sync(args) == 0
    assert len(sink.candles(*KEY)) == 120
    out = capsys.readouterr().out
    assert "binance BTC/USDT 1m: 120 candles written (2024-01-01T00:00:00Z .. " in out


def test_data_sync_rejects_bad_dates(sink: MemorySink) -> None:
    args = argparse.Namespace(symbol="BTC/USDT", timeframe="1m", since="2024-02-01",
                              until="2024-01-01", exchange="binance")
    with pytest.raises(UsageError, match="--until must be after --since"):
        commands.cmd_data_sync(args)


def test_data_watch_prints_updates_and_stops_on_ctrl_c(
        fake: FakeBinance, sink: MemorySink, capsys: pytest.CaptureFixture[str]) -> None:
    fake.now_ms = fake.start_ms + 100 * 60_000
    fake.ws_max_ticks = 9

    def interrupt_when_done() -> None:
        deadline = time.monotonic() + 10
        while fake.ticks < 9 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_done, daemon=True).start()
    args = argparse.Namespace(symbol="BTC/USDT", timeframe="1m", exchange="binance")
    assert commands.cmd_data_watch(args) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    # ccxt may merge two updates of one bar that arrive together: up to 9 lines, 3 closed
    assert len(lines) <= 9 and lines[0].startswith("2024-01-01T01:40:00Z BTC/USDT 1m o=")
    assert sum(line.endswith(" closed") for line in lines) == 3
    assert f"stopped: {len(lines)} updates, 3 closed candles stored" in captured.err
    assert len(sink.candles(*KEY)) == 3


def test_the_store_sink_syncs_into_sqlite(fake: FakeBinance, tmp_path: Path) -> None:
    from store import candles, db
    from store.settings import Settings

    fake.skip_once(fake.start_ms + 100 * 60_000, fake.start_ms + 200 * 60_000)

    async def main() -> tuple[SyncReport, Candles]:
        await db.migrate(Settings(database_url=f"sqlite://{tmp_path}/t.sqlite3",
                                  data_dir=tmp_path))
        try:
            async with connect(fake) as ex:
                report = await sync(ex, "BTC/USDT", "1m", fake.start_ms, sink=StoreSink(),
                                    backoff=FAST)
            return report, await candles.read_candles(*KEY)
        finally:
            await db.close_db()

    report, stored = run(main())
    assert report.candles_written == 3500 and report.gaps_repaired == 1
    want = fake.expected("BTCUSDT", "1m", fake.start_ms, fake.now_ms)
    np.testing.assert_array_equal(stored.ts, want.ts)
    np.testing.assert_array_equal(stored.close, want.close)


def test_data_watch_publishes_to_redis_when_configured(
        fake: FakeBinance, sink: MemorySink, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], redis_url: str) -> None:
    """With REDIS_URL set, every update is also published for the API's candleUpdates."""
    import orjson
    import redis

    from store.settings import get_settings
    from tasks.market.live_candles import candle_channel
    from tasks.messaging.broadcast import RedisBroadcaster

    url = redis_url
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    pubsub.subscribe(RedisBroadcaster(url).channel_prefix + candle_channel(*KEY))
    fake.now_ms = fake.start_ms + 100 * 60_000
    fake.ws_max_ticks = 6

    def interrupt_when_done() -> None:
        deadline = time.monotonic() + 10
        while fake.ticks < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_done, daemon=True).start()
    try:
        args = argparse.Namespace(symbol="BTC/USDT", timeframe="1m", exchange="binance")
        assert commands.cmd_data_watch(args) == 0
        printed = capsys.readouterr().out.splitlines()
        events = []
        while (message := pubsub.get_message(timeout=0.5)) is not None:
            if message["type"] == "message":
                events.append(orjson.loads(message["data"]))
    finally:
        pubsub.close()
        client.delete("backtest:latest:" + candle_channel(*KEY))
        client.close()
        get_settings.cache_clear()
    assert len(events) == len(printed) >= 1
    assert all(e["kind"] == "candle" and e["symbol"] == "BTC/USDT" for e in events)
    assert [e["closed"] for e in events] == [line.endswith(" closed") for line in printed]
    assert [iso(e["ts"]) for e in events] == [line.split()[0] for line in printed]
