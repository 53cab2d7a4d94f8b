"""Personal access tokens: created with a random secret shown once, stored as a SHA-256 hash.

A token reads ``bt_pat_<43 url-safe characters>`` (256 random bits), so a leaked one is easy to
spot in logs and code; it is sent as ``Authorization: Bearer <token>`` like an access JWT.
SHA-256 (not argon2) is enough for 256-bit random secrets and keeps each request's check cheap.

Listing and revoking take ``owner`` (``store.scope``): the caller's id, or ``ALL_OWNERS`` in
an explicit admin call (every owner's tokens). A revoked token stays listed (with ``revoked_at``) so its owner can see when
it stopped working; an expired one likewise.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from store.models import AccessToken, TokenScope, User
from store.scope import OwnerScope, scoped
from store.users import UserRecord, user_record

TOKEN_PREFIX = "bt_pat_"
MAX_NAME_LENGTH = 100
MAX_EXPIRY_DAYS = 3650
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often


@dataclass(frozen=True)
class TokenRecord:
    id: int
    owner_id: int
    name: str
    scope: TokenScope
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


def _token_record(t: AccessToken) -> TokenRecord:
    return TokenRecord(t.id, t.owner_id, t.name, TokenScope(t.scope), t.prefix, t.created_at,
                       t.last_used_at, t.expires_at, t.revoked_at)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def token_problems(name: str, expires_in_days: int | None) -> list[tuple[str, str]]:
    """Why a token cannot be created with these settings, as ``(field, message)`` pairs with
    fields ``name`` and ``expiresInDays``; empty when it can."""
    problems: list[tuple[str, str]] = []
    if not name.strip():
        problems.append(("name", "give the token a name, e.g. the integration that uses it"))
    elif len(name.strip()) > MAX_NAME_LENGTH:
        problems.append(("name", f"use at most {MAX_NAME_LENGTH} characters"))
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        problems.append(("expiresInDays", f"must be between 1 and {MAX_EXPIRY_DAYS} days, or "
                                          "omitted for a token that does not expire"))
    return problems


def expiry_after(days: int | None) -> datetime | None:
    """When a token created now for ``days`` days expires (None: never)."""
    return None if days is None else datetime.now(UTC) + timedelta(days=days)


async def create_token(owner_id: int, name: str, scope: TokenScope,
                       expires_at: datetime | None = None) -> tuple[TokenRecord, str]:
    """A new token for ``owner_id``: its record and the secret (the only time it is known).
    The caller checks :func:`token_problems` first."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = await AccessToken.create(owner_id=owner_id, name=name.strip(), scope=scope,
                                   token_hash=hash_token(secret),
                                   prefix=secret[: len(TOKEN_PREFIX) + 4], expires_at=expires_at)
    return _token_record(row), secret


async def count_active_tokens(owner_id: int) -> int:
    """How many of ``owner_id``'s tokens work (neither revoked nor expired)."""
    live = AccessToken.filter(owner_id=owner_id, revoked_at=None)
    return (await live.filter(expires_at=None).count()
            + await live.filter(expires_at__gt=datetime.now(UTC)).count())


async def list_tokens(*, owner: OwnerScope) -> list[TokenRecord]:
    """The tokens ``owner`` may see, newest first."""
    query = scoped(AccessToken.all(), owner)
    return [_token_record(t) for t in await query.order_by("-created_at", "-id")]


async def revoke_token(token_id: int, *, owner: OwnerScope) -> TokenRecord | None:
    """Revoke a token ``owner`` may see; None when not found."""
    row = await scoped(AccessToken.filter(id=token_id), owner).first()
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await row.save(update_fields=["revoked_at"])
    return _token_record(row)


async def user_for_token(token: str) -> tuple[UserRecord, TokenScope] | None:
    """The active owner and scope of a valid (known, unrevoked, unexpired) token, else None."""
    row = await AccessToken.get_or_none(token_hash=hash_token(token))
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or (
            row.expires_at is not None and row.expires_at <= now):
        return None
    user = await User.get_or_none(id=row.owner_id)
    if user is None or not user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        await AccessToken.filter(id=row.id).update(last_used_at=now)
    return user_record(user), TokenScope(row.scope)
