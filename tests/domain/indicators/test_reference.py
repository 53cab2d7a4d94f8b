"""Kernels against the plain-Python references: random walks of several lengths (including
shorter than the warm-up) and hypothesis-drawn candles full of ties and flat stretches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.candles import Candles
from domain.indicators import INDICATORS, ParamValue, compute_indicator
from tests.domain.indicators import reference as ref
from tests.domain.indicators.data import candles_st, random_candles, with_flat_stretches

Series = list[float]


def ref_source(c: Candles, field: str) -> Series:
    o, h, lo, cl, v = (a.tolist() for a in (c.open, c.high, c.low, c.close, c.volume))
    idx = range(len(cl))
    table: dict[str, Series] = {
        "open": o,
        "high": h,
        "low": lo,
        "close": cl,
        "volume": v,
        "hl2": [(h[i] + lo[i]) / 2 for i in idx],
        "hlc3": [(h[i] + lo[i] + cl[i]) / 3 for i in idx],
        "ohlc4": [(o[i] + h[i] + lo[i] + cl[i]) / 4 for i in idx],
    }
    return table[field]


def _int(p: dict[str, ParamValue], key: str) -> int:
    return int(p[key])


def reference_outputs(name: str, c: Candles, p: dict[str, ParamValue]) -> dict[str, Series]:
    """The reference's outputs for ``name`` with fully resolved params ``p``."""
    h, lo, cl, v = (a.tolist() for a in (c.high, c.low, c.close, c.volume))
    x = ref_source(c, str(p["source"])) if "source" in p else cl
    n = _int(p, "period") if "period" in p else 0
    if name == "sma":
        return {"value": ref.sma(x, n)}
    if name == "ema":
        return {"value": ref.ema(x, n)}
    if name == "wma":
        return {"value": ref.wma(x, n)}
    if name == "rsi":
        return {"value": ref.rsi(x, n)}
    if name == "macd":
        line, sig, hist = ref.macd(x, _int(p, "fast"), _int(p, "slow"), _int(p, "signal"))
        return {"macd": line, "signal": sig, "hist": hist}
    if name == "bbands":
        mid, up, dn = ref.bbands(x, n, float(p["stddev"]))
        return {"middle": mid, "upper": up, "lower": dn}
    if name == "atr":
        return {"value": ref.atr(h, lo, cl, n)}
    if name == "stoch":
        k, d = ref.stoch(h, lo, cl, _int(p, "k_period"), _int(p, "d_period"), _int(p, "smooth_k"))
        return {"k": k, "d": d}
    if name == "roc":
        return {"value": ref.roc(x, n)}
    if name == "vwap":
        return {"value": ref.vwap(h, lo, cl, v, n)}
    if name == "donchian":
        up, dn, mid = ref.donchian(h, lo, n)
        return {"upper": up, "lower": dn, "middle": mid}
    if name == "obv":
        return {"value": ref.obv(cl, v)}
    if name == "adx":
        a, pdi, mdi = ref.adx(h, lo, cl, n)
        return {"adx": a, "plus_di": pdi, "minus_di": mdi}
    raise AssertionError(name)


def assert_matches(name: str, c: Candles, params: dict[str, ParamValue]) -> None:
    spec = INDICATORS[name]
    resolved = spec.resolve(params)
    got = compute_indicator(name, c, params)
    want = reference_outputs(name, c, resolved)
    assert list(got) == list(spec.outputs) == list(want)
    scale = max([1.0, *np.abs(c.high).tolist(), *np.abs(c.volume).tolist()])
    for out in spec.outputs:
        g, w = got[out], np.array(want[out], dtype=np.float64)
        assert g.dtype == np.float64 and g.shape == (len(c),)
        assert np.array_equal(np.isnan(g), np.isnan(w)), f"{name}.{out} NaN positions differ"
        ok = ~np.isnan(w)
        # bands: sqrt of a variance near 0 amplifies rounding, hence the looser absolute bound
        atol = (1e-7 if name == "bbands" else 1e-9) * scale
        np.testing.assert_allclose(g[ok], w[ok], rtol=1e-9, atol=atol, err_msg=f"{name}.{out}")


