"""store.owner_versions on SQLite and PostgreSQL: every kind of change to an owner's backtests
moves that owner's counter (and no other's), whoever makes it; reads are batched."""

from __future__ import annotations

import asyncio

import pytest

from store import backtest_results as results_store
from store import backtests as store
from store import jobs as store_jobs
from store import leases as store_leases
from store import owner_versions
from store.connection import connection, is_postgres
from store.scope import ALL_OWNERS
from store.settings import Settings
from store.strategies import create_strategy, delete_strategy
from store.users import create_user
from tests.store.test_backtests import DOC, new, results

pytestmark = pytest.mark.asyncio


async def test_every_change_moves_the_owners_counter(db: Settings) -> None:
    alice = await create_user("a@x.io", None)
    bob = await create_user("b@x.io", None)
    assert await owner_versions.installed()
    await owner_versions.install()  # again: nothing changes
    seen = [await owner_versions.owner_version(alice.id)]
    bob_start = await owner_versions.owner_version(bob.id)

    async def moved() -> bool:
        now = await owner_versions.owner_version(alice.id)
        changed = now != seen[-1]
        seen.append(now)
        return changed

    strategy = await create_strategy(alice.id, "s", DOC)
    record = await store.create_backtest(new(alice.id, strategy_id=strategy.id))
    assert await moved()
    await store_leases.claim("backtest", record.id, "test", 60.0)
    assert await moved()
    await store_jobs.set_progress("backtest", record.id, 0.5)
    assert await moved()
    await store_jobs.set_progress("backtest", 10_000, 0.5)  # no such row: nothing changed
    assert not await moved()
    assert await results_store.save_results(record.id, results())
    assert await moved()
    await connection().execute_query(
        f"UPDATE performance_summaries SET sharpe = 3 WHERE backtest_id = {record.id}")
    assert await moved()
    await delete_strategy(strategy.id, owner=alice.id)  # ON DELETE SET NULL on backtests
    assert (await store.get_backtest(record.id, owner=ALL_OWNERS)).strategy_id is None  # type: ignore[union-attr]
    assert await moved()
    await connection().execute_query(f"DELETE FROM backtests WHERE id = {record.id}")
    assert await moved()
    assert await owner_versions.owner_version(bob.id) == bob_start  # bob's never moved
    if is_postgres():
        await connection().execute_script("TRUNCATE backtests CASCADE")
        assert await moved()


async def test_reads_are_batched_and_each_sees_earlier_commits(db: Settings) -> None:
    users = [await create_user(f"u{i}@x.io", None) for i in range(3)]
    start = [await owner_versions.owner_version(u.id) for u in users]  # (ids may be reused)
    for user in users[:2]:
        await store.create_backtest(new(user.id))
    reader = owner_versions.VersionReader()
    queries: list[list[int]] = []
    original = owner_versions.owner_versions

    async def counting(ids: list[int], conn: object = None) -> dict[int, int]:
        queries.append(sorted(ids))
        return await original(ids, conn)

    owner_versions.owner_versions = counting  # type: ignore[assignment]
    try:
        found = await asyncio.gather(*(reader.version(u.id) for u in users * 3))
        assert [v - s for v, s in zip(found, start * 3, strict=True)] == [1, 1, 0] * 3
        assert queries == [sorted(u.id for u in users)]  # one query for all nine
        await store.create_backtest(new(users[2].id))
        assert await reader.version(users[2].id) == start[2] + 1  # committed before: seen
    finally:
        owner_versions.owner_versions = original  # type: ignore[assignment]
    await asyncio.sleep(reader.LINGER_S * 2)  # the held connection goes back to the pool
    assert reader._task is None
