"""Reading a run's candles in parts (``tasks.jobs.loading``): the same candles as one read,
progress after each part, the same error when nothing is stored."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from domain.candles import Candles
from domain.demo import demo_candles
from domain.errors import DataError
from domain.timeframes import DAY_MS, HOUR_MS, MINUTE_MS
from store.candles import read_candles, write_candles
from store.settings import Settings
from tasks.jobs.lifecycle import load_candles
from tasks.jobs.loading import CandleReader, read_in_parts, split_range

START = 1_704_067_200_000  # 2024-01-01T00:00Z
COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def assert_same(got: Candles, want: Candles) -> None:
    assert (got.symbol, got.timeframe, len(got)) == (want.symbol, want.timeframe, len(want))
    for name in COLUMNS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, name
        assert a.flags.c_contiguous, name
        np.testing.assert_array_equal(a, b, err_msg=name)


# -- slicing ----------------------------------------------------------------------------------


def test_a_short_range_is_one_slice() -> None:
    end = START + 100_000 * MINUTE_MS
    assert split_range("1m", START, end) == [(START, end)]
    assert split_range("1m", START, START) == [(START, START)]
    assert split_range("1m", START, START - 5) == [(START, START - 5)]


def test_a_million_minutes_is_ten_slices_of_100k_bars() -> None:
    end = START + 1_000_000 * MINUTE_MS
    slices = split_range("1m", START, end)
    assert len(slices) == 10
    assert all(b - a == 100_000 * MINUTE_MS for a, b in slices)


@pytest.mark.parametrize("tf", ["1m", "1h", "1d", "1w", "1M"])
@pytest.mark.parametrize(("start_off", "bars", "per", "most"),
                         [(0, 1_000, 100, 20), (7, 999, 100, 4), (13, 101, 100, 20),
                          (0, 5_000_001, 100_000, 20), (1, 3, 1, 20)])
def test_slices_partition_the_range(tf: str, start_off: int, bars: int, per: int,
                                    most: int) -> None:
    bar = {"1m": MINUTE_MS, "1h": HOUR_MS, "1d": DAY_MS, "1w": 7 * DAY_MS, "1M": 30 * DAY_MS}[tf]
    start = START + start_off
    end = start + bars * bar - start_off  # neither end on a bar boundary when start_off > 0
    slices = split_range(tf, start, end, bars_per_part=per, max_parts=most)
    assert slices[0][0] == start and slices[-1][1] == end
    assert all(a < b for a, b in slices)
    assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(slices))
    assert len(slices) <= most
    assert all((b - a) % bar == 0 for a, b in slices[:-1])  # whole bars but for the last
    if bars > per:
        assert len(slices) >= 2


def test_bad_part_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        split_range("1m", START, START + MINUTE_MS, bars_per_part=0)
    with pytest.raises(ValueError):
        split_range("1m", START, START + MINUTE_MS, max_parts=0)


# -- reading from the store -------------------------------------------------------------------


async def store_with_gaps() -> Candles:
    """2,000 hourly bars from START + 300 h, with 400 hours missing in the middle; the
    candles of the whole series as one read gives them."""
    c = demo_candles(n_bars=2_400, timeframe="1h", seed=3, start_ms=START + 300 * HOUR_MS,
                     symbol="BTC/USDT")
    keep = np.r_[0:1_000, 1_400:2_400]
    kept = Candles(c.ts[keep], c.open[keep], c.high[keep], c.low[keep], c.close[keep],
                   c.volume[keep], symbol="BTC/USDT", timeframe="1h")
    assert await write_candles("binance", "BTC/USDT", "1h", kept) == 2_000
    return kept


@pytest.mark.asyncio
@pytest.mark.parametrize("reader", ["read_candles", "load_candles"])
@pytest.mark.parametrize(("start_off", "span", "per", "most"),
                         [(0, 3_000, 250, 20), (0, 3_000, 250, 4), (17 * MINUTE_MS, 2_750, 99, 7),
                          (500 * HOUR_MS, 1_000, 100, 20)])
async def test_parts_concatenate_to_one_read(db: Settings, reader: str, start_off: int,
                                             span: int, per: int, most: int) -> None:
    await store_with_gaps()
    read: CandleReader = read_candles if reader == "read_candles" else load_candles
    start = START + start_off
    end = start + span * HOUR_MS
    calls: list[tuple[int, int]] = []

    async def counting(exchange: str, symbol: str, timeframe: str, a: int, b: int) -> Candles:
        calls.append((a, b))
        return await read(exchange, symbol, timeframe, a, b)

    fractions: list[float] = []
    got = await read_in_parts(counting, "binance", "BTC/USDT", "1h", start, end,
                              fractions.append, bars_per_part=per, max_parts=most)
    assert_same(got, await read_candles("binance", "BTC/USDT", "1h", start, end))
    assert len(calls) == len(fractions) == len(split_range("1h", start, end, bars_per_part=per,
                                                           max_parts=most))
    assert len(calls) > 1
    assert all(a < b for a, b in itertools.pairwise(fractions))
    assert fractions[-1] == 1.0 and fractions[0] > 0.0


@pytest.mark.asyncio
async def test_a_short_range_is_one_read(db: Settings) -> None:
    kept = await store_with_gaps()
    calls: list[tuple[int, int]] = []

    async def counting(exchange: str, symbol: str, timeframe: str, a: int, b: int) -> Candles:
        calls.append((a, b))
        return await read_candles(exchange, symbol, timeframe, a, b)

    fractions: list[float] = []
    end = START + 10_000 * HOUR_MS
    got = await read_in_parts(counting, "binance", "BTC/USDT", "1h", START, end,
                              fractions.append)
    assert calls == [(START, end)] and fractions == [1.0]
    assert_same(got, kept)


@pytest.mark.asyncio
@pytest.mark.parametrize("reader", ["read_candles", "load_candles"])
@pytest.mark.parametrize("per", [100_000, 10])
async def test_nothing_stored_is_load_candles_error(db: Settings, reader: str, per: int) -> None:
    await store_with_gaps()
    read: CandleReader = read_candles if reader == "read_candles" else load_candles
    start, end = START + 1_300 * HOUR_MS, START + 1_700 * HOUR_MS  # inside the gap
    with pytest.raises(DataError) as want:
        await load_candles("binance", "BTC/USDT", "1h", start, end)
    fractions: list[float] = []
    with pytest.raises(DataError) as got:
        await read_in_parts(read, "binance", "BTC/USDT", "1h", start, end, fractions.append,
                            bars_per_part=per)
    assert str(got.value) == str(want.value)
    if per == 10:  # in parts: every part was read, the error comes after
        assert len(fractions) == 20 and fractions[-1] == 1.0  # max_parts
    else:  # one read: load_candles raises at once, read_candles returns nothing (then the error)
        assert fractions == ([] if reader == "load_candles" else [1.0])


@pytest.mark.asyncio
async def test_other_errors_are_not_swallowed(db: Settings) -> None:
    async def broken(exchange: str, symbol: str, timeframe: str, a: int, b: int) -> Candles:
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        await read_in_parts(broken, "binance", "BTC/USDT", "1h", START, START + 500 * HOUR_MS,
                            lambda _f: None, bars_per_part=10)
