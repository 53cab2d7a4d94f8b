"""Exchange keys at rest: envelope encryption (store.key_vault), the key store
(store.exchange_keys) and the rotation of the master key (``backtest keys rotate``)."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from pathlib import Path

import pytest

from store import exchange_keys
from store.db import close_db, init_db
from store.key_vault import (
    KeyVault,
    KeyVaultError,
    decode_key,
    key_id,
    load_keys,
    new_key_text,
    record_context,
)
from store.models import ExchangeCredential
from store.settings import Settings, get_settings
from store.users import create_user
from tests.cli.test_serve import env, run_cli, use_db

__all__ = ["env", "use_db"]  # fixtures

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
CONTEXT = record_context(1, "binance", "main")


def vault(*texts: str) -> KeyVault:
    return KeyVault([decode_key(t, "test") for t in texts])


def test_round_trip_and_ciphertexts_hold_no_plaintext() -> None:
    v = vault(new_key_text())
    sealed = v.seal(API_KEY, API_SECRET, CONTEXT)
    assert v.open(sealed, CONTEXT) == (API_KEY, API_SECRET)
    assert sealed.master_key_id == v.current_id and len(sealed.master_key_id) == 16
    for blob in (sealed.api_key, sealed.api_secret, sealed.wrapped_key):
        assert API_KEY.encode() not in blob and API_SECRET.encode() not in blob
    again = v.seal(API_KEY, API_SECRET, CONTEXT)  # fresh data key and nonces each time
    assert again.api_key != sealed.api_key and again.wrapped_key != sealed.wrapped_key
    assert sealed.api_key[:12] != sealed.api_secret[:12]  # a nonce per ciphertext


def test_wrong_master_key_is_refused_with_a_clear_message() -> None:
    sealed = vault(new_key_text()).seal(API_KEY, API_SECRET, CONTEXT)
    with pytest.raises(KeyVaultError, match=r"master key .* is not configured.*MASTER_KEYS_OLD"):
        vault(new_key_text()).open(sealed, CONTEXT)


def test_tampering_is_detected() -> None:
    v = vault(new_key_text())
    sealed = v.seal(API_KEY, API_SECRET, CONTEXT)
    flipped = bytearray(sealed.api_secret)
    flipped[-1] ^= 1
    with pytest.raises(KeyVaultError, match="integrity check: the API secret was altered"):
        v.open(sealed.__class__(sealed.api_key, bytes(flipped), sealed.wrapped_key,
                                sealed.master_key_id), CONTEXT)
    wrapped = bytearray(sealed.wrapped_key)
    wrapped[20] ^= 0x80
    with pytest.raises(KeyVaultError, match="its data key"):
        v.open(sealed.__class__(sealed.api_key, sealed.api_secret, bytes(wrapped),
                                sealed.master_key_id), CONTEXT)
    # a record's ciphertexts moved to another owner's record do not decrypt
    with pytest.raises(KeyVaultError, match="does not belong to this record"):
        v.open(sealed, record_context(2, "binance", "main"))
    with pytest.raises(KeyVaultError, match="truncated"):
        v.open(sealed.__class__(b"short", sealed.api_secret, sealed.wrapped_key,
                                sealed.master_key_id), CONTEXT)


def test_rewrap_moves_a_data_key_to_the_current_master_key() -> None:
    old, new = new_key_text(), new_key_text()
    sealed = vault(old).seal(API_KEY, API_SECRET, CONTEXT)
    rotated = vault(new, old)
    found = rotated.rewrap(sealed.wrapped_key, sealed.master_key_id, CONTEXT)
    assert found is not None and found[1] == rotated.current_id
    moved = sealed.__class__(sealed.api_key, sealed.api_secret, found[0], found[1])
    assert vault(new).open(moved, CONTEXT) == (API_KEY, API_SECRET)  # the old key not needed
    assert rotated.rewrap(found[0], found[1], CONTEXT) is None  # already current


def test_default_key_file_is_made_once_owner_only(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite://:memory:", data_dir=tmp_path / "data")
    first = load_keys(settings)
    path = tmp_path / "data" / "master_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [k.id for k in load_keys(settings)] == [k.id for k in first]  # kept, not remade
    assert "key=" not in repr(first[0]) and base64.b64encode(first[0].key).decode() \
        not in repr(first)


def test_master_key_settings(tmp_path: Path) -> None:
    a, b, c = new_key_text(), new_key_text(), new_key_text()
    file = tmp_path / "keys"
    file.write_text(f"# current first\n{a}\n\n{b}\n")
    env = {"MASTER_KEY_FILE": str(file), "MASTER_KEYS_OLD": f" {c} ,", "DATA_DIR": str(tmp_path)}
    settings = Settings.from_env(env)
    assert "MASTER" not in repr(settings) and c not in repr(settings)
    ids = [k.id for k in load_keys(settings)]
    assert ids == [key_id(base64.b64decode(t)) for t in (a, b, c)]
    only = Settings.from_env({"MASTER_KEY": a, "DATA_DIR": str(tmp_path / "none")})
    assert [k.id for k in load_keys(only)] == ids[:1]
    assert not (tmp_path / "none").exists()  # no file generated when the key is given
    with pytest.raises(KeyVaultError, match="MASTER_KEY: not base64"):
        load_keys(Settings.from_env({"MASTER_KEY": "not a key!"}))
    with pytest.raises(KeyVaultError, match=r"32 bytes.*has 16"):
        load_keys(Settings.from_env({"MASTER_KEY": base64.b64encode(os.urandom(16)).decode()}))
    file.write_text("# nothing\n")
    with pytest.raises(KeyVaultError, match="holds no key"):
        load_keys(settings)


@pytest.mark.asyncio
async def test_store_keeps_only_ciphertexts_and_a_mask(db: Settings) -> None:
    v = vault(new_key_text())
    owner = await create_user("k@example.com", None)
    other = await create_user("o@example.com", None)
    rec = await exchange_keys.create_key(owner.id, "binance", "main", API_KEY, API_SECRET, v)
    assert rec.key_mask == "••••" + API_KEY[-4:]
    row = await ExchangeCredential.get(id=rec.id)
    stored = b"".join(bytes(x or b"") for x in (row.api_key_encrypted,
                                                 row.api_secret_encrypted, row.wrapped_key))
    assert API_KEY.encode() not in stored and API_SECRET.encode() not in stored
    assert await exchange_keys.open_key(rec.id, owner.id, v) == (API_KEY, API_SECRET)
    assert await exchange_keys.open_key(rec.id, other.id, v) is None  # owner scoped
    assert await exchange_keys.get_key(rec.id, other.id) is None
    assert await exchange_keys.delete_key(rec.id, other.id) is None
    with pytest.raises(exchange_keys.DuplicateLabel):
        await exchange_keys.create_key(owner.id, "binance", "main", API_KEY, API_SECRET, v)
    # the same label for another owner is fine
    await exchange_keys.create_key(other.id, "binance", "main", API_KEY, API_SECRET, v)
    # a ciphertext swapped in from another record is refused
    second = await exchange_keys.create_key(owner.id, "binance", "second", "k" * 64, "s" * 64, v)
    await ExchangeCredential.filter(id=second.id).update(
        api_secret_encrypted=row.api_secret_encrypted)
    with pytest.raises(KeyVaultError, match="integrity"):
        await exchange_keys.open_key(second.id, owner.id, v)


async def _seed_keys(url: str, key_text: str, n: int) -> list[int]:
    await init_db(Settings(database_url=url))
    try:
        v = vault(key_text)
        owner = await create_user("rot@example.com", None)
        return [(await exchange_keys.create_key(owner.id, "binance", f"k{i}", f"{API_KEY}{i}",
                                                f"{API_SECRET}{i}", v)).id for i in range(n)]
    finally:
        await close_db()


async def _open_all(url: str, v: KeyVault, ids: list[int]) -> list[tuple[str, str] | None]:
    await init_db(Settings(database_url=url))
    try:
        rows = await ExchangeCredential.filter(id__in=ids).order_by("id")
        return [await exchange_keys.open_key(r.id, r.owner_id, v) for r in rows]
    finally:
        await close_db()


def test_keys_rotate_command(use_db: pytest.MonkeyPatch, backend_url: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    old = new_key_text()
    key_file = tmp_path / "keys"
    key_file.write_text(old + "\n")
    use_db.setenv("MASTER_KEY_FILE", str(key_file))
    get_settings.cache_clear()
    ids = asyncio.run(_seed_keys(backend_url, old, 7))
    code, out, err = run_cli(capsys, "keys", "status")
    assert code == 0 and "under an older master key: 0" in out, err

    code, out, err = run_cli(capsys, "keys", "rotate", "--generate", "--batch", "3")
    assert code == 0, err
    assert "re-wrapped 7 key(s)" in out
    lines = [line for line in key_file.read_text().splitlines() if line]
    assert len(lines) == 2 and lines[1] == old  # the old key kept after the new one
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    new_only = vault(lines[0])
    expected = [(f"{API_KEY}{i}", f"{API_SECRET}{i}") for i in range(7)]
    assert asyncio.run(_open_all(backend_url, new_only, ids)) == expected
    assert old not in out and lines[0] not in out and lines[0] not in err

    # idempotent: nothing left to do
    code, out, _ = run_cli(capsys, "keys", "rotate")
    assert code == 0 and "re-wrapped 0 key(s)" in out

    # MASTER_KEY + MASTER_KEYS_OLD, as in production
    newest = new_key_text()
    use_db.delenv("MASTER_KEY_FILE")
    use_db.setenv("MASTER_KEY", newest)
    use_db.setenv("MASTER_KEYS_OLD", lines[0])
    get_settings.cache_clear()
    code, out, _ = run_cli(capsys, "keys", "rotate", "--no-progress")
    assert code == 0 and "re-wrapped 7 key(s)" in out
    assert asyncio.run(_open_all(backend_url, vault(newest), ids)) == expected
    code, _, err = run_cli(capsys, "keys", "rotate", "--generate")
    assert code == 2 and "MASTER_KEY" in err

    # a key wrapped under a master key nobody has: a clear error, nothing half done
    use_db.setenv("MASTER_KEY", new_key_text())
    use_db.delenv("MASTER_KEYS_OLD")
    get_settings.cache_clear()
    code, _, err = run_cli(capsys, "keys", "rotate")
    assert code == 2 and "is not configured" in err
    assert asyncio.run(_open_all(backend_url, vault(newest), ids)) == expected
