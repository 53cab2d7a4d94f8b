"""Writing audit entries from resolvers: :func:`audit` fills in the actor (id and email), the
IP and the request id from the request's context (``store.audit`` holds the log itself)."""

from __future__ import annotations

from typing import Any

from store import audit as store_audit
from store.audit import Outcome
from store.models import User
from tasks.request_ids import current_request_id


async def _email_of(user_id: int) -> str:
    try:
        found = await User.filter(id=user_id).values_list("email", flat=True)
    except Exception:  # the audit must not fail what it records
        return ""
    return str(found[0]) if found else ""


async def audit(context: Any, action: str, *, target_type: str = "",
                target_id: str | int | None = None, outcome: Outcome = "ok",
                details: dict[str, Any] | None = None, user_id: int | None = None,
                actor_email: str = "") -> None:
    """Record ``action`` done by the request's caller (or ``user_id``, when the caller is not
    signed in yet, e.g. a sign-in). The actor's email is looked up when not given (an entry
    keeps it after the account is gone)."""
    viewer = getattr(context, "viewer", None)
    if user_id is None and viewer is not None:
        user_id = viewer.user_id
    if not actor_email and user_id is not None:
        actor_email = await _email_of(user_id)
    await store_audit.record(action, user_id=user_id, actor_email=actor_email,
                             target_type=target_type, target_id=target_id, outcome=outcome,
                             ip_address=context.client_ip, request_id=current_request_id(),
                             details=details)
