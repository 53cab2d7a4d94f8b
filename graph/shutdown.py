"""Subscribers get a clean end when the server stops.

On SIGTERM or Ctrl-C, uvicorn closes every websocket at once (code 1012), so a subscriber would
see its connection drop, not its subscriptions end. :func:`drain_on_stop_signal` (installed by
the served app's lifespan, after uvicorn's own handlers) runs first: every open subscription
(:class:`DrainableTransportWSHandler`, the view's ``graphql-transport-ws`` handler) is stopped
and gets its ``complete`` message, its socket is closed with 1001 ("going away"), and only then
is uvicorn's handler called, which shuts the server down as usual. The whole drain is bounded
by :data:`DRAIN_TIMEOUT_S`; a second signal goes straight to uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import CompleteMessage

log = logging.getLogger("graph.shutdown")

DRAIN_TIMEOUT_S = 1.0
GOING_AWAY = 1001
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_open: weakref.WeakSet[DrainableTransportWSHandler] = weakref.WeakSet()
_draining: set[asyncio.Task[None]] = set()


class DrainableTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """Strawberry's ``graphql-transport-ws`` handler, known to :func:`drain` while open."""

    async def handle(self) -> None:
        _open.add(self)
        try:
            await super().handle()
        finally:
            _open.discard(self)

    async def complete_all(self) -> None:
        """Stop every operation of this connection, send each its ``complete``, close."""
        for operation in list(self.operations.values()):
            if operation.task is not None:
                operation.task.cancel()
            with contextlib.suppress(Exception):
                await operation.send_operation_message(
                    CompleteMessage(id=operation.id, type="complete"))
        with contextlib.suppress(Exception):
            await self.websocket.close(GOING_AWAY, "the server is stopping")


async def drain() -> int:
    """End every open subscription cleanly (see the module doc); how many connections."""
    handlers = list(_open)
    if handlers:
        await asyncio.gather(*(h.complete_all() for h in handlers), return_exceptions=True)
    return len(handlers)


def drain_on_stop_signal() -> Callable[[], None]:
    """Install the SIGINT/SIGTERM handlers that :func:`drain` before handing the signal to the
    handler found (uvicorn's); returns a function that puts the found ones back. Does nothing
    outside the main thread (signals are only delivered there)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    found: dict[int, Any] = {int(sig): signal.getsignal(sig) for sig in STOP_SIGNALS}

    def restore() -> None:
        for sig, handler in found.items():
            if signal.getsignal(sig) is on_signal:
                signal.signal(sig, handler)

    def forward(sig: int, frame: FrameType | None) -> None:
        handler = found[sig]
        if callable(handler):
            handler(sig, frame)
        else:  # SIG_DFL / SIG_IGN: let it take effect as if we had not been there
            signal.raise_signal(sig)

    async def drain_then_forward(sig: int, frame: FrameType | None) -> None:
        try:
            count = await asyncio.wait_for(drain(), DRAIN_TIMEOUT_S)
            if count:
                log.info("ended the subscriptions of %d connection(s)", count)
        except Exception as err:  # a drain that fails must not keep the server up
            log.warning("ending the subscriptions failed: %s", err)
        finally:
            forward(sig, frame)

    def start(sig: int, frame: FrameType | None) -> None:
        task = loop.create_task(drain_then_forward(sig, frame))
        _draining.add(task)
        task.add_done_callback(_draining.discard)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        restore()  # a second signal goes straight to the found handler (uvicorn: force exit)
        try:
            loop.call_soon_threadsafe(start, sig, frame)
        except RuntimeError:  # the loop is closed: nothing to drain
            forward(sig, frame)

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    return restore
