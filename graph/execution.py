"""The execution context of the schema: plain leaf fields completed without per-field machinery.

graphql-core executes every field the same way: a ``Path``, a resolve info, the resolver, then
``complete_value`` walking the type (about 10 µs a field; a page of 50 backtests with their
summaries has about 800 fields, most of them plain attributes such as ``status`` or
``sharpe``). :class:`GraphExecutionContext` (Strawberry's, with :mod:`graph.series`'s float
columns) takes a shorter way for the fields where that machinery cannot change the outcome: a
field is *plain* when

- Strawberry resolves it from an attribute (no resolver, no permission classes or field
  extensions, the default ``getattr`` resolver), it has no arguments, and no middleware is
  installed (no schema extension implements ``resolve``);
- its type is a scalar or an enum, nullable or not (lists and objects go the usual way).

For those it reads the attribute and coerces it with the type's own ``coerce_output_value``,
exactly what ``complete_leaf_value`` does. Anything unusual (an awaitable, a null in a
non-null field, a value the scalar refuses or an exception) sends that field through
graphql-core's ``execute_field``, which produces the usual value or error: reading an attribute
has no side effect, so doing it twice changes nothing. ``__typename`` is the parent type's
name. Each distinct selection (graphql-core hands the same grouped field set to every item of a
list) is planned once per operation.

On a graphql-core whose executor signatures differ from those this was written for, every field
goes the usual way (same results, only slower).
"""

from __future__ import annotations

import inspect
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel

from graph.series import SeriesExecutionContext

DEFINITION = "strawberry-definition"  # where Strawberry keeps its field on a GraphQLField

_BASE = SeriesExecutionContext
FAST_LEAVES = (
    list(inspect.signature(_BASE.execute_fields).parameters)
    == ["self", "parent_type", "source_value", "path", "grouped_field_set", "position_context"]
    and list(inspect.signature(_BASE.execute_field).parameters)
    == ["self", "parent_type", "source", "field_details_list", "path", "position_context"]
    and callable(getattr(GraphQLString, "coerce_output_value", None))
    and callable(getattr(GraphQLEnumType, "coerce_output_value", None))
)

_TYPENAME = 0  # plan kinds
_PLAIN = 1
_OTHER = 2


def _attribute(field_def: Any) -> str | None:
    """The attribute a plain field reads (None: not a plain field)."""
    if field_def.args or not getattr(field_def.resolve, "_is_default", False):
        return None
    field = (field_def.extensions or {}).get(DEFINITION)
    if field is None or not field.is_basic_field or field.default_resolver is not getattr:
        return None
    name = field.python_name
    return name if isinstance(name, str) else None


class GraphExecutionContext(SeriesExecutionContext):
    """Strawberry's execution context with float columns (:mod:`graph.series`) and plain leaf
    fields completed directly (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[int, tuple[Any, list[tuple[Any, ...]]]] = {}
        manager = self.middleware_manager
        self._fast = FAST_LEAVES and (manager is None or not manager.middlewares)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any
              ) -> list[tuple[Any, ...]]:
        key = id(grouped_field_set)
        found = self._plans.get(key)
        if found is not None and found[0] is grouped_field_set:
            return found[1]
        plan: list[tuple[Any, ...]] = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            name = node.name.value
            if name == "__typename":
                plan.append((_TYPENAME, response_name, field_details_list, None, None, False))
                continue
            field_def = self.schema.get_field(parent_type, name)
            attribute = None if field_def is None or node.arguments else _attribute(field_def)
            leaf = None
            non_null = False
            if attribute is not None:
                leaf = field_def.type  # type: ignore[union-attr]
                if isinstance(leaf, GraphQLNonNull):
                    leaf, non_null = leaf.of_type, True
                if not isinstance(leaf, (GraphQLScalarType, GraphQLEnumType)):
                    attribute = None
            if attribute is None:
                plan.append((_OTHER, response_name, field_details_list, None, None, False))
            else:
                plan.append((_PLAIN, response_name, field_details_list, attribute, leaf,
                             non_null))
        # the grouped field set is kept with its plan, so its id cannot be reused meanwhile
        self._plans[key] = (grouped_field_set, plan)
        return plan

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any, path: Any,
                       grouped_field_set: Any, position_context: Any) -> Any:
        if not self._fast:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        plan = self._plan(parent_type, grouped_field_set)
        if all(entry[0] == _OTHER for entry in plan):
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        results: dict[str, Any] = {}
        pending: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for kind, response_name, field_details_list, attribute, leaf, non_null in plan:
                if kind == _TYPENAME:
                    results[response_name] = parent_type.name
                    continue
                if kind == _PLAIN:
                    value = _plain(source_value, attribute, leaf, non_null, is_awaitable)
                    if value is not Undefined:
                        results[response_name] = value
                        continue
                result = self.execute_field(parent_type, source_value, field_details_list,
                                            Path(path, response_name, parent_type.name),
                                            position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        pending.append(response_name)
        except Exception:
            if pending:
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results

        async def get_results() -> dict[str, Any]:  # as graphql-core's execute_fields
            if len(pending) == 1:
                results[pending[0]] = await results[pending[0]]
            else:
                awaited = await gather_with_cancel(*(results[name] for name in pending))
                results.update(zip(pending, awaited, strict=True))
            return results

        return get_results()


def _plain(source: Any, attribute: str, leaf: Any, non_null: bool, is_awaitable: Any) -> Any:
    """The completed value of a plain field, or Undefined to take graphql-core's way."""
    try:
        value = getattr(source, attribute)
        if value is None:
            return Undefined if non_null else None
        if is_awaitable(value):
            return Undefined
        coerced = leaf.coerce_output_value(value)
    except Exception:
        return Undefined
    return Undefined if coerced is None else coerced