# (name, params) pairs: defaults, small periods, period 1, other sources
CASES: list[tuple[str, dict[str, ParamValue]]] = [
    ("sma", {}),
    ("sma", {"period": 1}),
    ("sma", {"period": 3, "source": "hlc3"}),
    ("ema", {}),
    ("ema", {"period": 1}),
    ("ema", {"period": 4, "source": "ohlc4"}),
    ("wma", {}),
    ("wma", {"period": 1}),
    ("wma", {"period": 5, "source": "hl2"}),
    ("rsi", {}),
    ("rsi", {"period": 1}),
    ("rsi", {"period": 3, "source": "open"}),
    ("macd", {}),
    ("macd", {"fast": 3, "slow": 7, "signal": 2}),
    ("macd", {"fast": 8, "slow": 4, "signal": 1}),
    ("bbands", {}),
    ("bbands", {"period": 1}),
    ("bbands", {"period": 5, "stddev": 1.5, "source": "low"}),
    ("atr", {}),
    ("atr", {"period": 1}),
    ("stoch", {}),
    ("stoch", {"k_period": 1, "d_period": 1, "smooth_k": 1}),
    ("stoch", {"k_period": 5, "d_period": 2, "smooth_k": 1}),
    ("roc", {}),
    ("roc", {"period": 1, "source": "volume"}),
    ("vwap", {}),
    ("vwap", {"period": 1}),
    ("donchian", {}),
    ("donchian", {"period": 1}),
    ("obv", {}),
    ("adx", {}),
    ("adx", {"period": 1}),
    ("adx", {"period": 3}),
]


def test_cases_cover_every_indicator() -> None:
    assert {name for name, _ in CASES} == set(INDICATORS)


@pytest.mark.parametrize(("name", "params"), CASES)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 13, 40, 250])
def test_matches_reference_on_random_walks(
    name: str, params: dict[str, ParamValue], length: int
) -> None:
    assert_matches(name, random_candles(seed=length, n=length), params)


@pytest.mark.parametrize(("name", "params"), CASES)
def test_matches_reference_with_flat_stretches_and_no_volume(
    name: str, params: dict[str, ParamValue]
) -> None:
    assert_matches(name, with_flat_stretches(random_candles(seed=11, n=80)), params)


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_matches_reference_at_a_high_price_level(name: str) -> None:
    # rolling sums and variances must not lose precision at BTC-like prices
    assert_matches(name, random_candles(seed=7, n=300, level=60_000.0), {})


def _params_st(name: str) -> st.SearchStrategy[dict[str, ParamValue]]:
    spec = INDICATORS[name]
    fields: dict[str, st.SearchStrategy[ParamValue]] = {}
    for p in spec.params:
        if p.kind == "int":
            fields[p.name] = st.integers(1, 6)
        elif p.kind == "float":
            fields[p.name] = st.floats(0.0, 3.0)
        else:
            fields[p.name] = st.sampled_from(["close", "open", "hl2", "hlc3", "ohlc4", "volume"])
    return st.fixed_dictionaries(fields)


@pytest.mark.parametrize("name", sorted(INDICATORS))
@settings(max_examples=40, deadline=None)
@given(data=st.data(), c=candles_st())
def test_matches_reference_on_ties_and_flat_stretches(
    name: str, data: st.DataObject, c: Candles
) -> None:
    assert_matches(name, c, data.draw(_params_st(name)))


def test_references_follow_the_flat_conventions() -> None:
    # sanity of the references themselves on a flat series
    flat = [5.0] * 6
    assert ref.rsi(flat, 2)[2:] == [50.0] * 4
    k, d = ref.stoch(flat, flat, flat, 2, 2, 1)
    assert k[1:] == [50.0] * 5 and d[2:] == [50.0] * 4
    assert all(math.isnan(v) for v in ref.vwap(flat, flat, flat, [0.0] * 6, 2))
