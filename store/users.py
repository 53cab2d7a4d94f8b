"""User accounts: creation with an argon2id password hash, lookup, password checks.

Raw passwords come in and never go out; the hash format is argon2-cffi's PHC string, with its
default parameters (argon2id), re-hashed on login when those defaults change.

Account rules (:func:`account_problems`, applied by :func:`create_user`, the API's ``register``
and ``backtest users create``): an email with one ``@`` and a dot in its domain (checked
loosely: the only real check is a mail that arrives), a password that follows the policy of
:mod:`store.passwords` (8 characters or more, not blank, not the email, not a common
password), a display name of at most :data:`MAX_DISPLAY_NAME_LENGTH`. Emails are stored
stripped and lower-cased.

A new password (:func:`change_password`, :func:`set_password`) ends every session of the
account and revokes its personal access tokens (:func:`store.sessions.revoke_everything`);
disabling an account ends its sessions (its tokens are refused while it is disabled).

The demo account (:func:`ensure_demo_user`, used by ``make run``) is ``demo@example.com`` with a
random password that is returned once, when the account is created, and stored nowhere but as
its hash.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError

from store import sessions
from store.errors import StoreError
from store.models import Role, User
from store.passwords import password_problem

_hasher = PasswordHasher()

MAX_EMAIL_LENGTH = 254
MAX_DISPLAY_NAME_LENGTH = 100
DEMO_EMAIL = "demo@example.com"
DEMO_DISPLAY_NAME = "Demo"


class EmailTaken(StoreError):
    """An account with that email exists already."""


class InvalidAccount(StoreError):
    """The email, password or display name breaks the account rules (see the module)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class UserRecord:
    id: int
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def user_record(user: User) -> UserRecord:
    """The plain record of a ``User`` row (what the store hands out; ``store.tokens`` too)."""
    return UserRecord(user.id, user.email, user.display_name, Role(user.role), user.is_active,
                      user.created_at)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Why ``email`` cannot be an account's email, or None when it looks like one."""
    email = normalize_email(email)
    local, at, domain = email.partition("@")
    if not at or not local or "@" in domain or any(c.isspace() for c in email):
        return "enter an email address such as name@example.com"
    if "." not in domain.strip(".") or domain.startswith(".") or domain.endswith("."):
        return "the part after @ must be a domain with a dot, such as example.com"
    if len(email) > MAX_EMAIL_LENGTH:
        return f"an email address has at most {MAX_EMAIL_LENGTH} characters"
    return None


def account_problems(email: str, password: str | None,
                     display_name: str = "") -> list[tuple[str, str]]:
    """Every broken account rule, as ``(field, message)`` with fields ``email``, ``password``
    and ``displayName``; empty when the account may be created. ``password=None`` (an account
    that cannot sign in with a password) is allowed."""
    problems: list[tuple[str, str]] = []
    if (problem := email_problem(email)) is not None:
        problems.append(("email", problem))
    if password is not None and (problem := password_problem(password, email)) is not None:
        problems.append(("password", problem))
    if len(display_name.strip()) > MAX_DISPLAY_NAME_LENGTH:
        problems.append(("displayName", f"use at most {MAX_DISPLAY_NAME_LENGTH} characters"))
    return problems


async def hash_password(password: str) -> str:
    """argon2id hash of ``password`` (computed off the event loop: it takes tens of ms)."""
    return await asyncio.to_thread(_hasher.hash, password)


async def _by_email(email: str) -> User | None:
    """The user with that email (normalised); None for none, and for a text longer than any
    stored email (the column's length: Tortoise refuses to filter on it)."""
    normal = normalize_email(email)
    if len(normal) > MAX_EMAIL_LENGTH:
        return None
    return await User.get_or_none(email=normal)


async def create_user(email: str, password: str | None, display_name: str = "",
                      role: Role = Role.TRADER) -> UserRecord:
    """A new active user; raises :class:`InvalidAccount` when the input breaks the account
    rules and :class:`EmailTaken` when the email is in use."""
    if problems := account_problems(email, password, display_name):
        raise InvalidAccount(problems)
    email = normalize_email(email)
    display_name = display_name.strip()
    hashed = await hash_password(password) if password is not None else None
    if await User.filter(email=email).exists():
        raise EmailTaken(f"an account with email {email} exists already")
    try:
        user = await User.create(email=email, password_hash=hashed, display_name=display_name,
                                 role=role)
    except IntegrityError as err:
        raise EmailTaken(f"an account with email {email} exists already") from err
    return user_record(user)


