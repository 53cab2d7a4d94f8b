"""PLACEHOLDER: filled by its owner."""

from __future__ import annotations

import strawberry


@strawberry.type
class BacktestQueries:
    pass


@strawberry.type
class BacktestMutations:
    pass


@strawberry.type
class BacktestSubscriptions:
    pass
