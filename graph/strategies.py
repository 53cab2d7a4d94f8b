"""PLACEHOLDER: filled by its owner."""

from __future__ import annotations

import strawberry


@strawberry.type
class StrategyQueries:
    pass


@strawberry.type
class StrategyMutations:
    pass

