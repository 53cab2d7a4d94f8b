"""User accounts: creation with an argon2id password hash, lookup, password checks.

Raw passwords come in and never go out; the hash format is argon2-cffi's PHC string, with its
default parameters (argon2id), re-hashed on login when those defaults change.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError

from store.errors import StoreError
from store.models import Role, User

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


class EmailTaken(StoreError):
    """An account with that email exists already."""


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


def _record(user: User) -> UserRecord:
    return UserRecord(user.id, user.email, user.display_name, Role(user.role), user.is_active,
                      user.created_at)


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def hash_password(password: str) -> str:
    """argon2id hash of ``password`` (computed off the event loop: it takes tens of ms)."""
    return await asyncio.to_thread(_hasher.hash, password)


async def create_user(email: str, password: str | None, display_name: str = "",
                      role: Role = Role.USER) -> UserRecord:
    """A new active user; raises :class:`EmailTaken` when the email is in use."""
    email = normalize_email(email)
    hashed = await hash_password(password) if password is not None else None
    if await User.filter(email=email).exists():
        raise EmailTaken(f"an account with email {email} exists already")
    try:
        user = await User.create(email=email, password_hash=hashed, display_name=display_name,
                                 role=role)
    except IntegrityError as err:
        raise EmailTaken(f"an account with email {email} exists already") from err
    return _record(user)


async def get_user(user_id: int) -> UserRecord | None:
    user = await User.get_or_none(id=user_id)
    return _record(user) if user is not None else None


async def get_user_by_email(email: str) -> UserRecord | None:
    user = await User.get_or_none(email=normalize_email(email))
    return _record(user) if user is not None else None


async def authenticate(email: str, password: str) -> UserRecord | None:
    """The active user with that email and password, else None (same answer, and about the
    same time, whether the email exists or not)."""
    user = await User.get_or_none(email=normalize_email(email))
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
    return _record(user)


def _verify_quietly(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a real password, only spends time")
