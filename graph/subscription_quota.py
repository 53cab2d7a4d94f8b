"""How many subscriptions each user has open, for ``MAX_SUBSCRIPTIONS_PER_USER``
(``graph.app.SubscriptionCaps`` asks before a subscription starts and tells when it ends).

* :class:`LocalQuota` counts in this process: the embedded set-up (one API process).
* :class:`RedisQuota` counts across every API process sharing ``REDIS_URL``: each open
  subscription is a member of the user's sorted set ``subs:<user id>``, scored by when it
  expires. Taking a place is one Lua script (drop the expired, count, add) run atomically by
  Redis with Redis's own clock; each process renews its members every ``ttl_s / 3`` seconds,
  so the places of a process that died (SIGKILL, OOM) free themselves within ``ttl_s``.
  When Redis cannot be reached, it counts locally instead (a quota must not lock users out
  because Redis blinked) and logs it once per outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any, Protocol

log = logging.getLogger("graph.subscription_quota")

KEY_PREFIX = "subs:"
DEFAULT_TTL_S = 60.0

# KEYS[1] the user's set; ARGV: cap, member, ttl (ms). 1 when a place was taken, else 0.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
# KEYS: the sets; ARGV[1] ttl (ms), then one member per key: push their expiry forward.
_RENEW = """
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', at, ARGV[i + 1])
  redis.call('PEXPIRE', key, tonumber(ARGV[1]))
end
return #KEYS
"""


class SubscriptionQuota(Protocol):
    async def acquire(self, user: int, cap: int) -> object | None:
        """A place among ``user``'s ``cap`` open subscriptions (a handle for :meth:`release`),
        or None when they are all taken."""

    async def release(self, user: int, place: object) -> None:
        """Give back a place :meth:`acquire` returned."""

    def open_count(self, user: int) -> int:
        """How many places this process holds for ``user``."""

    async def close(self) -> None: ...


class LocalQuota:
    """Counts in this process."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    async def acquire(self, user: int, cap: int) -> object | None:
        if self.counts.get(user, 0) >= cap:
            return None
        self.counts[user] = self.counts.get(user, 0) + 1
        return user

    async def release(self, user: int, place: object) -> None:
        left = self.counts.get(user, 1) - 1
        if left > 0:
            self.counts[user] = left
        else:
            self.counts.pop(user, None)

    def open_count(self, user: int) -> int:
        return self.counts.get(user, 0)

    async def close(self) -> None:
        self.counts.clear()


class RedisQuota:
    """Counts across processes in Redis (see the module docstring)."""

    def __init__(self, redis_url: str, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        import redis.asyncio as aioredis

        self.client: Any = aioredis.Redis.from_url(redis_url, socket_timeout=2.0,
                                                   socket_connect_timeout=2.0)
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.held: dict[str, int] = {}  # member -> user, the places this process holds
        self.local = LocalQuota()  # the fallback while Redis is unreachable
        self._prefix = secrets.token_hex(6)  # this process's members
        self._n = 0
        self._renewer: asyncio.Task[None] | None = None
        self._down = False

    def _member(self) -> str:
        self._n += 1
        return f"{self._prefix}:{self._n}"

    def _failed(self, err: Exception) -> None:
        if not self._down:
            log.warning("subscription quota: Redis unreachable (%s); counting in this process "
                        "until it answers", err)
        self._down = True

    async def acquire(self, user: int, cap: int) -> object | None:
        member = self._member()
        try:
            took = await self.client.eval(_ACQUIRE, 1, f"{KEY_PREFIX}{user}", cap, member,
                                          self.ttl_ms)
        except Exception as err:  # any Redis or network error: count locally
            self._failed(err)
            local = await self.local.acquire(user, cap)
            return None if local is None else ("local", user)
        self._down = False
        if not took:
            return None
        self.held[member] = user
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew(), name="subscription-quota-renew")
        return member

    async def release(self, user: int, place: object) -> None:
        if isinstance(place, tuple):
            await self.local.release(user, place)
            return
        member = str(place)
        if self.held.pop(member, None) is None:
            return
        try:
            await self.client.zrem(f"{KEY_PREFIX}{user}", member)
        except Exception as err:  # it expires by itself within ttl_s
            self._failed(err)

    def open_count(self, user: int) -> int:
        return sum(1 for u in self.held.values() if u == user) + self.local.open_count(user)

    async def renew_once(self) -> None:
        """Push the expiry of every place this process holds ``ttl_s`` ahead."""
        if not self.held:
            return
        members = list(self.held.items())
        await self.client.eval(_RENEW, len(members), *(f"{KEY_PREFIX}{u}" for _, u in members),
                               self.ttl_ms, *(m for m, _ in members))

    async def _renew(self) -> None:
        while self.held:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                await self.renew_once()
            except Exception as err:  # retried at the next beat
                self._failed(err)

    async def close(self) -> None:
        """Give back every place still held (a clean stop) and close the connection."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._renewer
        with contextlib.suppress(Exception):
            if self.held:
                async with self.client.pipeline(transaction=False) as pipe:
                    for member, user in self.held.items():
                        pipe.zrem(f"{KEY_PREFIX}{user}", member)
                    await pipe.execute()
        self.held.clear()
        with contextlib.suppress(Exception):
            await self.client.aclose()


def quota_for(redis_url: str | None) -> SubscriptionQuota:
    """Across processes when Redis is configured, else in this process."""
    return RedisQuota(redis_url) if redis_url else LocalQuota()
