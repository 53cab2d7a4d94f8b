"""Accounts: register, sign in, refresh, ``me``, and personal access tokens.

Registration
    ``register`` answers :class:`Registered` whether the email was free (the account is
    created) or taken (nothing changes), after hashing the password in both cases, so the
    answer and its time do not tell which emails have accounts; a broken rule is a
    :class:`ValidationError`. The new user then signs in with ``login``. (Without email
    delivery nothing can hide that an address was free from someone who registers it and then
    signs in: they own that account now; ``login``'s throttle bounds such probing.)

Sign-in and sessions
    ``login`` returns an :class:`AuthPayload`: an access JWT (send it as ``Authorization:
    Bearer <accessToken>``; it lives ``expiresIn`` seconds), a refresh JWT (30 days) and the
    user; it starts a session (``store.sessions``). A wrong password and an unknown email give
    the same :class:`InvalidCredentials` answer. Failed sign-ins are throttled per account
    and per IP (``graph.login_throttle``): a refused attempt is ``RATE_LIMITED`` with
    ``extensions.retryAfter`` (seconds) and a ``Retry-After`` header.

    ``refreshToken(refreshToken)`` trades a refresh token for the next pair of the same
    session. Each refresh token works once: store the new one. Using one again is taken for
    theft and ends the session (every token descended from that sign-in), except within
    ``store.sessions.REUSE_GRACE_S`` seconds of its first use (two tabs racing), which is
    refused without ending anything. ``logout(refreshToken)`` ends its session;
    ``changePassword`` ends every session and revokes every personal access token of the
    user, and answers with a new session. Ended sessions, like disabled accounts, are refused
    from the next request on, access tokens included.

Personal access tokens
    For scripts and integrations: ``createAccessToken`` returns the secret once (only its
    SHA-256 hash is stored), ``accessTokens`` lists them (never the secret or its hash) and
    ``revokeAccessToken`` stops one. A token's scope is ``READ`` (queries only: every mutation
    that changes something answers ``FORBIDDEN``) or ``READ_WRITE``.

    Creating a token needs a signed-in session (a JWT from ``login``): a personal access token
    cannot mint more tokens, so a leaked token cannot be used to make itself permanent or to
    widen its scope. A ``READ_WRITE`` token may revoke tokens (revoking only takes power away).

Admins
    As everywhere, an admin reads and changes everything: ``accessTokens`` lists every user's
    tokens (each with its ``ownerId``) and ``revokeAccessToken`` revokes any of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.audit import audit
from graph.auth import ACCOUNT_GONE, TokenPair
from graph.context import Context
from graph.errors import Forbidden, RateLimited, Unauthenticated
from graph.rate_limits import QuotaExceeded
from graph.types_common import (
    Node,
    NotFoundError,
    PageInfo,
    ValidationError,
    global_id,
    offset_cursor,
    offset_window,
    parse_id,
    register_node,
)
from store import sessions as store_sessions
from store import tokens as store_tokens
from store import users as store_users
from store.models import Role, TokenScope
from store.tokens import TokenRecord
from store.users import UserRecord

# The store's enums double as GraphQL enums (registered here, once, for the whole schema).
strawberry.enum(Role, name="Role", description="What a user may do: VIEWER reads its own "
                "objects, TRADER also runs jobs and writes, ADMIN also manages users, roles "
                "and the audit log, and reads and changes everything.")
strawberry.enum(TokenScope, name="TokenScope", description="What a personal access token "
                "allows: READ (queries) or READ_WRITE (also mutations).")


@strawberry.type(description="A user account.")
class User(Node):
    id: strawberry.ID
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime

    @classmethod
    def from_record(cls, user: UserRecord) -> User:
        return cls(id=global_id("User", user.id), email=user.email,
                   display_name=user.display_name, role=user.role, is_active=user.is_active,
                   created_at=user.created_at)


@strawberry.type(description="A signed-in session: send `accessToken` as 'Authorization: "
                             "Bearer <accessToken>'; when it expires (after `expiresIn` "
                             "seconds) trade `refreshToken` for a new pair with refreshToken.")
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User

    @classmethod
    def from_pair(cls, pair: TokenPair, user: UserRecord) -> AuthPayload:
        return cls(access_token=pair.access_token, refresh_token=pair.refresh_token,
                   expires_in=pair.expires_in, user=User.from_record(user))


@strawberry.type(description="The registration was accepted: sign in with login, using this "
                             "email and password. The same answer comes whether the account "
                             "was created or the email had an account already (which is left "
                             "unchanged), so it does not reveal which emails have accounts.")
class Registered:
    message: str


@strawberry.type(description="The email or the password is wrong (which one is not said).")
class InvalidCredentials:
    message: str


@strawberry.type(description="A personal access token, without its secret.")
class AccessToken(Node):
    id: strawberry.ID
    owner_id: strawberry.ID
    name: str
    scope: TokenScope
    prefix: str = strawberry.field(description="The token's first characters, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_record(cls, token: TokenRecord) -> AccessToken:
        return cls(id=global_id("AccessToken", token.id),
                   owner_id=global_id("User", token.owner_id),
                   name=token.name, scope=token.scope, prefix=token.prefix,
                   created_at=token.created_at, last_used_at=token.last_used_at,
                   expires_at=token.expires_at, revoked_at=token.revoked_at)


@strawberry.type(description="A new personal access token. `token` is the secret: it is shown "
                             "this once and cannot be read again.")
class CreatedAccessToken:
    token: str
    access_token: AccessToken


@strawberry.input
class RegisterInput:
    email: str
    password: str
    display_name: str = ""


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class CreateAccessTokenInput:
    name: str
    scope: TokenScope = TokenScope.READ
    expires_in_days: int | None = strawberry.field(
        default=None, description="Days until the token stops working; omit for never.")


RegisterResult = Annotated[Registered | ValidationError,
                           strawberry.union("RegisterResult")]
LoginResult = Annotated[AuthPayload | InvalidCredentials, strawberry.union("LoginResult")]
CreateAccessTokenResult = Annotated[CreatedAccessToken | ValidationError,
                                    strawberry.union("CreateAccessTokenResult")]

INVALID_CREDENTIALS = "wrong email or password"
REGISTERED = ("Registration received: sign in with this email and password. (If the email "
              "had an account already, that account is unchanged: sign in with its password.)")


def _problems(prefix: str, problems: list[tuple[str, str]]) -> ValidationError:
    return ValidationError.of((f"{prefix}.{field}", message) for field, message in problems)


async def me(info: Info[Context, None]) -> User:
    viewer = info.context.require_viewer()
    user = await store_users.get_user(viewer.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("this account no longer exists or is disabled")
    return User.from_record(user)


@strawberry.type
class AccessTokenEdge:
    cursor: str
    node: AccessToken


@strawberry.type(description="A page of personal access tokens, newest first.")
class AccessTokenConnection:
    edges: list[AccessTokenEdge]
    page_info: PageInfo
    total_count: int


async def access_tokens(info: Info[Context, None], first: int | None = None,
                        after: str | None = None, last: int | None = None,
                        before: str | None = None) -> AccessTokenConnection:
    records = await store_tokens.list_tokens(owner=info.context.scope())
    start, end, page = offset_window(len(records), first, after, last, before)
    return AccessTokenConnection(
        edges=[AccessTokenEdge(cursor=offset_cursor(i),
                               node=AccessToken.from_record(records[i]))
               for i in range(start, end)], page_info=page, total_count=len(records))


async def _load_users(info: Info[Context, None], ids: Sequence[int]) -> list[User]:
    viewer = info.context.require_viewer()
    found = [await store_users.get_user(i) for i in ids
             if viewer.is_admin or i == viewer.user_id]
    return [User.from_record(u) for u in found if u is not None]


async def _load_tokens(info: Info[Context, None], ids: Sequence[int]) -> list[AccessToken]:
    wanted = set(ids)
    return [AccessToken.from_record(t)
            for t in await store_tokens.list_tokens(owner=info.context.scope())
            if t.id in wanted]


register_node("User", _load_users)
register_node("AccessToken", _load_tokens)


async def register(info: Info[Context, None], input: RegisterInput) -> RegisterResult:
    problems = store_users.account_problems(input.email, input.password, input.display_name)
    if problems:
        return _problems("input", problems)
    # create_user hashes the password before it looks for the email: both answers take as long
    with contextlib.suppress(store_users.EmailTaken):
        await store_users.create_user(input.email, input.password, input.display_name)
    return Registered(message=REGISTERED)


async def login(info: Info[Context, None], input: LoginInput) -> LoginResult:
    throttle = info.context.services.login_throttle
    ip = info.context.client_ip
    refusal = await throttle.begin(input.email, ip)
    if refusal is not None:
        await audit(info.context, "auth.login_failed", actor_email=input.email.strip()[:254],
                    outcome="denied", details={"reason": "throttled"})
        if info.context.response is not None:
            info.context.response.headers["Retry-After"] = str(refusal.retry_after_s)
        raise RateLimited(refusal.message, refusal.retry_after_s)
    user = await store_users.authenticate(input.email, input.password)
    if user is None:
        await audit(info.context, "auth.login_failed", actor_email=input.email.strip()[:254],
                    outcome="failed", details={"reason": "wrong email or password"})
        return InvalidCredentials(message=INVALID_CREDENTIALS)
    await throttle.succeeded(input.email, ip)
    payload = await _signed_in(info, user)
    await audit(info.context, "auth.login", user_id=user.id, actor_email=user.email,
                target_type="User", target_id=user.id)
    return payload


async def _signed_in(info: Info[Context, None], user: UserRecord) -> AuthPayload:
    """A new session for ``user`` and its first pair."""
    tokens = info.context.services.tokens
    session_id, jti = await store_sessions.start_session(user.id,
                                                         forget_after_s=tokens.refresh_ttl_s)
    return AuthPayload.from_pair(tokens.issue(user, session_id, jti), user)


def _refresh_claims(info: Info[Context, None], refresh_token: str) -> tuple[int, str, str]:
    """The user id, session id and token id of a valid refresh token; raises
    UNAUTHENTICATED saying why it is not one."""
    claims = info.context.services.tokens.decode(refresh_token, "refresh")
    if not claims.get("sid") or not claims.get("jti"):
        raise Unauthenticated("this refresh token names no session: sign in again")
    return int(claims["sub"]), str(claims["sid"]), str(claims["jti"])


_ENDED = {
    store_sessions.Revoked.LOGOUT: "this session has ended (logout): sign in again",
    store_sessions.Revoked.PASSWORD: "the password changed since this session began: sign in "
                                     "again",
    store_sessions.Revoked.REUSE: "this session was ended because one of its refresh tokens "
                                  "was used twice: sign in again",
    store_sessions.Revoked.DISABLED: ACCOUNT_GONE,
}


async def refresh_token(info: Info[Context, None], refresh_token: str) -> AuthPayload:
    user_id, session_id, jti = _refresh_claims(info, refresh_token)
    user = await store_users.get_user(user_id)
    if user is None or not user.is_active:
        raise Unauthenticated(ACCOUNT_GONE)
    rotation = await store_sessions.rotate(session_id, jti, user_id)
    if rotation.outcome == store_sessions.Outcome.REUSED:
        await audit(info.context, "auth.refresh_reuse", user_id=user_id, outcome="denied",
                    target_type="Session", target_id=session_id,
                    details={"effect": "every token of the session revoked"})
        raise Unauthenticated("this refresh token was already used: refresh tokens work once. "
                              "Someone may have a copy, so every token of this sign-in has "
                              "been revoked: sign in again")
    if rotation.outcome == store_sessions.Outcome.RACED:
        raise Unauthenticated("this refresh token was used moments ago (refresh tokens work "
                              "once): use the pair that answer returned")
    if rotation.outcome == store_sessions.Outcome.ENDED or rotation.jti is None:
        reason = await store_sessions.revoked_reason(session_id)
        raise Unauthenticated(_ENDED.get(store_sessions.Revoked(reason), ACCOUNT_GONE)
                              if reason else "this refresh token is not valid: sign in again")
    return AuthPayload.from_pair(info.context.services.tokens.issue(user, session_id,
                                                                    rotation.jti), user)


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type(description="The session has ended: its refresh and access tokens are "
                             "refused from now on.")
class LoggedOut:
    message: str


@strawberry.type(description="The refresh token is not valid (malformed, expired, not signed "
                             "by this server, or its session has ended already).")
class InvalidToken:
    message: str


ChangePasswordResult = Annotated[AuthPayload | InvalidCredentials | ValidationError,
                                 strawberry.union("ChangePasswordResult")]
LogoutResult = Annotated[LoggedOut | InvalidToken, strawberry.union("LogoutResult")]


async def change_password(info: Info[Context, None],
                          input: ChangePasswordInput) -> ChangePasswordResult:
    viewer = info.context.require_write()
    if viewer.via != "jwt":
        raise Forbidden("a personal access token cannot change the password: sign in with "
                        "login and use the access token it returns")
    try:
        user = await store_users.change_password(viewer.user_id, input.current_password,
                                                 input.new_password)
    except store_users.InvalidAccount as err:
        return _problems("input", err.problems)
    if user is None:
        await audit(info.context, "auth.password_change", target_type="User",
                    target_id=viewer.user_id, outcome="failed",
                    details={"reason": "the current password is wrong"})
        return InvalidCredentials(message="the current password is wrong")
    await audit(info.context, "auth.password_change", target_type="User", target_id=user.id,
                details={"effect": "every session and personal access token ended"})
    return await _signed_in(info, user)


async def logout(info: Info[Context, None], refresh_token: str) -> LogoutResult:
    try:
        user_id, session_id, _ = _refresh_claims(info, refresh_token)
    except Unauthenticated as err:
        return InvalidToken(message=err.message)
    if not await store_sessions.revoke_session(session_id, user_id,
                                               store_sessions.Revoked.LOGOUT):
        return InvalidToken(message="this session has ended already: sign in again")
    await audit(info.context, "auth.logout", user_id=user_id, target_type="Session",
                target_id=session_id)
    return LoggedOut(message="signed out: this session's tokens no longer work")


async def create_access_token(info: Info[Context, None],
                              input: CreateAccessTokenInput) -> CreateAccessTokenResult:
    viewer = info.context.require_write()
    if viewer.via != "jwt":
        raise Forbidden("a personal access token cannot create tokens: sign in with login and "
                        "use the access token it returns")
    problems = store_tokens.token_problems(input.name, input.expires_in_days)
    if problems:
        return _problems("input", problems)
    cap = info.context.services.settings.max_access_tokens_per_user
    if cap and await store_tokens.count_active_tokens(viewer.user_id) >= cap:
        raise QuotaExceeded(f"You have {cap} personal access tokens, the most one user may "
                            "hold (MAX_ACCESS_TOKENS_PER_USER): revoke one you no longer use "
                            "(revokeAccessToken), then create this one", cap)
    record, secret = await store_tokens.create_token(
        viewer.user_id, input.name, TokenScope(input.scope),
        store_tokens.expiry_after(input.expires_in_days))
    await audit(info.context, "token.create", target_type="AccessToken", target_id=record.id,
                details={"name": record.name, "scope": str(record.scope),
                         "prefix": record.prefix})
    return CreatedAccessToken(token=secret, access_token=AccessToken.from_record(record))


RevokeAccessTokenResult = Annotated[AccessToken | NotFoundError,
                                    strawberry.union("RevokeAccessTokenResult")]


async def revoke_access_token(info: Info[Context, None],
                              id: strawberry.ID) -> RevokeAccessTokenResult:
    info.context.require_write()
    record = await store_tokens.revoke_token(parse_id(id, "AccessToken"),
                                             owner=info.context.scope())
    if record is None:
        return NotFoundError(message=f"access token {id} not found")
    await audit(info.context, "token.revoke", target_type="AccessToken", target_id=record.id,
                details={"name": record.name, "owner_id": record.owner_id})
    return AccessToken.from_record(record)


@strawberry.type
class AccountQueries:
    me: User = strawberry.field(resolver=me, description="The signed-in user.")
    access_tokens: AccessTokenConnection = strawberry.field(
        resolver=access_tokens,
        description="Your personal access tokens, newest first (an admin sees everyone's; "
                    "Relay connection).")


@strawberry.type
class AccountMutations:
    register: RegisterResult = strawberry.mutation(
        resolver=register,
        description="Create an account, then sign in with login. Answers Registered whether "
                    "the email was free or had an account already (left unchanged), so it "
                    "does not reveal which emails exist; ValidationError for a broken rule "
                    "(the password: 8 characters or more, not only spaces, not the email, "
                    "not a common password).")
    login: LoginResult = strawberry.mutation(
        resolver=login,
        description="Sign in with email and password: a new session. Failed attempts are "
                    "throttled per account and per IP address, with a growing wait and a "
                    "15-minute lock after 10 failures for an account: a refused attempt is "
                    "the error RATE_LIMITED with extensions.retryAfter (seconds).")
    refresh_token: AuthPayload = strawberry.mutation(
        resolver=refresh_token,
        description="Trade a refresh token for the next access and refresh token of its "
                    "session. A refresh token works once: keep the new one. Using one again "
                    "ends its session (every token of that sign-in) as a precaution against "
                    "theft, unless it is within 10 seconds of its first use (refused, nothing "
                    "ended). UNAUTHENTICATED when it is expired, invalid or used, its session "
                    "has ended, or the account is gone or disabled.")
    change_password: ChangePasswordResult = strawberry.mutation(
        resolver=change_password,
        description="Change your password (needs a session from login). The current password "
                    "must be right (InvalidCredentials otherwise) and the new one follow the "
                    "rules (ValidationError). Every session of the account ends (this one "
                    "too: its tokens are refused from the next request) and every personal "
                    "access token is revoked; the answer is a new session to continue with.")
    logout: LogoutResult = strawberry.mutation(
        resolver=logout,
        description="End the session of this refresh token: its refresh and access tokens "
                    "are refused from then on. Needs no Authorization header (the refresh "
                    "token is the proof).")
    create_access_token: CreateAccessTokenResult = strawberry.mutation(
        resolver=create_access_token,
        description="Create a personal access token. Needs a session from login: a personal "
                    "access token cannot create tokens. A user holds at most "
                    "MAX_ACCESS_TOKENS_PER_USER working tokens (default 50): one more is the "
                    "error QUOTA_EXCEEDED (extensions.limit).")
    revoke_access_token: RevokeAccessTokenResult = strawberry.mutation(
        resolver=revoke_access_token,
        description="Revoke a personal access token: it stops working at once (NotFoundError "
                    "when it is not yours).")
