"""Hand-computed values on tiny series (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np

from domain.candles import Candles
from domain.indicators import ParamValue, compute_indicator
from tests.domain.indicators.data import arrays_candles, hlc_candles

NAN = math.nan


def closes(values: list[float], volume: list[float] | None = None) -> Candles:
    v = volume if volume is not None else [1.0] * len(values)
    return arrays_candles(values, values, values, values, v)


def check(got: np.ndarray, want: list[float]) -> None:
    np.testing.assert_allclose(got, np.array(want, dtype=np.float64), rtol=1e-12, atol=1e-12)


def out(name: str, c: Candles, **params: ParamValue) -> dict[str, np.ndarray]:
    return compute_indicator(name, c, params)


def test_sma() -> None:
    # (1+2+3)/3 = 2, (2+3+4)/3 = 3, (3+4+5)/3 = 4
    check(out("sma", closes([1, 2, 3, 4, 5]), period=3)["value"], [NAN, NAN, 2, 3, 4])


def test_ema_is_seeded_with_the_sma() -> None:
    # alpha = 2/(3+1) = 0.5; seed (2+4+6)/3 = 4; 0.5*8 + 0.5*4 = 6; 0.5*12 + 0.5*6 = 9
    check(out("ema", closes([2, 4, 6, 8, 12]), period=3)["value"], [NAN, NAN, 4, 6, 9])


def test_wma() -> None:
    # weights 1,2,3 (newest 3) / 6: (1*3 + 2*1 + 3*2)/6 = 11/6; (1*1 + 2*2 + 3*6)/6 = 23/6
    check(out("wma", closes([3, 1, 2, 6]), period=3)["value"], [NAN, NAN, 11 / 6, 23 / 6])


def test_rsi() -> None:
    # changes +1, -1, +2, 0. i=2: ag = (1+0)/2 = 0.5, al = (0+1)/2 = 0.5, RS = 1 -> 50
    # i=3: ag = (0.5*1 + 2)/2 = 1.25, al = (0.5*1 + 0)/2 = 0.25, RS = 5 -> 100 - 100/6
    # i=4: ag = (1.25 + 0)/2 = 0.625, al = 0.125, RS = 5 -> 100 - 100/6
    r = 100 - 100 / 6
    check(out("rsi", closes([1, 2, 1, 3, 3]), period=2)["value"], [NAN, NAN, 50, r, r])


def test_rsi_zero_cases() -> None:
    # only gains: avg loss 0 -> 100; no movement at all: 0/0 -> 50; only losses -> 0
    check(out("rsi", closes([1, 2, 3]), period=2)["value"], [NAN, NAN, 100])
    check(out("rsi", closes([5, 5, 5, 5]), period=2)["value"], [NAN, NAN, 50, 50])
    check(out("rsi", closes([3, 2, 1]), period=2)["value"], [NAN, NAN, 0])


def test_macd() -> None:
    # fast=1: EMA = x. slow=2 (alpha 2/3): seed (1+3)/2 = 2; 2/3*5 + 1/3*2 = 4; 2/3*9 + 1/3*4 = 22/3
    # macd = [nan, 3-2, 5-4, 9-22/3] = [nan, 1, 1, 5/3]
    # signal=2 from bar 1: seed (1+1)/2 = 1 at bar 2; 2/3*5/3 + 1/3*1 = 13/9; hist = 0, 5/3-13/9 = 2/9
    o = out("macd", closes([1, 3, 5, 9]), fast=1, slow=2, signal=2)
    check(o["macd"], [NAN, 1, 1, 5 / 3])
    check(o["signal"], [NAN, NAN, 1, 13 / 9])
    check(o["hist"], [NAN, NAN, 0, 2 / 9])


def test_bbands_population_std() -> None:
    # [2,4,4,4,5,5,7,9]: mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; 32/8 = 4; std 2
    # upper = 5 + 2*2 = 9, lower = 5 - 2*2 = 1
    o = out("bbands", closes([2, 4, 4, 4, 5, 5, 7, 9]), period=8, stddev=2.0)
    check(o["middle"], [NAN] * 7 + [5])
    check(o["upper"], [NAN] * 7 + [9])
    check(o["lower"], [NAN] * 7 + [1])


BARS = [(10, 8, 9), (12, 9, 11), (11, 10, 10.5), (11, 11, 11)]  # (high, low, close)


def test_atr() -> None:
    # TR0 = 10-8 = 2; TR1 = max(12-9, |12-9|, |9-9|) = 3; TR2 = max(11-10, |11-11|, |10-11|) = 1
    # ATR(2): bar1 (2+3)/2 = 2.5; bar2 (2.5*1 + 1)/2 = 1.75
    check(out("atr", hlc_candles(BARS[:3]), period=2)["value"], [NAN, 2.5, 1.75])


def test_stoch() -> None:
    # k_period 2: bar1 HH 12 LL 8 -> 100*(11-8)/4 = 75; bar2 HH 12 LL 9 -> 100*(10.5-9)/3 = 50;
    # bar3 HH 11 LL 10 -> 100*(11-10)/1 = 100
    # smooth_k 1: k = raw; d(2) = (75+50)/2 = 62.5, (50+100)/2 = 75
    o = out("stoch", hlc_candles(BARS), k_period=2, d_period=2, smooth_k=1)
    check(o["k"], [NAN, 75, 50, 100])
    check(o["d"], [NAN, NAN, 62.5, 75])
    # smooth_k 2: k = (75+50)/2 = 62.5, (50+100)/2 = 75; d(2) = (62.5+75)/2 = 68.75
    o = out("stoch", hlc_candles(BARS), k_period=2, d_period=2, smooth_k=2)
    check(o["k"], [NAN, NAN, 62.5, 75])
    check(o["d"], [NAN, NAN, NAN, 68.75])


def test_stoch_flat_window_is_50() -> None:
    o = out("stoch", hlc_candles([(5, 5, 5)] * 3), k_period=2, d_period=1, smooth_k=1)
    check(o["k"], [NAN, 50, 50])


def test_roc() -> None:
    # 100*(120/100 - 1) = 20; 100*(99/110 - 1) = -10
    check(out("roc", closes([100, 110, 120, 99]), period=2)["value"], [NAN, NAN, 20, -10])


def test_vwap() -> None:
    # typical (h+l+c)/3: (3+1+2)/3 = 2, (6+2+4)/3 = 4, (9+3+6)/3 = 6, 6; volumes 1, 3, 0, 0
    # bar1: (2*1 + 4*3)/(1+3) = 3.5; bar2: (4*3 + 6*0)/3 = 4; bar3: volumes 0+0 -> NaN
    c = arrays_candles([2, 4, 6, 6], [3, 6, 9, 9], [1, 2, 3, 3], [2, 4, 6, 6], [1, 3, 0, 0])
    check(out("vwap", c, period=2)["value"], [NAN, 3.5, 4, NAN])


def test_donchian_includes_the_current_bar() -> None:
    # highs 3,5,4 lows 1,2,0: bar1 upper max(3,5) = 5, lower min(1,2) = 1, middle 3;
    # bar2 upper max(5,4) = 5, lower min(2,0) = 0, middle 2.5
    c = arrays_candles([2, 3, 2], [3, 5, 4], [1, 2, 0], [2, 3, 2], [1, 1, 1])
    o = out("donchian", c, period=2)
    check(o["upper"], [NAN, 5, 5])
    check(o["lower"], [NAN, 1, 0])
    check(o["middle"], [NAN, 3, 2.5])


def test_obv() -> None:
    # 0; up +6 = 6; equal 6; down -8 = -2; up +9 = 7
    c = closes([1, 2, 2, 1, 3], volume=[5, 6, 7, 8, 9])
    check(out("obv", c)["value"], [0, 6, 6, -2, 7])


def test_adx() -> None:
    # bar1: up 12-10 = 2, down 8-9 = -1 -> +DM 2, -DM 0; TR max(3, 3, 0) = 3
    # bar2: up 1, down 9-11 = -2 -> +DM 1, -DM 0; TR max(2, |13-11|, |11-11|) = 2
    # bar3: up -1, down 11-8 = 3 -> +DM 0, -DM 3; TR max(4, |12-12|, |8-12|) = 4
    # bar4: up -1, down 8-7 = 1 -> +DM 0, -DM 1; TR max(4, |11-9|, |7-9|) = 4
    # period 2, bar2: sTR (3+2)/2 = 2.5, s+ (2+1)/2 = 1.5, s- 0 -> +DI 60, -DI 0, DX 100
    # bar3: sTR (2.5+4)/2 = 3.25, s+ 0.75, s- 1.5 -> +DI 300/13, -DI 600/13, DX 100*300/900 = 100/3
    #       ADX = (100 + 100/3)/2 = 200/3
    # bar4: sTR 3.625, s+ 0.375, s- 1.25 -> +DI 300/29, -DI 1000/29, DX 100*700/1300 = 700/13
    #       ADX = (200/3 + 700/13)/2 = 2350/39
    bars = [(10, 8, 9), (12, 9, 11), (13, 11, 12), (12, 8, 9), (11, 7, 8)]
    o = out("adx", hlc_candles(bars), period=2)
    check(o["plus_di"], [NAN, NAN, 60, 300 / 13, 300 / 29])
    check(o["minus_di"], [NAN, NAN, 0, 600 / 13, 1000 / 29])
    check(o["adx"], [NAN, NAN, NAN, 200 / 3, 2350 / 39])


def test_adx_flat_market_is_zero() -> None:
    # no range, no movement: sTR = 0 -> both DI 0; DI sum 0 -> DX 0
    o = out("adx", hlc_candles([(5, 5, 5)] * 4), period=1)
    check(o["plus_di"], [NAN, 0, 0, 0])
    check(o["adx"], [NAN, 0, 0, 0])


def test_rolling_sums_do_not_drift_after_a_spike() -> None:
    # a 1e16 spike on bar 0, then 1, 2, 3, ...: once the spike has left the window, a naive
    # running sum has lost the small values (1e16 + 1 == 1e16 in float64); the compensated,
    # periodically recomputed sums give the exact small-number results
    n = 3
    x = [1e16] + [float(k) for k in range(1, 30)]
    c = closes(x, volume=[1.0] * len(x))
    sma = out("sma", c, period=n)["value"]
    wma = out("wma", c, period=n)["value"]
    bb = out("bbands", c, period=n, stddev=1.0)
    vwap = out("vwap", c, period=n)["value"]
    for i in range(n, len(x)):
        a, b, d = x[i - 2], x[i - 1], x[i]  # consecutive integers: mean b, population var 2/3
        assert sma[i] == b == vwap[i]
        assert wma[i] == (1 * a + 2 * b + 3 * d) / 6
        assert abs(bb["upper"][i] - (b + (2 / 3) ** 0.5)) < 1e-12
