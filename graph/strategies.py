"""Strategies: create, update (a new version), delete, list, get, and the document's JSON Schema.

A strategy is named per owner; each save is a new version row (``store.strategies``), so the
backtests of an older version keep pointing at the document they ran. ``strategies`` lists the
latest version of each strategy, most recently saved first; ``strategy(id)`` returns any
version. Another user's strategy is ``NOT_FOUND`` (never ``FORBIDDEN``, so ids do not leak);
an admin sees and changes everyone's.

Invalid documents come back as a ``StrategyValidationError`` whose problems carry the path
at fault under ``input.document`` (``input.document.entry.all[1].left.period``). The rules of
names, versions and storable documents are ``domain.strategy.naming``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import orjson
import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.errors import Problem, StrategyError
from domain.strategy import parse_strategy, strategy_json_schema
from domain.strategy.naming import (
    check_name,
    document_problems,
    named_document,
    unstorable,
    update_problems,
    updated_version,
)
from graph.accounts import User
from graph.audit import audit
from graph.context import Context
from graph.errors import BadUserInput, NotFound
from graph.owners import owner_field
from graph.types_common import (
    Node,
    NotFoundError,
    PageInfo,
    StrategyValidationError,
    Window,
    cursor_id,
    cursor_time,
    decode_cursor,
    encode_cursor,
    global_id,
    offset_cursor,
    offset_window,
    parse_id,
    register_node,
)
from store import strategies as store
from store.scope import OwnerScope
from store.strategies import StrategyNameTaken, StrategyRecord

MAX_SEARCH = 200  # characters of a strategies(search:) argument


@strawberry.type(description="The values a sweep tries: start, start + step, ... <= stop.")
class ParameterRange:
    start: float
    stop: float
    step: float


@strawberry.type(description="A named number of the document, referenced as \"$name\".")
class StrategyParameter:
    name: str
    value: float = strawberry.field(description="The value a single backtest uses.")
    range: ParameterRange | None
    values: list[float] | None
    integer: bool = strawberry.field(description="Used where an integer is needed (a period).")


@strawberry.type(description="One saved version of a strategy (its id is the version's Strategy "
                             "id).")
class StrategyVersion:
    id: strawberry.ID
    version: int
    document: JSON
    created_at: datetime


def _parameters(document: dict[str, Any]) -> list[StrategyParameter]:
    try:
        parsed = parse_strategy(document)
    except StrategyError:
        return []  # stored before a validation rule changed: show the document, no parameters
    return [StrategyParameter(
        name=p.name, value=p.value,
        range=ParameterRange(start=p.range[0], stop=p.range[1], step=p.range[2]) if p.range else None,
        values=list(p.values) if p.values is not None else None, integer=p.integer)
        for p in parsed.parameters.values()]


async def _load_versions(keys: list[tuple[int, str]]) -> list[list[StrategyRecord]]:
    found = await store.versions_of(keys)
    return [found.get(k, []) for k in keys]


def _parameters_of(root: StrategyType) -> list[StrategyParameter]:
    return _parameters(root.record.document)


@strawberry.type
class StrategyVersionEdge:
    cursor: str
    node: StrategyVersion


@strawberry.type(description="A page of a strategy's versions, oldest first.")
class StrategyVersionConnection:
    edges: list[StrategyVersionEdge]
    page_info: PageInfo
    total_count: int


async def _versions_of(root: StrategyType, info: Info[Context, None],
                       first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None
                       ) -> StrategyVersionConnection:
    loader = info.context.loader("strategy_versions", lambda: DataLoader(_load_versions))
    rows = await loader.load((root.record.owner_id, root.record.name))
    start, end, page = offset_window(len(rows), first, after, last, before)
    return StrategyVersionConnection(edges=[StrategyVersionEdge(
        cursor=offset_cursor(i), node=StrategyVersion(
            id=global_id("Strategy", rows[i].id), version=rows[i].version,
            document=JSON(rows[i].document), created_at=rows[i].created_at))
        for i in range(start, end)], page_info=page, total_count=len(rows))


@strawberry.type(name="Strategy", description="A version of a strategy document.")
class StrategyType(Node):
    id: strawberry.ID
    name: str
    version: int
    document: JSON
    created_at: datetime = strawberry.field(description="When this version was saved.")
    updated_at: datetime
    record: strawberry.Private[StrategyRecord]
    owner_pk: strawberry.Private[int]
    owner: User | None = owner_field()
    parameters: list[StrategyParameter] = strawberry.field(
        resolver=_parameters_of, description="The document's parameters: names, values, ranges.")
    versions: StrategyVersionConnection = strawberry.field(
        resolver=_versions_of, description="Every version of this strategy, oldest first "
                                           "(Relay connection).")

    @classmethod
    def from_record(cls, r: StrategyRecord) -> StrategyType:
        return cls(id=global_id("Strategy", r.id), name=r.name, version=r.version,
                   document=JSON(r.document), created_at=r.created_at, updated_at=r.updated_at,
                   record=r, owner_pk=r.owner_id)


async def load_strategy(info: Info[Context, None], strategy_id: int) -> StrategyType | None:
    """Version ``strategy_id`` if the caller may see it, batched per request (a DataLoader): for
    other types' ``strategy`` fields (e.g. a backtest's)."""
    owner = info.context.scope()

    async def load(ids: list[int]) -> list[StrategyRecord | None]:
        found = await store.strategies_by_id(ids, owner=owner)
        return [found.get(i) for i in ids]

    record = await info.context.loader("strategies_by_id", lambda: DataLoader(load)).load(
        strategy_id)
    return None if record is None else StrategyType.from_record(record)


@strawberry.type
class StrategyEdge:
    cursor: str
    node: StrategyType


@strawberry.type
class StrategyConnection:
    edges: list[StrategyEdge]
    page_info: PageInfo
    owner: strawberry.Private[OwnerScope]
    search: strawberry.Private[str | None] = None

    @strawberry.field(description="How many strategies (not versions) there are (matching the "
                                  "search, if any), on every page.")
    async def total_count(self) -> int:
        return await store.count_latest(owner=self.owner, search=self.search)


@strawberry.type(description="What deleteStrategy removed: every version of the strategy.")
class DeletedStrategy:
    name: str
    deleted_ids: list[strawberry.ID]


@strawberry.input
class CreateStrategyInput:
    document: JSON = strawberry.field(description="The strategy document (see strategySchema).")
    name: str | None = strawberry.field(
        default=None, description="The strategy's name; written into the document's \"name\". "
                                  "Default: the document's own.")


@strawberry.input
class UpdateStrategyInput:
    name: str | None = strawberry.field(default=None, description="Rename the strategy (every "
                                                                  "version).")
    document: JSON | None = strawberry.field(default=None, description="The new document.")


CreateStrategyResult = Annotated[StrategyType | StrategyValidationError,
                                 strawberry.union("CreateStrategyResult")]
UpdateStrategyResult = Annotated[StrategyType | StrategyValidationError | NotFoundError,
                                 strawberry.union("UpdateStrategyResult")]
DeleteStrategyResult = Annotated[DeletedStrategy | NotFoundError,
                                 strawberry.union("DeleteStrategyResult")]


def _invalid(problems: list[Problem]) -> StrategyValidationError:
    return StrategyValidationError.of_domain((p.path, p.message) for p in problems)


def _check_document(document: object, name: str | None) -> tuple[Any, list[Problem]]:
    """The document to store (with ``name`` written in) and its problems
    (``domain.strategy.naming``), its size measured as it will be stored."""
    document = named_document(document, name)
    try:
        size = len(orjson.dumps(document))
    except orjson.JSONEncodeError as err:  # integers beyond 64 bits, nesting beyond 255 levels
        return document, [unstorable(str(err))]
    return document, document_problems(document, size)


def _cursor(r: StrategyRecord) -> str:
    return encode_cursor((r.created_at.isoformat(), r.id))


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    if cursor is None:
        return None
    at, last_id = decode_cursor(cursor, 2)
    return cursor_time(at, cursor), cursor_id(last_id, cursor)


def _key(id: strawberry.ID) -> int:
    return parse_id(id, "Strategy")


async def strategies(info: Info[Context, None], first: int | None = None,
                     after: str | None = None, last: int | None = None,
                     before: str | None = None,
                     search: Annotated[str | None, strawberry.argument(
                         description="Only strategies whose name contains this (case "
                                     f"ignored; at most {MAX_SEARCH} characters).")] = None
                     ) -> StrategyConnection:
    owner = info.context.scope()
    window = Window(first, after, last, before)
    size = window.size
    wanted = (search or "").strip() or None
    if wanted is not None and len(wanted) > MAX_SEARCH:
        raise BadUserInput(f"search: at most {MAX_SEARCH} characters")
    rows = await store.list_latest(owner=owner, limit=size + 1, after=_after(after),
                                   before=_after(before), backward=window.backward,
                                   search=wanted)
    page = rows[max(0, len(rows) - size):] if window.backward else rows[:size]
    edges = [StrategyEdge(cursor=_cursor(r), node=StrategyType.from_record(r)) for r in page]
    return StrategyConnection(edges=edges, owner=owner, search=wanted, page_info=window.page_info(
        [e.cursor for e in edges], len(rows) > size))


async def strategy(info: Info[Context, None], id: strawberry.ID) -> StrategyType:
    owner = info.context.scope()
    found = await store.get_strategy(parse_id(id, "Strategy"), owner=owner)
    if found is None:
        raise NotFound("strategy", id)
    return StrategyType.from_record(found)


def strategy_schema(info: Info[Context, None]) -> JSON:
    return JSON(strategy_json_schema())  # public documentation: no sign-in


async def create_strategy(info: Info[Context, None],
                          input: CreateStrategyInput) -> CreateStrategyResult:
    viewer = info.context.require_write()
    name, problems = check_name(input.name) if input.name is not None else (None, [])
    if problems:
        return _invalid(problems)
    document, problems = _check_document(input.document, name)
    if problems:
        return _invalid(problems)
    try:
        record = await store.create_strategy(viewer.user_id, document["name"], document)
    except StrategyNameTaken as err:
        return _invalid([Problem("name", str(err))])
    return StrategyType.from_record(record)


async def update_strategy(info: Info[Context, None], id: strawberry.ID,
                          input: UpdateStrategyInput) -> UpdateStrategyResult:
    info.context.require_write()
    owner = info.context.scope()
    key = _key(id)
    latest = await store.latest_version(key, owner=owner)
    if latest is None:
        return NotFoundError(message=f"strategy {id} not found")
    if problems := update_problems(input.name, input.document):
        return _invalid(problems)
    if input.name is not None and (problems := check_name(input.name)[1]):
        return _invalid(problems)
    name, base = updated_version(latest.name, latest.document, input.name, input.document)
    document, problems = _check_document(base, name)
    if problems:
        return _invalid(problems)
    try:
        record = await store.save_version(latest.id, owner=owner, name=name,
                                           document=document)
    except StrategyNameTaken as err:
        return _invalid([Problem("name", str(err))])
    if record is None:  # deleted meanwhile
        return NotFoundError(message=f"strategy {id} not found")
    return StrategyType.from_record(record)


async def delete_strategy(info: Info[Context, None], id: strawberry.ID) -> DeleteStrategyResult:
    info.context.require_write()
    owner = info.context.scope()
    key = _key(id)
    found = await store.get_strategy(key, owner=owner)
    deleted = await store.delete_strategy(found.id, owner=owner) if found is not None else None
    if found is None or deleted is None:
        return NotFoundError(message=f"strategy {id} not found")
    await audit(info.context, "strategy.delete", target_type="Strategy", target_id=found.id,
                details={"name": found.name, "versions": len(deleted)})
    return DeletedStrategy(name=found.name, deleted_ids=[global_id("Strategy", i) for i in deleted])


async def _load_strategies(info: Info[Context, None], ids: Sequence[int]) -> list[StrategyType]:
    found = await store.strategies_by_id(ids, owner=info.context.scope())
    return [StrategyType.from_record(r) for r in found.values()]


register_node("Strategy", _load_strategies)


@strawberry.type
class StrategyQueries:
    strategies: StrategyConnection = strawberry.field(
        resolver=strategies, description="The latest version of each of your strategies, most "
                                         "recently saved first (Relay connection).")
    strategy: StrategyType = strawberry.field(
        resolver=strategy, description="One version of a strategy (NOT_FOUND if it is not yours).")
    strategy_schema: JSON = strawberry.field(
        resolver=strategy_schema,
        description="The JSON Schema of strategy documents (public: no sign-in needed).")


@strawberry.type
class StrategyMutations:
    create_strategy: CreateStrategyResult = strawberry.mutation(
        resolver=create_strategy, description="Save a new strategy (version 1).")
    update_strategy: UpdateStrategyResult = strawberry.mutation(
        resolver=update_strategy,
        description="Save a new version of a strategy (give any version's id): version + 1 with "
                    "the new document and/or name. The older versions stay as they were.")
    delete_strategy: DeleteStrategyResult = strawberry.mutation(
        resolver=delete_strategy,
        description="Delete a strategy: every version of it. Backtests of it keep the document "
                    "they ran.")
