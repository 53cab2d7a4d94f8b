"""graph.execution: plain leaf fields completed directly give exactly what graphql-core gives
(values, nulls, errors and their paths), next to resolvers, lists, objects and __typename."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph import execution
from graph.execution import GraphExecutionContext


@strawberry.enum
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    color: Color
    when: datetime
    score: float | None
    count: int
    doc: JSON
    tags: list[str]
    private: strawberry.Private[int] = 0

    @strawberry.field
    def double(self) -> int:
        return self.count * 2

    @strawberry.field
    async def later(self) -> str:
        return self.name + "!"


def item(**kw: Any) -> Item:
    values: dict[str, Any] = dict(id=strawberry.ID("1"), name="a", color=Color.RED,
                                  when=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), score=1.5,
                                  count=3, doc=JSON({"x": [1, 2]}), tags=["t"])
    values.update(kw)
    return Item(**values)


ITEMS: list[Item] = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS


QUERY = """{ items { __typename id name color when score count doc tags double later
                     alias: name } }"""


async def run(context_class: type, items: list[Item]) -> dict[str, Any]:
    ITEMS[:] = items
    schema = strawberry.Schema(Query, execution_context_class=context_class)
    result = await schema.execute(QUERY)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [(e.message, e.path) for e in result.errors]
    return out


@pytest.mark.asyncio
@pytest.mark.parametrize("items", [
    [item(), item(id=strawberry.ID("2"), color=Color.BLUE, score=None, name="b")],
    [item(name=None)],  # null in a non-null field: the error, and null up to the list
    [item(score=float("nan"))],  # a value the scalar refuses
    [item(count="x")],  # likewise, for Int
    [],
])
async def test_same_result_as_graphql_core(items: list[Item]) -> None:
    assert execution.FAST_LEAVES
    expected = await run(StrawberryGraphQLCoreExecutionContext, items)
    assert await run(GraphExecutionContext, items) == expected
