"""A sweep's ranked table: which parameter sets are kept, in which order, and how the tables of a
sweep's chunks merge into the table of the whole grid.

A sweep ranks its sets best first by one metric (``domain.engine.sweep.rank_order``: higher is
better, except for :data:`domain.engine.sweep.LOWER_IS_BETTER`; NaN last; ties in grid order)
and keeps the best :data:`MAX_STORED_SWEEP_ROWS` rows. A row is JSON: ``{"rank", "params",
"metrics"}``, metrics as JSON numbers (None when NaN or infinite, :func:`json_number`).

A sweep run in chunks (``[start, stop)`` of the grid each) keeps each chunk's best rows with the
set's ``index`` in the grid and its rank ``key`` (:func:`rank_key`, smaller is better; stored
as JSON, so an infinite key is the string ``"inf"``: :func:`json_key`). :func:`merge_sweep_rows`
sorts them by ``(key, index)`` and keeps the best: the same table as :func:`ranked_table` of the
whole grid, since each of the whole grid's best rows is among its chunk's best.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.engine.sweep import LOWER_IS_BETTER, rank_order
from domain.metrics import METRIC_NAMES

MAX_STORED_SWEEP_ROWS = 1_000
"""Rows of a sweep's ranked table that are kept (the best ones)."""

Row = dict[str, Any]


def json_number(x: float) -> float | None:
    """``x``, or None when it is NaN or infinite (JSON and GraphQL floats are finite)."""
    return float(x) if math.isfinite(x) else None


def rank_key(value: float, rank_by: str) -> float:
    """The sort key of a metric value in ``domain.engine.sweep.rank_order``: smaller is better,
    NaN last (``inf``, like the worst value of a metric)."""
    if math.isnan(value):
        return math.inf
    return value if rank_by in LOWER_IS_BETTER else -value


def json_key(key: float) -> float | str:
    """A rank key as JSON: itself when finite, else ``"inf"`` / ``"-inf"`` (``float`` reads
    them back)."""
    return key if math.isfinite(key) else repr(key)


def _metrics_json(values: Sequence[float]) -> dict[str, float | None]:
    return {k: json_number(v) for k, v in zip(METRIC_NAMES, values, strict=True)}


def _column(rank_by: str) -> int:
    if rank_by not in METRIC_NAMES:
        raise ValueError(f"unknown metric to rank by: {rank_by!r}")
    return METRIC_NAMES.index(rank_by)


def ranked_table(param_sets: Sequence[Mapping[str, float]],
                 metrics: npt.NDArray[np.float64], rank_by: str, *,
                 limit: int = MAX_STORED_SWEEP_ROWS) -> list[Row]:
    """The best ``limit`` rows of a whole grid, ranked from 1: ``metrics`` holds one row per
    parameter set (``METRIC_NAMES`` order), as ``domain.engine.sweep.SweepResult.metrics``."""
    order = rank_order(metrics[:, _column(rank_by)], rank_by)[:limit]
    return [{"rank": n + 1, "params": dict(param_sets[i]),
             "metrics": _metrics_json(metrics[i].tolist())}
            for n, i in enumerate(order.tolist())]


def chunk_top(param_sets: Sequence[Mapping[str, float]], metrics: npt.NDArray[np.float64],
              rank_by: str, start: int, *, limit: int = MAX_STORED_SWEEP_ROWS) -> list[Row]:
    """The best ``limit`` rows of the chunk of the grid whose first set is set ``start``, each
    with its ``index`` in the grid and its rank ``key`` (:func:`json_key`), for
    :func:`merge_sweep_rows`; ``param_sets`` and ``metrics`` are the chunk's."""
    col = _column(rank_by)
    order = rank_order(metrics[:, col], rank_by)[:limit]
    return [{"index": start + i,
             "key": json_key(rank_key(float(metrics[i, col]), rank_by)),
             "params": dict(param_sets[i]),
             "metrics": _metrics_json(metrics[i].tolist())}
            for i in order.tolist()]


def merge_sweep_rows(rows: Iterable[Mapping[str, Any]], *,
                     limit: int = MAX_STORED_SWEEP_ROWS) -> list[Row]:
    """The chunks' rows (:func:`chunk_top`, in any order) as one ranked table, the same as
    :func:`ranked_table` of the whole grid: best first by rank key, then grid order; the best
    ``limit``, ranked from 1."""
    ordered = sorted(rows, key=lambda r: (float(r["key"]), int(r["index"])))
    return [{"rank": n + 1, "params": r["params"], "metrics": r["metrics"]}
            for n, r in enumerate(ordered[:limit])]


__all__ = [
    "MAX_STORED_SWEEP_ROWS",
    "chunk_top",
    "json_key",
    "json_number",
    "merge_sweep_rows",
    "rank_key",
    "ranked_table",
]
