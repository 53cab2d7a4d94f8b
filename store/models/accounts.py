"""Users, their tokens and exchange keys, and the audit log."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from store.models.market import SyncJob
    from store.models.runs import Backtest, SweepRun
    from store.models.strategies import Strategy
    from store.models.transactions import ReplayExecution, TransactionImport, TransactionRecord



class Role(StrEnum):
    """What a user may do, each role including the one before it: ``viewer`` reads its own
    objects, ``trader`` also runs and writes them, ``admin`` also manages users, roles and the
    audit log (and may read and change every object)."""

    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"


class TokenScope(StrEnum):
    """What a personal access token allows."""

    READ = "read"
    READ_WRITE = "read_write"


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=100, default="")
    password_hash = fields.CharField(max_length=255, null=True)  # argon2id
    role = fields.CharEnumField(Role, max_length=16, default=Role.TRADER)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    credentials: fields.ReverseRelation[ExchangeCredential]
    access_tokens: fields.ReverseRelation[AccessToken]
    sessions: fields.ReverseRelation[AuthSession]
    strategies: fields.ReverseRelation[Strategy]
    backtests: fields.ReverseRelation[Backtest]
    transactions: fields.ReverseRelation[TransactionRecord]
    transaction_imports: fields.ReverseRelation[TransactionImport]
    replays: fields.ReverseRelation[ReplayExecution]
    sweeps: fields.ReverseRelation[SweepRun]
    sync_jobs: fields.ReverseRelation[SyncJob]

    class Meta:
        table = "users"


class AccessToken(Model):
    """A personal access token for third-party integrations, stored only as its SHA-256 hash."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="access_tokens", on_delete=fields.CASCADE)
    owner_id: int
    name = fields.CharField(max_length=100)
    scope = fields.CharEnumField(TokenScope, max_length=16, default=TokenScope.READ)
    token_hash = fields.CharField(max_length=64, unique=True)  # sha256 hex of the whole token
    prefix = fields.CharField(max_length=16)  # first characters, shown in lists to tell tokens apart
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "access_tokens"
        indexes = (("owner_id", "created_at"),)


class AuthSession(Model):
    """A sign-in: the family of refresh tokens that descend from one login.

    Its ``id`` is the ``sid`` claim of every access and refresh token issued in it; once
    ``revoked_at`` is set (logout, a password change, a reused refresh token) every one of them
    is refused.
    """

    id = fields.CharField(max_length=32, primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE)
    user_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=32, default="")  # logout, password, reuse...

    refresh_tokens: fields.ReverseRelation[RefreshToken]

    class Meta:
        table = "auth_sessions"
        indexes = (("user_id", "revoked_at"),)


class RefreshToken(Model):
    """One refresh token of a session (its ``jti``), good for one use.

    ``used_at`` is set when it is traded for the next pair; a second use after that is a reuse.
    """

    id = fields.CharField(max_length=32, primary_key=True)
    session: fields.ForeignKeyRelation[AuthSession] = fields.ForeignKeyField(
        "models.AuthSession", related_name="refresh_tokens", on_delete=fields.CASCADE)
    session_id: str
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"


class ExchangeCredential(Model):
    """A user's API key for an exchange, encrypted at rest by envelope encryption.

    ``api_key_encrypted`` and ``api_secret_encrypted`` are AES-256-GCM ciphertexts (nonce first)
    under this record's own data key; ``wrapped_key`` is that data key encrypted under the master
    key named by ``master_key_id``. ``key_mask`` is what may be shown (``••••abcd``).
    """

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="credentials", on_delete=fields.CASCADE)
    owner_id: int
    exchange = fields.CharField(max_length=32)
    label = fields.CharField(max_length=100, default="")
    api_key_encrypted = fields.BinaryField(null=True)
    api_secret_encrypted = fields.BinaryField(null=True)
    wrapped_key = fields.BinaryField(null=True)
    master_key_id = fields.CharField(max_length=64, default="")
    key_mask = fields.CharField(max_length=16, default="")
    last_used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "exchange_credentials"
        unique_together = (("owner", "exchange", "label"),)


class AuditLog(Model):
    """Who did what to which object, when, from where, and how it ended (append-only: nothing
    updates or deletes a row; on PostgreSQL a trigger refuses it).

    ``actor_email`` keeps who it was after the user is deleted; ``outcome`` is ``ok``,
    ``denied`` or ``failed``; ``request_id`` ties it to the request's log lines.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL)
    user_id: int | None
    action = fields.CharField(max_length=64)  # e.g. "backtest.run", "credential.create"
    entity_type = fields.CharField(max_length=64, default="")
    entity_id = fields.CharField(max_length=64, null=True)
    details: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    ip_address = fields.CharField(max_length=45, null=True)
    actor_email = fields.CharField(max_length=254, default="")
    outcome = fields.CharField(max_length=16, default="ok")
    request_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_log"
        indexes = (("action", "created_at"), ("user_id", "created_at"))
