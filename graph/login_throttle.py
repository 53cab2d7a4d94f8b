"""Sign-in throttling: per account and per IP address, with backoff and a temporary lock.

Each key (the account's normalised email, hashed; the caller's IP) counts sign-in attempts
that did not succeed. An attempt is counted when it begins (so a burst of parallel guesses
is counted before any of them is answered) and taken back when it succeeds: a success clears
the account's count and takes its one attempt back from the IP's.

Under a :class:`Policy`: the first ``free`` failures cost nothing; after that each one makes
the next attempt wait ``base_s * 2 ** (n - free - 1)`` seconds (n the failures so far, at most
``max_backoff_s``); the ``lock_after``-th failure locks the key for ``lock_s`` seconds, after
which it starts afresh. A key forgets its failures ``window_s`` seconds after the last one.
An attempt refused for waiting is not counted and costs no password check.

Defaults (:data:`ACCOUNT`, :data:`IP`): an account gets 3 free failures, then waits 1, 2, 4...
seconds (at most 60), and is locked for 15 minutes at the 10th; an IP (many users may share
one behind a NAT) gets 20 free failures and is locked at the 100th. Locking an account can be
used to keep its owner out for 15 minutes; that is the price of stopping guessing, and the
lock never grows, so it cannot be made permanent.

* :class:`LocalThrottle` keeps the counts in this process (the embedded set-up).
* :class:`RedisThrottle` keeps them in Redis, shared by every API process (``REDIS_URL``): one
  hash per key (``login:acct:<sha256>``, ``login:ip:<address>``), checked and counted by one
  Lua script for both keys at once. When Redis cannot be reached it counts locally (logged
  once per outage): sign-in must not stop because Redis blinked.

Time comes from ``clock`` (default ``time.time``; tests pass their own).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("graph.login_throttle")

KEY_PREFIX = "login:"


@dataclass(frozen=True)
class Policy:
    free: int
    base_s: float
    max_backoff_s: float
    lock_after: int
    lock_s: float
    window_s: float

    def backoff_s(self, failures: int) -> float:
        """How long the attempt after ``failures`` failures waits."""
        if failures <= self.free:
            return 0.0
        return float(min(self.max_backoff_s, self.base_s * 2 ** (failures - self.free - 1)))


ACCOUNT = Policy(free=3, base_s=1.0, max_backoff_s=60.0, lock_after=10, lock_s=900.0,
                 window_s=900.0)
IP = Policy(free=20, base_s=1.0, max_backoff_s=60.0, lock_after=100, lock_s=900.0,
            window_s=900.0)


@dataclass(frozen=True)
class Refusal:
    """Why an attempt may not run now."""

    scope: str  # "account" or "ip"
    retry_after_s: int  # whole seconds, at least 1
    locked: bool

    @property
    def message(self) -> str:
        who = "this account" if self.scope == "account" else "your network address"
        if self.locked:
            return (f"Too many failed sign-ins for {who}: sign-in is locked for a while. "
                    f"Try again in {self.retry_after_s} s.")
        return (f"Too many failed sign-ins for {who}: wait {self.retry_after_s} s before "
                "trying again.")


@dataclass
class _State:
    failures: int = 0
    next_at: float = 0.0
    locked_until: float = 0.0
    last: float = 0.0


def account_key(email: str) -> str:
    """The key of an account: a hash of its normalised email (no address kept in Redis)."""
    return "acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def ip_key(address: str) -> str:
    return "ip:" + address


class LoginThrottle(Protocol):
    async def begin(self, account: str, ip: str) -> Refusal | None:
        """Count an attempt for both keys and return None, or return why it must wait (and
        count nothing)."""

    async def succeeded(self, account: str, ip: str) -> None:
        """The attempt succeeded: clear the account's count, take it back from the IP's."""

    async def close(self) -> None: ...


class LocalThrottle:
    """Counts in this process."""

    def __init__(self, *, account: Policy = ACCOUNT, ip: Policy = IP,
                 clock: Callable[[], float] = time.time) -> None:
        self.policies = {"account": account, "ip": ip}
        self.clock = clock
        self.states: dict[str, _State] = {}

    def _state(self, key: str, policy: Policy, now: float) -> _State:
        state = self.states.get(key)
        if state is None or (now - state.last > policy.window_s and now >= state.locked_until):
            state = self.states[key] = _State()
        return state

    def _prune(self, now: float) -> None:
        if len(self.states) < 10_000:
            return
        longest = max(p.window_s + p.lock_s for p in self.policies.values())
        for key in [k for k, s in self.states.items() if now - s.last > longest]:
            del self.states[key]

    async def begin(self, account: str, ip: str) -> Refusal | None:
        now = self.clock()
        self._prune(now)
        keyed = [("account", account_key(account)), ("ip", ip_key(ip))]
        states = [(scope, self._state(key, self.policies[scope], now)) for scope, key in keyed]
        for scope, state in states:
            wait = max(state.next_at, state.locked_until) - now
            if wait > 0:
                return Refusal(scope, max(1, math.ceil(wait)), state.locked_until > now)
        for scope, state in states:
            policy = self.policies[scope]
            state.failures += 1
            state.last = now
            if state.failures >= policy.lock_after:
                state.failures = 0
                state.locked_until = now + policy.lock_s
                state.next_at = now
            else:
                state.next_at = now + policy.backoff_s(state.failures)
        return None

    async def succeeded(self, account: str, ip: str) -> None:
        self.states.pop(account_key(account), None)
        state = self.states.get(ip_key(ip))
        if state is not None and state.failures > 0:
            state.failures -= 1
            state.next_at = state.last + self.policies["ip"].backoff_s(state.failures)

    async def close(self) -> None:
        self.states.clear()


# KEYS: the account's and the IP's hashes. ARGV: now (s), then for each key its policy:
# free, base_s, max_backoff_s, lock_after, lock_s, window_s. Returns {0} when the attempt may
# run (counted), else {1 + index of the refusing key, wait in ms, 1 when locked}.
_BEGIN = """
local now = tonumber(ARGV[1])
local states = {}
for i, key in ipairs(KEYS) do
  local o = 1 + (i - 1) * 6
  local window = tonumber(ARGV[o + 6])
  local v = redis.call('HMGET', key, 'f', 'n', 'l', 't')
  local s = {f = tonumber(v[1]) or 0, n = tonumber(v[2]) or 0, l = tonumber(v[3]) or 0,
             t = tonumber(v[4]) or 0}
  if now - s.t > window and now >= s.l then s = {f = 0, n = 0, l = 0, t = 0} end
  local wait = math.max(s.n, s.l) - now
  if wait > 0 then
    local locked = 0
    if s.l > now then locked = 1 end
    return {i, math.ceil(wait * 1000), locked}
  end
  states[i] = s
