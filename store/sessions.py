"""Sign-in sessions and their refresh tokens: rotation, reuse detection, revocation, and the
per-request check of the caller.

A session (``auth_sessions``) is one sign-in (``login``, ``changePassword``): the family of
every refresh token that descends from it. Each refresh token (``refresh_tokens``, by its
``jti``) is good for one use: :func:`rotate` marks it used and hands out the next one, in one
conditional ``UPDATE`` (so of two concurrent uses exactly one wins). A token used again
later than :data:`REUSE_GRACE_S` after its first use is taken for a stolen copy: the whole
session is revoked, so neither the thief nor the owner can go on with it. A second use within
the grace window (two tabs, a retried request racing the first) is refused without revoking
anything: the first use's answer carries the session on.

:func:`caller_state` is what every request with an access JWT pays: one indexed query for the
user's ``is_active`` and role and, for a token of a session, whether that session is still
open. A disabled account, a logout or a password change therefore stops its tokens on the
next request, not when the access token expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from store.backtest_results import numbered
from store.connection import connection, is_postgres
from store.models import AccessToken, AuthSession, RefreshToken, Role

REUSE_GRACE_S = 10.0  # a second use this soon after the first is a race, not a theft


class Revoked(StrEnum):
    """Why a session ended (``auth_sessions.revoked_reason``)."""

    LOGOUT = "logout"
    PASSWORD = "password_changed"
    REUSE = "refresh_reuse"
    DISABLED = "account_disabled"


class Outcome(StrEnum):
    """What :func:`rotate` made of a refresh token."""

    ROTATED = "rotated"  # the next token is in Rotation.jti
    ENDED = "ended"  # its session is revoked (or unknown): sign in again
    RACED = "raced"  # already used moments ago (within the grace window): refused, no harm
    REUSED = "reused"  # already used earlier: the session has just been revoked


@dataclass(frozen=True)
class Rotation:
    outcome: Outcome
    jti: str | None = None


def _new_id() -> str:
    return secrets.token_hex(16)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


async def start_session(user_id: int, *, forget_after_s: float | None = None,
                        now: datetime | None = None) -> tuple[str, str]:
    """A new session of ``user_id``: its id (``sid``) and its first refresh token's ``jti``.

    With ``forget_after_s`` (the refresh tokens' lifetime) the user's rows older than that go
    first: refresh tokens issued before then (expired: their signature check refuses them
    before any lookup) and sessions revoked before then. So the tables hold about one row per
    refresh of the last ``forget_after_s`` seconds."""
    if forget_after_s is not None:
        before = _now(now) - timedelta(seconds=forget_after_s)
        await RefreshToken.filter(session__user_id=user_id, created_at__lt=before).delete()
        await AuthSession.filter(user_id=user_id, revoked_at__lt=before).delete()
    session = await AuthSession.create(id=_new_id(), user_id=user_id)
    token = await RefreshToken.create(id=_new_id(), session_id=session.id)
    return session.id, token.id


async def session_open(session_id: str, user_id: int) -> bool:
    """Whether session ``session_id`` of ``user_id`` exists and is not revoked."""
    return await AuthSession.filter(id=session_id, user_id=user_id,
                                    revoked_at__isnull=True).exists()


async def rotate(session_id: str, jti: str, user_id: int, *, now: datetime | None = None,
                 grace_s: float | None = None) -> Rotation:
    """Use refresh token ``jti`` of session ``session_id`` once (see the module);
    ``grace_s`` defaults to :data:`REUSE_GRACE_S`."""
    now = _now(now)
    grace_s = REUSE_GRACE_S if grace_s is None else grace_s
    won = await RefreshToken.filter(id=jti, session_id=session_id,
                                    used_at__isnull=True).update(used_at=now)
    if won:
        if not await session_open(session_id, user_id):
            return Rotation(Outcome.ENDED)
        token = await RefreshToken.create(id=_new_id(), session_id=session_id)
        return Rotation(Outcome.ROTATED, token.id)
    row = await RefreshToken.get_or_none(id=jti, session_id=session_id)
    if row is None or row.used_at is None or not await session_open(session_id, user_id):
        return Rotation(Outcome.ENDED)
    if now - row.used_at <= timedelta(seconds=grace_s):
        return Rotation(Outcome.RACED)
    await revoke_session(session_id, user_id, Revoked.REUSE, now=now)
    return Rotation(Outcome.REUSED)


async def revoke_session(session_id: str, user_id: int, reason: Revoked, *,
                         now: datetime | None = None) -> bool:
    """End session ``session_id`` of ``user_id``; False when it was not open."""
    ended = await AuthSession.filter(id=session_id, user_id=user_id,
                                     revoked_at__isnull=True).update(
        revoked_at=_now(now), revoked_reason=reason)
    return bool(ended)


async def revoke_user_sessions(user_id: int, reason: Revoked, *,
                               now: datetime | None = None) -> int:
    """End every open session of ``user_id``; how many there were."""
    return await AuthSession.filter(user_id=user_id, revoked_at__isnull=True).update(
        revoked_at=_now(now), revoked_reason=reason)


async def revoke_everything(user_id: int, reason: Revoked, *,
                            now: datetime | None = None) -> None:
    """End every session of ``user_id`` and revoke every personal access token it has (a
    new password: whoever held a token of the old one holds nothing now)."""
    now = _now(now)
    await revoke_user_sessions(user_id, reason, now=now)
    await AccessToken.filter(owner_id=user_id, revoked_at__isnull=True).update(revoked_at=now)


async def revoked_reason(session_id: str) -> str | None:
    """Why session ``session_id`` ended (None while open, or when unknown)."""
    row = await AuthSession.get_or_none(id=session_id)
    return row.revoked_reason if row is not None and row.revoked_at is not None else None


@dataclass(frozen=True)
class CallerState:
    """What a request needs to know of its caller, read fresh from the database."""

    is_active: bool
    role: Role
    session_open: bool  # True for a token that names no session


_STATE_SQL = (
    "SELECT u.is_active, u.role, "
    "(SELECT COUNT(*) FROM auth_sessions s WHERE s.id = ? AND s.user_id = u.id "
    "AND s.revoked_at IS NULL) FROM users u WHERE u.id = ?")


async def caller_state(user_id: int, session_id: str | None) -> CallerState | None:
    """The user's state and, for ``session_id``, whether that session is open, in one
    primary-key query (None: no such user)."""
    client = connection()
    rows = await client.execute_query_dict(numbered(is_postgres(client), _STATE_SQL),
                                           [session_id or "", user_id])
    if not rows:
        return None
    row = list(rows[0].values())
    return CallerState(bool(row[0]), Role(row[1]), session_id is None or int(row[2]) > 0)
