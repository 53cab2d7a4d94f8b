"""sync() against the fake Binance: exact series, resume, faults, gaps, progress, open candle."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

from domain.candles import Candles
from tasks.market.exchange import ExchangeUnavailable, MarketDataError
from tasks.market.sync import SyncProgress, SyncReport, missing_ranges_of, rows_to_candles, sync
from tests.support.memory_sink import MemorySink
from tests.tasks.conftest import FAST, connect, run
from tests.tasks.fake_binance import FakeBinance

MIN = 60_000
KEY = ("binance", "BTC/USDT", "1m")


def assert_same(got: Candles, want: Candles) -> None:
    assert len(got) == len(want)
    np.testing.assert_array_equal(got.ts, want.ts)
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def expected_all(fake: FakeBinance) -> Candles:
    return fake.expected("BTCUSDT", "1m", fake.start_ms, fake.now_ms)


def klines_starts(fake: FakeBinance) -> list[int]:
    return [int(q["startTime"]) for path, q in fake.requests if path == "/api/v3/klines"]


async def do_sync(fake: FakeBinance, sink: MemorySink, *, timeout_ms: int = 3_000,
                  **kw: Any) -> SyncReport:
    async with connect(fake, timeout_ms=timeout_ms) as ex:
        return await sync(ex, "BTC/USDT", "1m", fake.start_ms, sink=sink, backoff=FAST, **kw)


def test_full_sync_stores_the_series_exactly_without_the_open_candle(fake: FakeBinance) -> None:
    sink = MemorySink()
    seen: list[SyncProgress] = []
    report = run(do_sync(fake, sink, progress=seen.append))
    want = expected_all(fake)
    assert_same(sink.candles(*KEY), want)
    open_bar = fake.start_ms + (fake.now_ms - fake.start_ms) // MIN * MIN
    assert int(want.ts[-1]) == open_bar - MIN  # the still-open bar is not stored
    assert report.candles_written == len(want) == 3500
    assert report.pages == 4 and report.gaps_repaired == 0 and report.unfilled == []
    assert (report.first_ts, report.last_ts) == (fake.start_ms, open_bar - MIN)
    percents = [p.percent for p in seen]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert [p.pages for p in seen] == sorted(p.pages for p in seen)
    assert seen[-1].candles == 3500
    assert fake.unexpected == []


def test_rerun_fetches_nothing_and_writes_nothing(fake: FakeBinance) -> None:
    sink = MemorySink()
    run(do_sync(fake, sink))
    before = len(fake.requests)
    again = run(do_sync(fake, sink))
    assert again.candles_written == 0 and again.pages == 0
    assert [p for p, _ in fake.requests[before:]] == ["/api/v3/exchangeInfo", "/api/v3/time"]


def test_interrupted_sync_resumes_after_the_last_stored_candle(fake: FakeBinance) -> None:
    sink = MemorySink()

    async def interrupted() -> None:
        two_pages = asyncio.Event()

        def on_progress(p: SyncProgress) -> None:
            if p.pages >= 2:
                two_pages.set()

        task = asyncio.ensure_future(do_sync(fake, sink, page_limit=500, progress=on_progress))
        await two_pages.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(interrupted())
    stored = sink.candles(*KEY)
    assert 1000 <= len(stored) < 3500
    assert_same(stored, fake.expected("BTCUSDT", "1m", fake.start_ms, int(stored.ts[-1]) + 1))
    before = len(klines_starts(fake))
    report = run(do_sync(fake, sink))
    assert report.resumed_at == int(stored.ts[-1]) + MIN
    assert klines_starts(fake)[before] == report.resumed_at  # nothing fetched twice
    assert_same(sink.candles(*KEY), expected_all(fake))


def test_crash_in_the_sink_keeps_the_pages_already_written(fake: FakeBinance) -> None:
    class Failing(MemorySink):
        async def write(self, exchange_id: str, symbol: str, timeframe: str,
                        candles: Candles) -> int:
            if len(self.writes) == 2:
                raise OSError("disk full")
            return await super().write(exchange_id, symbol, timeframe, candles)

    sink = Failing()
    with pytest.raises(OSError, match="disk full"):
        run(do_sync(fake, sink))
    assert len(sink.candles(*KEY)) == 2000
    healed = MemorySink()
    healed._data = sink._data
    run(do_sync(fake, healed))
    assert_same(healed.candles(*KEY), expected_all(fake))


def test_429_is_retried_after_retry_after(fake: FakeBinance) -> None:
    fake.fail_next(429, retry_after=1)
    sink = MemorySink()
    started = time.monotonic()
    run(do_sync(fake, sink))
    assert time.monotonic() - started >= 1.0  # the backoff alone would be 10 ms
    assert klines_starts(fake)[:2] == [fake.start_ms, fake.start_ms]
    assert_same(sink.candles(*KEY), expected_all(fake))


@pytest.mark.parametrize("status", [500, 502, 503, 504, 418])
def test_server_errors_are_retried(fake: FakeBinance, status: int) -> None:
    fake.fail_next(status, count=2)
    sink = MemorySink()
    run(do_sync(fake, sink))
    assert klines_starts(fake)[:3] == [fake.start_ms] * 3
    assert_same(sink.candles(*KEY), expected_all(fake))


def test_timeouts_are_retried(fake: FakeBinance) -> None:
    fake.delay_next(1.0)
    sink = MemorySink()
    run(do_sync(fake, sink, timeout_ms=300))
    assert klines_starts(fake)[:2] == [fake.start_ms] * 2
    assert_same(sink.candles(*KEY), expected_all(fake))


def test_failures_on_server_time_and_markets_are_retried(fake: FakeBinance) -> None:
    fake.fail_next(503, path="/api/v3/exchangeInfo")
    fake.fail_next(500, path="/api/v3/time")
    sink = MemorySink()
    run(do_sync(fake, sink))
    assert_same(sink.candles(*KEY), expected_all(fake))


def test_retries_are_bounded(fake: FakeBinance) -> None:
    fake.fail_next(503, count=100)
    with pytest.raises(ExchangeUnavailable, match=r"still failing after 3 attempts"):
        run(do_sync(fake, MemorySink(), max_retries=2))
    assert len(klines_starts(fake)) == 3


def test_a_retry_after_beyond_the_limit_gives_up_with_a_clear_message(fake: FakeBinance) -> None:
    fake.fail_next(418, retry_after=3600)
    with pytest.raises(ExchangeUnavailable, match="asked to wait 3600 s"):
        run(do_sync(fake, MemorySink()))


def test_a_refusal_by_location_is_not_retried(fake: FakeBinance) -> None:
    fake.fail_next(451, count=5)
    with pytest.raises(MarketDataError, match=r"refuses clients from this location \(HTTP 451\)"):
        run(do_sync(fake, MemorySink()))
    assert len(klines_starts(fake)) == 1


def test_a_page_that_skips_a_range_is_repaired(fake: FakeBinance) -> None:
    hole = (fake.start_ms + 1200 * MIN, fake.start_ms + 1300 * MIN)
    fake.skip_once(*hole)
    sink = MemorySink()
    report = run(do_sync(fake, sink))
    assert report.gaps_repaired == 1 and report.unfilled == []
    assert hole[0] in klines_starts(fake)  # the gap pass asked for exactly the hole
    assert_same(sink.candles(*KEY), expected_all(fake))


def test_duplicated_and_unordered_rows_are_stored_once(fake: FakeBinance) -> None:
    fake.duplicate_next(3)
    sink = MemorySink()
    report = run(do_sync(fake, sink))
    assert report.candles_written == 3500
    # ccxt sorts a page and keeps its first `limit` rows, duplicates included: pages come out
    # shorter, and each row still reaches the sink once
    assert sum(sink.writes) == 3500 and sink.writes[0] < 1000
    assert_same(sink.candles(*KEY), expected_all(fake))


def test_range_bounds_unaligned_since_and_exclusive_until(fake: FakeBinance) -> None:
    sink = MemorySink()

    async def main() -> SyncReport:
        async with connect(fake) as ex:
            return await sync(ex, "BTC/USDT", "1m", fake.start_ms + 30_000,
                              fake.start_ms + 100 * MIN, sink=sink, backoff=FAST)

    report = run(main())
    got = sink.candles(*KEY)
    assert (int(got.ts[0]), int(got.ts[-1])) == (fake.start_ms + MIN, fake.start_ms + 99 * MIN)
    assert report.candles_written == 99 and report.end_ms == fake.start_ms + 100 * MIN


def test_history_before_the_listing_is_reported_not_invented(fake: FakeBinance) -> None:
    sink = MemorySink()

    async def main() -> SyncReport:
        async with connect(fake) as ex:
            return await sync(ex, "BTC/USDT", "1m", fake.start_ms - 60 * MIN, sink=sink,
                              backoff=FAST)

    report = run(main())
    assert report.unfilled == [(fake.start_ms - 60 * MIN, fake.start_ms - MIN)]
    assert_same(sink.candles(*KEY), expected_all(fake))
    again = run(main())  # a hole the exchange cannot fill costs one request, not a loop
    assert again.pages == 1 and again.unfilled == report.unfilled


def test_the_open_candle_is_stored_once_closed_with_final_values(fake: FakeBinance) -> None:
    sink = MemorySink()
    run(do_sync(fake, sink))
    open_bar = fake.start_ms + (fake.now_ms - fake.start_ms) // MIN * MIN
    assert int(sink.candles(*KEY).ts[-1]) == open_bar - MIN
    fake.now_ms = open_bar + 2 * MIN + 1  # two more bars closed, a third one open
    run(do_sync(fake, sink))
    assert int(sink.candles(*KEY).ts[-1]) == open_bar + MIN
    assert_same(sink.candles(*KEY), expected_all(fake))


def test_given_now_is_used_instead_of_the_server_clock(fake: FakeBinance) -> None:
    sink = MemorySink()
    run(do_sync(fake, sink, now_ms=fake.start_ms + 10 * MIN + 5))
    assert "/api/v3/time" not in [p for p, _ in fake.requests]
    assert len(sink.candles(*KEY)) == 10


def test_rows_to_candles_cleans_a_page() -> None:
    t0 = 1_704_067_200_000
    rows = [[t0 + MIN, 2, 3, 1, 2, 5], [t0, 1, 2, 0.5, 1.5, 4], [t0 + MIN, 2, 3, 1, 2.5, 6],
            [t0 + 2 * MIN, None, 1, 1, 1, 1], [t0 + 3 * MIN, 1, 1, 1, float("nan"), 1],
            [t0 + 9 * MIN, 1, 1, 1, 1, 1], [t0 - MIN, 1, 1, 1, 1, 1]]
    c = rows_to_candles(rows, "BTC/USDT", "1m", t0, t0 + 5 * MIN)
    assert c.ts.tolist() == [t0, t0 + MIN] and c.close.tolist() == [1.5, 2.5]
    assert rows_to_candles([], "BTC/USDT", "1m", t0, t0 + MIN).ts.dtype == np.int64
    broken = [[t0, 1, 0.9, 0.5, 1, 1], [t0 + MIN, 1, 2, 1.1, 1, 1], [t0 + 2 * MIN, 1, 1, 1, 1, -1]]
    assert len(rows_to_candles(broken, "BTC/USDT", "1m", t0, t0 + 5 * MIN)) == 0
    with pytest.raises(MarketDataError, match="not on the 1m grid"):
        rows_to_candles([[t0 + 1, 1, 1, 1, 1, 1]], "BTC/USDT", "1m", t0, t0 + MIN)


def test_missing_ranges_of() -> None:
    t0, h = 1_704_067_200_000, 3_600_000
    have = np.array([t0 + 1 * h, t0 + 2 * h, t0 + 5 * h], dtype=np.int64)
    assert missing_ranges_of(have, "1h", t0, t0 + 7 * h) == [
        (t0, t0), (t0 + 3 * h, t0 + 4 * h), (t0 + 6 * h, t0 + 6 * h)]
    assert missing_ranges_of(have, "1h", t0 + h, t0 + 3 * h) == []
    assert missing_ranges_of(have, "1h", t0 + 1, t0 + h) == []  # no bar opens in there
    months = np.array([1_706_745_600_000], dtype=np.int64)  # 2024-02-01
    assert missing_ranges_of(months, "1M", t0, 1_711_929_600_000) == [  # .. 2024-04-01
        (t0, t0), (1_709_251_200_000, 1_709_251_200_000)]
