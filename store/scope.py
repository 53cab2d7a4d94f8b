"""Whose rows a store function may see: one owner's, or, in an explicit admin call, all.

Every store function that reads or changes user data takes ``owner`` as a required keyword
argument: a user id, or :data:`ALL_OWNERS` (admins, and the job runners, which act for the
owner of the row they were handed). There is no default, so forgetting the scope is a type
error rather than a leak.
"""

from __future__ import annotations

from typing import Final, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet


class AllOwners:
    """The scope of an admin or a job runner: every owner's rows."""

    _instance: AllOwners | None = None

    def __new__(cls) -> AllOwners:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ALL_OWNERS"


ALL_OWNERS: Final = AllOwners()
OwnerScope = int | AllOwners

M = TypeVar("M", bound=Model)


def scoped(query: QuerySet[M], owner: OwnerScope, column: str = "owner_id") -> QuerySet[M]:
    """``query`` restricted to ``owner``'s rows (unchanged for :data:`ALL_OWNERS`)."""
    owner_id = owner_id_of(owner)
    return query if owner_id is None else query.filter(**{column: owner_id})


def owner_id_of(owner: OwnerScope) -> int | None:
    """The user id of a one-owner scope, None for :data:`ALL_OWNERS` (for raw SQL; a
    ``TypeError`` for anything else, a ``None`` from old code above all)."""
    if isinstance(owner, AllOwners):
        return None
    if not isinstance(owner, int) or isinstance(owner, bool):
        raise TypeError(f"owner must be a user id or ALL_OWNERS, not {owner!r}")
    return owner
