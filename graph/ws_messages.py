"""Messages of the ``graphql-transport-ws`` protocol checked before Strawberry's handler reads
them.

Strawberry's handler trusts a message's shape once it is JSON: a frame that is not an object
(``[]``, ``1``, ``null``), a ``subscribe`` or ``complete`` whose ``id`` is not a string, a
``subscribe`` whose ``payload`` is not an object, whose ``query`` is not a string or whose
``variables`` or ``operationName`` have the wrong type raise inside it, which drops the
connection without a close frame (1006) and logs a traceback, or answers ``INTERNAL``. JSON
nested deeper than the parser's recursion limit does the same. :class:`WellFormedMessages`
closes the connection instead with 4400 (the protocol's code for an invalid message) and a
reason naming what is wrong, as Strawberry does for an unknown type or a frame that is not
JSON.

A close frame's reason holds at most 123 bytes: Strawberry's reasons quote the client's input
(``Unknown message type: ...``, ``Subscriber for ... already exists``), and a longer one made
the server drop the connection instead of closing it. They are cut to fit.

:func:`json_size` measures a payload as JSON for the size cap, including one that orjson
refuses to encode (a lone surrogate, deep nesting), which raised in the cap's check.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import orjson
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

MAX_REASON_BYTES = 123  # the most a websocket close frame's reason may hold (RFC 6455)


def short_reason(reason: str) -> str:
    """``reason`` cut to fit a close frame (whole UTF-8 characters, an ellipsis when cut)."""
    data = reason.encode("utf-8", "replace")
    if len(data) <= MAX_REASON_BYTES:
        return reason
    return data[:MAX_REASON_BYTES - 3].decode("utf-8", "ignore") + "..."


def json_size(value: object) -> int:
    """Bytes of ``value`` as JSON; what cannot be encoded at all counts as endless."""
    try:
        return len(orjson.dumps(value))
    except TypeError:  # a lone surrogate, or nesting deeper than orjson goes
        try:
            return len(json.dumps(value).encode())
        except (RecursionError, ValueError):
            return sys.maxsize


def message_problem(message: object) -> str | None:
    """Why ``message`` (decoded JSON) is not a well-formed message, or None."""
    if not isinstance(message, dict):
        return 'A message must be a JSON object with a "type"'
    kind = message.get("type")
    if kind in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        return f'A "{kind}" message needs an "id" that is a string'
    if kind != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return 'A "subscribe" message needs a "payload" object holding the "query"'
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        return 'The "query" of a "subscribe" payload must be a non-empty string'
    for key in ("variables", "extensions"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            return f'The "{key}" of a "subscribe" payload must be an object or null'
    if payload.get("operationName") is not None and not isinstance(payload["operationName"],
                                                                   str):
        return 'The "operationName" of a "subscribe" payload must be a string or null'
    return None


class _ShortReasons:
    """The handler's websocket, with every close reason cut to fit (:func:`short_reason`)."""

    def __init__(self, websocket: Any) -> None:
        self._websocket = websocket

    def __getattr__(self, name: str) -> Any:
        return getattr(self._websocket, name)

    async def close(self, code: int, reason: str) -> None:
        await self._websocket.close(code=code, reason=short_reason(reason))


class WellFormedMessages(BaseGraphQLTransportWSHandler[Any, Any]):
    """Closes the connection with 4400 on a malformed message, with a reason that fits (see
    the module doc)."""

    async def handle(self) -> None:
        self.websocket = _ShortReasons(self.websocket)  # type: ignore[assignment]
        try:
            await super().handle()
        except RecursionError:  # JSON nested too deeply for the parser
            await self.handle_invalid_message("WebSocket message must be valid JSON "
                                              "(nested too deeply)")

    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)
