"""Errors the API sends, each with a code in ``extensions.code``.

Resolvers raise the :class:`ApiError` subclasses below for expected failures that are not part
of a result union (``NOT_FOUND`` on a plain query, ``UNAUTHENTICATED``...). :class:`ErrorCodes`
(a schema extension) gives every other error its code on the way out:

- parse and validation errors (bad syntax, unknown fields, wrong variable types, limits):
  ``BAD_USER_INPUT``. graphql-core 3.3 gives up validating a document whose repeated fields or
  fragments would take too long to compare (its "overlapping fields" complexity budget: a few
  hundred copies of one field are enough, well under the token limit) with a bare
  "Validation aborted."; that one is reworded to :data:`TOO_COMPLEX_MESSAGE`;
- ``domain.errors.DomainError`` (expected failures of the core, with a message meant for
  users): ``BAD_USER_INPUT`` with that message;
- anything else: masked as ``INTERNAL`` with a generic message, and logged with its traceback
  (the only log of errors: ``graph.schema.BacktestSchema`` silences Strawberry's own).

Errors of a subscription are classified as each result is streamed, before it reaches the
client (``on_stream_result``), so a crash mid-stream is masked too.

:class:`RequestChecks` (a schema extension, after validation, before any resolver) refuses:

- a string with the NUL character (``\\u0000``) anywhere in the variables or in the document's
  literals: ``BAD_USER_INPUT`` (PostgreSQL cannot store it in text);
- a document of several operations without ``operationName``: ``BAD_REQUEST``;
- a subscription sent over HTTP (subscriptions need the websocket): ``BAD_REQUEST``.

Requests refused before GraphQL runs (a body that is not JSON, an empty query, a GET mutation,
an unknown ``operationName``, a body over the size cap...) get their code in ``graph.app`` and
``graph.http``: ``BAD_REQUEST``, ``METHOD_NOT_ALLOWED``, ``PAYLOAD_TOO_LARGE``, ``NOT_FOUND``.
A refused subscription over the per-user cap is ``TOO_MANY_SUBSCRIPTIONS``; a sign-in refused
by ``graph.login_throttle``, or a mutation over its budget (``graph.rate_limits``), is
``RATE_LIMITED`` with ``extensions.retryAfter`` (seconds) and a ``Retry-After`` header; one more
personal access token than the per-user cap is ``QUOTA_EXCEEDED`` (``extensions.limit``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationDefinitionNode, StringValueNode
from graphql.language import Visitor, visit
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types.execution import ExecutionContext, ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from domain.errors import DomainError

log = logging.getLogger("graph.errors")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL"
BAD_REQUEST = "BAD_REQUEST"  # the HTTP request itself: body, method, operationName, transport
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
RATE_LIMITED = "RATE_LIMITED"

INTERNAL_MESSAGE = "Internal server error: the request failed on our side (logged)."
TOO_COMPLEX_MESSAGE = ("The query is too complex to validate: it repeats the same fields or "
                       "fragments too many times. Ask for each field once (use aliases "
                       "sparingly) and split very large queries.")


class ApiError(Exception):
    """An expected failure with a GraphQL error code."""

    code = INTERNAL

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class Unauthenticated(ApiError):
    code = UNAUTHENTICATED

    def __init__(self, message: str = "Sign in first: send 'Authorization: Bearer <token>' "
                 "(an access token from login, or a personal access token)") -> None:
        super().__init__(message)


class Forbidden(ApiError):
    code = FORBIDDEN


class NotFound(ApiError):
    code = NOT_FOUND

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")


class BadUserInput(ApiError):
    code = BAD_USER_INPUT


class RateLimited(ApiError):
    """Too many attempts: ``extensions.retryAfter`` says how many seconds to wait."""

    code = RATE_LIMITED

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, retryAfter=retry_after_s)
        self.retry_after_s = retry_after_s


def _with_code(error: GraphQLError, code: str, message: str | None = None,
               extra: dict[str, Any] | None = None) -> GraphQLError:
    extensions = dict(error.extensions or {})
    extensions["code"] = code
    if extra:
        extensions.update(extra)
    return GraphQLError(message if message is not None else error.message, nodes=error.nodes,
                        source=error.source, positions=error.positions, path=error.path,
                        original_error=None, extensions=extensions)


def classify(error: GraphQLError) -> GraphQLError:
    """``error`` with ``extensions.code`` set, internal details masked."""
    original = error.original_error
    if original is None:
        if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
            return _with_code(error, BAD_USER_INPUT, TOO_COMPLEX_MESSAGE)
        if error.extensions and "code" in error.extensions:
            return error
        return _with_code(error, BAD_USER_INPUT)
    if isinstance(original, ApiError):
        return _with_code(error, original.code, original.message, original.extra)
    if isinstance(original, DomainError):
        return _with_code(error, BAD_USER_INPUT, str(original))
    if isinstance(original, GraphQLError):  # raised by graphql-core itself (e.g. coercion)
        return _with_code(error, BAD_USER_INPUT)
    if isinstance(original, CannotGetOperationTypeError):  # over the websocket: an
        # operationName that names no operation of the document (HTTP refuses it earlier)
        return _with_code(error, BAD_REQUEST, original.as_http_error_reason())
    log.error("internal error in %s", ".".join(map(str, error.path or [])) or "operation",
              exc_info=original)
    return _with_code(error, INTERNAL, INTERNAL_MESSAGE)


class ErrorCodes(SchemaExtension):
    """Sets ``extensions.code`` on every error of a result (see the module docstring): of a
    query's or mutation's result when the operation ends, and of each result a subscription
    streams, before it reaches the client."""

    def __init__(self) -> None:
        self._streamed = False

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if self._streamed:
            return
        self._classify(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        self._classify(result)
        yield

    @staticmethod
    def _classify(result: Any) -> None:
        if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) and result.errors:
            result.errors = [classify(e) for e in result.errors]


NUL = "\x00"
NUL_MESSAGE = ("Strings may not contain the NUL character (\\u0000) or an unpaired surrogate "
               "(\\ud800-\\udfff), which no text column can store: remove it from {where}")


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no database text column stores: NUL, or a lone
    surrogate (not encodable in UTF-8)."""
    if NUL in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
