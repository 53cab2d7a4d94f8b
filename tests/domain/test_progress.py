"""ProgressTracker: overall fraction across weighted stages, ETA, and when to publish."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.jobs import Stage
from domain.progress import ProgressTracker, Snapshot

WEIGHTS = {Stage.LOADING: 0.2, Stage.COMPUTING: 0.7, Stage.SAVING: 0.1}
RUNNING = (Stage.LOADING, Stage.COMPUTING, Stage.SAVING)


def tracker(**kw: float) -> ProgressTracker:
    return ProgressTracker(WEIGHTS, **kw)


# -- examples ---------------------------------------------------------------------------------


def test_current_before_anything_is_queued_at_zero() -> None:
    assert tracker().current == Snapshot(Stage.QUEUED, 0.0, None)


def test_stages_map_into_their_weight_bands() -> None:
    t = tracker()
    t.start(0.0)
    assert t.enter(Stage.LOADING, 0.0) == Snapshot(Stage.LOADING, 0.0, None)
    s = t.update(0.5, 1.0)
    assert s is not None and s.stage is Stage.LOADING and s.fraction == pytest.approx(0.1)
    s = t.enter(Stage.COMPUTING, 2.0)
    assert s.fraction == pytest.approx(0.2)
    s = t.update(0.5, 3.0)
    assert s is not None and s.fraction == pytest.approx(0.55)
    s = t.enter(Stage.SAVING, 4.0)
    assert s.fraction == pytest.approx(0.9)
    s = t.update(1.0, 5.0)
    assert s is not None and s.fraction == pytest.approx(1.0)
    assert t.finish(6.0) == Snapshot(Stage.DONE, 1.0, 0.0)


def test_weights_are_normalised() -> None:
    t = ProgressTracker({Stage.LOADING: 2, Stage.COMPUTING: 6, Stage.SAVING: 2})
    assert t.band(Stage.LOADING) == pytest.approx((0.0, 0.2))
    assert t.band(Stage.COMPUTING) == pytest.approx((0.2, 0.8))
    assert t.band(Stage.SAVING) == pytest.approx((0.8, 1.0))
    assert t.band(Stage.QUEUED) == (0.0, 0.0)


def test_a_stage_without_weight_covers_nothing() -> None:
    t = ProgressTracker({Stage.COMPUTING: 1.0})
    t.start(0.0)
    assert t.enter(Stage.LOADING, 0.0).fraction == 0.0
    assert t.update(0.9, 1.0) is not None  # quiet period elapsed
    assert t.current.fraction == 0.0
    assert t.enter(Stage.COMPUTING, 1.0).fraction == 0.0
    s = t.update(0.5, 2.0)
    assert s is not None and s.fraction == 0.5
    assert t.enter(Stage.SAVING, 3.0).fraction == 1.0


def test_update_publishes_every_min_step() -> None:
    t = tracker(min_step=0.02, max_quiet_s=1e9)
    t.start(0.0)
    t.enter(Stage.COMPUTING, 0.0)  # band .2 .. .9, weight .7
    published = [
        s for i in range(1, 1001) if (s := t.update(i / 1000, i * 1e-3)) is not None
    ]
    # 0.7 of the whole in steps of >= 0.02: 35 snapshots (the last one lands exactly at 0.9)
    assert 30 <= len(published) <= 35
    prev = 0.2
    for s in published:
        assert s.fraction - prev >= 0.02
        prev = s.fraction


def test_update_publishes_after_quiet_period_even_without_progress() -> None:
    t = tracker(min_step=0.02, max_quiet_s=0.5)
    t.start(0.0)
    t.enter(Stage.COMPUTING, 0.0)
    assert t.update(0.001, 0.1) is None
    assert t.update(0.002, 0.49) is None
    s = t.update(0.003, 0.5)
    assert s is not None and s.fraction == pytest.approx(0.2 + 0.7 * 0.003)
    assert t.update(0.004, 0.6) is None


def test_tick_publishes_when_quiet_with_a_fresh_eta() -> None:
    t = tracker()
    t.start(0.0)
    t.enter(Stage.COMPUTING, 0.0)
    first = t.update(0.5, 1.0)  # f = .55
    assert first is not None and first.eta_s == pytest.approx(1.0 * 0.45 / 0.55)
    assert t.tick(1.2) is None
    s = t.tick(1.5)
    assert s is not None and s.fraction == first.fraction
    assert s.eta_s == pytest.approx(1.5 * 0.45 / 0.55)
    assert t.tick(1.9) is None
    assert t.tick(2.0) is not None


def test_tick_right_after_start_waits_for_the_quiet_period() -> None:
    t = tracker()
    t.start(10.0)
    assert t.tick(10.4) is None
    s = t.tick(10.5)
    assert s == Snapshot(Stage.QUEUED, 0.0, None)


def test_eta_is_none_until_progress() -> None:
    t = tracker()
    t.start(0.0)
    assert t.enter(Stage.LOADING, 1.0).eta_s is None
    s = t.update(0.0, 2.0)
    assert s is not None and s.eta_s is None
    s = t.update(0.5, 3.0)  # f = .1 after 3 s: 27 s left
    assert s is not None and s.eta_s == pytest.approx(27.0)


def test_eta_origin_is_the_first_call_without_start() -> None:
    t = tracker()
    t.enter(Stage.COMPUTING, 5.0)  # f = .2 at the origin: nothing elapsed yet
    assert t.current.eta_s == 0.0
    s = t.update(0.0, 7.0)
    assert s is not None and s.eta_s == pytest.approx(2.0 * 0.8 / 0.2)


def test_fraction_never_decreases() -> None:
    t = tracker()
    t.start(0.0)
    t.enter(Stage.COMPUTING, 0.0)
    t.update(0.8, 1.0)
    high = t.current.fraction
    assert t.update(0.1, 2.0) is not None  # published for the quiet rule, at the old fraction
    assert t.current.fraction == high
    # entering an earlier stage (should not happen) does not move the fraction back
    assert t.enter(Stage.LOADING, 3.0).fraction == high


def test_stage_fraction_is_clamped_and_nan_ignored() -> None:
    t = tracker()
    t.start(0.0)
    t.enter(Stage.COMPUTING, 0.0)
    t.update(-3.0, 1.0)
    assert t.current.fraction == pytest.approx(0.2)
    t.update(math.nan, 2.0)
    assert t.current.fraction == pytest.approx(0.2)
    t.update(7.0, 3.0)
    assert t.current.fraction == pytest.approx(0.9)


def test_nothing_after_finish() -> None:
    t = tracker()
    t.start(0.0)
    t.enter(Stage.COMPUTING, 0.0)
    assert t.finish(1.0) == Snapshot(Stage.DONE, 1.0, 0.0)
    assert t.update(0.5, 5.0) is None
    assert t.tick(10.0) is None
    assert t.current == Snapshot(Stage.DONE, 1.0, 0.0)


@pytest.mark.parametrize(
    "weights",
    [{}, {Stage.LOADING: 0.0}, {Stage.LOADING: -1.0, Stage.COMPUTING: 2.0},
     {Stage.COMPUTING: math.inf}, {Stage.COMPUTING: math.nan}, {Stage.DONE: 1.0}],
)
def test_bad_weights_are_refused(weights: dict[Stage, float]) -> None:
    with pytest.raises(ValueError):
        ProgressTracker(weights)


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError):
        ProgressTracker(WEIGHTS, min_step=-0.1)
    with pytest.raises(ValueError):
        ProgressTracker(WEIGHTS, max_quiet_s=math.nan)


# -- properties -------------------------------------------------------------------------------

# A run: a sequence of events in time order. ("enter", stage) | ("update", stage_fraction) |
# ("tick", None), each after a non-negative delay.
weights_st = st.fixed_dictionaries(
    {s: st.floats(0.0, 10.0, allow_nan=False) for s in RUNNING}
).filter(lambda w: sum(w.values()) > 1e-6)
event_st = st.one_of(
    st.tuples(st.just("enter"), st.sampled_from(RUNNING)),
    st.tuples(st.just("update"), st.floats(-0.5, 1.5, allow_nan=False)),
    st.tuples(st.just("tick"), st.none()),
)
run_st = st.lists(st.tuples(st.floats(0.0, 2.0, allow_nan=False), event_st), max_size=60)


def in_order(events: list[tuple[float, tuple[str, object]]]) -> list[tuple[float, tuple[str, object]]]:
    """Keep the stage changes in Stage order (as a real run does), drop the others."""
    out = []
    last = -1
    order = list(Stage)
    for delay, (kind, arg) in events:
        if kind == "enter":
            assert isinstance(arg, Stage)
            if order.index(arg) <= last:
                continue
            last = order.index(arg)
        out.append((delay, (kind, arg)))
    return out


@settings(max_examples=300, deadline=None)
@given(
    weights=weights_st,
    events=run_st,
    min_step=st.floats(0.0, 0.2, allow_nan=False),
    max_quiet_s=st.floats(0.0, 1.0, allow_nan=False),
    ordered=st.booleans(),
)
def test_properties(
    weights: dict[Stage, float],
    events: list[tuple[float, tuple[str, object]]],
    min_step: float,
    max_quiet_s: float,
    ordered: bool,
) -> None:
    if ordered:
        events = in_order(events)
    t = ProgressTracker(weights, min_step=min_step, max_quiet_s=max_quiet_s)
    now = 100.0
    t.start(now)
    last_pub_f, last_pub_t = 0.0, now
    prev_f = 0.0
    stage: Stage = Stage.QUEUED
    entered: list[Stage] = []
    for delay, (kind, arg) in events:
        now += delay
        before = t.current.fraction
        if kind == "enter":
            assert isinstance(arg, Stage)
            stage = arg
            entered.append(arg)
            snap: Snapshot | None = t.enter(arg, now)
            assert snap is not None and snap.stage is arg  # a stage change is always published
        elif kind == "update":
            assert isinstance(arg, float)
            snap = t.update(arg, now)
            f = t.current.fraction
            due = f - last_pub_f >= min_step or now - last_pub_t >= max_quiet_s
            assert (snap is not None) == due  # published exactly when the rule says so
        else:
            snap = t.tick(now)
            assert (snap is not None) == (now - last_pub_t >= max_quiet_s)
            if snap is not None:
                assert snap.fraction == before  # no news: same fraction
        cur = t.current
        assert 0.0 <= cur.fraction <= 1.0
        assert cur.fraction >= prev_f  # monotonic
        assert cur.stage is stage
        prev_f = cur.fraction
        if cur.eta_s is not None:
            assert cur.eta_s >= 0.0 and math.isfinite(cur.eta_s)
        if cur.fraction == 0.0:
            assert cur.eta_s is None
        if ordered and entered:
            lo, hi = t.band(stage)
            assert lo - 1e-12 <= cur.fraction <= hi + 1e-12  # inside the stage's band
        if snap is not None:
            assert snap == cur
            last_pub_f, last_pub_t = snap.fraction, now
    end = t.finish(now + 1.0)
    assert end == Snapshot(Stage.DONE, 1.0, 0.0)


@settings(max_examples=200, deadline=None)
@given(
    weights=weights_st,
    stage=st.sampled_from(RUNNING),
    sfs=st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=20),
)
def test_stage_fraction_maps_inside_its_band(
    weights: dict[Stage, float], stage: Stage, sfs: list[float]
) -> None:
    t = ProgressTracker(weights)
    t.start(0.0)
    t.enter(stage, 0.0)
    lo, hi = t.band(stage)
    total = sum(weights.values())
    earlier = sum(w for s, w in weights.items() if list(Stage).index(s) < list(Stage).index(stage))
    assert lo == pytest.approx(earlier / total, abs=1e-12)
    assert hi - lo == pytest.approx(weights[stage] / total, abs=1e-12)
    best = 0.0
    for i, sf in enumerate(sfs, start=1):
        t.update(sf, float(i))
        best = max(best, sf)
        assert t.current.fraction == pytest.approx(lo + (hi - lo) * best, abs=1e-12)
        assert lo - 1e-12 <= t.current.fraction <= hi + 1e-12


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.floats(0.0, 0.05, allow_nan=False), min_size=1, max_size=200),
    dt=st.floats(0.001, 0.3, allow_nan=False),
)
def test_a_steady_run_is_never_quiet_for_long(steps: list[float], dt: float) -> None:
    """Fed updates every ``dt`` seconds (< 0.5), the gaps between published snapshots stay
    under 0.5 s + dt, and their fraction steps stay under 2 % + one update's step."""
    t = ProgressTracker({Stage.COMPUTING: 1.0}, min_step=0.02, max_quiet_s=0.5)
    t.start(0.0)
    t.enter(Stage.COMPUTING, 0.0)
    sf, now = 0.0, 0.0
    last_t, last_f = 0.0, 0.0
    for step in steps:
        sf, now = sf + step, now + dt
        snap = t.update(sf, now)
        if snap is None:
            assert now - last_t < 0.5
            assert t.current.fraction - last_f < 0.02
        else:
            assert now - last_t < 0.5 + dt + 1e-9
            assert snap.fraction - last_f < 0.02 + step + 1e-9
            last_t, last_f = now, snap.fraction


