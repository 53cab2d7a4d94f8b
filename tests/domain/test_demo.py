"""Synthetic demo candles: deterministic, always valid, realistic enough, fast."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.candles import find_gaps, validate_candles
from domain.demo import DEMO_START_MS, demo_candles
from domain.errors import DataError
from domain.timeframes import DAY_MS, TIMEFRAMES, is_aligned, iso, timeframe_ms

FIELDS = ("ts", "open", "high", "low", "close", "volume")


def test_defaults() -> None:
    c = demo_candles(100)
    assert c.symbol == "DEMO/USDT" and c.timeframe == "1h" and len(c) == 100
    assert iso(int(c.ts[0])) == "2023-01-01T00:00:00Z" == iso(DEMO_START_MS)
    assert c.open[0] == 100.0
    validate_candles(c)
    assert find_gaps(c) == []


def test_same_seed_same_arrays() -> None:
    a, b = demo_candles(5000, "5m", seed=9), demo_candles(5000, "5m", seed=9)
    for k in FIELDS:
        assert np.array_equal(getattr(a, k), getattr(b, k)), k


def test_different_seeds_differ() -> None:
    a, b = demo_candles(500, seed=1), demo_candles(500, seed=2)
    assert np.array_equal(a.ts, b.ts)
    assert not np.array_equal(a.close, b.close)
    assert not np.array_equal(a.volume, b.volume)


def test_timestamps_are_contiguous() -> None:
    c = demo_candles(1000, "15m", seed=4)
    assert np.all(np.diff(c.ts) == timeframe_ms("15m"))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(TIMEFRAMES), st.integers(1, 3000),
       st.integers(1_500_000_000_000, 1_800_000_000_000))
def test_always_valid(seed: int, tf: str, n: int, start: int) -> None:
    c = demo_candles(n, tf, seed=seed, start_ms=start, symbol="X")
    assert len(c) == n and c.timeframe == tf and c.symbol == "X"
    validate_candles(c)
    assert find_gaps(c) == []
    assert c.ts[0] >= start and c.ts[0] - start < timeframe_ms(tf) + 3 * DAY_MS
    assert np.all(c.volume > 0) and np.all(c.low > 0)
    assert np.array_equal(c.open[1:], c.close[:-1])


def test_start_moves_to_the_next_bar_boundary() -> None:
    sunday = DEMO_START_MS  # 2023-01-01 was a Sunday
    assert iso(int(demo_candles(3, "1w", start_ms=sunday).ts[0])) == "2023-01-02T00:00:00Z"
    assert iso(int(demo_candles(3, "1M", start_ms=sunday + 1).ts[0])) == "2023-02-01T00:00:00Z"
    m = demo_candles(14, "1M")
    assert all(is_aligned(int(t), "1M") for t in m.ts)
    assert iso(int(m.ts[-1])) == "2024-02-01T00:00:00Z"


def test_volatility_regimes_and_volume_follow_returns() -> None:
    c = demo_candles(50_000, "1h", seed=11)
    r = np.diff(np.log(c.close))
    window = 24 * 5
    vol = np.sqrt(np.convolve(r**2, np.ones(window) / window, mode="valid"))
    assert np.quantile(vol, 0.9) > 1.8 * np.quantile(vol, 0.1)  # calm and volatile spells
    assert np.corrcoef(np.abs(r), c.volume[1:])[0, 1] > 0.3
    body = np.maximum(c.open, c.close)
    assert np.mean(c.high > body) > 0.9  # wicks, not flat bars


def test_prices_stay_in_a_plausible_range_over_long_horizons() -> None:
    c = demo_candles(200_000, "1d", seed=3)
    assert c.close.min() >= 0.999 and c.close.max() <= 10_000.01  # reflected into [1, 10000]
    assert c.low.min() > 0.5 and c.high.max() < 20_000  # wicks reach a little beyond
    validate_candles(c)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(DataError, match="n_bars must be >= 0"):
        demo_candles(-1)
    with pytest.raises(DataError, match="unknown timeframe"):
        demo_candles(10, "2d")
    assert len(demo_candles(0)) == 0


def test_a_million_bars_is_fast() -> None:
    t = time.perf_counter()
    c = demo_candles(1_000_000, "1m", seed=7)
    took = time.perf_counter() - t
    assert len(c) == 1_000_000
    assert took < 2.0  # ~0.3 s on a quiet machine
