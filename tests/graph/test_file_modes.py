"""The data folder and the SQLite files are created readable by their owner only: the folder
0700; the database, its ``-wal`` and ``-shm`` files and the JWT secret 0600, whatever the
process's umask; an existing database left readable by others is narrowed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graph.app import create_app
from store.db import close_db, init_db, migrate
from store.settings import Settings

pytestmark = pytest.mark.asyncio


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """A umask that lets everyone read new files (what a careless shell may have)."""
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_data_folder_is_private(tmp_path: Path, lax_umask: None) -> None:
    data = tmp_path / "data"
    settings = Settings.from_env({"DATA_DIR": str(data)})  # SQLite in the data folder
    try:
        await migrate(settings)
    finally:
        await close_db()
    app = create_app(settings)  # no JWT_SECRET: the key is kept in the data folder
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.post("/graphql", json={"query": 'mutation { register(input: '
                                       '{email: "a@example.com", password: "long enough '
                                       'phrase"}) { __typename } }'})
            assert answer.json()["data"]["register"]["__typename"] == "Registered"
            db = data / "backtest.sqlite3"
            files = {p.name: mode(p) for p in data.iterdir()}
            assert mode(data) == 0o700
            assert files["backtest.sqlite3"] == 0o600
            assert files["jwt_secret"] == 0o600
            wal = [n for n in files if n.endswith(("-wal", "-shm", "-journal"))]
            assert wal, files  # the server writes through SQLite's side files
            assert all(files[n] == 0o600 for n in wal), files
            assert db.stat().st_size > 0


async def test_an_existing_database_is_narrowed(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    db = folder / "old.sqlite3"
    db.write_bytes(b"")
    db.chmod(0o644)
    (folder / "old.sqlite3-wal").write_bytes(b"")
    (folder / "old.sqlite3-wal").chmod(0o664)
    await init_db(Settings(database_url=f"sqlite://{db}", data_dir=folder))
    await close_db()
    assert mode(db) == 0o600 and mode(folder / "old.sqlite3-wal") == 0o600
    assert mode(folder) == 0o755  # a folder that existed keeps its mode
