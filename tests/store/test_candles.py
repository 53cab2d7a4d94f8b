from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tortoise.exceptions import IntegrityError

from domain.candles import Candles
from domain.demo import demo_candles
from domain.errors import DataError
from domain.timeframes import HOUR_MS
from store import candles as store_candles
from store.candles import coverage, delete_candles, last_ts, read_candles, write_candles
from store.db import close_db, init_db, is_postgres
from store.errors import SchemaNotReady
from store.models import MarketData
from store.settings import Settings

pytestmark = pytest.mark.asyncio
START = 1_704_067_200_000  # 2024-01-01T00:00Z
COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def hourly(n: int, start: int = START, symbol: str = "BTC/USDT") -> Candles:
    return demo_candles(n_bars=n, timeframe="1h", seed=7, start_ms=start, symbol=symbol)


def assert_same(got: Candles, want: Candles) -> None:
    for name in COLUMNS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, name
        assert a.flags.c_contiguous, name
        np.testing.assert_array_equal(a, b, err_msg=name)  # exact, not approximately


async def test_roundtrip_returns_the_same_arrays(db: Settings) -> None:
    c = hourly(500)
    assert await write_candles("binance", "BTC/USDT", "1h", c) == 500
    got = await read_candles("binance", "BTC/USDT", "1h")
    assert (got.symbol, got.timeframe, len(got)) == ("BTC/USDT", "1h", 500)
    assert_same(got, c)


async def test_awkward_floats_survive_exactly(db: Settings) -> None:
    n = 6
    ts = START + HOUR_MS * np.arange(n, dtype=np.int64)
    price = np.array([0.1, 1e-300, 123456789.123456789, 2.0**-1074, 1 / 3, 7e15])
    c = Candles(ts, price, price * 2, price / 2, price, np.array([0.0, 5e-324, 1e300, 1, 2, 3.5]))
    assert await write_candles("x", "ODD/USDT", "1h", c) == n
    assert_same(await read_candles("x", "ODD/USDT", "1h"), c)


async def test_writing_twice_stores_once(db: Settings) -> None:
    c = hourly(300)
    assert await write_candles("binance", "BTC/USDT", "1h", c) == 300
    assert await write_candles("binance", "BTC/USDT", "1h", c) == 0
    assert await MarketData.all().count() == 300
    assert_same(await read_candles("binance", "BTC/USDT", "1h"), c)


async def test_overlapping_write_adds_only_new_rows_and_keeps_the_first(db: Settings) -> None:
    c = hourly(200)
    await write_candles("binance", "BTC/USDT", "1h", c.take(0, 120))
    changed = c.take(100, 200)
    changed = Candles(changed.ts, changed.open + 1, changed.high + 1, changed.low + 1,
                      changed.close + 1, changed.volume, changed.symbol, changed.timeframe)
    assert await write_candles("binance", "BTC/USDT", "1h", changed) == 80
    got = await read_candles("binance", "BTC/USDT", "1h")
    assert_same(got.take(0, 120), c.take(0, 120))  # the first write wins
    np.testing.assert_array_equal(got.close[120:], c.close[120:] + 1)


async def test_thousand_row_batches_across_calls(db: Settings) -> None:
    c = hourly(5_000)
    new = [await write_candles("binance", "BTC/USDT", "1h", c.take(i, i + 1_000))
           for i in range(0, 5_000, 1_000)]
    assert new == [1_000] * 5
    assert_same(await read_candles("binance", "BTC/USDT", "1h"), c)
    assert await last_ts("binance", "BTC/USDT", "1h") == int(c.ts[-1])


async def test_series_are_kept_apart(db: Settings) -> None:
    a, b = hourly(50), hourly(50, symbol="ETH/USDT")
    await write_candles("binance", "BTC/USDT", "1h", a)
    await write_candles("binance", "ETH/USDT", "1h", b)
    unnamed = Candles(b.ts[:10], b.open[:10], b.high[:10], b.low[:10], b.close[:10], b.volume[:10])
    await write_candles("kraken", "BTC/USDT", "1h", unnamed)
    assert_same(await read_candles("binance", "ETH/USDT", "1h"), b)
    assert len(await read_candles("kraken", "BTC/USDT", "1h")) == 10
    assert len(await read_candles("binance", "BTC/USDT", "4h")) == 0
    assert await last_ts("binance", "BTC/USDT", "4h") is None


async def test_range_is_start_inclusive_end_exclusive(db: Settings) -> None:
    c = hourly(100)
    await write_candles("binance", "BTC/USDT", "1h", c)
    t = c.ts

    async def rng(start: int | None, end: int | None) -> np.ndarray:
        return (await read_candles("binance", "BTC/USDT", "1h", start, end)).ts

    np.testing.assert_array_equal(await rng(int(t[10]), int(t[20])), t[10:20])
    np.testing.assert_array_equal(await rng(int(t[10]) - 1, int(t[20]) + 1), t[10:21])
    np.testing.assert_array_equal(await rng(int(t[10]) + 1, int(t[20]) - 1), t[11:20])
    np.testing.assert_array_equal(await rng(None, int(t[3])), t[:3])
    np.testing.assert_array_equal(await rng(int(t[97]), None), t[97:])
    assert len(await rng(int(t[20]), int(t[20]))) == 0
    assert len(await rng(int(t[20]), int(t[10]))) == 0
    assert len(await rng(int(t[-1]) + 1, None)) == 0
    empty = await read_candles("binance", "BTC/USDT", "1h", int(t[-1]) + 1)
    assert empty.ts.dtype == np.int64 and empty.close.dtype == np.float64


