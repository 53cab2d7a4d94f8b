"""The registry and ``compute_indicator``: declared outputs, defaults, parameter checks, price
series."""

from __future__ import annotations

import numpy as np
import pytest

from domain.indicators import (
    INDICATORS,
    PRICE_FIELDS,
    IndicatorSpec,
    ParamSpec,
    compute_indicator,
    price_series,
)
from tests.domain.indicators.data import arrays_candles, random_candles

NAMES = ["sma", "ema", "wma", "rsi", "macd", "bbands", "atr", "stoch", "roc", "vwap", "donchian", "obv", "adx"]  # fmt: skip


def test_registry_has_every_indicator() -> None:
    assert sorted(INDICATORS) == sorted(NAMES)
    for name, spec in INDICATORS.items():
        assert isinstance(spec, IndicatorSpec) and spec.name == name == name.lower()
        assert spec.title and spec.description and spec.outputs
        assert spec.default_output == spec.outputs[0]
        assert len(set(spec.param_names)) == len(spec.params)
        for p in spec.params:
            assert isinstance(p, ParamSpec) and p.description
            assert p.check(p.default) is None
            if p.kind == "source":
                assert p.default == "close" and p.minimum is None
            else:
                assert p.minimum is not None


def test_declared_outputs_and_params() -> None:
    assert INDICATORS["macd"].outputs == ("macd", "signal", "hist")
    assert INDICATORS["bbands"].outputs == ("middle", "upper", "lower")
    assert INDICATORS["stoch"].outputs == ("k", "d")
    assert INDICATORS["donchian"].outputs == ("upper", "lower", "middle")
    assert INDICATORS["adx"].outputs == ("adx", "plus_di", "minus_di")
    assert INDICATORS["rsi"].param("period").default == 14
    assert INDICATORS["macd"].param_names == ("fast", "slow", "signal", "source")
    assert INDICATORS["stoch"].resolve() == {"k_period": 14, "d_period": 3, "smooth_k": 3}
    assert INDICATORS["bbands"].resolve() == {"period": 20, "stddev": 2.0, "source": "close"}
    assert INDICATORS["obv"].params == ()
    with_source = {n for n, s in INDICATORS.items() if "source" in s.param_names}
    assert with_source == {"sma", "ema", "wma", "rsi", "macd", "bbands", "roc"}


@pytest.mark.parametrize("name", NAMES)
def test_compute_returns_every_output_with_the_candles_length(name: str) -> None:
    c = random_candles(seed=1, n=80)
    outs = compute_indicator(name, c, {})
    assert tuple(outs) == INDICATORS[name].outputs
    for series in outs.values():
        assert series.dtype == np.float64 and series.shape == (80,)


@pytest.mark.parametrize("name", NAMES)
def test_missing_params_take_their_defaults(name: str) -> None:
    c = random_candles(seed=2, n=80)
    spec = INDICATORS[name]
    explicit = {p.name: p.default for p in spec.params}
    got, want = compute_indicator(name, c, {}), compute_indicator(name, c, explicit)
    for out in spec.outputs:
        np.testing.assert_array_equal(got[out], want[out])


def test_integral_floats_are_accepted_as_integers() -> None:
    c = random_candles(seed=4, n=30)
    a = compute_indicator("sma", c, {"period": 5.0})["value"]
    np.testing.assert_array_equal(a, compute_indicator("sma", c, {"period": 5})["value"])
    assert INDICATORS["sma"].resolve({"period": 5.0}) == {"period": 5, "source": "close"}


def test_source_selects_the_price_series() -> None:
    c = random_candles(seed=5, n=30)
    a = compute_indicator("sma", c, {"period": 1, "source": "hl2"})["value"]
    np.testing.assert_allclose(a, (c.high + c.low) / 2, rtol=1e-15)


def test_unknown_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        compute_indicator("nope", random_candles(seed=0, n=5), {})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": 0}, "sma.period: must be an integer >= 1, got 0"),
        ({"period": -3}, "sma.period: must be an integer >= 1, got -3"),
        ({"period": 2.5}, "sma.period: must be an integer >= 1, got 2.5"),
        ({"period": True}, "sma.period: must be an integer >= 1, got True"),
        ({"source": "vwap"}, "sma.source: must be one of open, high, low, close, volume"),
        ({"length": 3}, "sma: unknown parameter(s) length; expected period, source"),
    ],
)
def test_bad_params_are_value_errors(params: dict[str, float | str], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        compute_indicator("sma", random_candles(seed=0, n=5), params)


def test_param_check_messages() -> None:
    stddev = INDICATORS["bbands"].param("stddev")
    assert stddev.check(0) is None and stddev.check(1.5) is None
    assert stddev.check(-1) == "must be a number >= 0, got -1"
    assert stddev.check(float("nan")) == "must be a number >= 0, got nan"
    assert stddev.check("2") == "must be a number >= 0, got '2'"
    with pytest.raises(KeyError):
        INDICATORS["bbands"].param("nope")


def test_warmup_per_output_and_overall() -> None:
    macd = INDICATORS["macd"]
    assert macd.warmup() == 33
    assert macd.warmup(output="macd") == 25
    assert macd.warmup({"fast": 3, "slow": 5, "signal": 2}, "signal") == 5
    assert INDICATORS["adx"].warmup({"period": 14}, "plus_di") == 14
    assert INDICATORS["adx"].warmup({"period": 14}) == 27
    assert INDICATORS["stoch"].warmup({"smooth_k": 1}, "k") == 13
    assert INDICATORS["obv"].warmup() == 0
    with pytest.raises(ValueError, match="has no output 'nope'"):
        macd.warmup(output="nope")


def test_price_series() -> None:
    c = arrays_candles([1.0], [4.0], [0.5], [2.5], [7.0])
    assert PRICE_FIELDS == ("open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4")
    want = {
        "open": 1.0,
        "high": 4.0,
        "low": 0.5,
        "close": 2.5,
        "volume": 7.0,
        "hl2": (4.0 + 0.5) / 2,
        "hlc3": (4.0 + 0.5 + 2.5) / 3,
        "ohlc4": (1.0 + 4.0 + 0.5 + 2.5) / 4,
    }
    for field in PRICE_FIELDS:
        got = price_series(c, field)
        assert got.dtype == np.float64 and got.tolist() == [want[field]], field
    with pytest.raises(ValueError, match="unknown price field 'vwap'; use one of open, high"):
        price_series(c, "vwap")


def test_inputs_are_not_modified() -> None:
    c = random_candles(seed=6, n=50)
    before = [a.copy() for a in (c.open, c.high, c.low, c.close, c.volume)]
    for name in NAMES:
        compute_indicator(name, c, {})
    for a, b in zip(before, (c.open, c.high, c.low, c.close, c.volume), strict=True):
        np.testing.assert_array_equal(a, b)
