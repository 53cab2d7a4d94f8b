"""The error-bounded rolling sum (``domain.indicators.nb_sum``): its documented bound against
exact rational sums on adversarial series, and its cost when the bound keeps tripping."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.indicators.nb_sum import ROLLING_REL_TOL, rolling_mean_nb

F64 = npt.NDArray[np.float64]
EPS = 2.0**-53

VALUES = st.one_of(
    st.floats(90.0, 110.0),  # prices
    st.floats(-1.0, 1.0),  # signed values whose sums cancel
    st.sampled_from([1e16, -1e16, 1e-300, 0.0, 3.0]),  # spikes, tiny values, ties
    st.floats(-1e12, 1e12),
)


def assert_within_bound(x: F64, n: int, start: int) -> None:
    got = rolling_mean_nb(x, n, start, 1.0)
    assert np.isnan(got[: start + n - 1]).all()
    exact = [Fraction(v) for v in x]
    for i in range(start + n - 1, len(x)):
        window = exact[i - n + 1: i + 1]
        s = sum(window, Fraction(0))
        scale = float(sum((abs(v) for v in window), Fraction(0)))
        # the documented bound, plus the compensated sum's own O(n eps^2 sum|x|) error
        slack = ROLLING_REL_TOL * abs(got[i]) + 8 * n * EPS * EPS * scale
        assert abs(Fraction(got[i]) - s) <= Fraction(slack), (i, got[i], float(s))


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=120), st.integers(1, 25), st.integers(0, 5))
def test_every_window_is_within_the_bound(values: list[float], n: int, start: int) -> None:
    assert_within_bound(np.array(values, dtype=np.float64), n, min(start, len(values) - 1))


def test_long_series_with_spikes_and_cancellation() -> None:
    rng = np.random.default_rng(11)
    x = 100.0 + rng.normal(0.0, 1.0, 20_000)  # about 2 plain stretches between re-summations
    x[::1_009] = 1e16
    x[5_000:6_000] = rng.normal(0.0, 1.0, 1_000)  # sums near 0: the bound trips at every bar
    x[6_000:6_500] = np.tile([1.0, -1.0], 250)
    for n in (1, 2, 7, 60):
        assert_within_bound(x, n, 0)


def _best(x: F64, n: int) -> float:
    rolling_mean_nb(x, n, 0, float(n))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        rolling_mean_nb(x, n, 0, float(n))
        best = min(best, time.perf_counter() - t0)
    return best


def test_cost_stays_linear_when_the_bound_keeps_tripping() -> None:
    # signed noise: window sums near 0, so the relative bound trips again and again; the exact
    # stretches keep the re-summations n bars apart, so a long period costs about as much
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, 200_000)
    t_small, t_large = _best(x, 5), _best(x, 2_000)
    assert t_large < 30 * t_small + 0.01, (t_small, t_large)