GRAPHQL_RESPONSE = "application/graphql-response+json"


def _request_of(execution_context: ExecutionContext) -> Any:
    return getattr(execution_context.context, "request", None)


def _is_http(request: Any) -> bool:
    return getattr(request, "scope", {}).get("type") == "http"


def _accepts_graphql_response(request: Any) -> bool:
    headers = getattr(request, "headers", None)
    return headers is not None and GRAPHQL_RESPONSE in (headers.get("accept") or "").lower()


def _set_status(execution_context: ExecutionContext, status: int) -> None:
    """Answer the HTTP request with ``status`` (no effect on a websocket operation)."""
    response = getattr(execution_context.context, "response", None)
    if _is_http(_request_of(execution_context)) and response is not None:
        response.status_code = status


def nul_path(value: object, path: str) -> str | None:
    """Where the first string containing NUL is in a JSON-like ``value`` (None: nowhere)."""
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and unstorable(key):
                    return where
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


class _NulLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if unstorable(node.value):
            self.found = node
            return self.BREAK
        return None


def request_problem(execution_context: ExecutionContext) -> GraphQLError | None:
    """Why a parsed, valid document must not run (see the module docstring), or None."""
    document = execution_context.graphql_document
    if document is None:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    named = getattr(execution_context, "_provided_operation_name", None)
    if len(operations) > 1 and named is None:
        return GraphQLError(f"The document has {len(operations)} operations: say which one to "
                            "run with operationName", extensions={"code": BAD_REQUEST})
    where = nul_path(execution_context.variables or {}, "$")
    if where is not None:
        return GraphQLError(NUL_MESSAGE.format(where=f"the variable {where[2:] or '(all)'}"),
                            extensions={"code": BAD_USER_INPUT})
    query = execution_context.query or ""
    if "\\u" in query or unstorable(query):  # a literal may spell them only with an escape
        finder = _NulLiterals()
        visit(document, finder)
        if finder.found is not None:
            return GraphQLError(NUL_MESSAGE.format(where="the string literal"),
                                nodes=[finder.found], extensions={"code": BAD_USER_INPUT})
    try:
        operation_type = execution_context.operation_type
    except RuntimeError:
        return None
    if operation_type == OperationType.SUBSCRIPTION and _is_http(
            _request_of(execution_context)):
        return GraphQLError("Subscriptions are served over the websocket only: connect to "
                            "/graphql with the graphql-transport-ws protocol",
                            extensions={"code": BAD_REQUEST})
    return None


class RequestChecks(SchemaExtension):
    """Refuses a valid document that must not run (:func:`request_problem`) before any
    resolver runs; list it after the validation cache."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors:
            problem = request_problem(context)
            if problem is not None:
                context.pre_execution_errors = [problem]
                if (problem.extensions or {}).get("code") == BAD_REQUEST:
                    _set_status(context, 400)
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        # GraphQL over HTTP: with application/graphql-response+json, a request that could not
        # run (it did not parse or validate) is a 4xx.
        context = self.execution_context
        if isinstance(context.result, PreExecutionError) and _accepts_graphql_response(
                _request_of(context)):
            _set_status(context, 400)
