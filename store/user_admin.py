"""Managing accounts as an admin: listing them, changing a role, enabling or disabling.

Rules of a change (:class:`ChangeRefused` otherwise, naming the field and the reason):

- an admin cannot change their own role or disable their own account (another admin must):
  an admin cannot lock themselves out by mistake;
- the last active admin can be neither demoted nor disabled: the system always keeps one
  (the command line, which has no caller, is held to this rule too).

A change to what it already is, is allowed and changes nothing. Disabling an account ends its
sessions (``store.users.set_active``); a new role applies from the caller's next request
(the API reads the stored role on every request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from store import sessions
from store.errors import StoreError
from store.keyset import id_desc, page_of
from store.models import Role, User
from store.users import UserRecord, normalize_email, user_record


class ChangeRefused(StoreError):
    """The change breaks a rule of the module; ``field`` is the argument it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class UserFilter:
    """Conditions on listed accounts (all must hold; None: any). ``search`` matches part of
    the email or the display name, case-insensitively."""

    search: str | None = None
    role: Role | None = None
    active: bool | None = None


def _filtered(flt: UserFilter) -> Any:
    query = User.all()
    if flt.search and flt.search.strip():
        term = flt.search.strip()
        query = query.filter(Q(email__icontains=term) | Q(display_name__icontains=term))
    if flt.role is not None:
        query = query.filter(role=flt.role)
    if flt.active is not None:
        query = query.filter(is_active=flt.active)
    return query


async def list_users(flt: UserFilter = UserFilter(), *, after_id: int | None = None,
                     limit: int = 20, before_id: int | None = None,
                     backward: bool = False) -> tuple[list[UserRecord], bool]:
    """Accounts matching ``flt``, newest first (by id), a keyset page (``store.keyset``)."""
    query = id_desc(_filtered(flt), after_id=after_id, before_id=before_id, backward=backward)
    rows, more = page_of(await query.limit(limit + 1), limit, backward)
    return [user_record(u) for u in rows], more


async def count_users(flt: UserFilter = UserFilter()) -> int:
    return int(await _filtered(flt).count())


async def _other_active_admins(user_id: int) -> int:
    return int(await User.filter(role=Role.ADMIN, is_active=True).exclude(id=user_id).count())


async def set_role(user_id: int, role: Role, *, by: int | None = None
                   ) -> tuple[UserRecord, Role] | None:
    """Give account ``user_id`` the role ``role``, changed by admin ``by`` (None: the command
    line); the account and its previous role, None when there is no such account. Raises
    :class:`ChangeRefused` (see the module)."""
    async with in_transaction():
        user = await User.get_or_none(id=user_id)
        if user is None:
            return None
        before = Role(user.role)
        if before == role:
            return user_record(user), before
        if by is not None and by == user_id:
            raise ChangeRefused("userId", "you cannot change your own role: ask another admin")
        if (before == Role.ADMIN and user.is_active
                and await _other_active_admins(user_id) == 0):
            raise ChangeRefused("role", f"{user.email} is the last active admin: make another "
                                        "account admin first")
        user.role = role
        await user.save(update_fields=["role"])
    return user_record(user), before


async def set_active(user_id: int, active: bool, *, by: int | None = None
                     ) -> tuple[UserRecord, bool] | None:
    """Enable or disable account ``user_id``, by admin ``by`` (None: the command line); the
    account and whether it was active, None when there is no such account. Disabling ends its
    sessions. Raises :class:`ChangeRefused` (see the module)."""
    async with in_transaction():
        user = await User.get_or_none(id=user_id)
        if user is None:
            return None
        before = bool(user.is_active)
        if before != active:
            if not active and by is not None and by == user_id:
                raise ChangeRefused("userId", "you cannot disable your own account: ask "
                                              "another admin")
            if (not active and Role(user.role) == Role.ADMIN
                    and await _other_active_admins(user_id) == 0):
                raise ChangeRefused("active", f"{user.email} is the last active admin: make "
                                              "another account admin first")
            user.is_active = active
            await user.save(update_fields=["is_active"])
    if not active:
        await sessions.revoke_user_sessions(user_id, sessions.Revoked.DISABLED)
    return user_record(user), before


async def id_of_email(email: str) -> int | None:
    user = await User.get_or_none(email=normalize_email(email))
    return None if user is None else user.id
