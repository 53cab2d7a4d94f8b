"""PLACEHOLDER: filled by its owner."""

from __future__ import annotations

import strawberry


@strawberry.type
class AccountQueries:
    pass


@strawberry.type
class AccountMutations:
    pass

