"""PLACEHOLDER: filled by its owner."""

from __future__ import annotations

import strawberry


@strawberry.type
class SweepQueries:
    pass


@strawberry.type
class SweepMutations:
    pass

