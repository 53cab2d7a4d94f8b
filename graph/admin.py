"""Administration: accounts, roles and the audit log (admins only, ``graph.permissions``).

``users(filter, first, after)`` lists accounts newest first; ``setUserRole`` and
``setUserActive`` change one, under the rules of ``store.user_admin`` (no admin changes their
own role or disables their own account; the last active admin stays), a broken rule being a
:class:`ValidationError` on the argument concerned. Each change, refused or done, is written
to the audit log (``user.role_change``, ``user.active_change``).

``auditLog(filter, first, after)`` reads the log newest first, a keyset page at a time, with
``auditActions`` listing the action names for a filter. An :class:`AuditEntry` holds what the
log holds: never a secret (the writers put none in ``details``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graph.accounts import User
from graph.audit import audit
from graph.context import Context
from graph.errors import BadUserInput
from graph.types_common import (
    NotFoundError,
    PageInfo,
    ValidationError,
    Window,
    encode_cursor,
    global_id,
    optional_id,
    parse_id,
)
from store import audit as store_audit
from store import user_admin
from store.models import Role

OUTCOMES = ("ok", "denied", "failed")


@strawberry.input(description="Conditions on listed accounts (all must hold).")
class UserFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the email or the display name (any case).")
    role: Role | None = None
    active: bool | None = None


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type(description="A page of accounts, newest first.")
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    flt: strawberry.Private[user_admin.UserFilter]

    @strawberry.field(description="How many accounts match the filter, on every page.")
    async def total_count(self) -> int:
        return await user_admin.count_users(self.flt)


@strawberry.type(description="One entry of the audit log: who did what to which object, when, "
                             "from where, and how it ended.")
class AuditEntry:
    id: strawberry.ID
    created_at: datetime
    action: str = strawberry.field(description="<object>.<verb>, e.g. auth.login, job.start.")
    outcome: str = strawberry.field(description="ok, denied (refused by a permission) or "
                                                "failed (e.g. a wrong password).")
    user_id: strawberry.ID | None = strawberry.field(
        description="The actor's account (null: unknown, e.g. a failed sign-in).")
    actor_email: str = strawberry.field(description="The actor's email (for a failed sign-in, "
                                                    "the email that was tried).")
    target_type: str
    target_id: str | None
    ip_address: str | None
    request_id: str | None
    details: JSON

    @classmethod
    def from_entry(cls, e: store_audit.AuditEntry) -> AuditEntry:
        return cls(id=global_id("AuditEntry", e.id), created_at=e.created_at, action=e.action,
                   outcome=e.outcome, user_id=optional_id("User", e.user_id),
                   actor_email=e.actor_email, target_type=e.target_type,
                   target_id=e.target_id, ip_address=e.ip_address, request_id=e.request_id,
                   details=JSON(e.details))


@strawberry.input(description="Conditions on audit entries (all must hold).")
class AuditFilter:
    action: str | None = strawberry.field(default=None,
                                          description="An action name (see auditActions).")
    user_id: strawberry.ID | None = strawberry.field(default=None,
                                                     description="The actor's account.")
    actor_email: str | None = strawberry.field(
        default=None, description="Part of the actor's email (any case).")
    outcome: str | None = strawberry.field(default=None, description="ok, denied or failed.")
    since: datetime | None = strawberry.field(default=None, description="Inclusive.")
    until: datetime | None = strawberry.field(default=None, description="Exclusive.")
    target_type: str | None = None
    target_id: str | None = None


@strawberry.type
class AuditEntryEdge:
    cursor: str
    node: AuditEntry


@strawberry.type(description="A page of audit entries, newest first.")
class AuditEntryConnection:
    edges: list[AuditEntryEdge]
    page_info: PageInfo
    flt: strawberry.Private[store_audit.AuditFilter]

    @strawberry.field(description="How many entries match the filter, on every page.")
    async def total_count(self) -> int:
        return await store_audit.count_entries(self.flt)


SetUserRoleResult = Annotated[User | ValidationError | NotFoundError,
                              strawberry.union("SetUserRoleResult")]
SetUserActiveResult = Annotated[User | ValidationError | NotFoundError,
                                strawberry.union("SetUserActiveResult")]


async def users(info: Info[Context, None], filter: UserFilter | None = None,
                first: int | None = None, after: str | None = None, last: int | None = None,
                before: str | None = None) -> UserConnection:
    flt = user_admin.UserFilter() if filter is None else user_admin.UserFilter(
        search=filter.search, role=None if filter.role is None else Role(filter.role),
        active=filter.active)
    window = Window(first, after, last, before)
    rows, more = await user_admin.list_users(flt, **window.id_args())
    edges = [UserEdge(cursor=encode_cursor((u.id,)), node=User.from_record(u)) for u in rows]
    return UserConnection(edges=edges, flt=flt,
                          page_info=window.page_info([e.cursor for e in edges], more))


def _audit_filter(f: AuditFilter | None) -> store_audit.AuditFilter:
    if f is None:
        return store_audit.AuditFilter()
    if f.outcome is not None and f.outcome not in OUTCOMES:
        raise BadUserInput(f"filter.outcome: {f.outcome[:40]!r} is not an outcome: use one of "
                           f"{', '.join(OUTCOMES)}")
    if f.since is not None and f.until is not None and f.since >= f.until:
        raise BadUserInput("filter.since must be before filter.until")
    return store_audit.AuditFilter(
        action=f.action or None,
        user_id=None if f.user_id is None else parse_id(f.user_id, "User"),
        actor_email=f.actor_email or None, outcome=f.outcome, since=f.since, until=f.until,
        target_type=f.target_type or None, target_id=f.target_id or None)


def _after_entry(cursor: str | None) -> int | None:
    from graph.types_common import cursor_int, decode_cursor
    if cursor is None:
        return None
    (value,) = decode_cursor(cursor, 1)
    return cursor_int(value, cursor, 0, 2**63 - 1)


async def audit_log(info: Info[Context, None], filter: AuditFilter | None = None,
                    first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None
                    ) -> AuditEntryConnection:
    flt = _audit_filter(filter)
    window = Window(first, after, last, before)
    rows, more = await store_audit.list_entries(
        flt, after_id=_after_entry(after), before_id=_after_entry(before), limit=window.size,
        backward=window.backward)
    edges = [AuditEntryEdge(cursor=encode_cursor((e.id,)), node=AuditEntry.from_entry(e))
             for e in rows]
    return AuditEntryConnection(edges=edges, flt=flt,
                                page_info=window.page_info([e.cursor for e in edges], more))


def audit_actions(info: Info[Context, None]) -> list[str]:
    return list(store_audit.ACTIONS)


async def set_user_role(info: Info[Context, None], user_id: strawberry.ID,
                        role: Role) -> SetUserRoleResult:
    viewer = info.context.require_admin()
    key = parse_id(user_id, "User")
    role = Role(role)
    try:
        changed = await user_admin.set_role(key, role, by=viewer.user_id)
    except user_admin.ChangeRefused as err:
        await audit(info.context, "user.role_change", target_type="User", target_id=key,
                    outcome="denied", details={"role": role.value, "reason": err.message})
        return ValidationError.single(err.field, err.message)
    if changed is None:
        return NotFoundError(message=f"user {user_id} not found")
    user, before = changed
    if before != role:
        await audit(info.context, "user.role_change", target_type="User", target_id=key,
                    details={"email": user.email, "from": before.value, "to": role.value})
    return User.from_record(user)


async def set_user_active(info: Info[Context, None], user_id: strawberry.ID,
                          active: bool) -> SetUserActiveResult:
    viewer = info.context.require_admin()
    key = parse_id(user_id, "User")
    try:
        changed = await user_admin.set_active(key, active, by=viewer.user_id)
    except user_admin.ChangeRefused as err:
        await audit(info.context, "user.active_change", target_type="User", target_id=key,
                    outcome="denied", details={"active": active, "reason": err.message})
        return ValidationError.single(err.field, err.message)
    if changed is None:
        return NotFoundError(message=f"user {user_id} not found")
    user, before = changed
    if before != active:
        await audit(info.context, "user.active_change", target_type="User", target_id=key,
                    details={"email": user.email, "active": active})
    return User.from_record(user)


@strawberry.type
class AdminQueries:
    users: UserConnection = strawberry.field(
        resolver=users, description="Every account, newest first, with filters (admins only; "
                                    "Relay connection).")
    audit_log: AuditEntryConnection = strawberry.field(
        resolver=audit_log, description="The audit log, newest first, with filters (admins "
                                        "only; Relay connection).")
    audit_actions: list[str] = strawberry.field(
        resolver=audit_actions, description="Every action name the audit log uses (admins "
                                            "only).")


@strawberry.type
class AdminMutations:
    set_user_role: SetUserRoleResult = strawberry.mutation(
        resolver=set_user_role,
        description="Give an account a role: VIEWER reads, TRADER also runs and writes, ADMIN "
                    "also manages users and reads the audit log (admins only). It applies "
                    "from the account's next request. ValidationError when it is your own "
                    "role or the last active admin would be demoted.")
    set_user_active: SetUserActiveResult = strawberry.mutation(
        resolver=set_user_active,
        description="Enable or disable an account (admins only). A disabled account cannot "
                    "sign in and its sessions end at once. ValidationError when it is your "
                    "own account or the last active admin.")