# -- GrowingMinMax ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    growth=st.lists(st.integers(0, 3000), min_size=1, max_size=30),
    max_points=st.integers(6, 300),
)
def test_growing_minmax_outlines_each_prefix(seed: int, growth: list[int], max_points: int) -> None:
    import numpy as np

    from domain.progress import GrowingMinMax

    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(size=sum(growth) + 1))
    g = GrowingMinMax(max_points)
    n = 0
    for step in growth:
        n += step
        prefix = values[:n]
        idx = g.indices(prefix)
        assert idx.shape[0] <= max_points
        if n == 0:
            assert idx.shape[0] == 0
            continue
        assert np.all(np.diff(idx) > 0) and idx[0] == 0 and idx[-1] == n - 1
        if n <= max_points:
            assert idx.shape[0] == n
        # the envelope is the prefix's: its lowest and highest points are there
        assert prefix[idx].min() == prefix.min() and prefix[idx].max() == prefix.max()
        if n > 4 * max_points:  # a steady resolution: at least about a quarter of the points
            assert idx.shape[0] >= max_points // 4


def test_growing_minmax_matches_a_fresh_outline_on_the_whole_series() -> None:
    import numpy as np

    from domain.progress import GrowingMinMax

    values = np.cumsum(np.random.default_rng(3).normal(size=1_000_000))
    g = GrowingMinMax(200)
    for j in range(20_000, 1_000_001, 20_000):
        idx = g.indices(values[:j])
    # the same buckets as one pass with the final bucket size
    fresh = GrowingMinMax(200)
    fresh.size = g.size
    np.testing.assert_array_equal(fresh.indices(values), idx)
    assert 100 <= idx.shape[0] <= 200


def test_growing_minmax_refuses_a_shrinking_series() -> None:
    import numpy as np

    from domain.progress import GrowingMinMax

    g = GrowingMinMax(10)
    g.indices(np.zeros(50))
    with pytest.raises(ValueError):
        g.indices(np.zeros(40))
    with pytest.raises(ValueError):
        GrowingMinMax(5)
