"""The progress channel: jobs publish events on named channels, API subscriptions listen.

Two implementations behind one interface, chosen by :func:`broadcaster_from_settings`:

- :class:`MemoryBroadcaster` (default): one process; events go to the asyncio queues of that
  process's subscribers.
- :class:`RedisBroadcaster` (``REDIS_URL`` set): Redis pub/sub, so an event published by any
  process (an API server's executor, a Celery worker) reaches the subscribers of every API
  process.

Besides delivering an event, :meth:`Broadcaster.publish` numbers it and keeps it as the
channel's *latest* event, which :meth:`Broadcaster.latest` returns: a subscriber that joins late
subscribes first, then reads the latest event to send the current state, then skips live events
that are not newer. The number, ``seq``, grows by one per event of a channel and is given
atomically with the delivery (one Lua script on Redis), so events published by several
processes at once (the chunks of a sweep on several workers) are delivered in ``seq`` order and
the latest event is always the newest. :meth:`Broadcaster.publish_part` does the same for the
progress of one part of a job: it records the part's count and publishes the whole job's
fraction done, which therefore never goes back. Latest events and counters expire after
:data:`LATEST_TTL_S` on Redis; the database keeps the lasting state.

Events are JSON-compatible dicts. Channels are plain strings such as ``backtest:42``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

Event = dict[str, Any]

LATEST_TTL_S = 24 * 3600
_KEY_PREFIX = "backtest:latest:"
_CHANNEL_PREFIX = "backtest:events:"


class Subscription(Protocol):
    """An open subscription: iterate it for events; ends only when closed."""

    def __aiter__(self) -> AsyncIterator[Event]: ...


class Broadcaster(Protocol):
    async def publish(self, channel: str, event: Event) -> Event:
        """Number ``event`` (``seq``), deliver it to the channel's current subscribers and keep it
        as the latest; returns it with its ``seq``."""

    async def publish_part(self, channel: str, part: str, done: int, total: int,
                           event: Event) -> Event:
        """Record that ``part`` of a job has ``done`` of its units, then publish ``event`` with
        ``done``, the sum of every part's, ``total``, and ``progress``, their ratio (at most 1)."""

    async def latest(self, channel: str) -> Event | None:
        """The last event published on ``channel`` (None if none, or expired)."""

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
        """``async with b.subscribe(ch) as events: async for e in events: ...``; the
        subscription is active when the ``async with`` body starts."""

    async def subscribers(self, channel: str) -> int:
        """How many subscriptions ``channel`` has now (in every process sharing it)."""

    async def ping(self) -> None:
        """Raise if the channel's backend is unreachable (``/readyz``)."""

    async def close(self) -> None:
        """Release connections (subscriptions still open end)."""


class MemoryBroadcaster:
    """In-process channels: a set of unbounded asyncio queues per channel."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event | None]]] = {}
        self._latest: dict[str, Event] = {}
        self._seq: dict[str, int] = {}
        self._parts: dict[str, dict[str, int]] = {}

    async def publish(self, channel: str, event: Event) -> Event:
        seq = self._seq.get(channel, 0) + 1
        self._seq[channel] = seq
        event = {"seq": seq, **{k: v for k, v in event.items() if k != "seq"}}
        self._latest[channel] = event
        for queue in self._subscribers.get(channel, ()):
            queue.put_nowait(event)
        return event

    async def publish_part(self, channel: str, part: str, done: int, total: int,
                           event: Event) -> Event:
        parts = self._parts.setdefault(channel, {})
        parts[part] = done
        done_sum = sum(parts.values())
        fraction = min(1.0, done_sum / total) if total > 0 else 1.0
        return await self.publish(channel, {**event, "progress": fraction, "done": done_sum,
                                            "total": total})

    async def latest(self, channel: str) -> Event | None:
        return self._latest.get(channel)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers.setdefault(channel, set()).add(queue)

        async def events() -> AsyncIterator[Event]:
            while (event := await queue.get()) is not None:
                yield event

        try:
            yield events()
        finally:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[channel]

    async def subscribers(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)
        self._subscribers.clear()


# KEYS: seq counter, latest, parts hash. ARGV: event JSON (an object without "seq", and without
# "progress" when a part is given), channel, TTL, part, done, total. Returns the seq and the
# progress and the sum of the parts' counts it wrote ('' and 0 without a part).
_PUBLISH_LUA = """
local seq = redis.call('INCR', KEYS[1])
local progress = ''
local done = 0

