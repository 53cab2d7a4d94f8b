"""Redis fixtures (registered in ``tests/conftest.py``): each test that needs Redis gets a
database number of its own on the machine's server, empty at the start and flushed at the end.

The server is ``redis://127.0.0.1:6379`` (override with ``BACKTEST_TEST_REDIS_URL``, without a
database number). A number is claimed with ``SET NX`` of a lease key in database 0, so two test
runs on one machine never share one; the lease expires by itself if a run is killed. An
unreachable server FAILS the tests that need it, with a message saying how to start it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import redis

REDIS_SERVER = os.environ.get("BACKTEST_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
FIRST_DB, LAST_DB = 1, 15  # database 0 holds the leases
LEASE_S = 3600
_LEASE_KEY = "backtest:test-db-lease:{}"


class RedisDbs:
    """Leases database numbers of the test server for one test session."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._admin = redis.Redis.from_url(f"{server_url}/0", socket_timeout=5)

    def ping(self) -> None:
        self._admin.ping()

    def lease(self) -> int:
        for n in range(FIRST_DB, LAST_DB + 1):
            if self._admin.set(_LEASE_KEY.format(n), self.token, nx=True, ex=LEASE_S):
                redis.Redis.from_url(self.url(n)).flushdb()
                return n
        raise RuntimeError(f"every Redis database {FIRST_DB}..{LAST_DB} of {self.server_url} "
                           "is leased by another test run")

    def release(self, n: int) -> None:
        redis.Redis.from_url(self.url(n)).flushdb()
        if self._admin.get(_LEASE_KEY.format(n)) == self.token.encode():
            self._admin.delete(_LEASE_KEY.format(n))

    def url(self, n: int) -> str:
        return f"{self.server_url}/{n}"


@pytest.fixture(scope="session")
def redis_dbs() -> Iterator[RedisDbs]:
    dbs = RedisDbs(REDIS_SERVER)
    try:
        dbs.ping()
    except redis.RedisError as err:
        pytest.fail(f"Redis is not reachable at {REDIS_SERVER} ({err}); start it with "
                    "`make services` (or set BACKTEST_TEST_REDIS_URL)", pytrace=False)
    yield dbs


@pytest.fixture
def redis_url(redis_dbs: RedisDbs) -> Iterator[str]:
    """The URL of an empty Redis database of this test's own (flushed afterwards)."""
    n = redis_dbs.lease()
    try:
        yield redis_dbs.url(n)
    finally:
        redis_dbs.release(n)
