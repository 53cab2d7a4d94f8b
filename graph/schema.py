"""The schema: composes the feature modules' query, mutation and subscription classes.

Each feature module (accounts, strategies, market, backtests, sweeps, transactions, replays,
and jobs, over every kind of job) defines its own ``*Queries``, ``*Mutations`` and
``*Subscriptions`` classes; this module only joins them (``graph.jobs.job_mutations`` builds
its class once the job kinds' modules have registered their types) and adds the extensions every operation goes through: error codes
(``graph.errors``), the query limits below, and caches of parsed and of validated query texts
(a client sends the same few texts again and again). Execution goes through
``graph.execution.GraphExecutionContext`` (plain fields and float series completed directly).
``schema.graphql`` at the repository root is this schema printed by Strawberry's printer
(``make schema``, see ``graph.schema_export``); a test fails when it differs.

Limits (each refusal is a ``BAD_USER_INPUT`` error naming the limit): :data:`MAX_DEPTH` levels
of selections below the root field, :data:`MAX_TOKENS` tokens per document, :data:`MAX_ALIASES`
aliases; lists cap their page size (``graph.types_common.MAX_PAGE_SIZE``). They hold for
introspection too: the tokens and aliases alike, and the depth below ``__schema`` and
``__type`` is capped at :data:`MAX_INTROSPECTION_DEPTH`, where a chain of ``ofType`` (the
wrappers of one type reference: GraphiQL's own introspection query nests it nine times) counts
as one level and is itself capped at :data:`MAX_TYPE_WRAPPING`. Cycles such as
``fields { type { fields { type ... } } }`` are what the cap stops. Before any resolver runs,
``graph.errors.RequestChecks`` refuses NUL characters, unnamed operations of a multi-operation
document and subscriptions over HTTP.

``DateTime`` values are ISO 8601 with a zone (``2024-01-01T00:00:00Z``; a time without a zone
is taken as UTC); anything else is refused saying so (:data:`DATETIME`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dateutil.parser
import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext
from strawberry.types.scalar import ScalarDefinition

from graph.accounts import AccountMutations, AccountQueries
from graph.admin import AdminMutations, AdminQueries
from graph.backtests import BacktestMutations, BacktestQueries, BacktestSubscriptions
from graph.cache import CacheQueries
from graph.errors import ErrorCodes, RequestChecks
from graph.exchange_keys import ExchangeKeyMutations, ExchangeKeyQueries
from graph.execution import GraphExecutionContext
from graph.jobs import JobQueries, JobSubscriptions, job_mutations
from graph.market import MarketMutations, MarketQueries, MarketSubscriptions
from graph.market_files import MarketFileMutations, MarketFileQueries
from graph.permissions import guard
from graph.rate_limits import RateLimits, rate_limit_extension
from graph.replays import ReplayMutations, ReplayQueries, ReplaySubscriptions
from graph.strategies import StrategyMutations, StrategyQueries
from graph.sweeps import SweepMutations, SweepQueries
from graph.templates import TemplateQueries
from graph.transactions import TransactionMutations, TransactionQueries

MAX_DEPTH = 10
MAX_INTROSPECTION_DEPTH = MAX_DEPTH  # below __schema/__type, a chain of ofType counting once
MAX_TYPE_WRAPPING = 10  # ofType chain: GraphiQL's introspection query nests it 9 times
MAX_TOKENS = 2_000
MAX_ALIASES = 15
CACHED_DOCUMENTS = 256  # parsed, and validated, query texts kept (two LRUs, process-wide)


JobMutations: Any = job_mutations()  # after the imports above: every kind's type registered


@strawberry.type
class Query(AccountQueries, StrategyQueries, MarketQueries, MarketFileQueries, BacktestQueries,
            SweepQueries, CacheQueries, TransactionQueries, ReplayQueries, JobQueries,
            TemplateQueries, AdminQueries, ExchangeKeyQueries):
    pass


@strawberry.type
class Mutation(AccountMutations, StrategyMutations, MarketMutations, MarketFileMutations,
               BacktestMutations, SweepMutations, TransactionMutations, ReplayMutations,
               JobMutations, AdminMutations, ExchangeKeyMutations):  # type: ignore[misc]  # (built at import: Any)
    pass


@strawberry.type
class Subscription(MarketSubscriptions, BacktestSubscriptions, ReplaySubscriptions,
                   JobSubscriptions):
    pass


class BacktestSchema(strawberry.Schema):
    """Strawberry's schema, minus its own error log: Strawberry logs every error with its
    traceback at ERROR level (a wrong password guess, a bad cursor...). ``graph.errors.classify``
    logs the unexpected ones, once, as it masks them; expected failures are not logged."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        return None


