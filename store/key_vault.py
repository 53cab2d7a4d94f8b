"""Envelope encryption of exchange API keys (AES-256-GCM, ``cryptography``'s ``AESGCM``).

Each record gets a fresh random 256-bit *data key*. The data key encrypts the API key and the
API secret (each with its own random 96-bit nonce, stored in front of the ciphertext); the
data key itself is encrypted ("wrapped") under the *master key*, AES-256-GCM too, and the
master key's id is stored beside it. Every ciphertext is bound to its record by associated
data (:func:`record_context`: the owner, the exchange and the label), so a ciphertext copied
into another record, or a wrapped key swapped between records, fails to decrypt.

Master keys come from the settings (``store.settings``): ``MASTER_KEY`` (base64 of 32 bytes)
or ``MASTER_KEY_FILE`` (one base64 key per line: the first is the current one, the others are
older keys still accepted for reading), plus ``MASTER_KEYS_OLD`` (comma-separated base64 keys,
read only). Without either, a key is generated once into ``<DATA_DIR>/master_key`` (mode
0600), like the JWT secret, so local use needs nothing. A key's id is the hex of the first 8
bytes of its SHA-256 (:func:`key_id`): it names the key without revealing it.

Rotation (``backtest keys rotate``): configure the new key as the current one and the old one
in ``MASTER_KEYS_OLD`` (or as a later line of the key file), then re-wrap every record's data key
(:meth:`KeyVault.rewrap`; the key and secret ciphertexts do not change). Readers accept any
known key meanwhile, and reload a key file when they meet a key id they do not know, so API
processes keep working during and after a rotation done by another process.

Nothing here logs or returns a secret in a message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import DomainError
from store.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_FILE = "master_key"
_WRAP = b"wrap"


class KeyVaultError(DomainError):
    """A key cannot be used: its master key is not configured, or its ciphertext was altered,
    or the master key settings are malformed."""


@dataclass(frozen=True)
class MasterKey:
    id: str
    key: bytes

    def __repr__(self) -> str:  # never the key itself
        return f"MasterKey(id={self.id!r})"


@dataclass(frozen=True)
class Sealed:
    """What is stored for one record: the two ciphertexts, the wrapped data key and the id of
    the master key that wrapped it."""

    api_key: bytes
    api_secret: bytes
    wrapped_key: bytes
    master_key_id: str


def key_id(key: bytes) -> str:
    """The id of a master key: the hex of the first 8 bytes of its SHA-256."""
    return hashlib.sha256(key).digest()[:8].hex()


def decode_key(text: str, where: str) -> MasterKey:
    """A master key from its base64 text; ``KeyVaultError`` naming ``where`` if malformed."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyVaultError(f"{where}: not base64 (generate a key with "
                            "`python -c \"import os,base64;print(base64.b64encode("
                            "os.urandom(32)).decode())\"`)") from None
    if len(raw) != KEY_BYTES:
        raise KeyVaultError(f"{where}: a master key is {KEY_BYTES} bytes (base64 encoded), "
                            f"this one has {len(raw)}")
    return MasterKey(key_id(raw), raw)


def new_key_text() -> str:
    """A fresh random master key, base64."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def record_context(owner_id: int, exchange: str, label: str) -> bytes:
    """The associated data binding a record's ciphertexts to it."""
    return json.dumps(["exchange-key/v1", int(owner_id), exchange, label],
                      separators=(",", ":")).encode()


def key_file_path(settings: Settings) -> Path | None:
    """The key file the master keys are read from (``MASTER_KEY_FILE``, or the generated one
    when no key is configured); None when ``MASTER_KEY`` gives the key."""
    if settings.master_key:
        return None
    if settings.master_key_file:
        return Path(settings.master_key_file)
    return Path(settings.data_dir) / KEY_FILE


def _ensure_default_file(path: Path) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data folder: private
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return
    with os.fdopen(fd, "w") as f:
        f.write(new_key_text() + "\n")