async def get_user(user_id: int) -> UserRecord | None:
    user = await User.get_or_none(id=user_id)
    return user_record(user) if user is not None else None


async def get_user_by_email(email: str) -> UserRecord | None:
    user = await _by_email(email)
    return user_record(user) if user is not None else None


async def list_users() -> list[UserRecord]:
    """Every account, oldest first."""
    return [user_record(u) for u in await User.all().order_by("id")]


async def set_password(email: str, password: str) -> UserRecord | None:
    """Give the account with ``email`` a new password (None when there is none); raises
    :class:`InvalidAccount` when the password breaks the rules. Every session of the account
    ends and its personal access tokens are revoked (a reset is what follows a leak)."""
    if (problem := password_problem(password, normalize_email(email))) is not None:
        raise InvalidAccount([("password", problem)])
    user = await _by_email(email)
    if user is None:
        return None
    user.password_hash = await hash_password(password)
    await user.save(update_fields=["password_hash"])
    await sessions.revoke_everything(user.id, sessions.Revoked.PASSWORD)
    return user_record(user)


async def set_active(email: str, active: bool) -> UserRecord | None:
    """Enable or disable the account with ``email`` (None when there is none). A disabled
    account cannot log in, and its access tokens, refresh tokens and personal access tokens
    are refused from the next request on (the API checks the account on every request).
    Disabling ends every session for good; personal access tokens work again once the
    account is enabled."""
    user = await _by_email(email)
    if user is None:
        return None
    if user.is_active != active:
        user.is_active = active
        await user.save(update_fields=["is_active"])
    if not active:
        await sessions.revoke_user_sessions(user.id, sessions.Revoked.DISABLED)
    return user_record(user)


async def ensure_demo_user() -> tuple[UserRecord, str | None]:
    """The demo account, and its new random password when this call created it (None when it
    existed already: its password was printed when it was created and is not kept)."""
    found = await get_user_by_email(DEMO_EMAIL)
    if found is not None:
        return found, None
    password = secrets.token_urlsafe(12)
    try:
        return await create_user(DEMO_EMAIL, password, DEMO_DISPLAY_NAME), password
    except EmailTaken:  # created concurrently
        found = await get_user_by_email(DEMO_EMAIL)
        assert found is not None
        return found, None


async def authenticate(email: str, password: str) -> UserRecord | None:
    """The active user with that email and password, else None (same answer, and about the
    same time, whether the email exists or not)."""
    user = await _by_email(email)
    stored = user.password_hash if user is not None else None
    if user is None or stored is None or not user.is_active:
        # Spend the time of a verification anyway, so timing does not reveal accounts.
        await asyncio.to_thread(_verify_quietly, _dummy_hash(), password)
        return None
    if not await asyncio.to_thread(_verify_quietly, stored, password):
        return None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = await hash_password(password)
        await user.save(update_fields=["password_hash"])
    return user_record(user)


def _verify_quietly(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a real password, only spends time")


async def change_password(user_id: int, current: str, new: str) -> UserRecord | None:
    """Replace the password of active account ``user_id`` when ``current`` is its password
    (None when it is not, or the account is gone or disabled); raises :class:`InvalidAccount`
    when ``new`` breaks the rules (checked first, so a weak new password costs no hashing).
    Every session of the account ends and every personal access token is revoked: the caller
    starts a new session (``graph.accounts.change_password`` does)."""
    user = await User.get_or_none(id=user_id)
    if (problem := password_problem(new, user.email if user is not None else None)) is not None:
        raise InvalidAccount([("newPassword", problem)])
    stored = user.password_hash if user is not None else None
    if user is None or stored is None or not user.is_active:
        await asyncio.to_thread(_verify_quietly, _dummy_hash(), current)
        return None
    if not await asyncio.to_thread(_verify_quietly, stored, current):
        return None
    user.password_hash = await hash_password(new)
    await user.save(update_fields=["password_hash"])
    await sessions.revoke_everything(user.id, sessions.Revoked.PASSWORD)
    return user_record(user)
