"""store.strategies on SQLite and PostgreSQL: versions, renames, deletes, owner scoping and the
keyset-paginated list of latest versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from store import strategies as repo
from store.scope import ALL_OWNERS
from store.settings import Settings
from store.users import create_user

pytestmark = pytest.mark.asyncio

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sma_crossover.json"


def doc(name: str, fast: int = 10) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE.read_text())
    document["name"] = name
    document["parameters"]["fast"]["value"] = fast
    return document


async def two_users() -> tuple[int, int]:
    a = await create_user("a@example.com", None)
    b = await create_user("b@example.com", None)
    return a.id, b.id


async def test_create_get_and_owner_scope(db: Settings) -> None:
    a, b = await two_users()
    s = await repo.create_strategy(a, "alpha", doc("alpha"))
    assert (s.owner_id, s.name, s.version) == (a, "alpha", 1)
    assert s.document == doc("alpha")
    assert await repo.get_strategy(s.id, owner=a) == s
    assert await repo.get_strategy(s.id, owner=b) is None  # another owner's: as if missing
    assert await repo.get_strategy(s.id, owner=ALL_OWNERS) == s  # admins see every owner's
    assert await repo.get_strategy(s.id + 1000, owner=a) is None
    with pytest.raises(repo.StrategyNameTaken, match="exists already"):
        await repo.create_strategy(a, "alpha", doc("alpha"))
    other = await repo.create_strategy(b, "alpha", doc("alpha"))  # names are per owner
    assert other.owner_id == b


async def test_versions_keep_older_documents(db: Settings) -> None:
    a, b = await two_users()
    v1 = await repo.create_strategy(a, "alpha", doc("alpha", 10))
    assert await repo.save_version(v1.id, owner=b, document=doc("alpha", 99)) is None
    v2 = await repo.save_version(v1.id, owner=a, document=doc("alpha", 20))
    assert v2 is not None and (v2.version, v2.name) == (2, "alpha") and v2.id != v1.id
    v3 = await repo.save_version(v1.id, owner=ALL_OWNERS)  # admin; default: latest document
    assert v3 is not None and v3.version == 3 and v3.document == v2.document
    assert v3.owner_id == a
    assert (await repo.get_strategy(v1.id, owner=a)) == v1  # untouched
    latest = await repo.latest_version(v1.id, owner=a)
    assert latest == v3
    versions = await repo.versions_of([(a, "alpha"), (b, "nothing")])
    assert [v.version for v in versions[(a, "alpha")]] == [1, 2, 3]
    assert versions[(b, "nothing")] == []


async def test_rename_renames_every_version(db: Settings) -> None:
    a, _ = await two_users()
    v1 = await repo.create_strategy(a, "alpha", doc("alpha"))
    await repo.create_strategy(a, "beta", doc("beta"))
    with pytest.raises(repo.StrategyNameTaken):
        await repo.save_version(v1.id, owner=a, name="beta", document=doc("beta"))
    v2 = await repo.save_version(v1.id, owner=a, name="gamma", document=doc("gamma"))
    assert v2 is not None and (v2.name, v2.version) == ("gamma", 2)
    old = await repo.get_strategy(v1.id, owner=a)
    assert old is not None and old.name == "gamma" and old.document == doc("alpha")


async def test_delete_removes_every_version_of_that_strategy_only(db: Settings) -> None:
    a, b = await two_users()
    v1 = await repo.create_strategy(a, "alpha", doc("alpha"))
    v2 = await repo.save_version(v1.id, owner=a, document=doc("alpha", 30))
    keep = await repo.create_strategy(a, "beta", doc("beta"))
    assert v2 is not None
    assert await repo.delete_strategy(v2.id, owner=b) is None
    assert await repo.delete_strategy(v2.id, owner=a) == [v1.id, v2.id]
    assert await repo.get_strategy(v1.id, owner=a) is None
    assert await repo.get_strategy(keep.id, owner=a) == keep
    assert await repo.delete_strategy(v1.id, owner=a) is None


async def test_list_latest_pages_by_keyset_and_scope(db: Settings) -> None:
    a, b = await two_users()
    made = [await repo.create_strategy(a, f"s{i}", doc(f"s{i}")) for i in range(5)]
    theirs = await repo.create_strategy(b, "theirs", doc("theirs"))
    bumped = await repo.save_version(made[1].id, owner=a, document=doc("s1", 15))
    assert bumped is not None
    # newest first; s1's version 2 is the most recent save; version 1 rows are not listed
    expected = [bumped.id] + [m.id for m in reversed(made) if m.name != "s1"]
    seen: list[int] = []
    after = None
    while True:
        page = await repo.list_latest(owner=a, limit=2, after=after)
        seen += [r.id for r in page]
        if len(page) < 2:
            break
        after = (page[-1].created_at, page[-1].id)
    assert seen == expected
    everyone = await repo.list_latest(owner=ALL_OWNERS, limit=100)
    assert len(everyone) == 6 and {r.owner_id for r in everyone} == {a, b}
    assert await repo.strategies_by_id([made[0].id, theirs.id], owner=b) == {theirs.id: theirs}
    assert set(await repo.strategies_by_id([made[0].id, theirs.id], owner=ALL_OWNERS)) == {
        made[0].id, theirs.id}
