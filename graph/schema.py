"""The schema: composes the feature modules' query, mutation and subscription classes.

Each feature module (accounts, strategies, market, backtests, sweeps) defines its own
``*Queries``, ``*Mutations`` and ``*Subscriptions`` classes; this module only joins them and adds
the extensions every operation goes through: error codes (``graph.errors``) and the query
limits below. ``schema.graphql`` at the repository root is this schema printed by Strawberry's
printer (``make schema``, see ``graph.schema_export``); a test fails when it differs.

Limits (each refusal is a ``BAD_USER_INPUT`` error naming the limit): :data:`MAX_DEPTH` levels
of selections below the root field, :data:`MAX_TOKENS` tokens per document, :data:`MAX_ALIASES`
aliases; lists cap their page size (``graph.types_common.MAX_PAGE_SIZE``).
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from graph.accounts import AccountMutations, AccountQueries
from graph.backtests import BacktestMutations, BacktestQueries, BacktestSubscriptions
from graph.cache import CacheQueries
from graph.errors import ErrorCodes
from graph.market import MarketMutations, MarketQueries, MarketSubscriptions
from graph.series import SeriesExecutionContext
from graph.strategies import StrategyMutations, StrategyQueries
from graph.sweeps import SweepMutations, SweepQueries

MAX_DEPTH = 10
MAX_TOKENS = 2_000
MAX_ALIASES = 15
CACHED_DOCUMENTS = 256  # parsed and validated query texts kept (LRU, process-wide)


@strawberry.type
class Query(AccountQueries, StrategyQueries, MarketQueries, BacktestQueries, SweepQueries,
            CacheQueries):
    pass


@strawberry.type
class Mutation(AccountMutations, StrategyMutations, MarketMutations, BacktestMutations,
               SweepMutations):
    pass


@strawberry.type
class Subscription(MarketSubscriptions, BacktestSubscriptions):
    pass


class BacktestSchema(strawberry.Schema):
    """Strawberry's schema, minus its own error log: Strawberry logs every error with its
    traceback at ERROR level (a wrong password guess, a bad cursor...). ``graph.errors.classify``
    logs the unexpected ones, once, as it masks them; expected failures are not logged."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        return None


# The depth and alias limits' validation rules, built once: the limiters make new rule classes
# on each construction, which would make every request miss the validation cache (its key
# includes the rules).
_LIMIT_RULES = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
                *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules]


def extensions(*, introspection: bool = True
               ) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """What every operation goes through: the depth, token and alias limits, then the error
    codes (``graph.errors``); with ``introspection=False`` introspection queries are refused."""
    found: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
        lambda: AddValidationRules(_LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        ErrorCodes,
    ]
    if not introspection:
        found.append(DisableIntrospection)
    return found


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema with its extensions; ``introspection=False`` for production (``GRAPHQL_IDE=0``)."""
    return BacktestSchema(query=Query, mutation=Mutation, subscription=Subscription,
                          extensions=extensions(introspection=introspection),
                          execution_context_class=SeriesExecutionContext)


schema = build_schema()
