"""Who is calling: access and refresh JWTs (HS256, signed with joserfc, authlib's JOSE
library) and personal access tokens, turned into a :class:`Viewer`.

- Access tokens live :data:`ACCESS_TTL_S` (15 minutes) and carry the user id and their
  session's id (``sid``). A token's signature is checked once: the claims it carries are kept
  (at most :data:`VERIFIED_TOKENS` tokens per process) until the token's own expiry, which is
  checked again on every request. What can change before then is read fresh on every request
  (``store.sessions.caller_state``, one primary-key query): the account must still exist and
  be active, its role is the current one, and the session must still be open. So a disabled
  account, a ``logout`` or a password change stops the tokens on the next request.
- Refresh tokens live :data:`REFRESH_TTL_S` (30 days), are only accepted by ``refreshToken``
  and are good for one use: each use hands out the next one in the same session and a reused
  one revokes the session (``store.sessions.rotate``). Their ``jti`` names them, their ``sid``
  the session (one sign-in, the family of every refresh token descending from it).
- Personal access tokens (``bt_pat_...``, see ``store.tokens``) are looked up by hash on each
  request, with their owner's state; their scope is ``read`` or ``read_write``. JWTs always
  have ``read_write``.

The signing key is ``JWT_SECRET``, or for local use a random key generated on first start and
kept in ``<DATA_DIR>/jwt_secret`` (mode 0600).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey

from graph.errors import Unauthenticated
from store import sessions as store_sessions
from store import tokens as store_tokens
from store.models import Role, TokenScope
from store.settings import Settings
from store.users import UserRecord

ACCESS_TTL_S = 15 * 60
REFRESH_TTL_S = 30 * 24 * 3600
ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32
SECRET_FILE = "jwt_secret"
_KINDS = {"access": "an access token", "refresh": "a refresh token"}
VERIFIED_TOKENS = 10_000  # access tokens whose signature was checked, kept by Tokens
ACCOUNT_GONE = "this account no longer exists or is disabled"
SESSION_ENDED = ("this session has ended (signed out, password changed, or its refresh token "
                 "was reused): sign in again")


def role_of_claim(value: object) -> Role:
    """A token's ``role`` claim (tokens signed before roles were split said ``user``, which
    is now ``trader``; every request then reads the stored role anyway)."""
    if value is None or value == "user":
        return Role.TRADER
    return Role(str(value))


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller of a request."""

    user_id: int
    role: Role
    scope: TokenScope
    via: str  # "jwt" or "token"
    session_id: str | None = None  # the sign-in of a JWT (None: a personal access token)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid


