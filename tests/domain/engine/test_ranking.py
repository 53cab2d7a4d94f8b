"""A sweep's ranked table (domain.engine.ranking): rank keys, the cap, and merging the tops of
a sweep's chunks into the table of the whole grid."""

from __future__ import annotations

import itertools
import json
import math
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.demo import demo_candles
from domain.engine.ranking import (
    MAX_STORED_SWEEP_ROWS,
    chunk_top,
    json_key,
    json_number,
    merge_sweep_rows,
    rank_key,
    ranked_table,
)
from domain.engine.sweep import LOWER_IS_BETTER, run_sweep
from domain.metrics import METRIC_NAMES, N_METRICS
from domain.strategy import parameter_grid, parse_strategy

SHARPE = METRIC_NAMES.index("sharpe")
DRAWDOWN = METRIC_NAMES.index("max_drawdown")


def grid_of(column: int, values: list[float]) -> tuple[list[dict[str, float]], np.ndarray]:
    """Sets ``{"p": i}`` whose metric ``column`` is ``values[i]`` (the others 0)."""
    metrics = np.zeros((len(values), N_METRICS))
    metrics[:, column] = values
    return [{"p": float(i)} for i in range(len(values))], metrics


def test_rank_keys_put_the_best_first_and_nan_last() -> None:
    assert rank_key(2.0, "sharpe") == -2.0 < rank_key(1.0, "sharpe") == -1.0
    assert rank_key(0.1, "max_drawdown") == 0.1 < rank_key(0.3, "max_drawdown")
    assert rank_key(math.nan, "sharpe") == rank_key(math.nan, "max_drawdown") == math.inf
    assert rank_key(-math.inf, "sharpe") == math.inf  # the worst value ties with NaN
    assert {"max_drawdown", "max_drawdown_duration"} == LOWER_IS_BETTER


def test_keys_and_numbers_as_json() -> None:
    assert json_key(-1.5) == -1.5
    assert json_key(math.inf) == "inf" and float(json_key(math.inf)) == math.inf
    assert float(json_key(-math.inf)) == -math.inf
    assert json_number(0.25) == 0.25
    assert json_number(math.nan) is None and json_number(math.inf) is None


def test_the_table_ranks_from_one_best_first_nan_last() -> None:
    sets, metrics = grid_of(SHARPE, [1.0, math.nan, 2.0, 1.0])
    table = ranked_table(sets, metrics, "sharpe")
    assert [(r["rank"], r["params"]["p"]) for r in table] == [(1, 2.0), (2, 0.0), (3, 3.0),
                                                               (4, 1.0)]
    assert table[3]["metrics"]["sharpe"] is None
    assert list(table[0]["metrics"]) == list(METRIC_NAMES)
    sets, metrics = grid_of(DRAWDOWN, [0.3, 0.1, 0.2])
    assert [r["params"]["p"] for r in ranked_table(sets, metrics, "max_drawdown")] == [1, 2, 0]


def test_the_table_keeps_the_best_rows_only() -> None:
    sets, metrics = grid_of(SHARPE, [float(i) for i in range(MAX_STORED_SWEEP_ROWS + 5)])
    table = ranked_table(sets, metrics, "sharpe")
    assert len(table) == MAX_STORED_SWEEP_ROWS
    assert table[0]["params"]["p"] == MAX_STORED_SWEEP_ROWS + 4
    assert len(ranked_table(sets, metrics, "sharpe", limit=3)) == 3


def test_chunk_rows_carry_their_grid_index_and_key() -> None:
    sets, metrics = grid_of(SHARPE, [1.0, math.nan, 3.0])
    rows = chunk_top(sets, metrics, "sharpe", start=10, limit=2)
    assert [(r["index"], r["key"]) for r in rows] == [(12, -3.0), (10, -1.0)]
    rows = chunk_top(sets, metrics, "sharpe", start=0)
    assert rows[-1]["key"] == "inf"  # JSON has no infinity
    json.dumps(rows, allow_nan=False)


