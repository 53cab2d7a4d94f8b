"""The progress channel: jobs publish events on named channels, API subscriptions listen.

Two implementations behind one interface, chosen by :func:`broadcaster_from_settings`:

- :class:`MemoryBroadcaster` (default): one process; events go to the asyncio queues of that
  process's subscribers.
- :class:`RedisBroadcaster` (``REDIS_URL`` set): Redis pub/sub, so an event published by any
  process (an API server's executor, a Celery worker) reaches the subscribers of every API
  process.

Besides delivering an event, :meth:`Broadcaster.publish` keeps it as the channel's *latest*
event, which :meth:`Broadcaster.latest` returns: a subscriber that joins late subscribes first,
then reads the latest event to send the current state, then skips live events that are not newer
(events carry a ``seq`` that grows by one per event of a channel; see ``tasks.jobs``). Latest
events expire after :data:`LATEST_TTL_S` on Redis; the database keeps the lasting state.

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
    async def publish(self, channel: str, event: Event) -> None:
        """Deliver ``event`` to the channel's current subscribers and keep it as the latest."""

    async def latest(self, channel: str) -> Event | None:
        """The last event published on ``channel`` (None if none, or expired)."""

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
        """``async with b.subscribe(ch) as events: async for e in events: ...``; the
        subscription is active when the ``async with`` body starts."""

    async def ping(self) -> None:
        """Raise if the channel's backend is unreachable (``/readyz``)."""

    async def close(self) -> None:
        """Release connections (subscriptions still open end)."""


class MemoryBroadcaster:
    """In-process channels: a set of unbounded asyncio queues per channel."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event | None]]] = {}
        self._latest: dict[str, Event] = {}

    async def publish(self, channel: str, event: Event) -> None:
        self._latest[channel] = event
        for queue in self._subscribers.get(channel, ()):
            queue.put_nowait(event)

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

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)
        self._subscribers.clear()


class RedisBroadcaster:
    """Redis pub/sub: ``PUBLISH`` to ``backtest:events:<channel>`` plus ``SET`` of the latest
    event (with a TTL) in one ``MULTI``; one pub/sub connection per subscription."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self.url = url
        self._redis = aioredis.Redis.from_url(url)

    async def publish(self, channel: str, event: Event) -> None:
        data = orjson.dumps(event)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(_KEY_PREFIX + channel, data, ex=LATEST_TTL_S)
            pipe.publish(_CHANNEL_PREFIX + channel, data)
            await pipe.execute()

    async def latest(self, channel: str) -> Event | None:
        data = await self._redis.get(_KEY_PREFIX + channel)
        if data is None:
            return None
        event: Event = orjson.loads(data)
        return event

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Event]]:
        pubsub = self._redis.pubsub()
        name = _CHANNEL_PREFIX + channel
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