end
for i, key in ipairs(KEYS) do
  local o = 1 + (i - 1) * 6
  local free, base, maxb = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local lock_after, lock_s, window = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5]),
                                     tonumber(ARGV[o + 6])
  local s = states[i]
  s.f = s.f + 1
  s.t = now
  if s.f >= lock_after then
    s.f = 0
    s.l = now + lock_s
    s.n = now
  elseif s.f <= free then
    s.n = now
  else
    s.n = now + math.min(maxb, base * 2 ^ (s.f - free - 1))
  end
  redis.call('HSET', key, 'f', s.f, 'n', tostring(s.n), 'l', tostring(s.l), 't', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((math.max(s.l - now, 0) + window) * 1000))
end
return {0}
"""
# KEYS: the account's and the IP's hashes. ARGV: the IP policy's free, base_s, max_backoff_s.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
local f = tonumber(redis.call('HGET', KEYS[2], 'f'))
if f and f > 0 then
  f = f - 1
  local t = tonumber(redis.call('HGET', KEYS[2], 't')) or 0
  local free, base, maxb = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
  local n = t
  if f > free then n = t + math.min(maxb, base * 2 ^ (f - free - 1)) end
  redis.call('HSET', KEYS[2], 'f', f, 'n', tostring(n))
end
return 1
"""


def _policy_args(policy: Policy) -> list[float]:
    return [policy.free, policy.base_s, policy.max_backoff_s, policy.lock_after,
            policy.lock_s, policy.window_s]


class RedisThrottle:
    """Counts in Redis, shared by every API process (see the module docstring)."""

    def __init__(self, redis_url: str, *, account: Policy = ACCOUNT, ip: Policy = IP,
                 clock: Callable[[], float] = time.time) -> None:
        import redis.asyncio as aioredis

        self.client: Any = aioredis.Redis.from_url(redis_url, socket_timeout=2.0,
                                                   socket_connect_timeout=2.0)
        self.account, self.ip, self.clock = account, ip, clock
        self.local = LocalThrottle(account=account, ip=ip, clock=clock)
        self._down = False

    def _failed(self, err: Exception) -> None:
        if not self._down:
            log.warning("login throttle: Redis unreachable (%s); counting in this process "
                        "until it answers", type(err).__name__)
        self._down = True

    def _keys(self, account: str, ip: str) -> list[str]:
        return [KEY_PREFIX + account_key(account), KEY_PREFIX + ip_key(ip)]

    async def begin(self, account: str, ip: str) -> Refusal | None:
        args = [repr(self.clock()), *_policy_args(self.account), *_policy_args(self.ip)]
        try:
            answer = await self.client.eval(_BEGIN, 2, *self._keys(account, ip), *args)
        except Exception as err:  # any Redis or network error: count locally
            self._failed(err)
            return await self.local.begin(account, ip)
        self._down = False
        if int(answer[0]) == 0:
            return None
        scope = "account" if int(answer[0]) == 1 else "ip"
        return Refusal(scope, max(1, math.ceil(int(answer[1]) / 1000)), bool(int(answer[2])))

    async def succeeded(self, account: str, ip: str) -> None:
        await self.local.succeeded(account, ip)
        try:
            await self.client.eval(_SUCCEEDED, 2, *self._keys(account, ip), self.ip.free,
                                   self.ip.base_s, self.ip.max_backoff_s)
        except Exception as err:  # the count expires by itself
            self._failed(err)

    async def close(self) -> None:
        await self.local.close()
        try:
            await self.client.aclose()
        except Exception as err:  # closing a broken connection
            log.debug("login throttle: closing Redis: %s", type(err).__name__)


def throttle_for(redis_url: str | None) -> LoginThrottle:
    """Across processes when Redis is configured, else in this process."""
    return RedisThrottle(redis_url) if redis_url else LocalThrottle()
