"""Job events on the progress channel (``tasks.messaging.broadcast``): their channels and their shape.

Every job (backtest, sweep, market sync) publishes on its own channel
(:func:`channel`: ``backtest:42``, ``sweep:7``, ``sync:3``) a sequence of events, each a dict
with at least:

``seq``
    1, 2, 3... per channel: a late subscriber sends the latest event as the current state,
    then only live events with a larger ``seq``;
``kind``
    ``status`` (the job changed status), ``progress`` (fraction done moved; may carry partial
    results such as equity points), ``done`` (finished: carries the final summary), ``error``
    (failed: carries ``error``) or ``cancelled``;
``status``
    the job's status after the event (``queued``, ``running``, ``succeeded``, ``failed``,
    ``cancelled``);
``progress``
    the fraction done, 0..1.

Events of the last three kinds are terminal: a subscription ends after sending one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from tasks.messaging.broadcast import Broadcaster, Event

TERMINAL_KINDS = frozenset({"done", "error", "cancelled"})


def channel(job_kind: str, job_id: int | str) -> str:
    """The channel of one job, e.g. ``channel("backtest", 42) == "backtest:42"``."""
    return f"{job_kind}:{job_id}"


def is_terminal(event: Event) -> bool:
    return event.get("kind") in TERMINAL_KINDS


def feed_channel(owner_id: int) -> str:
    """The channel of every event of one owner's jobs, e.g. ``jobs:7``."""
    return f"jobs:{owner_id}"


class JobEvents:
    """Publishes one job's events; the broadcaster numbers them (``seq``) for the channel, so
    any process may publish a job's events (an API server, the worker that runs it, the chunks
    of a sweep on several workers).

    With ``owner_id``, each event is also published on the owner's feed
    (:func:`feed_channel`), numbered there, with ``job_kind``, ``job_id`` and the job
    channel's ``job_seq``: one stream of every job of a user, for dashboards and
    notifications (the ``jobEvents`` subscription).
    """

    def __init__(self, broadcaster: Broadcaster, job_kind: str, job_id: int | str,
                 owner_id: int | None = None) -> None:
        self.broadcaster = broadcaster
        self.job_kind = job_kind
        self.job_id = job_id
        self.channel = channel(job_kind, job_id)
        self.feed = None if owner_id is None else feed_channel(owner_id)

    async def emit(self, kind: str, status: str, progress: float, **fields: Any) -> Event:
        event: Event = {"kind": kind, "status": status, "progress": float(progress),
                        "at": time.time(), **fields}
        return await self._to_feed(await self.broadcaster.publish(self.channel, event))

    async def emit_part(self, part: str, done: int, total: int, **fields: Any) -> Event:
        """A ``progress`` event of one part of the job (``Broadcaster.publish_part``)."""
        event: Event = {"kind": "progress", "status": "running", "at": time.time(), **fields}
        return await self._to_feed(
            await self.broadcaster.publish_part(self.channel, part, done, total, event))

    async def _to_feed(self, event: Event) -> Event:
        if self.feed is not None:
            fields = {k: v for k, v in event.items() if k != "seq"}
            await self.broadcaster.publish(self.feed, {
                **fields, "job_kind": self.job_kind, "job_id": self.job_id,
                "job_seq": event.get("seq", 0)})
        return event


async def follow(broadcaster: Broadcaster, channel_name: str,
                 stored_state: Callable[[], Awaitable[Event | None]]) -> AsyncIterator[Event]:
    """A job's events for a subscriber that may join at any time: first the current state,
    then each newer live event, ending after a terminal one.

    Subscribes before reading any state, so nothing published in between is lost. The current
    state is the channel's latest event; when there is none (expired, or the job ran in a
    process without a shared channel), ``stored_state()`` builds one from the database (with
    ``seq`` 0). A job already finished yields just its final state.
    """
    async with broadcaster.subscribe(channel_name) as events:
        current = await broadcaster.latest(channel_name)
        stored = await stored_state()
        if stored is not None and (current is None or (is_terminal(stored)
                                                        and not is_terminal(current))):
            current = stored
        last_seq = 0
        if current is not None:
            yield current
            if is_terminal(current):
                return
            last_seq = int(current.get("seq", 0))
        async for event in events:
            if int(event.get("seq", 0)) <= last_seq:
                continue
            last_seq = int(event["seq"])
            yield event
            if is_terminal(event):
                return
