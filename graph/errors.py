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
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from domain.errors import DomainError

log = logging.getLogger("graph.errors")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL"

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
