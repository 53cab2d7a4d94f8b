"""The HTTP edge of the API: request ids, the body size cap, GraphQL-shaped errors for requests
that never reach GraphQL, and the log format that shows request ids.

- :class:`RequestIds`: every HTTP response and websocket handshake carries ``X-Request-ID``:
  the request's own header when it is a sane token (:func:`sane_request_id`: 1-128 letters,
  digits and ``._:-``), else a new random id. While the request runs the id is
  ``tasks.request_ids.REQUEST_ID``: every log line of the request shows it (``%(request_id)s``,
  see :func:`configure_logging`) and the jobs it starts carry it (their ``queued`` event, their
  log lines).
- :class:`BodyLimit`: a request body above ``MAX_REQUEST_BYTES`` (a multipart upload: plus the
  import file's own limit) is refused with 413 before it is parsed: at once when its
  ``Content-Length`` says so, else as soon as the bytes read pass the cap.
- :func:`error_response`: the answer to a request refused before GraphQL runs, in GraphQL's
  shape (``{"errors": [{"message", "extensions": {"code"}}]}``) and in the media type the
  client accepts (``application/graphql-response+json`` when it asks for it, else
  ``application/json``).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.errors import BAD_REQUEST, METHOD_NOT_ALLOWED, NOT_FOUND, PAYLOAD_TOO_LARGE
from store.settings import get_settings
from tasks.request_ids import REQUEST_ID, JsonFormatter
from tasks.request_ids import configure_logging as configure_job_logging

REQUEST_ID_HEADER = "x-request-id"
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
_CODES = {400: BAD_REQUEST, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 413: PAYLOAD_TOO_LARGE}


def sane_request_id(value: str | None) -> str | None:
    """``value`` when it may be used as a request id (logged and echoed as it is), else None."""
    if value and _SANE.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


def wants_graphql_response(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for ``application/graphql-response+json`` (the
    GraphQL-over-HTTP media type: request errors then answer 4xx)."""
    return bool(accept) and GRAPHQL_RESPONSE in (accept or "").lower()


def media_type(accept: str | None) -> str:
    return GRAPHQL_RESPONSE if wants_graphql_response(accept) else JSON


def error_body(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extra}}]}


def error_response(status: int, message: str, *, accept: str | None = None,
                   code: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """A request refused before GraphQL runs, as a GraphQL error with a code."""
    return Response(orjson.dumps(error_body(message, code or _CODES.get(status, BAD_REQUEST))),
                    status_code=status, media_type=media_type(accept), headers=headers)


class RequestIds:
    """ASGI middleware: ``X-Request-ID`` on every response and handshake, and the id set for
    the request's duration (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = (sane_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
                      or new_request_id())
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = [h for h in message.get("headers") or []
                           if h[0].lower() != REQUEST_ID_HEADER.encode()]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class _TooLarge(Exception):  # (not a ValueError: parsers must not swallow it)
    """The body read so far passed the cap."""


class BodyLimit:
    """ASGI middleware: request bodies capped at ``max_bytes`` (``multipart_max_bytes`` for
    ``multipart/form-data``), refused with 413 before they are parsed."""

    def __init__(self, app: ASGIApp, max_bytes: int, multipart_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.multipart_max_bytes = multipart_max_bytes

    def _refusal(self, headers: Headers, cap: int) -> Response:
        return error_response(
            413, f"The request body is larger than this server accepts ({cap} bytes, "
                 "MAX_REQUEST_BYTES): send smaller variables, or split the request",
            accept=headers.get("accept"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").lower().startswith("multipart/form-data")
        cap = self.multipart_max_bytes if multipart else self.max_bytes
        length = headers.get("content-length")
        if length is not None and (not length.isascii() or not length.isdigit()
                                   or int(length) > cap):
            await self._refusal(headers, cap)(scope, receive, send)
            return
        read = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > cap:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._refusal(headers, cap)(scope, receive, send)


def _add_request_id(formatter: logging.Formatter | None) -> None:
    style = getattr(formatter, "_style", None)
    if not isinstance(style, logging.PercentStyle) or "request_id" in style._fmt:
        return
    style._fmt = style._fmt + " [request %(request_id)s]"
    if formatter is not None:
        formatter._fmt = style._fmt


def configure_logging() -> None:
    """Show request ids in the server's log: every record gets ``request_id``; the app's
    loggers (``graph``, ``tasks``, ``store``) print at INFO through a root handler whose format
    shows it (when the root logger has no handler yet), and uvicorn's lines end with it
    (``LOG_FORMAT=json``: uvicorn's lines are JSON too, ``tasks.request_ids.JsonFormatter``)."""
    configure_job_logging()
    json_lines = get_settings().log_format == "json"
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        for existing in logging.getLogger(name).handlers:
            if json_lines:
                existing.setFormatter(JsonFormatter())
            else:
                _add_request_id(existing.formatter)
