"""Who may use which field: Strawberry permission classes over the three roles.

Roles (``store.models.Role``), each including the one before it:

- ``viewer`` reads its own objects (:class:`CanRead`);
- ``trader`` also runs jobs and writes objects (:class:`CanTrade`);
- ``admin`` also manages users and roles and reads the audit log (:class:`IsAdmin`), and reads
  and changes every owner's objects (``Context.scope``).

:class:`IsSignedIn` is any signed-in caller, whatever its role: the account's self-service
(``changePassword``, ``createAccessToken``, ``revokeAccessToken``) stays open to viewers.

Every root field carries exactly one of these rules. A field may declare its own
(``permission_classes=[...]`` in its module); the others get theirs from :data:`RULES`, by
Python name, when the schema is built (:func:`guard`), and a field named nowhere gets the
strictest rule of its kind that still lets it work (:data:`DEFAULTS`: ``CanTrade`` for a
mutation, ``CanRead`` for a query or subscription), so a new field is closed by default;
``tests/graph/test_roles.py`` lists every mutation and fails for one missing from its table.
The fields open to anyone are in :data:`PUBLIC`.

A refusal is the API's usual error: ``UNAUTHENTICATED`` without (valid) credentials, with the
token's problem when one was sent, and ``FORBIDDEN`` for a role or a token scope that does not
allow it (``graph.errors``). A mutation refused ``FORBIDDEN`` is written to the audit log as
``access.denied`` (outcome ``denied``, target the mutation), with the caller, IP and request id.
The ``require_*`` checks in resolvers stay as defence in depth.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import OperationType
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from graph.audit import audit
from graph.auth import Viewer
from graph.errors import Forbidden
from store.models import Role

_RANK = {Role.VIEWER: 0, Role.TRADER: 1, Role.ADMIN: 2}

READ_ONLY_TOKEN = ("this personal access token is read-only (scope read); create one with "
                   "scope read_write to make changes")


def _is_mutation(info: Info[Any, Any]) -> bool:
    return info.operation.operation == OperationType.MUTATION


def _needs(info: Info[Any, Any], role: Role, *, what: str) -> Viewer:
    """The caller when it has at least ``role`` (and, for a mutation, a token that may write);
    raises UNAUTHENTICATED or FORBIDDEN otherwise."""
    viewer: Viewer = info.context.require_viewer()
    if _RANK[Role(viewer.role)] < _RANK[role]:
        raise Forbidden(f"your role ({Role(viewer.role).value}) cannot {what}: it needs the "
                        f"{role.value} role (ask an admin)")
    if _is_mutation(info) and not viewer.can_write:
        raise Forbidden(READ_ONLY_TOKEN)
    return viewer


class _Rule(BasePermission):
    """A check that raises the API's error itself (so its code and message reach the client)
    and never answers False."""

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        self.check(info)
        return True

    def check(self, info: Info[Any, Any]) -> None:
        raise NotImplementedError


class IsSignedIn(_Rule):
    """Any signed-in caller, whatever its role (UNAUTHENTICATED otherwise); on a mutation, not
    with a read-only personal access token."""

    def check(self, info: Info[Any, Any]) -> None:
        _needs(info, Role.VIEWER, what="do this")


class CanRead(_Rule):
    """Viewers and up: read one's own objects (an admin: everyone's)."""

    def check(self, info: Info[Any, Any]) -> None:
        _needs(info, Role.VIEWER, what="read this")


class CanTrade(_Rule):
    """Traders and up: run jobs and write objects; a read-only personal access token is
    refused too."""

    def check(self, info: Info[Any, Any]) -> None:
        _needs(info, Role.TRADER, what="run jobs or change objects")


class IsAdmin(_Rule):
    """Admins only: users, roles, the audit log, server statistics."""

    def check(self, info: Info[Any, Any]) -> None:
        _needs(info, Role.ADMIN, what="do this (admins only)")


class Public(_Rule):
    """Anyone, signed in or not (sign-in itself, public documentation)."""

    def check(self, info: Info[Any, Any]) -> None:
        return None


class Guard(PermissionExtension):
    """Strawberry's permission extension, plus the audit entry of a mutation refused
    FORBIDDEN (on the async path: every mutation resolver is async)."""

    async def resolve_async(self, next_: Any, source: Any, info: Info[Any, Any],
                            **kwargs: Any) -> Any:
        try:
            return await super().resolve_async(next_, source, info, **kwargs)
        except Forbidden as err:
            if _is_mutation(info) and info.path.prev is None:
                await audit(info.context, "access.denied", target_type="mutation",
                            target_id=info.field_name, outcome="denied",
                            details={"reason": err.message})
            raise


Rule = type[_Rule]

PUBLIC: frozenset[str] = frozenset({
    "register", "login", "refresh_token", "logout", "strategy_schema", "strategy_templates",
})

RULES: dict[str, Rule] = {
    **{name: Public for name in PUBLIC},
    # the account's self-service: every role
    "me": IsSignedIn, "change_password": IsSignedIn, "access_tokens": IsSignedIn,
    "create_access_token": IsSignedIn, "revoke_access_token": IsSignedIn,
    # administration
    "users": IsAdmin, "audit_log": IsAdmin, "audit_actions": IsAdmin,
    "set_user_role": IsAdmin, "set_user_active": IsAdmin, "cache_stats": IsAdmin,
}

DEFAULTS: dict[str, Rule] = {"Query": CanRead, "Mutation": CanTrade, "Subscription": CanRead}


def rule_of(root: str, field: StrawberryField) -> Rule:
    """The rule of root type ``root``'s ``field``: its own, else :data:`RULES`', else the
    default of its kind."""
    for extension in field.extensions:
        if isinstance(extension, PermissionExtension):
            for permission in extension.permissions:
                if isinstance(permission, _Rule):
                    return type(permission)
    return RULES.get(field.python_name, DEFAULTS[root])


def guard(*roots: type) -> None:
    """Give every field of the root types ``roots`` (Query, Mutation, Subscription) its rule
    (idempotent: a field that has a permission already keeps it)."""
    for root in roots:
        definition = root.__strawberry_definition__  # type: ignore[attr-defined]
        for field in definition.fields:
            if any(isinstance(e, PermissionExtension) for e in field.extensions):
                continue
            field.extensions.append(Guard([rule_of(definition.name, field)()]))


def rules(*roots: type) -> Iterable[tuple[str, str, Rule]]:
    """``(root, python name, rule)`` of every root field (for the tests and the docs)."""
    for root in roots:
        definition = root.__strawberry_definition__  # type: ignore[attr-defined]
        for field in definition.fields:
            yield definition.name, field.python_name, rule_of(definition.name, field)
