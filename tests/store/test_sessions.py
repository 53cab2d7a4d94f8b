"""Sessions in the store (``store.sessions``), on SQLite and PostgreSQL: one use per refresh
token, the grace window, reuse revoking the family, revocation, and the per-request state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store import sessions
from store.models import Role, TokenScope
from store.sessions import Outcome, Revoked
from store.settings import Settings
from store.tokens import create_token, user_for_token
from store.users import change_password, create_user, set_active

pytestmark = pytest.mark.asyncio

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


async def test_a_refresh_token_works_once_and_reuse_revokes_the_family(db: Settings) -> None:
    user = await create_user("a@example.com", None)
    sid, first = await sessions.start_session(user.id)
    step = await sessions.rotate(sid, first, user.id, now=T0)
    assert step.outcome == Outcome.ROTATED and step.jti not in (None, first)
    assert step.jti is not None
    second = await sessions.rotate(sid, step.jti, user.id, now=T0 + timedelta(seconds=60))
    assert second.outcome == Outcome.ROTATED and second.jti is not None

    # the first token again, within the grace window of its use: refused, nothing ended
    raced = await sessions.rotate(sid, first, user.id,
                                  now=T0 + timedelta(seconds=sessions.REUSE_GRACE_S))
    assert raced.outcome == Outcome.RACED
    assert await sessions.session_open(sid, user.id)
    # after the window: a reuse, the whole session ends with it
    reused = await sessions.rotate(sid, first, user.id, now=T0 + timedelta(minutes=5))
    assert reused.outcome == Outcome.REUSED
    assert not await sessions.session_open(sid, user.id)
    assert await sessions.revoked_reason(sid) == Revoked.REUSE
    # the newest token of the family, never used, is dead too
    assert (await sessions.rotate(sid, second.jti, user.id)).outcome == Outcome.ENDED


async def test_unknown_and_foreign_tokens_are_ended(db: Settings) -> None:
    alice = await create_user("alice@example.com", None)
    bob = await create_user("bob@example.com", None)
    sid, jti = await sessions.start_session(alice.id)
    assert (await sessions.rotate(sid, "f" * 32, alice.id)).outcome == Outcome.ENDED
    assert (await sessions.rotate("0" * 32, jti, alice.id)).outcome == Outcome.ENDED
    assert (await sessions.rotate(sid, jti, bob.id)).outcome == Outcome.ENDED  # not Bob's


async def test_revoke_one_session_or_all(db: Settings) -> None:
    user = await create_user("a@example.com", None)
    one, _ = await sessions.start_session(user.id)
    two, _ = await sessions.start_session(user.id)
    assert await sessions.revoke_session(one, user.id, Revoked.LOGOUT)
    assert not await sessions.revoke_session(one, user.id, Revoked.LOGOUT)  # once
    assert await sessions.session_open(two, user.id)
    assert await sessions.revoke_user_sessions(user.id, Revoked.PASSWORD) == 1
    assert not await sessions.session_open(two, user.id)
    assert await sessions.revoked_reason(one) == Revoked.LOGOUT
    assert await sessions.revoked_reason(two) == Revoked.PASSWORD


async def test_a_new_password_ends_every_session_and_token(db: Settings) -> None:
    user = await create_user("a@example.com", "old password here")
    other = await create_user("b@example.com", None)
    sid, _ = await sessions.start_session(user.id)
    kept_sid, _ = await sessions.start_session(other.id)
    _, secret = await create_token(user.id, "ci", TokenScope.READ)
    _, kept_secret = await create_token(other.id, "ci", TokenScope.READ)
    assert await change_password(user.id, "old password here", "new password here")
    assert not await sessions.session_open(sid, user.id)
    assert await user_for_token(secret) is None
    assert await sessions.session_open(kept_sid, other.id)  # nobody else's
    assert await user_for_token(kept_secret) is not None


async def test_caller_state(db: Settings) -> None:
    user = await create_user("a@example.com", None, role=Role.ADMIN)
    sid, _ = await sessions.start_session(user.id)
    state = await sessions.caller_state(user.id, sid)
    assert state == sessions.CallerState(True, Role.ADMIN, True)
    assert (await sessions.caller_state(user.id, None)) == state  # no session to check
    assert (await sessions.caller_state(user.id, "0" * 32)) == sessions.CallerState(
        True, Role.ADMIN, False)
    assert await sessions.caller_state(user.id + 1, sid) is None
    await set_active(user.email, False)
    state = await sessions.caller_state(user.id, sid)
    assert state is not None and not state.is_active and not state.session_open


async def test_old_rows_are_forgotten_at_the_next_sign_in(db: Settings) -> None:
    from store.models import AuthSession, RefreshToken

    user = await create_user("a@example.com", None)
    other = await create_user("b@example.com", None)
    old, first = await sessions.start_session(user.id)
    alive, _ = await sessions.start_session(user.id)
    others, _ = await sessions.start_session(other.id)
    await sessions.revoke_session(old, user.id, Revoked.LOGOUT, now=T0)
    await RefreshToken.filter(id=first).update(created_at=T0)
    later = T0 + timedelta(days=31)
    await sessions.start_session(user.id, forget_after_s=30 * 86400, now=later)
    assert not await AuthSession.filter(id=old).exists()  # revoked long ago: gone
    assert not await RefreshToken.filter(id=first).exists()  # expired long ago: gone
    assert await AuthSession.filter(id=alive).exists()  # still open: kept
    assert await AuthSession.filter(id=others).exists()  # nobody else's touched
    assert await RefreshToken.filter(session_id=alive).count() == 1
