"""Mutation rate limits (``graph.rate_limits``): the budget and its refill, the heavier cost of
job-starting mutations, per user and per IP, in memory and in Redis (and Redis down), and over
the API (``RATE_LIMITED`` with ``retryAfter`` and ``Retry-After``; queries not counted). Time is
a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graph.app import create_app
from graph.rate_limits import (
    Budget,
    Limiter,
    LocalLimiter,
    RedisLimiter,
    Refusal,
    mutation_cost,
)
from tests.graph.conftest import Api, api_settings, errors_of

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
async def limiter(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Limiter]:
    made: Limiter
    if request.param == "memory":
        made = LocalLimiter(clock=clock)
    else:  # a prefix of its own: runs never share keys
        made = RedisLimiter(request.getfixturevalue("redis_url"), clock=clock,
                            prefix=f"test-rate:{uuid.uuid4().hex}:")
    try:
        yield made
    finally:
        await made.close()


USER = Budget("user", "user:1", 6)  # one unit every 10 s
IP = Budget("ip", "ip:10.0.0.1", 12)  # one unit every 5 s


async def test_a_burst_spends_the_minute_then_waits(limiter: Limiter, clock: Clock) -> None:
    for _ in range(6):
        assert await limiter.take([USER], 1) is None
    refused = await limiter.take([USER], 1)
    assert refused == Refusal("user", 6, 10)
    assert "6 mutations a minute" in refused.message and "RATE_LIMIT_USER_PER_MIN" in \
        refused.message and "10 s" in refused.message
    clock.now += 9.5
    assert (await limiter.take([USER], 1)) == Refusal("user", 6, 1)  # 0.5 s, rounded up
    clock.now += 0.5
    assert await limiter.take([USER], 1) is None  # one unit back after 10 s
    assert await limiter.take([USER], 1) is not None


async def test_heavy_cost_and_refill(limiter: Limiter, clock: Clock) -> None:
    assert await limiter.take([USER], 4) is None
    refused = await limiter.take([USER], 4)  # 2 left: the 4 need 2 more units, 20 s
    assert refused == Refusal("user", 6, 20)
    clock.now += 20
    assert await limiter.take([USER], 4) is None
    assert await limiter.take([USER], 1) is not None
    clock.now += 60  # full again
    assert await limiter.take([USER], 100) is None  # a cost above the budget spends it all
    assert await limiter.take([USER], 1) == Refusal("user", 6, 10)


async def test_both_budgets_or_neither(limiter: Limiter, clock: Clock) -> None:
    other = Budget("user", "user:2", 6)
    for _ in range(6):
        assert await limiter.take([USER, IP], 1) is None
    # the user's budget is empty: refused, and the IP's budget is left as it was
    assert (await limiter.take([USER, IP], 1)) == Refusal("user", 6, 10)
    for _ in range(6):  # another user behind the same address spends the IP's other half
        assert await limiter.take([other, IP], 1) is None
    assert (await limiter.take([Budget("user", "user:3", 6), IP], 1)) == Refusal("ip", 12, 5)
    clock.now += 10  # both have refilled enough for one more of user 1
    assert await limiter.take([USER, IP], 1) is None


async def test_redis_down_counts_locally(clock: Clock) -> None:
    limiter = RedisLimiter("redis://127.0.0.1:1/0", clock=clock)  # nothing listens there
    try:
        for _ in range(6):
            assert await limiter.take([USER], 1) is None
        assert await limiter.take([USER], 1) == Refusal("user", 6, 10)
    finally:
        await limiter.close()


async def test_redis_is_shared_between_processes(redis_url: str, clock: Clock) -> None:
    prefix = f"test-rate:{uuid.uuid4().hex}:"
    first = RedisLimiter(redis_url, clock=clock, prefix=prefix)
    second = RedisLimiter(redis_url, clock=clock, prefix=prefix)
    try:
        for i in range(6):
            assert await (first if i % 2 else second).take([USER], 1) is None
        assert await first.take([USER], 1) is not None
        assert await second.take([USER], 1) is not None
    finally:
        await first.close()
        await second.close()


class _Context:
    def __init__(self, query: str, name: str | None = None) -> None:
        from graphql import parse

        self.graphql_document = parse(query)
        self.operation_name = name


async def test_cost_of_an_operation() -> None:
    cost = mutation_cost(_Context("mutation { logout(refreshToken: \"x\") { __typename } }"),
                         10)  # type: ignore[arg-type]
    assert cost == 1
    both = _Context("""
        mutation A { a: runBacktest(input: {}) { __typename } ...F __typename }
        mutation B { logout(refreshToken: "x") { __typename } }
        fragment F on Mutation { syncMarketData(input: {}) { __typename }
                                 importCandles { __typename } deleteStrategy { __typename } }
    """, "A")
    assert mutation_cost(both, 10) == 10 + 10 + 10 + 1  # type: ignore[arg-type]
    assert mutation_cost(_Context("mutation { __typename }"), 10) == 1  # type: ignore[arg-type]


# over the API ------------------------------------------------------------------------------

REVOKE = 'mutation { revokeAccessToken(id: "QWNjZXNzVG9rZW46OTk5") { __typename } }'
REGISTER_BAD = ('mutation { register(input: {email: "not-an-email", password: "x"}) '
                '{ __typename } }')
SYNC = """mutation { syncMarketData(input: {exchange: "nope", symbol: "BTC/USDT",
          timeframe: "1h", since: "2024-01-01T00:00:00Z"}) { __typename } }"""


@pytest_asyncio.fixture
async def limited(backend_url: str, tmp_path: Path,
                  clock: Clock) -> AsyncIterator[Api]:
    """The app with 3 mutations a minute per user, 6 per IP, jobs costing 3."""
    app = create_app(api_settings(backend_url, tmp_path, rate_limit_user_per_min=3,
                                  rate_limit_ip_per_min=6, rate_limit_job_cost=3))
    app.state.rate_limits.limiter.clock = clock
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


async def post(api: Api, query: str, token: str | None = None,
               accept: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    return await api.client.post("/graphql", json={"query": query}, headers=headers)


def only_code(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    errors = response.json()["errors"]
    assert len(errors) == 1
    return errors[0]["extensions"]["code"], errors[0]


async def test_api_refuses_a_user_over_budget(limited: Api, clock: Clock) -> None:
    user = await limited.user("a@example.com")
    for _ in range(3):
        ok = await post(limited, REVOKE, user.token)
        assert ok.json()["data"]["revokeAccessToken"]["__typename"] == "NotFoundError"
        assert "retry-after" not in ok.headers
    refused = await post(limited, REVOKE, user.token)
    assert refused.status_code == 200 and refused.headers["retry-after"] == "20"
    code, error = only_code(refused)
    assert code == "RATE_LIMITED" and error["extensions"]["retryAfter"] == 20
    assert "3 mutations a minute" in error["message"]
    assert refused.json().get("data") is None  # no resolver ran
    # queries are not counted
    assert (await limited.gql("{ me { email } }", token=user.token))["data"]["me"]
    # under GraphQL over HTTP's media type, a refused request is a 429
    strict = await post(limited, REVOKE, user.token, "application/graphql-response+json")
    assert strict.status_code == 429 and only_code(strict)[0] == "RATE_LIMITED"
    # another user is not limited (the IP has budget left)
    other = await limited.user("b@example.com")
    assert errors_of((await post(limited, REVOKE, other.token)).json()) == []
    clock.now += 20
    assert errors_of((await post(limited, REVOKE, user.token)).json()) == []


async def test_api_limits_an_address_and_jobs_cost_more(limited: Api, clock: Clock) -> None:
    for _ in range(6):  # signed out: only the address's budget (6)
        answer = await post(limited, REGISTER_BAD)
        assert answer.json()["data"]["register"]["__typename"] == "ValidationError"
    code, error = only_code(await post(limited, REGISTER_BAD))
    assert code == "RATE_LIMITED" and "your network address" in error["message"]
    assert "RATE_LIMIT_IP_PER_MIN" in error["message"]
    clock.now += 60
    user = await limited.user("c@example.com")
    first = await post(limited, SYNC, user.token)  # a job-starting mutation costs 3: all of it
    assert first.json()["data"]["syncMarketData"]["__typename"] == "ValidationError"
    code, error = only_code(await post(limited, REVOKE, user.token))
    assert code == "RATE_LIMITED" and error["extensions"]["retryAfter"] == 20


async def test_limits_off(backend_url: str, tmp_path: Path) -> None:
    app = create_app(api_settings(backend_url, tmp_path, rate_limit_user_per_min=0,
                                  rate_limit_ip_per_min=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            api = Api(app, client)
            for _ in range(30):
                answer = await post(api, REGISTER_BAD)
                assert answer.json()["data"]["register"]["__typename"] == "ValidationError"
