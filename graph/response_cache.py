"""Answers to backtest queries kept per process, exact by construction.

A polling dashboard asks the same thing again and again (``backtests(first: 50)`` with
summaries: about 8 ms of server time) while the answer changes only when one of its owner's
runs changes. :class:`ResponseCache` keeps the data of such answers and returns it again while
the owner's change counter (``store.owner_versions``: kept by database triggers on
``backtests`` and ``performance_summaries``, whoever writes) has not moved:

1. Only queries whose every field is in :data:`CACHEABLE` are considered (checked once per
   query text; ``__typename`` and ``@skip``/``@include`` allowed, any other directive not).
   Those fields are computed from the caller's own rows of those two tables and nothing else.
   **A field added to this list must read nothing else** (no trades, no strategies, no time,
   no Redis): otherwise a change there would not be seen. Fields not listed make the whole
   query go the usual way, so new fields are safe by default.
2. Only non-admin callers (an admin's lists span every owner; not cached). The key is the
   caller's user id, the query text, the operation name and the variables; the scope or kind
   of token does not change what a query returns.
3. The counter is read from the database *before* the query runs, and the answer is kept
   under that reading: a change committed meanwhile moves the counter, so the next request
   sees a new reading and runs the query again. Answers with errors are never kept.
4. Concurrent identical requests at the same reading run the query once (the others wait for
   it, and run it themselves if it failed or was cancelled).

Every API process has its own cache (memory only, least recently used answers evicted beyond
``RESPONSE_CACHE_MB``); all of them read the same counters, so they agree, with or without
Redis. A hit costs the counter's lookup instead of the query; concurrent lookups share one
query (``store.owner_versions.VersionReader``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
)
from strawberry.types.execution import ExecutionResult

from store.owner_versions import VersionReader

# The fields a cached answer may contain, by GraphQL type: each computed only from the
# caller's rows of ``backtests`` and ``performance_summaries`` (see the module docstring).
CACHEABLE: Mapping[str, frozenset[str]] = {
    "Query": frozenset({"backtests", "backtest"}),
    "BacktestConnection": frozenset({"edges", "pageInfo", "totalCount"}),
    "BacktestEdge": frozenset({"cursor", "node"}),
    "PageInfo": frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}),
    # (not eta: it is extrapolated to the time of the request)
    "Backtest": frozenset({
        "id", "kind", "status", "stage", "progress", "error", "createdAt", "startedAt",
        "finishedAt", "strategyId", "strategyName", "strategySnapshot", "params", "exchange",
        "symbol", "timeframe", "from", "to", "initialCapital", "riskFreeRate", "summary"}),
    "PerformanceSummary": frozenset({
        "finalEquity", "totalReturn", "cagr", "netPnl", "nTrades", "winRate", "avgWin",
        "avgLoss", "profitFactor", "expectancy", "maxDrawdown", "maxDrawdownDuration",
        "sharpe", "sortino", "calmar", "exposure", "bestTrade", "worstTrade", "sqn",
        "buyAndHoldReturn"}),
}
ALLOWED_DIRECTIVES = frozenset({"skip", "include"})
MAX_ENTRY_BYTES = 1 << 20  # larger answers are not kept
CHECKED_DOCUMENTS = 256  # query texts whose cacheability is remembered
_MAX_NESTING = 32  # deeper documents are not considered (the depth limit refuses them anyway)

Key = tuple[int, str, str | None, bytes]


@dataclass(frozen=True)
class _Entry:
    version: int
    data: dict[str, Any]
    size: int


def cacheable(schema: GraphQLSchema, query: str, operation_name: str | None,
              max_tokens: int) -> bool:
    """Whether the operation ``operation_name`` of ``query`` is a query whose every field is
    in :data:`CACHEABLE` (False for anything that does not parse or is ambiguous: it goes the
    usual way, which reports the problem)."""
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    if operation_name is None:
        if len(operations) != 1:
            return False
        operation = operations[0]
    else:
        named = [o for o in operations if o.name is not None and o.name.value == operation_name]
        if len(named) != 1:
            return False
        operation = named[0]
    if operation.operation != OperationType.QUERY or operation.directives:
        return False
    root = schema.query_type
    return (root is not None and _reads_data(operation.selection_set, fragments)
            and _selections(schema, root, operation.selection_set, fragments, 0, frozenset()))


def _reads_data(selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
                depth: int = 0) -> bool:
    """Whether a root selection asks for more than ``__typename`` (nothing to keep else)."""
    if depth > _MAX_NESTING:
        return False
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value != "__typename":
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _reads_data(selection.selection_set, fragments, depth + 1):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _reads_data(fragment.selection_set, fragments,
                                                    depth + 1):
                return True
    return False


def _selections(schema: GraphQLSchema, parent: GraphQLObjectType, selection_set: SelectionSetNode,
                fragments: dict[str, FragmentDefinitionNode], depth: int,
                spreading: frozenset[str]) -> bool:
    if depth > _MAX_NESTING:
        return False
    allowed = CACHEABLE.get(parent.name, frozenset())
    for selection in selection_set.selections:
        if any(d.name.value not in ALLOWED_DIRECTIVES for d in selection.directives or ()):
            return False
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name == "__typename":
                continue
            field = parent.fields.get(name)
            if name not in allowed or field is None:
                return False
            if selection.selection_set is None:
                continue
            child = get_named_type(field.type)
            if not isinstance(child, GraphQLObjectType) or not _selections(
                    schema, child, selection.selection_set, fragments, depth + 1, spreading):
                return False
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is not None and condition.name.value != parent.name:
                return False
            if not _selections(schema, parent, selection.selection_set, fragments, depth + 1,
                               spreading):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if (name in spreading or fragment is None
                    or fragment.type_condition.name.value != parent.name
                    or fragment.directives):
                return False
            if not _selections(schema, parent, fragment.selection_set, fragments, depth + 1,
                               spreading | {name}):
                return False
        else:
            return False
    return True


class ResponseCache:
    """The answers of cacheable queries (see the module docstring), at most ``max_bytes`` of
    them (their JSON size), least recently used evicted first."""

    def __init__(self, schema: GraphQLSchema, *, max_bytes: int, max_tokens: int,
                 version_of: Callable[[int], Awaitable[int]] | None = None) -> None:
        self.schema = schema
        self.max_bytes = max_bytes
        self.max_tokens = max_tokens
        self.version_of = version_of or VersionReader().version
        self.hits = 0
        self.misses = 0
        self._bytes = 0
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._checked: OrderedDict[tuple[str, str | None], bool] = OrderedDict()
        self._flights: dict[tuple[Key, int], asyncio.Future[dict[str, Any] | None]] = {}

    def key(self, user_id: int, query: str | None, operation_name: str | None,
            variables: dict[str, Any] | None) -> Key | None:
        """The key of this request's answer, or None when it is not to be cached."""
        if not query or not isinstance(operation_name, (str, type(None))):
            return None
        checked = (query, operation_name)
        ok = self._checked.get(checked)
        if ok is None:
            ok = cacheable(self.schema, query, operation_name, self.max_tokens)
            self._checked[checked] = ok
            if len(self._checked) > CHECKED_DOCUMENTS:
                self._checked.popitem(last=False)
        else:
            self._checked.move_to_end(checked)
        if not ok:
            return None
        try:
            encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # not plain JSON (an uploaded file...)
            return None
        return (user_id, query, operation_name, encoded)

    async def answer(self, key: Key, run: Callable[[], Awaitable[ExecutionResult]]
                     ) -> ExecutionResult:
        """The kept answer for ``key`` if its owner's counter has not moved since it was kept;
        otherwise ``run()``'s (kept when it has no errors)."""
        try:
            version = await self.version_of(key[0])
        except Exception:  # the database did not answer: the query itself will say so
            return await run()
        entry = self._entries.get(key)
        if entry is not None and entry.version == version:
            self._entries.move_to_end(key)
            self.hits += 1
            return ExecutionResult(data=entry.data, errors=None)
        flight = (key, version)
        leader = self._flights.get(flight)
        if leader is not None:
            data = await asyncio.shield(leader)
            if data is not None:
                self.hits += 1
                return ExecutionResult(data=data, errors=None)
            self.misses += 1
            return await run()
        self.misses += 1
        done: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._flights[flight] = done
        shared: dict[str, Any] | None = None
        try:
            result = await run()
            if not result.errors and not result.extensions and isinstance(result.data, dict):
                shared = result.data
                self._keep(key, version, shared)
            return result
        finally:
            del self._flights[flight]
            done.set_result(shared)  # the waiting requests' answer (None: they run it)

    def _keep(self, key: Key, version: int, data: dict[str, Any]) -> None:
        size = len(orjson.dumps(data)) + len(key[1]) + len(key[3])
        if size > min(MAX_ENTRY_BYTES, self.max_bytes):
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._entries[key] = _Entry(version, data, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size

    def __len__(self) -> int:
        return len(self._entries)