def read_key_file(path: Path) -> list[MasterKey]:
    """The keys of a key file, current first (blank lines and ``#`` comments skipped)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise KeyVaultError(f"master key file {path}: cannot read it ({err.strerror})") from None
    keys = [decode_key(line, f"master key file {path}, line {n}")
            for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]
    if not keys:
        raise KeyVaultError(f"master key file {path}: holds no key")
    return keys


def load_keys(settings: Settings) -> list[MasterKey]:
    """Every configured master key, the current one first (see the module docstring)."""
    if settings.master_key:
        keys = [decode_key(settings.master_key, "MASTER_KEY")]
    else:
        path = key_file_path(settings)
        assert path is not None
        if not settings.master_key_file:
            _ensure_default_file(path)
        keys = read_key_file(path)
    for n, text in enumerate(settings.master_keys_old, 1):
        keys.append(decode_key(text, f"MASTER_KEYS_OLD, key {n}"))
    return keys


def add_key_to_file(path: Path, text: str) -> MasterKey:
    """Make ``text`` the current key of the key file at ``path``, the earlier keys kept after
    it (read only); written to a temporary file (mode 0600) then renamed over it."""
    new = decode_key(text, "the new master key")
    old = path.read_text() if path.exists() else ""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text.strip() + "\n" + old)
    os.replace(tmp, path)
    return new


class KeyVault:
    """Seals and opens exchange keys under a set of master keys (the first is current)."""

    def __init__(self, keys: Sequence[MasterKey],
                 reload: Callable[[], Sequence[MasterKey]] | None = None) -> None:
        if not keys:
            raise KeyVaultError("no master key configured")
        self._lock = threading.Lock()
        self._reload = reload
        self._set(keys)

    def _set(self, keys: Sequence[MasterKey]) -> None:
        self._current = keys[0]
        self._keys = {k.id: k for k in reversed(keys)}  # the current one wins a repeated id

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyVault:
        return cls(load_keys(settings), reload=lambda: load_keys(settings))

    @property
    def current_id(self) -> str:
        return self._current.id

    @property
    def key_ids(self) -> list[str]:
        return [self._current.id, *(k for k in self._keys if k != self._current.id)]

    def _master(self, master_key_id: str) -> MasterKey:
        found = self._keys.get(master_key_id)
        if found is None and self._reload is not None:
            with self._lock:  # a key file rotated by another process: read it again
                self._set(self._reload())
            found = self._keys.get(master_key_id)
        if found is None:
            raise KeyVaultError(f"the master key {master_key_id!r} that encrypted this exchange "
                                "key is not configured (set it in MASTER_KEYS_OLD, or as a "
                                "later line of the master key file, until `backtest keys "
                                "rotate` has re-wrapped every key)")
        return found

    def seal(self, api_key: str, api_secret: str, context: bytes) -> Sealed:
        """Encrypt a key and its secret under a fresh data key wrapped by the current master
        key."""
        data_key = AESGCM.generate_key(bit_length=256)
        return Sealed(_encrypt(data_key, api_key.encode(), context),
                      _encrypt(data_key, api_secret.encode(), context),
                      _encrypt(self._current.key, data_key, context + _WRAP),
                      self._current.id)

    def _data_key(self, wrapped_key: bytes, master_key_id: str, context: bytes) -> bytes:
        master = self._master(master_key_id)
        return _decrypt(master.key, wrapped_key, context + _WRAP, "its data key")

    def open(self, sealed: Sealed, context: bytes) -> tuple[str, str]:
        """``(api_key, api_secret)``; ``KeyVaultError`` when the master key is unknown or a
        ciphertext was altered (or belongs to another record)."""
        data_key = self._data_key(sealed.wrapped_key, sealed.master_key_id, context)
        key = _decrypt(data_key, sealed.api_key, context, "the API key")
        secret = _decrypt(data_key, sealed.api_secret, context, "the API secret")
        return key.decode(), secret.decode()

    def rewrap(self, wrapped_key: bytes, master_key_id: str, context: bytes
               ) -> tuple[bytes, str] | None:
        """The data key wrapped under the current master key, and its id; None when it is
        already (nothing to do)."""
        if master_key_id == self._current.id:
            return None
        data_key = self._data_key(wrapped_key, master_key_id, context)
        return _encrypt(self._current.key, data_key, context + _WRAP), self._current.id


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes, what: str) -> bytes:
    if len(blob) <= NONCE_BYTES:
        raise KeyVaultError(f"the stored exchange key is corrupt: {what} is truncated")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise KeyVaultError(f"the stored exchange key failed its integrity check: {what} was "
                            "altered, or does not belong to this record") from None


@lru_cache(maxsize=8)
def vault_for(settings: Settings) -> KeyVault:
    """The process's vault for ``settings`` (built once per settings)."""
    return KeyVault.from_settings(settings)
