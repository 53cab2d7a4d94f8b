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

from store.models import AuditLog

log = logging.getLogger(__name__)

Outcome = Literal["ok", "denied", "failed"]

ACTIONS: tuple[str, ...] = (
    "auth.login", "auth.login_failed", "auth.refresh_reuse", "auth.logout",
    "auth.password_change", "user.role_change", "user.active_change",
    "key.create", "key.delete", "key.use",
    "token.create", "token.revoke",
    "strategy.delete", "job.start", "job.cancel",
    "import.create", "export.create",
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
    except Exception:  # noqa: BLE001 - the audit must not fail what it records
        log.exception("could not write the audit entry %s", action)
