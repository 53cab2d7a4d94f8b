"""Types and helpers every feature module shares: validation problems, a not-found result, and
Relay-style keyset pagination.

Result unions
    Expected failures of a mutation come back as members of its result union, so clients branch
    on ``__typename``: :class:`ValidationError` (a list of :class:`FieldProblem`, each with the
    path of the offending input, e.g. ``input.password``) and :class:`NotFoundError`.

Problem paths
    The layers below locate a problem by its domain path: the snake_case field of the request
    (``initial_capital``), then what is inside it, which is the user's own naming (``params.fast``,
    ``document.costs.fee_bps``). :func:`api_path` is the one translation to the API's path
    (``input.initialCapital``, ``input.params.fast``); :meth:`ValidationError.of_domain` applies
    it to a list of problems.

IDs
    Object ids travel as GraphQL ``ID`` strings holding the database's integer id;
    :func:`parse_id` turns one back, and an id that is not a number is ``NOT_FOUND`` (like an id
    that names nothing), never a server error.

Pagination
    Lists are Relay connections ordered by a key (usually ``(created_at, id)``). A cursor is the
    key of the last row of a page, JSON-encoded then base64url-encoded, opaque to clients:
    :func:`encode_cursor` / :func:`decode_cursor` (a cursor that does not decode is a
    ``BAD_USER_INPUT`` error, not a server error). :func:`page_size` turns the ``first``
    argument into a page size: :data:`DEFAULT_PAGE_SIZE` when omitted, at most
    :data:`MAX_PAGE_SIZE` (more is a ``BAD_USER_INPUT`` error that states the cap).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Any, Self

import strawberry

from graph.errors import BadUserInput, NotFound

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_HEAD = re.compile(r"[^.\[]*")


def camel_case(name: str) -> str:
    """A snake_case field name as the API spells it: ``initial_capital`` -> ``initialCapital``."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def api_path(domain_path: str, root: str = "input") -> str:
    """The API's path of a problem located at ``domain_path`` in the argument ``root``: the
    first segment (a field of the request) camel-cased, the rest (parameter names, document
    keys, indexes) as it is: ``fee_bps`` -> ``input.feeBps``, ``params.slow_ma`` ->
    ``input.params.slow_ma``, ``""`` -> ``input``."""
    head = _HEAD.match(domain_path)
    assert head is not None  # the pattern matches any string
    field = camel_case(head.group())
    tail = domain_path[head.end():]
    return ".".join(part for part in (root, field) if part) + tail


@strawberry.type(description="One problem with the input: where (a dotted path such as "
                             "`input.password` or `input.document.rules.0.when`) and what.")
class FieldProblem:
    path: str
    message: str


@strawberry.type(description="The input was rejected; `problems` lists every reason found.")
class ValidationError:
    problems: list[FieldProblem]

    @classmethod
    def of(cls, problems: Iterable[tuple[str, str]]) -> Self:
        """A ValidationError from ``(path, message)`` pairs."""
        return cls(problems=[FieldProblem(path=p, message=m) for p, m in problems])

    @classmethod
    def single(cls, path: str, message: str) -> Self:
        return cls(problems=[FieldProblem(path=path, message=message)])

    @classmethod
    def of_domain(cls, problems: Iterable[tuple[str, str]], root: str = "input") -> Self:
        """A ValidationError from ``(domain path, message)`` pairs, each path made the API's
        by :func:`api_path`."""
        return cls.of((api_path(path, root), message) for path, message in problems)


@strawberry.type(description="The strategy document or its name was rejected; `problems` lists "
                             "every reason found, each with the path of the value at fault.")
class StrategyValidationError(ValidationError):
    pass


@strawberry.type(description="The object does not exist, or is not yours.")
class NotFoundError:
    message: str


@strawberry.type(description="Where a page of a connection ends (Relay).")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def parse_id(value: str | int, kind: str) -> int:
    """The integer id in an ``ID`` argument; ``NOT_FOUND`` ("<kind> <value> not found") when it
    is not a positive whole number."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 18 or int(text) == 0:
        raise NotFound(kind, repr(str(value)[:40]))
    return int(text)


def encode_cursor(values: tuple[Any, ...]) -> str:
    """An opaque cursor for a row's sort key (JSON-serialisable values: ints, floats, strings,
    None). Datetimes should be passed as epoch milliseconds or ISO strings."""
    raw = json.dumps(list(values), separators=(",", ":"), allow_nan=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int | None = None) -> tuple[Any, ...]:
    """The sort key a cursor of :func:`encode_cursor` holds; ``BAD_USER_INPUT`` when it is not
    one (or, given ``length``, when it does not hold that many values)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeError, ValueError):
        values = None
    if not isinstance(values, list) or (length is not None and len(values) != length):
        raise BadUserInput(f"invalid cursor {cursor[:40]!r}: pass an endCursor returned by this "
                           "list, or omit 'after' to start from the beginning")
    return tuple(values)


def after_id(after: str | None) -> int | None:
    """The row id an id-ordered page starts after: None for the first page, 0 (matching
    nothing) for a well-formed cursor that holds no id; ``BAD_USER_INPUT`` for a malformed one."""
    if after is None:
        return None
    (value,) = decode_cursor(after, 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def page_size(first: int | None) -> int:
    """The number of rows to return for ``first`` (default :data:`DEFAULT_PAGE_SIZE`);
    ``BAD_USER_INPUT`` when it is negative or above :data:`MAX_PAGE_SIZE`."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0:
        raise BadUserInput(f"'first' must be 0 or more (got {first})")
    if first > MAX_PAGE_SIZE:
        raise BadUserInput(f"'first' may be at most {MAX_PAGE_SIZE} (got {first}): page through "
                           "the list with 'after'")
    return first