class DocumentCache(ParserCache):
    """Strawberry's parser cache (a process-wide LRU of parsed query texts), except that a
    text that does not parse is left to Strawberry's own parsing, which reports the error the
    usual way (raised from this hook, it would skip the error codes of ``graph.errors``)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(context.query,
                                                                  **context.parse_options)
        yield


DATETIME_FORMAT = "an ISO 8601 date and time with a zone, e.g. \"2024-01-01T00:00:00Z\""


def parse_datetime(value: object) -> datetime:
    """A ``DateTime`` input: ISO 8601, taken as UTC without a zone; refused saying what to
    send."""
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed: datetime = dateutil.parser.isoparse(value)
        except (ValueError, OverflowError, TypeError):
            pass
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    shown = value if isinstance(value, str) and len(value) <= 64 else type(value).__name__
    raise StrawberryInputCoercionError(f"Not a DateTime: {shown!r}. Send {DATETIME_FORMAT}.")


DATETIME = ScalarDefinition(
    name="DateTime",
    description="A date and time, ISO 8601 with a zone: 2024-01-01T00:00:00Z (inputs without a "
                "zone are taken as UTC).",
    specified_by_url=None, serialize=lambda v: v.isoformat(), parse_value=parse_datetime,
    parse_literal=None, origin=datetime)


def _depth(selections: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
           seen: frozenset[str] = frozenset(), *, chain: int = 0) -> tuple[int, int]:
    """Levels of fields in ``selections`` (fragments expanded once each), with nested
    ``ofType`` fields counting as one level, and the longest ``ofType`` chain. ``chain`` is the
    length of the chain ``selections`` belongs to (0 outside one)."""
    if selections is None:
        return 0, chain
    deepest, longest = 0, chain
    for node in selections.selections:
        if isinstance(node, FieldNode):
            wrapper = node.name.value == "ofType"
            below, run = _depth(node.selection_set, fragments, seen,
                                chain=chain + 1 if wrapper else 0)
            # an ofType inside an ofType adds no level (the first one of a chain does)
            deepest = max(deepest, below + (0 if wrapper and chain else 1))
            longest = max(longest, run)
        else:
            inner: SelectionSetNode | None
            if isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    continue
                inner, seen_inner = fragment.selection_set, seen | {name}
            else:  # an inline fragment
                inner, seen_inner = getattr(node, "selection_set", None), seen
            below, run = _depth(inner, fragments, seen_inner, chain=chain)
            deepest, longest = max(deepest, below), max(longest, run)
    return deepest, longest


class IntrospectionDepth(ValidationRule):
    """Strawberry's depth limiter skips introspection fields: this caps the levels below
    ``__schema`` and ``__type`` at :data:`MAX_INTROSPECTION_DEPTH` (an ``ofType`` chain
    counting once) and ``ofType`` chains at :data:`MAX_TYPE_WRAPPING`."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments = {d.name.value: d for d in context.document.definitions
                          if isinstance(d, FragmentDefinitionNode)}

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        if node.name.value not in ("__schema", "__type"):
            return None
        depth, wrapping = _depth(node.selection_set, self.fragments)
        if depth > MAX_INTROSPECTION_DEPTH:
            self.report_error(GraphQLError(
                f"'{node.name.value}' exceeds maximum introspection depth of "
                f"{MAX_INTROSPECTION_DEPTH}", [node]))
        elif wrapping > MAX_TYPE_WRAPPING:
            self.report_error(GraphQLError(
                f"'{node.name.value}' exceeds maximum introspection depth: ofType nested more "
                f"than {MAX_TYPE_WRAPPING} times", [node]))
        return self.SKIP


# The depth and alias limits' validation rules, built once: the limiters make new rule classes
# on each construction, which would make every request miss the validation cache (its key
# includes the rules).
_LIMIT_RULES = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
                *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
                IntrospectionDepth]


def extensions(*, introspection: bool = True, rate_limits: RateLimits | None = None
               ) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """What every operation goes through: the parse and validation caches, the depth, token and
    alias limits, the mutation rate limits (``graph.rate_limits``, when given), then the error
    codes (``graph.errors``); with ``introspection=False`` introspection queries are refused
    and validation errors suggest no names (:class:`HideSuggestions`)."""
    found: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: DocumentCache(maxsize=CACHED_DOCUMENTS),
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
        lambda: AddValidationRules(_LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        RequestChecks,
        ErrorCodes,
    ]
    if rate_limits is not None and rate_limits.enabled:
        found.insert(found.index(RequestChecks), rate_limit_extension(rate_limits))
    if not introspection:
        found += [DisableIntrospection, HideSuggestions]
    return found


class HideSuggestions(SchemaExtension):
    """Errors without "Did you mean ...?" (names of fields, arguments, types or enum values
    that exist): with introspection off, suggestions would reveal the schema piece by piece."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_without_suggestion(e) for e in result.errors]


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    if "Did you mean" not in error.message:
        return error
    return GraphQLError(_SUGGESTION.sub("", error.message), nodes=error.nodes,
                        source=error.source, positions=error.positions, path=error.path,
                        original_error=error.original_error, extensions=error.extensions)


def build_schema(*, introspection: bool = True,
                 rate_limits: RateLimits | None = None) -> strawberry.Schema:
    """The schema with its extensions; ``introspection=False`` for production (``GRAPHQL_IDE=0``).
    Every root field gets its permission first (``graph.permissions``)."""
    guard(Query, Mutation, Subscription)
    return BacktestSchema(query=Query, mutation=Mutation, subscription=Subscription,
                          extensions=extensions(introspection=introspection,
                                                rate_limits=rate_limits),
                          execution_context_class=GraphExecutionContext,
                          scalar_overrides={datetime: DATETIME})


schema = build_schema()
