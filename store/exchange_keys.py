"""Users' exchange API keys, encrypted at rest (``store.key_vault``).

A key belongs to its owner alone: every function takes the owner's id (not an
``OwnerScope``: not even an admin reads, uses or deletes another user's keys), and another
owner's key is reported missing, as for an unknown id. Records (:class:`ExchangeKeyRecord`)
carry the mask (``••••abcd``), never the key or the secret; :func:`open_key` decrypts them,
for the code that calls the exchange and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from store.key_vault import KeyVault, KeyVaultError, Sealed, record_context
from store.models import ExchangeCredential

MASK_DOTS = "••••"
LABEL_MAX_LEN = 100
EXCHANGE_MAX_LEN = 32


class DuplicateLabel(Exception):
    """The owner has a key with this label on this exchange already."""


@dataclass(frozen=True)
class ExchangeKeyRecord:
    id: int
    owner_id: int
    exchange: str
    label: str
    key_mask: str
    master_key_id: str
    created_at: datetime
    last_used_at: datetime | None


def mask_of(api_key: str) -> str:
    """What may be shown of an API key: ``••••`` and its last 4 characters."""
    return MASK_DOTS + api_key[-4:]


def _record(row: ExchangeCredential) -> ExchangeKeyRecord:
    return ExchangeKeyRecord(row.id, row.owner_id, row.exchange, row.label, row.key_mask,
                             row.master_key_id, row.created_at, row.last_used_at)


def _context(row: ExchangeCredential) -> bytes:
    return record_context(row.owner_id, row.exchange, row.label)


async def label_taken(owner_id: int, exchange: str, label: str) -> bool:
    return await ExchangeCredential.filter(owner_id=owner_id, exchange=exchange,
                                           label=label).exists()


async def create_key(owner_id: int, exchange: str, label: str, api_key: str, api_secret: str,
                     vault: KeyVault) -> ExchangeKeyRecord:
    """Store a key sealed by ``vault`` (inputs checked by the caller); ``DuplicateLabel`` when
    the owner has that label on that exchange already."""
    sealed = vault.seal(api_key, api_secret, record_context(owner_id, exchange, label))
    try:
        row = await ExchangeCredential.create(
            owner_id=owner_id, exchange=exchange, label=label,
            api_key_encrypted=sealed.api_key, api_secret_encrypted=sealed.api_secret,
            wrapped_key=sealed.wrapped_key, master_key_id=sealed.master_key_id,
            key_mask=mask_of(api_key))
    except IntegrityError:
        raise DuplicateLabel(label) from None
    return _record(row)


async def list_keys(owner_id: int) -> list[ExchangeKeyRecord]:
    """The owner's keys, newest first."""
    rows = await ExchangeCredential.filter(owner_id=owner_id).order_by("-created_at", "-id")
    return [_record(r) for r in rows]


async def get_key(key_id: int, owner_id: int) -> ExchangeKeyRecord | None:
    row = await ExchangeCredential.filter(id=key_id, owner_id=owner_id).first()
    return None if row is None else _record(row)


async def get_keys(ids: list[int]) -> dict[int, ExchangeKeyRecord]:
    """The keys with these ids, whoever owns them (for the jobs that name them, which are
    scoped themselves)."""
    return {r.id: _record(r) for r in await ExchangeCredential.filter(id__in=ids)}


async def delete_key(key_id: int, owner_id: int) -> ExchangeKeyRecord | None:
    """Delete the owner's key; it as it was, or None when there is no such key of theirs."""
    row = await ExchangeCredential.filter(id=key_id, owner_id=owner_id).first()
    if row is None:
        return None
    await ExchangeCredential.filter(id=key_id, owner_id=owner_id).delete()
    return _record(row)


async def open_key(key_id: int, owner_id: int, vault: KeyVault) -> tuple[str, str] | None:
    """``(api_key, api_secret)`` of the owner's key, decrypted; None when there is none.
    ``store.key_vault.KeyVaultError`` when it cannot be decrypted."""
    row = await ExchangeCredential.filter(id=key_id, owner_id=owner_id).first()
    if row is None:
        return None
    if row.api_key_encrypted is None or row.api_secret_encrypted is None \
            or row.wrapped_key is None:
        raise KeyVaultError("this exchange key was stored without encryption: delete it and "
                            "add it again")
    sealed = Sealed(bytes(row.api_key_encrypted), bytes(row.api_secret_encrypted),
                    bytes(row.wrapped_key), row.master_key_id)
    return vault.open(sealed, _context(row))


async def touch(key_id: int) -> None:
    """Record that the key was just used."""
    await ExchangeCredential.filter(id=key_id).update(last_used_at=datetime.now(UTC))


async def count_not_current(vault: KeyVault) -> int:
    """Keys whose data key is wrapped under another master key than the current one."""
    return await ExchangeCredential.exclude(master_key_id=vault.current_id).count()


async def rewrap_batch(vault: KeyVault, after_id: int, limit: int) -> tuple[int, int, int | None]:
    """Re-wrap the data keys of at most ``limit`` keys with ``id > after_id`` not under the
    current master key, each in its own conditional update (a record changed meanwhile is left
    to the next run). ``(re-wrapped, looked at, the last id)``; the last id is None when there
    were none left."""
    rows = await ExchangeCredential.filter(id__gt=after_id).exclude(
        master_key_id=vault.current_id).order_by("id").limit(limit)
    done = 0
    for row in rows:
        if row.wrapped_key is None:
            continue
        found = vault.rewrap(bytes(row.wrapped_key), row.master_key_id, _context(row))
        if found is None:
            continue
        wrapped, new_id = found
        done += await ExchangeCredential.filter(
            id=row.id, master_key_id=row.master_key_id).update(wrapped_key=wrapped,
                                                                master_key_id=new_id)
    return done, len(rows), rows[-1].id if rows else None
