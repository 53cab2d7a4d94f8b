"""The registry of indicators: each one's spec and the glue from candles to its kernel.

``domain.indicators.api`` re-exports ``INDICATORS``; the kernels are in ``nb.py`` and
``nb_osc.py``, each with its exact definition in its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from domain.candles import Candles
from domain.indicators import nb, nb_osc
from domain.indicators.prices import PRICE_FIELDS, price_series
from domain.indicators.spec import F64, IndicatorSpec, Params, ParamSpec

__all__ = ["INDICATORS"]

# -- helpers -------------------------------------------------------------------------------------


def _f64(a: F64) -> F64:
    return np.ascontiguousarray(a, dtype=np.float64)


def _src(c: Candles, p: Params) -> F64:
    return _f64(price_series(c, str(p["source"])))


def _hlc(c: Candles) -> tuple[F64, F64, F64]:
    return _f64(c.high), _f64(c.low), _f64(c.close)


def _i(p: Params, key: str) -> int:
    return int(p[key])


def _period(default: int) -> ParamSpec:
    return ParamSpec("period", "int", default, 1, "number of bars in the window")


_SOURCE = ParamSpec(
    "source", "source", "close", None, "price series read: " + ", ".join(PRICE_FIELDS)
)


# -- computations (resolved params) --------------------------------------------------------------


def _sma(c: Candles, p: Params) -> dict[str, F64]:
    return {"value": nb.sma_nb(_src(c, p), _i(p, "period"))}


def _ema(c: Candles, p: Params) -> dict[str, F64]:
    return {"value": nb.ema_nb(_src(c, p), _i(p, "period"))}


def _wma(c: Candles, p: Params) -> dict[str, F64]:
    return {"value": nb.wma_nb(_src(c, p), _i(p, "period"))}


def _rsi(c: Candles, p: Params) -> dict[str, F64]:
    return {"value": nb_osc.rsi_nb(_src(c, p), _i(p, "period"))}


def _macd(c: Candles, p: Params) -> dict[str, F64]:
    line, sig, hist = nb_osc.macd_nb(_src(c, p), _i(p, "fast"), _i(p, "slow"), _i(p, "signal"))
    return {"macd": line, "signal": sig, "hist": hist}


def _bbands(c: Candles, p: Params) -> dict[str, F64]:
    mid, up, lo = nb.bbands_nb(_src(c, p), _i(p, "period"), float(p["stddev"]))
    return {"middle": mid, "upper": up, "lower": lo}


def _atr(c: Candles, p: Params) -> dict[str, F64]:
    return {"value": nb_osc.atr_nb(*_hlc(c), _i(p, "period"))}


def _stoch(c: Candles, p: Params) -> dict[str, F64]:
    k, d = nb_osc.stoch_nb(*_hlc(c), _i(p, "k_period"), _i(p, "d_period"), _i(p, "smooth_k"))
    return {"k": k, "d": d}


def _roc(c: Candles, p: Params) -> dict[str, F64]:
    return {"value": nb.roc_nb(_src(c, p), _i(p, "period"))}


def _vwap(c: Candles, p: Params) -> dict[str, F64]:
    typical = _f64(price_series(c, "hlc3"))
    return {"value": nb.vwap_nb(typical, _f64(c.volume), _i(p, "period"))}


def _donchian(c: Candles, p: Params) -> dict[str, F64]:
    up, lo, mid = nb.donchian_nb(_f64(c.high), _f64(c.low), _i(p, "period"))
    return {"upper": up, "lower": lo, "middle": mid}


def _obv(c: Candles, p: Params) -> dict[str, F64]:
    return {"value": nb.obv_nb(_f64(c.close), _f64(c.volume))}


def _adx(c: Candles, p: Params) -> dict[str, F64]:
    adx, pdi, mdi = nb_osc.adx_nb(*_hlc(c), _i(p, "period"))
    return {"adx": adx, "plus_di": pdi, "minus_di": mdi}


def _macd_warmup(p: Params) -> tuple[int, int, int]:
    line = max(_i(p, "fast"), _i(p, "slow")) - 1
    sig = line + _i(p, "signal") - 1
    return line, sig, sig


def _stoch_warmup(p: Params) -> tuple[int, int]:
    k = _i(p, "k_period") + _i(p, "smooth_k") - 2
    return k, k + _i(p, "d_period") - 1


def _window(p: Params) -> tuple[int, ...]:
    return (_i(p, "period") - 1,)


# -- the registry --------------------------------------------------------------------------------

_SPECS = (
    IndicatorSpec(
        "sma",
        "Simple moving average",
        (_period(20), _SOURCE),
        ("value",),
        "Mean of the last `period` values of `source`. Warm-up: period - 1 bars.",
        _window,
        _sma,
    ),
    IndicatorSpec(
        "ema",
        "Exponential moving average",
        (_period(20), _SOURCE),
        ("value",),
        "alpha = 2 / (period + 1), seeded with the SMA of the first `period` values "
        "(TradingView ta.ema, TA-Lib EMA). Warm-up: period - 1 bars.",
        _window,
        _ema,
    ),
    IndicatorSpec(
        "wma",
        "Weighted moving average",
        (_period(20), _SOURCE),
        ("value",),
        "Linear weights, newest bar `period`, oldest 1, divided by period*(period+1)/2 "
        "(TradingView ta.wma, TA-Lib WMA). Warm-up: period - 1 bars.",
        _window,
        _wma,
    ),
    IndicatorSpec(
        "rsi",
        "Relative strength index",
        (_period(14), _SOURCE),
        ("value",),
        "Wilder's RSI: gains/losses Wilder-smoothed, seeded with their simple averages over the "
        "first `period` changes (TradingView ta.rsi, TA-Lib RSI); 100 when the average loss is 0, "
        "50 when both averages are 0. Warm-up: period bars.",
        lambda p: (_i(p, "period"),),
        _rsi,
    ),
    IndicatorSpec(
        "macd",
        "Moving average convergence/divergence",
        (
            ParamSpec("fast", "int", 12, 1, "period of the fast EMA"),
            ParamSpec("slow", "int", 26, 1, "period of the slow EMA"),
            ParamSpec("signal", "int", 9, 1, "period of the signal EMA (of the MACD line)"),
            _SOURCE,
        ),
        ("macd", "signal", "hist"),
        "macd = EMA(fast) - EMA(slow); signal = EMA(macd, signal); hist = macd - signal; SMA-seeded "
        "EMAs (TradingView ta.macd). Warm-up: macd max(fast, slow) - 1 bars, signal and hist "
        "max(fast, slow) + signal - 2 bars.",
        _macd_warmup,
        _macd,
    ),
    IndicatorSpec(
        "bbands",
        "Bollinger Bands",
        (
            _period(20),
            ParamSpec("stddev", "float", 2.0, 0.0, "band width in standard deviations"),
            _SOURCE,
        ),
        ("middle", "upper", "lower"),
        "middle = SMA(period); upper/lower = middle +/- stddev * population standard deviation "
        "(ddof=0) of the same window (TradingView ta.bb, TA-Lib BBANDS). Warm-up: period - 1 bars.",
        lambda p: (_i(p, "period") - 1,) * 3,
        _bbands,
    ),
    IndicatorSpec(
        "atr",
        "Average true range",
        (_period(14),),
        ("value",),
        "Wilder-smoothed true range; TR uses the previous close, the first bar's TR is high - low; "
        "seeded with the mean of the first `period` TRs (TradingView ta.atr). "
        "Warm-up: period - 1 bars.",
        _window,
        _atr,
    ),
    IndicatorSpec(
        "stoch",
        "Stochastic oscillator",
        (
            ParamSpec("k_period", "int", 14, 1, "bars of the highest-high / lowest-low window"),
            ParamSpec("d_period", "int", 3, 1, "SMA period of %D (of %K)"),
            ParamSpec("smooth_k", "int", 3, 1, "SMA period smoothing %K (1: fast stochastic)"),
        ),
        ("k", "d"),
        "raw = 100 * (close - lowest low) / (highest high - lowest low) over the last k_period bars "
        "incl. the current one (50 when the range is 0); k = SMA(raw, smooth_k); d = SMA(k, "
        "d_period) (TradingView Stoch 14/3/3). Warm-up: k k_period + smooth_k - 2 bars, d "
        "k_period + smooth_k + d_period - 3 bars.",
        _stoch_warmup,
        _stoch,
    ),
    IndicatorSpec(
        "roc",
        "Rate of change",
        (_period(10), _SOURCE),
        ("value",),
        "100 * (x / x[period bars ago] - 1), NaN where the old value is 0 (TA-Lib ROC, "
        "TradingView ta.roc). Warm-up: period bars.",
        lambda p: (_i(p, "period"),),
        _roc,
    ),
    IndicatorSpec(
        "vwap",
        "Rolling volume-weighted average price",
        (_period(20),),
        ("value",),
        "sum(hlc3 * volume) / sum(volume) over the last `period` bars; NaN when every volume in "
        "the window is 0. Warm-up: period - 1 bars.",
        _window,
        _vwap,
    ),
    IndicatorSpec(
        "donchian",
        "Donchian channel",
        (_period(20),),
        ("upper", "lower", "middle"),
        "upper = highest high, lower = lowest low of the last `period` bars INCLUDING the current "
        "one; middle = (upper + lower) / 2 (TradingView ta.highest/ta.lowest). For breakouts "
        "compare with the previous bar's channel (bars_ago: 1). Warm-up: period - 1 bars.",
        lambda p: (_i(p, "period") - 1,) * 3,
        _donchian,
    ),
    IndicatorSpec(
        "obv",
        "On-balance volume",
        (),
        ("value",),
        "0 on the first bar, then + volume on an up close, - volume on a down close, unchanged "
        "on an equal close. No warm-up.",
        lambda p: (0,),
        _obv,
    ),
    IndicatorSpec(
        "adx",
        "Average directional index",
        (_period(14),),
        ("adx", "plus_di", "minus_di"),
        "Wilder's DMI/ADX (TA-Lib ADX, TradingView ta.dmi): +DM/-DM/TR Wilder-smoothed from bar "
        "1; DI = 100 * sm(DM) / sm(TR) (0 when sm(TR) is 0); DX = 100 * |+DI - -DI| / (+DI + -DI) "
        "(0 when both are 0); adx = DX Wilder-smoothed. Warm-up: DI period bars, adx "
        "2 * period - 1 bars.",
        lambda p: (2 * _i(p, "period") - 1, _i(p, "period"), _i(p, "period")),
        _adx,
    ),
)

INDICATORS: dict[str, IndicatorSpec] = {s.name: s for s in _SPECS}
"""Every indicator by name (lower-case)."""


def _check_registry(specs: Mapping[str, IndicatorSpec]) -> None:
    for spec in specs.values():
        assert spec.name == spec.name.lower() and spec.outputs
        assert len(spec.warmup_fn(spec.resolve())) == len(spec.outputs)


_check_registry(INDICATORS)
