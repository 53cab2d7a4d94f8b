"""The audit log: who did what to which object, when, from where, and how it ended.

Append-only: :func:`record` is the only writer and nothing here updates or deletes a row (on
PostgreSQL a trigger refuses it, migration ``0010_security``). Writing an entry never fails the
operation it records: a database error while writing is logged and swallowed.

Actions are dotted names, ``<object>.<verb>`` (``auth.login``, ``key.create``, ``job.start``...);
:data:`ACTIONS` lists every one the code writes, for the admin page's filter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from store.keyset import id_desc, page_of
from store.models import AuditLog

log = logging.getLogger(__name__)

Outcome = Literal["ok", "denied", "failed"]

ACTIONS: tuple[str, ...] = (
    "auth.login", "auth.login_failed", "auth.refresh_reuse", "auth.logout",
    "auth.password_change", "user.role_change", "user.active_change",
    "key.create", "key.delete", "key.use",
    "token.create", "token.revoke",
    "strategy.delete", "job.start", "job.cancel",
    "import.create",
    "access.denied",
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    created_at: datetime
    action: str
    outcome: str
    user_id: int | None
    actor_email: str
    target_type: str
    target_id: str | None
    ip_address: str | None
    request_id: str | None
    details: dict[str, Any]


async def record(action: str, *, user_id: int | None = None, actor_email: str = "",
                 target_type: str = "", target_id: str | int | None = None,
                 outcome: Outcome = "ok", ip_address: str | None = None,
                 request_id: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
    """Append one entry. ``details`` must never hold a secret (keys, passwords, tokens)."""
    try:
        await AuditLog.create(
            user_id=user_id, actor_email=actor_email[:254], action=action[:64],
            entity_type=target_type[:64],
            entity_id=None if target_id is None else str(target_id)[:64],
            outcome=outcome, ip_address=None if ip_address is None else ip_address[:45],
            request_id=request_id, details=details or {})
    except Exception:  # the audit must not fail what it records
        log.exception("could not write the audit entry %s", action)


def _entry(row: AuditLog) -> AuditEntry:
    return AuditEntry(id=row.id, created_at=row.created_at, action=row.action,
                      outcome=row.outcome, user_id=row.user_id, actor_email=row.actor_email,
                      target_type=row.entity_type, target_id=row.entity_id,
                      ip_address=row.ip_address, request_id=row.request_id,
                      details=dict(row.details or {}))


@dataclass(frozen=True)
class AuditFilter:
    """Conditions on listed entries (all must hold; None: any). ``actor_email`` matches
    part of the email, case-insensitively; ``since`` is inclusive, ``until`` exclusive."""

    action: str | None = None
    actions_prefix: str | None = None  # e.g. "auth." for every sign-in event
    user_id: int | None = None
    actor_email: str | None = None
    outcome: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(flt: AuditFilter) -> Any:
    query = AuditLog.all()
    if flt.action is not None:
        query = query.filter(action=flt.action)
    if flt.actions_prefix is not None:
        query = query.filter(action__startswith=flt.actions_prefix)
    if flt.user_id is not None:
        query = query.filter(user_id=flt.user_id)
    if flt.actor_email:
        query = query.filter(actor_email__icontains=flt.actor_email.strip())
    if flt.outcome is not None:
        query = query.filter(outcome=flt.outcome)
    if flt.target_type is not None:
        query = query.filter(entity_type=flt.target_type)
    if flt.target_id is not None:
        query = query.filter(entity_id=flt.target_id)
    if flt.since is not None:
        query = query.filter(created_at__gte=flt.since)
    if flt.until is not None:
        query = query.filter(created_at__lt=flt.until)
    return query


async def list_entries(flt: AuditFilter = AuditFilter(), *, after_id: int | None = None,
                       limit: int = 20, before_id: int | None = None,
                       backward: bool = False) -> tuple[list[AuditEntry], bool]:
    """Entries matching ``flt``, newest first (by id, which follows time): at most ``limit``
    with ``id < after_id``, and whether more follow (``backward``: those nearest above
    ``before_id``, ``store.keyset``)."""
    query = id_desc(_filtered(flt), after_id=after_id, before_id=before_id, backward=backward)
    rows, more = page_of(await query.limit(limit + 1), limit, backward)
    return [_entry(r) for r in rows], more


async def count_entries(flt: AuditFilter = AuditFilter()) -> int:
    return int(await _filtered(flt).count())
