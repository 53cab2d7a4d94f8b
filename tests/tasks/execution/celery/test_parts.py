"""Pieces of the workers issue that need no worker process: the broadcaster's numbering across
publishers (Redis and memory), a sweep's progress summed over its chunks, the watch-list
refresh against the fake Binance, and the Celery configuration built from the settings."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest

from store import candles as store_candles
from store.settings import Settings, WatchItem, parse_watch_list
from tasks.cache.candles import NullCache
from tasks.execution.celery.app import (
    CeleryNotConfigured,
    celery_config,
    configure,
    make_app,
    queues,
)
from tasks.market.watch_list import refresh_watch_list
from tasks.messaging.broadcast import MemoryBroadcaster, RedisBroadcaster
from tasks.messaging.events import JobEvents
from tests.tasks.fake_binance import FakeBinance

MIN = 60_000


@pytest.mark.asyncio
async def test_redis_numbers_events_of_several_publishers_in_order(redis_url: str) -> None:
    publishers = [RedisBroadcaster(redis_url) for _ in range(3)]
    reader = RedisBroadcaster(redis_url)
    try:
        received: list[dict[str, object]] = []
        async with reader.subscribe("sweep:1") as events:
            async def publish(b: RedisBroadcaster, n: int) -> None:
                for i in range(n):
                    await JobEvents(b, "sweep", 1).emit("progress", "running", 0.0, i=i)

            await asyncio.gather(*(publish(b, 40) for b in publishers))
            async for event in events:
                received.append(event)
                if len(received) == 120:
                    break
        assert [e["seq"] for e in received] == list(range(1, 121))  # in order, no gap
        latest = await reader.latest("sweep:1")
        assert latest is not None and latest["seq"] == 120
    finally:
        for b in (*publishers, reader):
            await b.close()


@pytest.mark.asyncio
async def test_parts_add_up_and_never_go_back(redis_url: str) -> None:
    for broadcaster in (RedisBroadcaster(redis_url), MemoryBroadcaster()):
        try:
            events = JobEvents(broadcaster, "sweep", 7)
            seen = []
            for part, done in (("a", 10), ("b", 30), ("a", 50), ("b", 50)):
                seen.append(await events.emit_part(part, done, 100, chunk=part))
            assert [e["progress"] for e in seen] == [0.1, 0.4, 0.8, 1.0]
            assert [e["done"] for e in seen] == [10, 40, 80, 100]
            assert {e["total"] for e in seen} == {100}
            assert [e["seq"] for e in seen] == [1, 2, 3, 4]
            assert all(e["kind"] == "progress" and e["status"] == "running" for e in seen)
            latest = await broadcaster.latest("sweep:7")
            assert latest is not None and latest["progress"] == 1.0 and latest["chunk"] == "b"
        finally:
            await broadcaster.close()


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(seed=11).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_watch_list_refresh_brings_markets_up_to_date(db: Settings, fake: FakeBinance,
                                                            redis_url: str) -> None:
    settings = dataclasses.replace(
        db, binance_rest_url=fake.rest_url, binance_ws_url=fake.ws_url, redis_url=redis_url,
        watch_list=(WatchItem("binance", "BTC/USDT", "1m"),
                    WatchItem("binance", "NOPE/USDT", "1m")))
    first = dataclasses.replace(
        fake.expected("BTCUSDT", "1m", fake.start_ms, fake.start_ms + 100 * MIN),
        symbol="BTC/USDT")
    await store_candles.write_candles("binance", "BTC/USDT", "1m", first)
    counts = await refresh_watch_list(settings, NullCache())
    assert counts["refreshed"] == 1 and counts["failed"] == 1  # the unknown market is counted
    stored = await store_candles.read_candles("binance", "BTC/USDT", "1m")
    want = fake.expected("BTCUSDT", "1m", fake.start_ms, (fake.now_ms // MIN) * MIN)
    np.testing.assert_array_equal(stored.ts, want.ts)
    assert counts["candles"] == len(want) - 100
    again = await refresh_watch_list(settings, NullCache())
    assert again["candles"] == 0


def test_watch_list_setting() -> None:
    assert parse_watch_list(" binance:btc/usdt:1h, ,binance:ETH/USDT:1m") == (
        WatchItem("binance", "BTC/USDT", "1h"), WatchItem("binance", "ETH/USDT", "1m"))
    with pytest.raises(ValueError, match="exchange:SYMBOL:timeframe"):
        parse_watch_list("binance:BTC/USDT")
    with pytest.raises(ValueError, match="JOB_TIME_LIMIT"):
        Settings.from_env({"JOB_TIME_LIMIT": "-1"})
    with pytest.raises(ValueError, match="EXECUTOR"):
        Settings.from_env({"EXECUTOR": "threads"})


def test_celery_config_from_settings() -> None:
    settings = Settings(database_url="sqlite://x", redis_url="redis://r:6379/2",
                        visibility_timeout_s=40.0, job_time_limit_s=100.0,
                        watch_list=(WatchItem("binance", "BTC/USDT", "1h"),),
                        watch_interval_s=30.0)
    conf = celery_config(settings)
    assert conf["broker_url"] == conf["result_backend"] == "redis://r:6379/2"
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["broker_transport_options"]["visibility_timeout"] == 40.0
    assert (conf["task_soft_time_limit"], conf["task_time_limit"]) == (130.0, 160.0)
    assert {q.name for q in conf["task_queues"]} == set(queues())
    assert {q.routing_key for q in conf["task_queues"]} == set(queues())  # one queue per key
    assert conf["beat_schedule"]["refresh-watch-list"]["schedule"] == 30.0
    assert conf["beat_schedule"]["recover-stuck-jobs"]["task"] == "maintenance.recover"
    rabbit = dataclasses.replace(settings, celery_broker_url="amqp://guest@h//")
    assert celery_config(rabbit)["broker_url"] == "amqp://guest@h//"
    assert make_app(settings).conf.task_default_queue == "backtests"
    with pytest.raises(CeleryNotConfigured, match="REDIS_URL"):
        configure(make_app(settings), Settings(database_url="sqlite://x"))