redis.call('EXPIRE', KEYS[1], ARGV[3])
local head = '{"seq":' .. seq .. ','
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
  local sum = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[3])) do sum = sum + tonumber(v) end
  local total = tonumber(ARGV[6])
  local fraction = 1
  if total > 0 then fraction = math.min(1, sum / total) end
  progress = string.format('%.17g', fraction)
  done = sum
  head = head .. '"progress":' .. progress .. ',"done":' .. sum .. ',"total":' .. total .. ','
end
local data = head .. string.sub(ARGV[1], 2)
redis.call('SET', KEYS[2], data, 'EX', ARGV[3])
redis.call('PUBLISH', ARGV[2], data)
return {seq, progress, done}
"""
_SEQ_PREFIX = "backtest:seq:"
_PARTS_PREFIX = "backtest:parts:"


class RedisBroadcaster:
    """Redis pub/sub: one Lua script numbers the event, keeps it as the latest (with a TTL)
    and ``PUBLISH`` es it to ``backtest:events:<db>:<channel>``; one pub/sub connection per
    subscription. Pub/sub channels are server-wide (Redis does not scope them by database),
    so the database number is part of their names: deployments (or tests) on separate
    databases of one server never see each other's events."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self.url = url
        self._redis = aioredis.Redis.from_url(url)
        self._script = self._redis.register_script(_PUBLISH_LUA)
        db = self._redis.connection_pool.connection_kwargs.get("db", 0)
        self.channel_prefix = f"{_CHANNEL_PREFIX}{int(db or 0)}:"

    async def publish(self, channel: str, event: Event) -> Event:
        return await self._publish(channel, event, "", 0, 0)

    async def publish_part(self, channel: str, part: str, done: int, total: int,
                           event: Event) -> Event:
        if not part:
            raise ValueError("a part needs a name")
        return await self._publish(channel, event, part, done, total)

    async def _publish(self, channel: str, event: Event, part: str, done: int,
                       total: int) -> Event:
        derived = ("progress", "done", "total") if part else ()
        body = {k: v for k, v in event.items() if k != "seq" and k not in derived}
        if not body:
            raise ValueError("an event needs at least one field")
        seq, progress, done_sum = await self._script(
            keys=[_SEQ_PREFIX + channel, _KEY_PREFIX + channel, _PARTS_PREFIX + channel],
            args=[orjson.dumps(body), self.channel_prefix + channel, LATEST_TTL_S, part, done,
                  total])
        if part:
            return {"seq": int(seq), "progress": float(progress), "done": int(done_sum),
                    "total": int(total), **body}
        return {"seq": int(seq), **body}

    async def latest(self, channel: str) -> Event | None:
        data = await self._redis.get(_KEY_PREFIX + channel)
        if data is None:
            return None
        event: Event = orjson.loads(data)
        return event

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        pubsub = self._redis.pubsub()
        name = self.channel_prefix + channel
        await pubsub.subscribe(name)
        # Wait for the server's confirmation: from then on every PUBLISH reaches us.
        while True:
            message = await pubsub.get_message(timeout=5.0)
            if message is None:
                raise ConnectionError(f"Redis did not confirm the subscription to {name}")
            if message["type"] == "subscribe":
                break

        async def events() -> AsyncIterator[Event]:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    yield orjson.loads(message["data"])

        try:
            yield events()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe(name)
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def subscribers(self, channel: str) -> int:
        [(_, count)] = await self._redis.pubsub_numsub(self.channel_prefix + channel)
        return int(count)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def make_broadcaster(redis_url: str | None) -> Broadcaster:
    """Redis pub/sub when ``redis_url`` is given, else in memory."""
    if redis_url:
        return RedisBroadcaster(redis_url)
    return MemoryBroadcaster()


def broadcaster_from_settings() -> Broadcaster:
    from store.settings import get_settings

    return make_broadcaster(get_settings().redis_url)
