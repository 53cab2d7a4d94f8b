"""store.candles' columnar copy (candle_blocks) on both backends: reads through the blocks equal
the rows of market_data for ranges across block edges, after appends, overlapping writes
(the first write wins), gap fills, partial deletes, and blocks missing (built by the read);
and the series versions of this process (store.candles.local_series_version)."""

from __future__ import annotations

import numpy as np
import pytest

from domain.candles import Candles
from domain.demo import demo_candles
from store import candles as store_candles
from store.candles import (
    BLOCK_BARS,
    block_span_ms,
    delete_candles,
    local_series_version,
    read_candles,
    write_candles,
)
from store.db import connection
from store.settings import Settings

pytestmark = pytest.mark.asyncio
MIN = 60_000
START = 1_704_067_200_000  # 2024-01-01T00:00Z
KEY = ("binance", "BTC/USDT", "1m")
COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def minutes(n: int, start: int = START, seed: int = 7) -> Candles:
    return demo_candles(n_bars=n, timeframe="1m", seed=seed, start_ms=start, symbol="BTC/USDT")


async def rows(start: int | None = None, end: int | None = None) -> Candles:
    """market_data itself, row by row (what the blocks must equal)."""
    ts, floats = await store_candles._select(*KEY, start, end, n_floats=5)
    return Candles(ts, *floats, symbol="BTC/USDT", timeframe="1m")


def same(got: Candles, want: Candles) -> None:
    assert len(got) == len(want)
    for name in COLUMNS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and a.flags.c_contiguous and a.flags.writeable, name
        np.testing.assert_array_equal(a, b, err_msg=name)


async def n_blocks() -> int:
    result = await connection().execute_query_dict("SELECT count(*) AS n FROM candle_blocks")
    return int(result[0]["n"])


async def check_ranges(span: int) -> None:
    first = START
    for lo, hi in [(None, None), (first, first + span), (first + span - 5 * MIN, first + span + 5 * MIN),
                   (first + 3 * MIN, first + 2 * span + 17 * MIN), (first - span, first + MIN),
                   (first + 10 * span, None), (first + 7 * MIN, first + 7 * MIN)]:
        same(await read_candles(*KEY, lo, hi), await rows(lo, hi))


async def test_reads_through_blocks_equal_the_rows(db: Settings) -> None:
    span = block_span_ms("1m")
    assert span == BLOCK_BARS * MIN
    c = minutes(3 * BLOCK_BARS + 100)
    assert await write_candles(*KEY, c) == len(c)
    assert await n_blocks() >= 3
    same(await read_candles(*KEY), c)
    await check_ranges(span)
    # appending: the last block grows
    more = minutes(3 * BLOCK_BARS + 700)
    assert await write_candles(*KEY, more.take(len(c), len(more))) == 600
    got = await read_candles(*KEY)
    same(got, await rows())
    assert len(got) == len(more)
    np.testing.assert_array_equal(got.close[len(c):], more.close[len(c):])
    await check_ranges(span)


async def test_overlaps_gaps_and_out_of_order_writes(db: Settings) -> None:
    c = minutes(2 * BLOCK_BARS + 50)
    other = minutes(2 * BLOCK_BARS + 50, seed=8)  # same times, other prices
    holes = np.ones(len(c), dtype=bool)
    holes[100:300] = False
    holes[BLOCK_BARS - 10:BLOCK_BARS + 10] = False
    assert await write_candles(*KEY, c.take(BLOCK_BARS, len(c))) == len(c) - BLOCK_BARS
    partial = Candles(*(getattr(c, n)[:BLOCK_BARS + 20][holes[:BLOCK_BARS + 20]] for n in COLUMNS),
                      symbol="BTC/USDT", timeframe="1m")
    overlap = int(holes[BLOCK_BARS:BLOCK_BARS + 20].sum())
    assert await write_candles(*KEY, partial) == len(partial) - overlap  # written before
    # the holes filled with other prices; the candles already stored stay (first write wins)
    from_c = holes | (np.arange(len(c)) >= BLOCK_BARS)
    assert await write_candles(*KEY, other) == int((~from_c).sum())
    want = Candles(c.ts, *(np.where(from_c, getattr(c, n), getattr(other, n))
                           for n in COLUMNS[1:]), symbol="BTC/USDT", timeframe="1m")
    same(await rows(), want)
    same(await read_candles(*KEY), want)
    await check_ranges(block_span_ms("1m"))


async def test_deletes_and_missing_blocks(db: Settings) -> None:
    c = minutes(3 * BLOCK_BARS)
    await write_candles(*KEY, c)
    span = block_span_ms("1m")
    cut = int(c.ts[BLOCK_BARS + 5])
    assert await delete_candles(*KEY, cut, cut + 10 * MIN) == 10
    same(await read_candles(*KEY), await rows())
    assert len(await read_candles(*KEY)) == len(c) - 10
    await check_ranges(span)
    # a database whose blocks are missing (older than the table): the read builds them
    await connection().execute_query("DELETE FROM candle_blocks")
    assert await n_blocks() == 0
    same(await read_candles(*KEY, int(c.ts[10]), int(c.ts[-10])), await rows(int(c.ts[10]),
                                                                              int(c.ts[-10])))
    assert await n_blocks() >= 3
    same(await read_candles(*KEY), await rows())
    # another series is untouched by a delete of this one
    eth = demo_candles(n_bars=50, timeframe="1m", seed=1, start_ms=START, symbol="ETH/USDT")
    await write_candles("binance", "ETH/USDT", "1m", eth)
    assert await delete_candles("binance", "BTC/USDT") == len(c) - 10
    assert len(await read_candles(*KEY)) == 0
    same(await read_candles("binance", "ETH/USDT", "1m"), eth)


async def test_local_series_versions(db: Settings) -> None:
    c = minutes(100)
    v0 = local_series_version(*KEY)
    await write_candles(*KEY, c.take(0, 50))
    v1 = local_series_version(*KEY)
    assert v1 > v0
    await write_candles(*KEY, c.take(0, 50))  # nothing new: the version stays
    assert local_series_version(*KEY) == v1
    other = local_series_version("binance", "ETH/USDT", "1m")
    await write_candles(*KEY, c.take(50, 100))
    v2 = local_series_version(*KEY)
    assert v2 > v1 and local_series_version("binance", "ETH/USDT", "1m") == other
    await delete_candles("binance")  # several series at once: every one of them moves
    assert local_series_version(*KEY) > v2
    assert local_series_version("binance", "ETH/USDT", "1m") > other
