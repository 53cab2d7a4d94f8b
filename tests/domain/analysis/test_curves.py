"""domain.analysis on equity curves: hand-computed examples, the plain-Python reference
(``reference.py``) on random curves, and properties: returns compound to the total return, the
deepest and longest drawdowns are ``domain.metrics``' figures, nothing looks ahead."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.analysis import (
    MONTH,
    YEAR,
    DrawdownPeriods,
    drawdown_periods,
    period_returns,
)
from domain.metrics import compute_metrics
from tests.domain.analysis import reference as ref

HOUR = 3_600_000
DAY = 24 * HOUR
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ms(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp() * 1000)


# --- generators ---------------------------------------------------------------------------------

money = st.floats(1e-3, 1e7, allow_nan=False, allow_infinity=False)


@st.composite
def curves(draw: st.DrawFn, ruin: bool = False) -> tuple[list[int], list[float], float]:
    """Bar times (hourly to weekly steps, gaps, from before 1970 to 2100), equity (repeated
    values: flat stretches and ties with the peak; optionally values <= 0) and a capital."""
    n = draw(st.integers(0, 60))
    cap = draw(money)
    pool = [cap, *draw(st.lists(money, min_size=1, max_size=6))]
    if ruin:
        pool += [0.0, -draw(money)]
    equity = [draw(st.sampled_from(pool)) if draw(st.booleans()) else draw(money)
              for _ in range(n)]
    start = draw(st.integers(-2 * 365 * DAY, 4_000_000_000_000)) // HOUR * HOUR
    steps = draw(st.lists(st.sampled_from([HOUR, DAY, 7 * DAY, 29 * DAY, 400 * DAY]),
                          min_size=n, max_size=n))
    times = [start + sum(steps[:i]) for i in range(n)]
    return times, equity, cap


# --- calendar returns ---------------------------------------------------------------------------


def test_monthly_and_yearly_returns_by_hand() -> None:
    times = [ms(2023, 12, 31, 23), ms(2024, 1, 1), ms(2024, 1, 31, 23), ms(2024, 2, 1)]
    equity = [110.0, 99.0, 121.0, 133.1]
    m = period_returns(times, equity, 100.0, MONTH)
    assert m.years.tolist() == [2023, 2024, 2024] and m.months.tolist() == [12, 1, 2]
    assert m.returns.tolist() == pytest.approx([0.1, 0.1, 0.1])  # 110/100, 121/110, 133.1/121
    y = period_returns(times, equity, 100.0, YEAR)
    assert y.years.tolist() == [2023, 2024]
    assert y.returns.tolist() == pytest.approx([0.1, 0.21])
    with pytest.raises(ValueError, match="no month"):
        _ = y.months


def test_ruin_ends_the_returns() -> None:
    times = [ms(2024, 1, 1), ms(2024, 2, 1), ms(2024, 2, 2), ms(2024, 3, 1)]
    r = period_returns(times, [50.0, 40.0, -10.0, 5.0], 100.0, MONTH).returns
    assert r[0] == -0.5 and r[1] == -1.0 and math.isnan(r[2])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="ascending"):
        period_returns([ms(2024, 2, 1), ms(2024, 1, 1)], [1.0, 2.0], 1.0, MONTH)
    with pytest.raises(ValueError, match="same length"):
        period_returns([0], [1.0, 2.0], 1.0, MONTH)
    with pytest.raises(ValueError, match="initial_capital"):
        drawdown_periods([1.0], 0.0)
    with pytest.raises(ValueError, match="unit"):
        period_returns([0], [1.0], 1.0, "D")
    assert len(period_returns([], [], 1.0, YEAR)) == 0


@PROPS
@given(curves(ruin=True), st.booleans())
def test_period_returns_equal_the_reference(curve: tuple[list[int], list[float], float],
                                            monthly: bool) -> None:
    times, equity, cap = curve
    got = period_returns(times, equity, cap, MONTH if monthly else YEAR)
    want = ref.period_returns(times, equity, cap, monthly)
    assert got.years.tolist() == [y for y, _, _ in want]
    if monthly:
        assert got.months.tolist() == [m for _, m, _ in want]
    returns = [None if math.isnan(r) else r for r in got.returns.tolist()]
    assert returns == [r for _, _, r in want]  # the same divisions: the same bits


@PROPS
@given(curves())
def test_returns_compound_to_the_total_return(curve: tuple[list[int], list[float], float]
                                              ) -> None:
    times, equity, cap = curve
    # (1 + r) loses the digits of a return near -1 (a fall by a factor of up to 1e10 here):
    # hence a tolerance of 1e-6, not 1e-15
    for unit in (MONTH, YEAR):
        growth = math.prod(1.0 + r for r in period_returns(times, equity, cap, unit).returns)
        assert growth == pytest.approx(equity[-1] / cap if equity else 1.0, rel=1e-6)
    monthly = period_returns(times, equity, cap, MONTH)
    yearly = period_returns(times, equity, cap, YEAR)
    for year, r in zip(yearly.years.tolist(), yearly.returns.tolist(), strict=True):
        months = monthly.returns[monthly.years == year]
        assert math.prod(1.0 + x for x in months) - 1.0 == pytest.approx(r, rel=1e-6, abs=1e-6)


@PROPS
@given(curves(ruin=True), st.data())
def test_period_returns_do_not_look_ahead(curve: tuple[list[int], list[float], float],
                                          data: st.DataObject) -> None:
    times, equity, cap = curve
    k = data.draw(st.integers(0, len(equity)))
    full = period_returns(times, equity, cap, MONTH)
    head = period_returns(times[:k], equity[:k], cap, MONTH)
    done = max(len(head) - 1, 0)  # the prefix's last month may be incomplete
    np.testing.assert_array_equal(head.periods[:done], full.periods[:done])
    np.testing.assert_array_equal(head.returns[:done], full.returns[:done])


# --- drawdown periods ---------------------------------------------------------------------------


def test_drawdown_periods_by_hand() -> None:
    # capital 100: under from bar 0 (the capital is the peak before it), back at bar 2;
    # from the peak at bar 3 (120) down to 90 at bar 5, never back
    p = drawdown_periods([90.0, 95.0, 100.0, 120.0, 120.0 * 0.9, 90.0, 90.0, 100.0], 100.0)
    assert p.peak.tolist() == [-1, 3] and p.trough.tolist() == [0, 5]
    assert p.recovery.tolist() == [2, -1] and p.bars.tolist() == [3, 4]
    assert p.peak_equity.tolist() == [100.0, 120.0]
    assert p.trough_equity.tolist() == [90.0, 90.0]
    assert p.depth.tolist() == pytest.approx([0.1, 0.25])
    w = p.worst(1)
    assert w.peak.tolist() == [3] and len(p.worst(0)) == 0 and len(p.worst(50)) == 2
    with pytest.raises(ValueError, match="top"):
        p.worst(-1)


def test_a_flat_or_rising_curve_has_no_drawdown() -> None:
    assert len(drawdown_periods([100.0, 100.0, 101.0], 100.0)) == 0
    assert len(drawdown_periods([], 100.0)) == 0


@PROPS
@given(curves(ruin=True), st.integers(0, 8))
def test_drawdown_periods_equal_the_reference(curve: tuple[list[int], list[float], float],
                                              top: int) -> None:
    _, equity, cap = curve
    got = drawdown_periods(equity, cap)
    want = ref.drawdown_periods(equity, cap)
    assert _rows(got) == [_row(p) for p in want]
    assert _rows(got.worst(top)) == [_row(p) for p in ref.worst(want, top)]


def _row(p: ref.Period) -> tuple[object, ...]:
    return (p.peak, p.trough, -1 if p.recovery is None else p.recovery, p.peak_equity,
            p.trough_equity, p.depth, p.bars)


def _rows(p: DrawdownPeriods) -> list[tuple[Any, ...]]:
    return list(zip(p.peak.tolist(), p.trough.tolist(), p.recovery.tolist(),
                    p.peak_equity.tolist(), p.trough_equity.tolist(), p.depth.tolist(),
                    p.bars.tolist(), strict=True))


@PROPS
@given(curves(ruin=True))
def test_the_worst_periods_are_the_metrics_figures(curve: tuple[list[int], list[float], float]
                                                   ) -> None:
    _, equity, cap = curve
    if not equity:
        return
    n = len(equity)
    m = compute_metrics(equity, [0.0] * n, [1.0] * n, [], [], cap, HOUR, 8760.0)
    p = drawdown_periods(equity, cap)
    assert (float(p.depth.max()) if len(p) else 0.0) == m["max_drawdown"]
    longest = float(p.bars.max()) if len(p) else 0.0
    assert longest * HOUR / DAY == m["max_drawdown_duration"]


@PROPS
@given(curves(ruin=True), st.data())
def test_drawdown_periods_do_not_look_ahead(curve: tuple[list[int], list[float], float],
                                            data: st.DataObject) -> None:
    _, equity, cap = curve
    k = data.draw(st.integers(0, len(equity)))
    full = _rows(drawdown_periods(equity, cap))
    head = _rows(drawdown_periods(equity[:k], cap))
    recovered = [row for row in head if row[2] != -1]
    assert recovered == full[:len(recovered)]  # the periods that ended within the prefix
    if len(head) > len(recovered):  # one still open at the prefix's end: the same peak
        assert head[-1][0] == full[len(recovered)][0]
        assert head[-1][5] <= full[len(recovered)][5]  # no deeper yet
