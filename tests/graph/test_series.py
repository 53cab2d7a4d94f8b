"""graph.series: float lists built from numpy, passed through without per-item completion."""

from __future__ import annotations

import numpy as np
import pytest
import strawberry

from graph.series import FAST_PATH, FloatColumn, SeriesExecutionContext, float_column

VALUES = np.array([np.nan, 1.5, 2.0, np.inf])


@strawberry.type
class Query:
    @strawberry.field
    def xs(self) -> list[float | None]:
        return float_column(VALUES, nullable=True)

    @strawberry.field
    def ys(self) -> list[float]:
        return float_column(VALUES[1:3], nullable=False)


def test_fast_and_usual_completion_give_the_same_response() -> None:
    fast = strawberry.Schema(query=Query, execution_context_class=SeriesExecutionContext)
    slow = strawberry.Schema(query=Query)
    want = {"xs": [None, 1.5, 2.0, None], "ys": [1.5, 2.0]}
    fast_data = fast.execute_sync("{ xs ys }").data
    slow_data = slow.execute_sync("{ xs ys }").data
    assert fast_data == want == slow_data
    assert slow_data is not None and type(slow_data["xs"]) is list  # completed item by item
    # passed through as built (graphql-core's signature is the one the fast path knows)
    assert FAST_PATH and fast_data is not None and type(fast_data["xs"]) is FloatColumn


def test_a_non_null_series_refuses_undefined_values() -> None:
    with pytest.raises(ValueError, match="non-null"):
        float_column(VALUES, nullable=False)
    assert float_column(np.arange(3), nullable=False) == [0.0, 1.0, 2.0]