def load_secret(settings: Settings) -> str:
    """``JWT_SECRET``, or the key kept in the data folder (created on first use)."""
    if settings.jwt_secret:
        if len(settings.jwt_secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters long")
        return settings.jwt_secret
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data folder: private
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Tokens:
    """Issues and checks JWTs with one key."""

    def __init__(self, secret: str, *, access_ttl_s: int = ACCESS_TTL_S,
                 refresh_ttl_s: int = REFRESH_TTL_S) -> None:
        self._key = OctKey.import_key(secret)
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        # access token -> (its viewer, its exp): valid tokens only, oldest evicted first
        self._verified: dict[str, tuple[Viewer, float]] = {}

    def _encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": ALGORITHM}, claims, self._key, algorithms=[ALGORITHM])

    def issue(self, user: UserRecord, session_id: str | None = None,
              jti: str | None = None) -> TokenPair:
        """A pair of session ``session_id`` whose refresh token is ``jti``
        (``store.sessions.start_session`` and ``rotate`` make both). Without a session (tests
        and tools only) the access token is checked against the account alone and the
        refresh token is refused by ``refreshToken``."""
        now = int(time.time())
        base: dict[str, Any] = {"sub": str(user.id), "role": str(user.role), "iat": now}
        if session_id is not None:
            base["sid"] = session_id
        access = self._encode({**base, "typ": "access", "exp": now + self.access_ttl_s})
        refresh = self._encode({**base, "typ": "refresh", "exp": now + self.refresh_ttl_s,
                                "jti": jti or secrets.token_hex(16)})
        return TokenPair(access, refresh, self.access_ttl_s)

    def decode(self, token: str, typ: str) -> dict[str, Any]:
        """The claims of a valid, unexpired token of type ``typ``; raises
        :class:`Unauthenticated` saying what is wrong otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(token, self._key, algorithms=[ALGORITHM]).claims
            jwt.JWTClaimsRegistry(leeway=0, exp={"essential": True},
                                  sub={"essential": True}).validate(claims)
        except ExpiredTokenError:
            raise Unauthenticated("the token has expired: sign in again, or use refreshToken"
                                  ) from None
        except (JoseError, ValueError, TypeError):
            raise Unauthenticated("the token is not valid (malformed, or not signed by this "
                                  "server): sign in again") from None
        if claims.get("typ") != typ:
            raise Unauthenticated(f"{_KINDS.get(str(claims.get('typ')), 'this token')} cannot be "
                                  f"used here: send {_KINDS[typ]}")
        try:
            int(claims["sub"])
            role_of_claim(claims.get("role"))
        except (ValueError, TypeError):
            raise Unauthenticated("the token is not valid: sign in again") from None
        return claims

    def viewer_of_access_token(self, token: str) -> Viewer:
        """The viewer of a valid access token. A token already verified by this object is
        not decoded again (its claims are what its signature covered) while it has not expired;
        an expired one is decoded again, which raises saying so."""
        found = self._verified.get(token)
        if found is not None and found[1] > int(time.time()):  # as joserfc: expired at exp
            return found[0]
        claims = self.decode(token, "access")
        sid = claims.get("sid")
        viewer = Viewer(int(claims["sub"]), role_of_claim(claims.get("role")),
                        TokenScope.READ_WRITE, "jwt", str(sid) if sid is not None else None)
        if len(self._verified) >= VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (viewer, float(claims["exp"]))
        return viewer


def bearer_of(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None when absent)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must read 'Bearer <token>'")
    return value.strip()


async def viewer_of(token: str | None, tokens: Tokens) -> Viewer | None:
    """The caller a bearer token names (None without a token); raises
    :class:`Unauthenticated` for a token that is invalid, expired or revoked, or whose
    account is gone or disabled (checked in the database on every call)."""
    if token is None:
        return None
    if store_tokens.looks_like_token(token):
        found = await store_tokens.user_for_token(token)
        if found is None:
            raise Unauthenticated("the personal access token is unknown, revoked or expired, "
                                  "or its account is disabled")
        user, scope = found
        return Viewer(user.id, user.role, scope, "token")
    viewer = tokens.viewer_of_access_token(token)
    state = await store_sessions.caller_state(viewer.user_id, viewer.session_id)
    if state is None or not state.is_active:
        raise Unauthenticated(ACCOUNT_GONE)
    if not state.session_open:
        raise Unauthenticated(SESSION_ENDED)
    return viewer if viewer.role == state.role else replace(viewer, role=state.role)


async def recheck(viewer: Viewer, token: str | None) -> Viewer:
    """The caller of a long-lived connection (a websocket), checked again as :func:`viewer_of`
    checks each request: raises :class:`Unauthenticated` once its account is gone or disabled,
    its session ended or its personal access token revoked or expired; otherwise the caller
    with its current role. (An access token that merely expired since the connection opened
    does not end it: it was valid when the connection was authenticated.)"""
    if viewer.via == "token":
        found = await store_tokens.user_for_token(token) if token else None
        if found is None:
            raise Unauthenticated("the personal access token was revoked or has expired, or "
                                  "its account is disabled")
        user, scope = found
        return Viewer(user.id, user.role, scope, "token")
    state = await store_sessions.caller_state(viewer.user_id, viewer.session_id)
    if state is None or not state.is_active:
        raise Unauthenticated(ACCOUNT_GONE)
    if not state.session_open:
        raise Unauthenticated(SESSION_ENDED)
    return viewer if viewer.role == state.role else replace(viewer, role=state.role)

