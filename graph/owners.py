"""The ``owner`` field of owned objects: the user an object belongs to, shown to admins only.

An admin sees every user's objects (``Context.scope``), so it needs to tell whose each one is;
for anyone else ``owner`` is null (everything they see is their own). Owners are loaded with
one DataLoader per request, whatever the number of objects in a response.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from graph.accounts import User
from graph.context import Context
from store import users as store_users
from store.users import UserRecord

OWNER_DESCRIPTION = "Whose it is: for admins only (null for everyone else)."


class Owned(Protocol):
    @property
    def owner_pk(self) -> int: ...


async def _load_users(ids: Sequence[int]) -> list[UserRecord | None]:
    return [await store_users.get_user(i) for i in ids]


async def resolve_owner(root: Any, info: Info[Context, None]) -> User | None:
    viewer = info.context.require_viewer()
    if not viewer.is_admin:
        return None
    loader = info.context.loader("owners", lambda: DataLoader(_load_users))
    found = await loader.load(int(root.owner_pk))
    return None if found is None else User.from_record(found)


def owner_field() -> Any:
    """The ``owner`` field of a type (or interface) whose objects have ``owner_pk``."""
    return strawberry.field(resolver=resolve_owner, description=OWNER_DESCRIPTION)
