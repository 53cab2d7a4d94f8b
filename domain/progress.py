"""Progress a person can watch: one overall fraction across a job's stages, an ETA, and when to
publish.

A job runs through :class:`~domain.jobs.Stage` s (loading, computing, saving); each running stage
gets a *weight*, its share of the whole (e.g. loading .2, computing .7, saving .1; the weights are
normalised, stages without a weight count for nothing). Progress inside the current stage
(``stage_fraction``, 0..1) maps into that stage's *band*::

    overall = sum(weights of the earlier stages) + weight(stage) * stage_fraction

clamped to [0, 1] and never decreasing. "Earlier" is the order of :class:`Stage`.

The tracker also decides when a snapshot is worth publishing, so a watcher sees something at
least every ``max_quiet_s`` seconds or every ``min_step`` of the whole, and never a flood:

- :meth:`ProgressTracker.enter` (a new stage) and :meth:`ProgressTracker.finish` always publish;
- :meth:`ProgressTracker.update` publishes when the overall fraction advanced by ``min_step`` or
  more since the last published snapshot, or ``max_quiet_s`` or more passed since it;
- :meth:`ProgressTracker.tick` (no news) publishes, with the same fraction and a fresh ETA, when
  ``max_quiet_s`` passed since the last published snapshot.

The ETA extrapolates linearly from the start of the run: ``elapsed * (1 - f) / f`` once ``f > 0``
(``None`` before). Times are plain seconds from any monotonic clock (``time.monotonic()``); the
tracker never reads the clock itself, which keeps it pure and testable.

:class:`GrowingMinMax` keeps a short min/max outline of a series that grows (a partial equity
curve), at a cost proportional to the new points only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.jobs import Stage

F64 = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]

_ORDER: dict[Stage, int] = {stage: i for i, stage in enumerate(Stage)}


@dataclass(frozen=True)
class Snapshot:
    """What to show: the current stage, the overall fraction (0..1, never decreasing) and the
    seconds left (``None`` until there is progress to extrapolate from)."""

    stage: Stage
    fraction: float
    eta_s: float | None


class ProgressTracker:
    """Overall progress of one run across weighted stages, throttled for publication.

    Not thread-safe: one tracker per run, fed from one place.
    """

    def __init__(
        self,
        weights: Mapping[Stage, float],
        *,
        min_step: float = 0.02,
        max_quiet_s: float = 0.5,
    ) -> None:
        if Stage.DONE in weights and weights[Stage.DONE] != 0:
            raise ValueError("the done stage takes no weight: it is where the run has ended")
        for stage, w in weights.items():
            if not math.isfinite(w) or w < 0:
                raise ValueError(f"weight of {stage} must be finite and >= 0, got {w!r}")
        total = math.fsum(weights.values())
        if total <= 0:
            raise ValueError("at least one stage needs a positive weight")
        if not (math.isfinite(min_step) and min_step >= 0):
            raise ValueError(f"min_step must be finite and >= 0, got {min_step!r}")
        if not (math.isfinite(max_quiet_s) and max_quiet_s >= 0):
            raise ValueError(f"max_quiet_s must be finite and >= 0, got {max_quiet_s!r}")
        self._weight: dict[Stage, float] = {s: weights.get(s, 0.0) / total for s in Stage}
        # start of each stage's band: the weights of the stages before it, in Stage order
        self._base: dict[Stage, float] = {}
        acc = 0.0
        for stage in Stage:
            self._base[stage] = min(acc, 1.0)
            acc += self._weight[stage]
        self.min_step = min_step
        self.max_quiet_s = max_quiet_s

        self._origin: float | None = None
        self._now: float | None = None
        self._stage = Stage.QUEUED
        self._fraction = 0.0
        self._published_fraction = 0.0
        self._published_at: float | None = None
        self._finished = False

    # -- bands --------------------------------------------------------------------------------

    def band(self, stage: Stage) -> tuple[float, float]:
        """The part of the overall fraction ``stage`` covers: ``(start, end)``."""
        lo = self._base[stage]
        return lo, min(1.0, lo + self._weight[stage])

    # -- feeding ------------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """The run starts at ``now``: the origin of the ETA and of the first quiet period."""
        self._origin = now
        self._now = now
        if self._published_at is None:
            self._published_at = now

    def enter(self, stage: Stage, now: float) -> Snapshot:
        """A new stage begins at ``now``; the snapshot is always to publish."""
        self._see(now)
        if self._finished:
            return self._publish(now)
        self._stage = stage
        self._advance(self._base[stage])
        return self._publish(now)

    def update(self, stage_fraction: float, now: float) -> Snapshot | None:
        """``stage_fraction`` (0..1) of the current stage is done at ``now``: a snapshot when it
        should be published (see the module doc), else ``None``."""
        self._see(now)
        if self._finished:
            return None
        sf = stage_fraction if math.isfinite(stage_fraction) else 0.0
        sf = min(1.0, max(0.0, sf))
        self._advance(self._base[self._stage] + self._weight[self._stage] * sf)
        if self._fraction - self._published_fraction >= self.min_step or self._quiet(now):
            return self._publish(now)
        return None

    def tick(self, now: float) -> Snapshot | None:
        """No news at ``now``: the same fraction with a fresh ETA when ``max_quiet_s`` passed
        since the last published snapshot, else ``None``."""
        self._see(now)
        if self._finished or not self._quiet(now):
            return None
        return self._publish(now)

    def finish(self, now: float) -> Snapshot:
        """The run has ended: fraction 1, nothing left; always to publish."""
        self._see(now)
        self._finished = True
        self._stage = Stage.DONE
        self._fraction = 1.0
        return self._publish(now)

    @property
    def current(self) -> Snapshot:
        """The latest state, published or not, with the ETA as of the latest time seen."""
        return self._snapshot(self._now)

    # -- internals ----------------------------------------------------------------------------

    def _see(self, now: float) -> None:
        if self._origin is None:
            self._origin = now
        if self._published_at is None:
            self._published_at = now
        self._now = now

    def _advance(self, fraction: float) -> None:
        self._fraction = max(self._fraction, min(1.0, max(0.0, fraction)))

    def _quiet(self, now: float) -> bool:
        return self._published_at is not None and now - self._published_at >= self.max_quiet_s

    def _publish(self, now: float) -> Snapshot:
        self._published_fraction = self._fraction
        self._published_at = now
        return self._snapshot(now)

    def _snapshot(self, now: float | None) -> Snapshot:
        return Snapshot(self._stage, self._fraction, self._eta(now))

    def _eta(self, now: float | None) -> float | None:
        if self._finished:
            return 0.0
        f = self._fraction
        if f <= 0.0 or now is None or self._origin is None:
            return None
        elapsed = max(0.0, now - self._origin)
        eta = elapsed * (1.0 - f) / f
        # a vanishing fraction (a stage weighted next to nothing) extrapolates to no estimate
        return max(0.0, eta) if math.isfinite(eta) else None


class GrowingMinMax:
    """A min/max outline of at most ``max_points`` points of a growing series, updated with the
    new points only (``domain.series.minmax_indices`` does the same on a whole series, reading
    all of it each time).

    The points between the first and the last are cut into buckets of ``size`` consecutive
    points; each complete bucket contributes its minimum and its maximum (in time order), the
    incomplete one at the end likewise. When the complete buckets grow past what fits,
    neighbours merge pairwise and ``size`` doubles, so the outline keeps between about a quarter
    and a half of ``max_points`` buckets: a chart of the prefix at a steady resolution.
    """

    def __init__(self, max_points: int = 200) -> None:
        if max_points < 6:
            raise ValueError("max_points must be >= 6")
        self.max_points = max_points
        self._cap = (max_points - 4) // 2  # complete buckets: first, last, tail min/max besides
        self.size = 1
        self._lo: Index = np.empty(0, dtype=np.intp)
        self._hi: Index = np.empty(0, dtype=np.intp)
        self._seen = 0

    def indices(self, values: F64) -> Index:
        """Indices (ascending, unique) of the outline of ``values``, the series so far: the
        same series as in earlier calls, longer or as long (only the new points are read,
        beyond the last incomplete bucket)."""
        n = int(values.shape[0])
        if n < self._seen:
            raise ValueError("the series shrank: a GrowingMinMax follows one growing series")
        self._seen = n
        if n <= self.max_points:
            return np.arange(n, dtype=np.intp)
        # inner points: [1, n - 1); complete bucket k covers [1 + k*size, 1 + (k+1)*size)
        while (n - 2) // self.size > self._cap:
            self._merge(values)
        complete = (n - 2) // self.size
        done = self._lo.shape[0]
        if complete > done:
            a, b = 1 + done * self.size, 1 + complete * self.size
            block = values[a:b].reshape(complete - done, self.size)
            starts = a + np.arange(complete - done, dtype=np.intp) * self.size
            self._lo = np.concatenate((self._lo, starts + block.argmin(axis=1)))
            self._hi = np.concatenate((self._hi, starts + block.argmax(axis=1)))
        parts = [np.array([0], dtype=np.intp), self._lo, self._hi]
        t0 = 1 + complete * self.size
        if t0 < n - 1:
            tail = values[t0:n - 1]
            parts.append(np.array([t0 + int(tail.argmin()), t0 + int(tail.argmax())],
                                  dtype=np.intp))
        parts.append(np.array([n - 1], dtype=np.intp))
        out: Index = np.unique(np.concatenate(parts))
        return out

    def _merge(self, values: F64) -> None:
        m = self._lo.shape[0] // 2 * 2  # an odd last bucket is read again as part of the tail
        lo, hi = self._lo[:m], self._hi[:m]
        a, b = lo[0::2], lo[1::2]
        self._lo = np.where(values[a] <= values[b], a, b)  # ties: the earlier, as argmin
        a, b = hi[0::2], hi[1::2]
        self._hi = np.where(values[a] >= values[b], a, b)
        self.size *= 2
