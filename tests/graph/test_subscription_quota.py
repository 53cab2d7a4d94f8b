"""``MAX_SUBSCRIPTIONS_PER_USER`` across API processes (``graph.subscription_quota``): two
quotas on one Redis stand for two processes."""

from __future__ import annotations

import asyncio

import pytest

from graph.subscription_quota import KEY_PREFIX, LocalQuota, RedisQuota, quota_for

pytestmark = pytest.mark.asyncio


async def test_local_quota_counts_in_the_process() -> None:
    quota = LocalQuota()
    a = await quota.acquire(1, 2)
    b = await quota.acquire(1, 2)
    assert a is not None and b is not None
    assert await quota.acquire(1, 2) is None
    assert await quota.acquire(2, 2) is not None  # another user
    await quota.release(1, a)
    assert quota.open_count(1) == 1
    assert await quota.acquire(1, 2) is not None
    assert isinstance(quota_for(None), LocalQuota)


async def test_places_are_shared_by_every_process(redis_url: str) -> None:
    one, two = RedisQuota(redis_url), RedisQuota(redis_url)
    try:
        first = await one.acquire(7, 2)
        second = await two.acquire(7, 2)
        assert first is not None and second is not None
        assert await one.acquire(7, 2) is None and await two.acquire(7, 2) is None
        assert await two.acquire(8, 2) is not None  # per user
        await one.release(7, first)
        assert one.open_count(7) == 0 and two.open_count(7) == 1
        assert await two.acquire(7, 2) is not None  # the place came back
        assert await one.client.zcard(f"{KEY_PREFIX}7") == 2
    finally:
        await one.close()
        await two.close()
    fresh = RedisQuota(redis_url)
    try:  # a clean stop gave every place back
        assert await fresh.client.zcard(f"{KEY_PREFIX}7") == 0
        assert await fresh.client.zcard(f"{KEY_PREFIX}8") == 0
    finally:
        await fresh.close()


async def test_a_dead_process_frees_its_places_and_a_live_one_keeps_them(redis_url: str
                                                                        ) -> None:
    dead, live = RedisQuota(redis_url, ttl_s=0.3), RedisQuota(redis_url, ttl_s=0.3)
    other = RedisQuota(redis_url, ttl_s=0.3)
    try:
        assert await dead.acquire(3, 2) is not None
        assert await live.acquire(3, 2) is not None
        assert dead._renewer is not None
        dead._renewer.cancel()  # killed: it renews no more and gives nothing back
        dead.held.clear()
        assert await other.acquire(3, 2) is None
        await asyncio.sleep(0.6)  # two ttls: the live process renewed, the dead one did not
        assert await other.acquire(3, 2) is not None
        assert await other.acquire(3, 2) is None  # the live process's place still counts
    finally:
        for quota in (dead, live, other):
            await quota.close()


async def test_unreachable_redis_counts_in_the_process() -> None:
    quota = RedisQuota("redis://127.0.0.1:1/0")
    try:
        a = await quota.acquire(1, 1)
        assert a is not None and quota.open_count(1) == 1
        assert await quota.acquire(1, 1) is None
        await quota.release(1, a)
        assert quota.open_count(1) == 0
    finally:
        await quota.close()
