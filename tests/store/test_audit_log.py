"""The audit log is append-only (``store.audit``): on PostgreSQL a trigger refuses changing or
deleting an entry, yet deleting a user still works and keeps its entries, unattributed by id but
still naming the actor by email."""

from __future__ import annotations

import pytest

from store import audit
from store.db import is_postgres
from store.models import AuditLog, User
from store.settings import Settings

pytestmark = pytest.mark.asyncio


async def test_entries_cannot_be_changed_but_their_user_can_be_deleted(db: Settings) -> None:
    user = await User.create(email="gone@example.com")
    await audit.record("auth.login", user_id=user.id, actor_email=user.email,
                       ip_address="127.0.0.1", request_id="r1", details={"via": "password"})
    entry = await AuditLog.get(user_id=user.id)
    if is_postgres():
        with pytest.raises(Exception, match="append-only"):
            await AuditLog.filter(id=entry.id).update(outcome="denied")
        with pytest.raises(Exception, match="append-only"):
            await AuditLog.filter(id=entry.id).delete()
    await user.delete()
    kept = await AuditLog.get(id=entry.id)
    assert (kept.user_id, kept.actor_email, kept.action, kept.outcome) == (
        None, "gone@example.com", "auth.login", "ok")
    assert kept.details == {"via": "password"}


async def test_a_failing_write_does_not_fail_what_it_records(db: Settings,
                                                            caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    await audit.record("auth.login", user_id=987654)  # no such user: the foreign key refuses
    assert await AuditLog.all().count() in (0, 1)  # SQLite may not enforce it
    if await AuditLog.all().count() == 0:
        assert "could not write the audit entry auth.login" in caplog.text
