"""Sign-in throttling (``graph.login_throttle``): free failures, growing waits, the lock,
what a success clears, the IP's own limits, the window, in memory and in Redis, and over the
API (``RATE_LIMITED`` with ``retryAfter`` and ``Retry-After``). Time is a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from graph.login_throttle import (
    ACCOUNT,
    IP,
    LocalThrottle,
    LoginThrottle,
    Policy,
    RedisThrottle,
    Refusal,
)
from tests.graph.conftest import Api, errors_of
from tests.graph.test_accounts import LOGIN, signup

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture(params=["memory", "redis"])
async def throttle(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[LoginThrottle]:
    made: LoginThrottle
    if request.param == "memory":
        made = LocalThrottle(clock=clock)
    else:
        made = RedisThrottle(request.getfixturevalue("redis_url"), clock=clock)
    try:
        yield made
    finally:
        await made.close()


async def fail(throttle: LoginThrottle, times: int, account: str = "a@example.com",
               ip: str = "10.0.0.1") -> None:
    """``times`` attempts that are let through (and fail)."""
    for _ in range(times):
        assert await throttle.begin(account, ip) is None


async def test_backoff_then_lock(throttle: LoginThrottle, clock: Clock) -> None:
    await fail(throttle, ACCOUNT.free)  # free failures: no wait
    await fail(throttle, 1)  # the 4th: the next one waits 1 s
    refused = await throttle.begin("a@example.com", "10.0.0.1")
    assert refused == Refusal("account", 1, False)
    assert "wait 1 s" in refused.message
    waits = []
    for _ in range(ACCOUNT.lock_after - ACCOUNT.free - 2):  # 5th..9th
        clock.now += 60
        await fail(throttle, 1)
        refusal = await throttle.begin("a@example.com", "10.0.0.1")
        assert refusal is not None and not refusal.locked
        waits.append(refusal.retry_after_s)
    assert waits == [2, 4, 8, 16, 32]  # doubling
    clock.now += 60
    await fail(throttle, 1)  # the 10th failure locks the account
    locked = await throttle.begin("A@Example.com ", "10.0.0.2")  # same account, any IP
    assert locked == Refusal("account", int(ACCOUNT.lock_s), True)
    assert "locked" in locked.message and "900 s" in locked.message
    clock.now += ACCOUNT.lock_s - 1
    assert (await throttle.begin("a@example.com", "10.0.0.3")) == Refusal("account", 1, True)
    clock.now += 1
    await fail(throttle, ACCOUNT.free + 1)  # unlocked: counting afresh
    # another account from the same IP was never held back
    await fail(throttle, 1, account="b@example.com")


async def test_a_success_clears_the_account(throttle: LoginThrottle, clock: Clock) -> None:
    await fail(throttle, ACCOUNT.free + 1)
    clock.now += 1
    assert await throttle.begin("a@example.com", "10.0.0.1") is None  # the right password
    await throttle.succeeded("a@example.com", "10.0.0.1")
    await fail(throttle, ACCOUNT.free + 1)  # a fresh count


async def test_failures_are_forgotten_after_the_window(throttle: LoginThrottle,
                                                       clock: Clock) -> None:
    await fail(throttle, ACCOUNT.free + 1)
    assert await throttle.begin("a@example.com", "10.0.0.1") is not None
    clock.now += ACCOUNT.window_s + 1
    await fail(throttle, ACCOUNT.free + 1)


async def test_one_ip_guessing_many_accounts(throttle: LoginThrottle, clock: Clock) -> None:
    for n in range(IP.free + 1):  # one failure on each of many accounts
        await fail(throttle, 1, account=f"user{n}@example.com")
    refused = await throttle.begin("fresh@example.com", "10.0.0.1")
    assert refused == Refusal("ip", 1, False)
    assert "your network address" in refused.message
    assert await throttle.begin("fresh@example.com", "10.0.0.9") is None  # another IP


async def test_ip_lock(clock: Clock) -> None:
    small = Policy(free=2, base_s=1, max_backoff_s=1, lock_after=5, lock_s=300, window_s=900)
    throttle = LocalThrottle(ip=small, clock=clock)
    for n in range(5):
        clock.now += 2
        await fail(throttle, 1, account=f"user{n}@example.com")
    assert await throttle.begin("x@example.com", "10.0.0.1") == Refusal("ip", 300, True)


async def test_redis_unreachable_counts_locally(clock: Clock) -> None:
    throttle = RedisThrottle("redis://127.0.0.1:1/0", clock=clock)  # nothing listens there
    try:
        await fail(throttle, ACCOUNT.free + 1)
        assert (await throttle.begin("a@example.com", "10.0.0.1")) == Refusal("account", 1,
                                                                                False)
    finally:
        await throttle.close()


async def test_login_is_rate_limited_over_the_api(api: Api, clock: Clock) -> None:
    api.services.login_throttle = LocalThrottle(clock=clock)
    await signup(api, "ivy@example.com")

    async def attempt(password: str) -> tuple[dict[str, Any], dict[str, str]]:
        response = await api.post({"query": LOGIN, "variables": {
            "input": {"email": "ivy@example.com", "password": password}}})
        assert response.status_code == 200
        return response.json(), dict(response.headers)

    for _ in range(ACCOUNT.free + 1):
        body, _ = await attempt("wrong password")
        assert body["data"]["login"]["__typename"] == "InvalidCredentials"
    body, headers = await attempt("correct horse")  # even the right one waits
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1}
    assert "wait 1 s" in error["message"]
    assert headers["retry-after"] == "1"
    clock.now += 1
    body, _ = await attempt("correct horse")
    assert body["data"]["login"]["__typename"] == "AuthPayload"
    body, _ = await attempt("wrong password")  # the success cleared the count
    assert body["data"]["login"]["__typename"] == "InvalidCredentials"
    assert not errors_of(body)


async def test_redis_keeps_no_email_address(redis_url: str, clock: Clock) -> None:
    import redis.asyncio as aioredis

    throttle = RedisThrottle(redis_url, clock=clock)
    try:
        await fail(throttle, 2, account="secret.person@example.com")
    finally:
        await throttle.close()
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in await client.keys("*")]
        assert len(keys) == 2 and all(k.startswith("login:") for k in keys)
        assert not any("secret" in k or "example" in k for k in keys)
        assert await client.ttl(next(k for k in keys if "acct" in k)) > 0  # expires by itself
    finally:
        await client.aclose()
