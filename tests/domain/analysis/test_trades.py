"""domain.analysis on trades and prices: hand-computed examples, the plain-Python reference
(``reference.py``) on random trades and closes, and properties: sums are exact and add up, the
buy-and-hold curve ends at ``domain.metrics``' buy_and_hold_return, nothing looks ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.analysis import (
    aligned_closes,
    buy_and_hold,
    group_stats,
    pnl_histogram,
    side_index,
)
from domain.metrics import compute_metrics
from tests.domain.analysis import reference as ref

HOUR = 3_600_000
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


money = st.floats(1e-3, 1e7, allow_nan=False, allow_infinity=False)


# --- trades -------------------------------------------------------------------------------------


def test_group_stats_by_hand() -> None:
    g = group_stats([1, 0, 1, 1], [10.0, -5.0, 0.0, -1.0], [0.1, -0.05, 0.0, -0.01])
    assert g.keys.tolist() == [0, 1] and g.count.tolist() == [1, 3]
    assert g.wins.tolist() == [0, 1] and g.win_rate.tolist() == [0.0, 1 / 3]
    assert g.total_pnl.tolist() == [-5.0, 9.0] and g.avg_pnl.tolist() == [-5.0, 3.0]
    assert g.avg_return.tolist() == pytest.approx([-0.05, 0.03])
    assert side_index([1, -1, 1]).tolist() == [0, 1, 0]
    assert len(group_stats([], [], [])) == 0


def test_sums_are_exact() -> None:
    pnl = [1e16, 1.0, -1e16] * 3
    g = group_stats([0] * 9, pnl, [0.0] * 9)
    assert g.total_pnl.tolist() == [3.0]  # a running float sum gives 2.0 or 4.0


trade_pnl = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)


@PROPS
@given(st.lists(st.tuples(st.integers(0, 4), trade_pnl, st.floats(-1.0, 10.0)), max_size=80))
def test_group_stats_equal_the_reference(trades: list[tuple[int, float, float]]) -> None:
    keys = [t[0] for t in trades]
    pnl = [t[1] for t in trades]
    ret = [t[2] for t in trades]
    got = group_stats(keys, pnl, ret)
    want = ref.group_stats(keys, pnl, ret)
    assert list(zip(got.keys.tolist(), got.count.tolist(), got.wins.tolist(),
                    got.total_pnl.tolist(), got.total_return.tolist(), strict=True)) == \
        [(w.key, w.count, w.wins, w.total_pnl, w.total_return) for w in want]
    assert int(got.count.sum()) == len(trades)
    assert math.fsum(got.total_pnl.tolist()) == pytest.approx(math.fsum(pnl), abs=1e-6)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="bins"):
        pnl_histogram([1.0], 0)
    with pytest.raises(ValueError, match="finite"):
        pnl_histogram([1.0, math.inf], 3)
    with pytest.raises(ValueError, match="finite"):
        pnl_histogram([-1e308, 1e308], 3)  # a range beyond the floats
    with pytest.raises(ValueError, match="same length"):
        group_stats([0, 1], [1.0], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        group_stats([[0]], [[1.0]], [[1.0]])


def test_histogram_by_hand() -> None:
    edges, counts = pnl_histogram([-10.0, 0.0, 5.0, 10.0], 4)
    assert edges.tolist() == [-10.0, -5.0, 0.0, 5.0, 10.0]
    assert counts.tolist() == [1, 0, 1, 2]  # 10 in the last bin, closed above
    edges, counts = pnl_histogram([3.0, 3.0], 2)
    assert edges.tolist() == [2.5, 3.0, 3.5] and counts.tolist() == [0, 2]
    edges, counts = pnl_histogram([], 20)
    assert edges.tolist() == [] and counts.tolist() == []


@PROPS
@given(st.lists(trade_pnl, max_size=80), st.integers(1, 60))
def test_histogram_equals_the_reference(pnl: list[float], bins: int) -> None:
    edges, counts = pnl_histogram(pnl, bins)
    if not pnl:
        assert len(edges) == len(counts) == 0
        return
    assert len(edges) == bins + 1 and len(counts) == bins
    assert edges[0] <= min(pnl) and edges[-1] >= max(pnl)
    assert (np.diff(edges) >= 0).all()
    lo, hi = min(pnl), max(pnl)
    if lo < hi:
        assert (edges[0], edges[-1]) == (lo, hi)
        assert edges.tolist() == pytest.approx([lo + (hi - lo) * i / bins
                                                for i in range(bins + 1)], rel=1e-9, abs=1e-6)
    assert counts.tolist() == ref.histogram_counts(pnl, edges.tolist())
    assert int(counts.sum()) == len(pnl)


# --- buy and hold -------------------------------------------------------------------------------


@PROPS
@given(st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=60), money)
def test_buy_and_hold_equals_the_reference_and_the_metric(close: list[float], cap: float
                                                           ) -> None:
    got = buy_and_hold(close, cap)
    assert got is not None and got.tolist() == ref.buy_and_hold(close, cap)
    assert got[0] == pytest.approx(cap, rel=1e-15)  # where the engine's equity starts
    n = len(close)
    metric = compute_metrics([cap] * n, [0.0] * n, close, [], [], cap, HOUR, 8760.0)
    assert got[-1] / cap - 1.0 == pytest.approx(metric["buy_and_hold_return"], rel=1e-9,
                                                abs=1e-12)
    k = n // 2  # no look-ahead: a prefix of the closes gives a prefix of the curve
    head = buy_and_hold(close[:k], cap)
    assert head is None if k == 0 else head is not None and head.tolist() == got[:k].tolist()


def test_buy_and_hold_needs_a_price() -> None:
    assert buy_and_hold([], 100.0) is None
    assert buy_and_hold([0.0, 1.0], 100.0) is None
    assert buy_and_hold([math.nan, 1.0], 100.0) is None


def test_aligned_closes() -> None:
    ts, close = [10, 20, 30, 40], [1.0, 2.0, 3.0, 4.0]
    got = aligned_closes([20, 40], ts, close)
    assert got is not None and got.tolist() == [2.0, 4.0]
    assert aligned_closes([20, 25], ts, close) is None  # a bar without its candle
    assert aligned_closes([50], ts, close) is None
    empty = aligned_closes([], ts, close)
    assert empty is not None and empty.tolist() == []
