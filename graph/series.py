"""Chart series as GraphQL lists of floats, without per-element work.

Series travel as parallel arrays (``times: [Float!]!``, ``values: [Float]!``). graphql-core
completes a list item by item (about 1.3 µs each: 100,000 candles with two indicators spend
over a second there), so:

- :func:`float_column` builds the list with numpy's ``tolist()`` (NaN and infinities become
  ``None``, or are refused for a non-null series) and marks it as a :class:`FloatColumn`;
- :class:`SeriesExecutionContext`, given to ``strawberry.Schema(execution_context_class=...)``,
  passes a ``FloatColumn`` through as it is when the field's items are ``Float`` or ``Float!``
  (the values were checked when it was built, which is all that completing them would do).

Without that execution context a ``FloatColumn`` is still a plain list, completed item by item:
same response, only slower.

:class:`Series` is the GraphQL type of a chart series (curves of runs, the buy-and-hold curve),
and :func:`check_points` the check of its ``maxPoints`` argument.
"""

from __future__ import annotations

import inspect
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import strawberry
from graphql import GraphQLFloat, GraphQLList, GraphQLNonNull, GraphQLOutputType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.errors import BadUserInput

DEFAULT_POINTS = 1_000
MAX_POINTS = 100_000


class FloatColumn(list[float | None]):
    """A list of Python floats (``None`` where undefined) built by :func:`float_column`."""


def float_column(values: npt.ArrayLike, *, nullable: bool) -> FloatColumn:
    """``values`` as a :class:`FloatColumn` of float64; non-finite values become ``None`` when
    ``nullable``, and raise ``ValueError`` otherwise (a ``[Float!]`` may not hold them)."""
    a = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(a)
    if finite.all():
        return FloatColumn(a.tolist())
    if not nullable:
        raise ValueError("a non-null float series holds NaN or infinite values")
    out = a.astype(object)
    out[~finite] = None
    return FloatColumn(out.tolist())


@strawberry.type(description="A chart series as parallel columnar arrays (not a connection: "
                             "every point at once, downsampled to maxPoints): `times` are UTC "
                             "epoch milliseconds, `values` the series at those times. Every "
                             "chart series of the API (curves, candles, indicators) follows this "
                             "columnar convention; object times elsewhere are DateTime.")
class Series:
    times: list[float]
    values: list[float]

    @classmethod
    def of(cls, times: Any, values: Any) -> Series:
        # a FloatColumn of finite floats (nullable=False refuses others) is a list[float]
        return cls(times=cast(list[float], float_column(times, nullable=False)),
                   values=cast(list[float], float_column(values, nullable=False)))

    @classmethod
    def from_payload(cls, payload: dict[str, list[float]]) -> Series:
        return cls.of(payload["times"], payload["values"])


def check_points(value: int) -> int:
    """A ``maxPoints`` argument, checked: ``BAD_USER_INPUT`` outside ``[2, MAX_POINTS]``."""
    if not 2 <= value <= MAX_POINTS:
        raise BadUserInput(f"'maxPoints' must be between 2 and {MAX_POINTS:,} (got {value})")
    return value


def _floats(item_type: GraphQLOutputType) -> bool:
    if isinstance(item_type, GraphQLNonNull):
        item_type = item_type.of_type
    return item_type is GraphQLFloat


_BASE = StrawberryGraphQLCoreExecutionContext
_PARAMS = list(inspect.signature(_BASE.complete_list_value).parameters)
# The fast path is used only on the graphql-core signature it was written for; on another one
# every list goes the usual way.
FAST_PATH = _PARAMS == ["self", "return_type", "field_details_list", "info", "path", "result",
                     "position_context"]


class SeriesExecutionContext(_BASE):
    """Strawberry's execution context, with :class:`FloatColumn` lists passed through."""

    def complete_list_value(self, return_type: GraphQLList[GraphQLOutputType],
                            field_details_list: Any, info: Any, path: Any, result: Any,
                            position_context: Any) -> Any:
        if (FAST_PATH and type(result) is FloatColumn and _floats(return_type.of_type)
                and self.get_stream_usage(field_details_list, path) is None):
            return result
        return super().complete_list_value(return_type, field_details_list, info, path,
                                           result, position_context)