async def test_coverage_reports_counts_and_missing_ranges(db: Settings) -> None:
    c = hourly(100)
    keep = np.ones(100, dtype=bool)
    keep[[10, 11, 12, 50]] = False
    holes = Candles(c.ts[keep], c.open[keep], c.high[keep], c.low[keep], c.close[keep],
                    c.volume[keep], c.symbol, "1h")
    await write_candles("binance", "BTC/USDT", "1h", holes)
    await write_candles("binance", "ETH/USDT", "1h", hourly(24, symbol="ETH/USDT"))
    await write_candles("demo", "DEMO/USDT", "1d", demo_candles(n_bars=3, timeframe="1d"))
    found = await coverage()
    assert [(x.exchange, x.symbol, x.timeframe) for x in found] == [
        ("binance", "BTC/USDT", "1h"), ("binance", "ETH/USDT", "1h"), ("demo", "DEMO/USDT", "1d")]
    btc = found[0]
    assert (btc.first_ts, btc.last_ts, btc.count) == (int(c.ts[0]), int(c.ts[-1]), 96)
    assert btc.missing == [(int(c.ts[10]), int(c.ts[12])), (int(c.ts[50]), int(c.ts[50]))]
    assert btc.missing_bars == 4
    assert found[1].missing == [] and found[1].missing_bars == 0
    only = await coverage(exchange="binance", symbol="ETH/USDT", timeframe="1h")
    assert [x.symbol for x in only] == ["ETH/USDT"]
    assert await coverage(exchange="nowhere") == []


async def test_delete_candles(db: Settings) -> None:
    c = hourly(100)
    await write_candles("binance", "BTC/USDT", "1h", c)
    await write_candles("binance", "ETH/USDT", "1h", hourly(10, symbol="ETH/USDT"))
    assert await delete_candles("binance", "BTC/USDT", "1h", int(c.ts[90]), None) == 10
    assert await delete_candles("binance", "BTC/USDT", "1h", None, int(c.ts[5])) == 5
    assert len(await read_candles("binance", "BTC/USDT", "1h")) == 85
    assert await delete_candles("binance") == 95
    assert await coverage() == []


async def test_the_unique_key_is_enforced_by_the_database(db: Settings) -> None:
    row: dict[str, Any] = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h", "ts": START,
           "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}
    await MarketData.create(**row)
    with pytest.raises(IntegrityError):
        await MarketData.create(**row)
    await MarketData.create(**{**row, "timeframe": "4h"})
    assert await MarketData.all().count() == 2


async def test_invalid_candles_are_refused_before_writing(db: Settings) -> None:
    c = hourly(10)
    unsorted = Candles(c.ts[::-1].copy(), c.open, c.high, c.low, c.close, c.volume)
    with pytest.raises(DataError, match="not sorted"):
        await write_candles("binance", "BTC/USDT", "1h", unsorted)
    nan = c.close.copy()
    nan[3] = np.nan
    with pytest.raises(DataError, match="row 4"):
        await write_candles("binance", "BTC/USDT", "1h", Candles(
            c.ts, c.open, np.maximum(c.high, 1e9), np.minimum(c.low, 0), nan, c.volume))
    with pytest.raises(DataError, match="timeframe"):
        await write_candles("binance", "BTC/USDT", "4h", c)  # the 1h candles say otherwise
    with pytest.raises(DataError, match="1 to 32 characters"):
        await write_candles("binance", "X" * 33, "1h", Candles(
            c.ts, c.open, c.high, c.low, c.close, c.volume))
    assert await write_candles("binance", "BTC/USDT", "1h", c.take(0, 0)) == 0
    assert await MarketData.all().count() == 0


async def test_postgres_falls_back_to_on_conflict(pg_db: Settings,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the anti-join, the batch hits the unique key; ON CONFLICT then skips it."""
    assert is_postgres()
    c = hourly(50)
    await write_candles("binance", "BTC/USDT", "1h", c.take(0, 30))
    monkeypatch.setattr(store_candles, "_PG_NEW_ONLY", " WHERE $4::bigint <= $5::bigint")
    assert await write_candles("binance", "BTC/USDT", "1h", c) == 20
    assert_same(await read_candles("binance", "BTC/USDT", "1h"), c)


async def test_unmigrated_database_says_to_migrate(empty_url: str) -> None:
    await init_db(Settings(database_url=empty_url))
    try:
        with pytest.raises(SchemaNotReady, match="backtest db migrate"):
            await read_candles("binance", "BTC/USDT", "1h")
        with pytest.raises(SchemaNotReady, match="backtest db migrate"):
            await write_candles("binance", "BTC/USDT", "1h", hourly(3))
        with pytest.raises(SchemaNotReady):
            await coverage()
    finally:
        await close_db()