def test_merge_ranks_rows_from_any_chunks() -> None:
    rows = [{"index": 4, "key": "inf", "params": {"p": 4}, "metrics": {}},
            {"index": 3, "key": -1.0, "params": {"p": 3}, "metrics": {}},
            {"index": 0, "key": -1.0, "params": {"p": 0}, "metrics": {}},
            {"index": 1, "key": -2.5, "params": {"p": 1}, "metrics": {}}]
    assert [(r["rank"], r["params"]["p"]) for r in merge_sweep_rows(rows)] == [
        (1, 1), (2, 0), (3, 3), (4, 4)]
    assert [r["params"]["p"] for r in merge_sweep_rows(rows, limit=2)] == [1, 0]
    assert merge_sweep_rows([]) == []


VALUES = st.one_of(st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, math.nan, math.inf, -math.inf]),
                   st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def chunked_grids(draw: st.DrawFn) -> tuple[np.ndarray, str, list[int], int, int]:
    """A metrics table, a metric to rank by, cut points of the grid, a cap, a shuffle seed."""
    n = draw(st.integers(1, 40))
    column = draw(st.lists(VALUES, min_size=n, max_size=n))
    metrics = np.array(draw(st.lists(st.lists(VALUES, min_size=N_METRICS, max_size=N_METRICS),
                                     min_size=n, max_size=n)), dtype=np.float64)
    rank_by = draw(st.sampled_from(METRIC_NAMES))
    metrics[:, METRIC_NAMES.index(rank_by)] = column
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, n - 1)), max_size=8))) - {n})
    limit = draw(st.integers(1, n + 2))
    return metrics, rank_by, cuts, limit, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunked_grids())
def test_merging_chunk_tops_equals_ranking_the_whole_grid(
        case: tuple[np.ndarray, str, list[int], int, int]) -> None:
    metrics, rank_by, cuts, limit, seed = case
    n = metrics.shape[0]
    sets = [{"a": float(i), "b": float(i % 3)} for i in range(n)]
    bounds = [0, *cuts, n]
    stored: list[dict[str, Any]] = []
    for start, stop in itertools.pairwise(bounds):
        top = chunk_top(sets[start:stop], metrics[start:stop], rank_by, start, limit=limit)
        stored += json.loads(json.dumps(top, allow_nan=False))  # as kept in sweep_chunks
    random.Random(seed).shuffle(stored)  # chunks finish in any order
    whole = json.loads(json.dumps(ranked_table(sets, metrics, rank_by, limit=limit),
                                  allow_nan=False))
    assert merge_sweep_rows(stored, limit=limit) == whole


def test_the_table_is_the_sweeps_ranking() -> None:
    """ranked_table of a sweep's metrics is its SweepResult's rows, as JSON."""
    strategy = parse_strategy({
        "name": "x", "side": "long", "parameters": {"fast": {"value": 5, "values": [3, 5, 8]},
                                                     "slow": {"value": 20, "values": [15, 30]}},
        "entry": {"left": {"indicator": "sma", "period": "$fast"}, "op": "crosses_above",
                  "right": {"indicator": "sma", "period": "$slow"}},
        "exit": {"left": {"indicator": "sma", "period": "$fast"}, "op": "crosses_below",
                 "right": {"indicator": "sma", "period": "$slow"}}})
    sets = parameter_grid(strategy, {})
    result = run_sweep(strategy, demo_candles(n_bars=500, timeframe="1h", seed=3), sets,
                       rank_by="total_return")
    table = ranked_table(sets, result.metrics, "total_return")
    assert [(r["rank"], r["params"]) for r in table] == [(r.rank, r.params)
                                                          for r in result.rows]
    for row, want in zip(table, result.rows, strict=True):
        assert row["metrics"] == {k: json_number(v) for k, v in want.metrics.items()}
    with pytest.raises(ValueError, match="unknown metric"):
        ranked_table(sets, result.metrics, "nope")
