"""The schema: composes the feature modules' query, mutation and subscription classes.

Each feature module (accounts, strategies, market, backtests, sweeps) defines its own
``*Queries``, ``*Mutations`` and ``*Subscriptions`` classes; this module only joins them and adds
the extensions every operation goes through: error codes (``graph.errors``) and the query
limits below. ``schema.graphql`` at the repository root is this schema printed by Strawberry's
exporter (``make schema``); a test fails when it differs.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from graph.accounts import AccountMutations, AccountQueries
from graph.backtests import BacktestMutations, BacktestQueries, BacktestSubscriptions
from graph.errors import ErrorCodes
from graph.market import MarketMutations, MarketQueries, MarketSubscriptions
from graph.strategies import StrategyMutations, StrategyQueries
from graph.sweeps import SweepMutations, SweepQueries

MAX_DEPTH = 10
MAX_TOKENS = 2_000
MAX_ALIASES = 15


@strawberry.type
class Query(AccountQueries, StrategyQueries, MarketQueries, BacktestQueries, SweepQueries):
    pass


@strawberry.type
class Mutation(AccountMutations, StrategyMutations, MarketMutations, BacktestMutations,
               SweepMutations):
    pass


@strawberry.type
class Subscription(MarketSubscriptions, BacktestSubscriptions):
    pass


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema with its extensions; ``introspection=False`` for production (``GRAPHQL_IDE=0``)."""
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        ErrorCodes,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription,
                             extensions=extensions)


schema = build_schema()
