"""Properties every indicator keeps: warm-up length as declared, no look-ahead, O(n) kernels."""

from __future__ import annotations

import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.candles import Candles
from domain.indicators import INDICATORS, ParamValue, compute_indicator
from tests.domain.indicators.data import candles_st, random_candles


def params_st(name: str) -> st.SearchStrategy[dict[str, ParamValue]]:
    fields: dict[str, st.SearchStrategy[ParamValue]] = {}
    for p in INDICATORS[name].params:
        if p.kind == "int":
            fields[p.name] = st.integers(1, 8)
        elif p.kind == "float":
            fields[p.name] = st.floats(0.0, 4.0)
        else:
            fields[p.name] = st.sampled_from(["close", "high", "low", "hlc3", "volume"])
    return st.fixed_dictionaries(fields)


def leading_nans(a: np.ndarray) -> int:
    finite = np.flatnonzero(~np.isnan(a))
    return int(finite[0]) if finite.size else len(a)


def cut(c: Candles, end: int) -> Candles:
    return Candles(
        c.ts[:end], c.open[:end], c.high[:end], c.low[:end], c.close[:end], c.volume[:end]
    )


@settings(max_examples=100, deadline=None)
@given(data=st.data(), c=candles_st(max_size=60, min_volume=1))
def test_warmup_is_the_number_of_leading_nans(data: st.DataObject, c: Candles) -> None:
    # positive prices and volumes: no NaN after the warm-up either
    name = data.draw(st.sampled_from(sorted(INDICATORS)))
    spec = INDICATORS[name]
    params = data.draw(params_st(name))
    outs = compute_indicator(name, c, params)
    for out, series in outs.items():
        w = spec.warmup(params, out)
        assert leading_nans(series) == min(w, len(c)), (name, out, params)
        assert not np.isnan(series[w:]).any(), (name, out, params)
    assert spec.warmup(params) == max(spec.warmup(params, o) for o in spec.outputs)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), c=candles_st(min_size=1, max_size=50))
def test_no_look_ahead(data: st.DataObject, c: Candles) -> None:
    name = data.draw(st.sampled_from(sorted(INDICATORS)))
    params = data.draw(params_st(name))
    t = data.draw(st.integers(0, len(c) - 1))
    later = data.draw(candles_st(min_size=len(c) - t - 1, max_size=len(c) - t - 1))

    def spliced(field: str) -> np.ndarray:
        return np.concatenate([getattr(c, field)[: t + 1], getattr(later, field)])

    changed = Candles(
        c.ts, spliced("open"), spliced("high"), spliced("low"), spliced("close"), spliced("volume")
    )
    full = compute_indicator(name, c, params)
    other = compute_indicator(name, changed, params)
    head = compute_indicator(name, cut(c, t + 1), params)
    for out in full:
        np.testing.assert_array_equal(full[out][: t + 1], other[out][: t + 1], err_msg=out)
        np.testing.assert_array_equal(full[out][: t + 1], head[out], err_msg=out)


def _best_of_3(name: str, c: Candles, params: dict[str, ParamValue]) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        compute_indicator(name, c, params)
        best = min(best, time.perf_counter() - t0)
    return best


def test_kernels_are_linear_in_the_period() -> None:
    # a 5,000-bar window must cost about what a 5-bar one does: an O(n * period) loop would be
    # ~1000x slower, so a 30x bound (best of 3 runs) is far from both and from timing noise
    c = random_candles(seed=3, n=50_000)
    for name, spec in INDICATORS.items():
        small: dict[str, ParamValue] = {p.name: 5 for p in spec.params if p.kind == "int"}
        large: dict[str, ParamValue] = {p.name: 5_000 for p in spec.params if p.kind == "int"}
        compute_indicator(name, c, small)  # compile or load the cache first
        t_small, t_large = _best_of_3(name, c, small), _best_of_3(name, c, large)
        assert t_large < 30 * t_small + 0.01, (name, t_small, t_large)
