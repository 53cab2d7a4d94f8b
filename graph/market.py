"""PLACEHOLDER: filled by its owner."""

from __future__ import annotations

import strawberry


@strawberry.type
class MarketQueries:
    pass


@strawberry.type
class MarketMutations:
    pass


@strawberry.type
class MarketSubscriptions:
    pass
