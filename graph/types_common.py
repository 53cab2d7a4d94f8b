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

Errors: the rule
    A mutation's expected failures, not-found included, are members of its result union
    (``NotFoundError``, ``ValidationError``...), never errors. A query that names one object
    (``backtest(id:)``...) answers ``NOT_FOUND`` as an error when it does not exist or is not
    the caller's; ``node(id:)`` answers null. A malformed argument (an id or cursor that is not
    one) is a ``BAD_USER_INPUT`` error, for queries and mutations alike.

IDs and nodes
    Object ids are Relay global ids (``graph.ids``: opaque, they name their type); every object
    with an id implements :class:`Node`, and ``node(id:)`` / ``nodes(ids:)`` fetch any of them
    (the loaders registered with :func:`register_node`, owner-scoped). :func:`parse_id` turns an
    ``ID`` argument back into a row id (``BAD_USER_INPUT`` when it is malformed).

Pagination
    Every list is a Relay connection (``edges``, ``pageInfo`` with both directions,
    ``totalCount``), ordered by a key (usually ``(created_at, id)``). A cursor is the key of a
    row, JSON-encoded then base64url-encoded, opaque to clients: :func:`encode_cursor` /
    :func:`decode_cursor`. A cursor that does not decode, or holds values of the wrong type or
    out of range (a forged id beyond the 32-bit id columns, an integer beyond 2^53), is a
    ``BAD_USER_INPUT`` error, never a server error (:func:`cursor_id`, :func:`cursor_int`).
    :func:`page_size` turns the ``first`` (or ``last``) argument into a page size:
    :data:`DEFAULT_PAGE_SIZE` when omitted, at most :data:`MAX_PAGE_SIZE` (more is a
    ``BAD_USER_INPUT`` error that states the cap). Lists held in memory (a sweep's table,
    tokens, stored series, a trade list numbered 0, 1, 2...) page by position with
    :func:`offset_window`, and take ``last``/``before`` too.
    Exceptions, which stay plain lists: chart series (columnar arrays of floats, see
    ``Series``), a validation error's problems, small fixed-size value lists inside one
    object (a strategy's parameters, an import's symbols), and the small tables of a
    backtest's analysis (``graph.analysis_types``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Self

import strawberry
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.ids import MAX_PK, decode_id, decode_pk, encode_id

__all__ = ["decode_id", "encode_id"]

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


@strawberry.type(description="Where a page of a connection starts and ends (Relay). Paging "
                             "forward (first/after), hasPreviousPage is true when 'after' was "
                             "given; paging backward (last/before), hasNextPage is true when "
                             "'before' was given.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = False
    start_cursor: str | None = None
    end_cursor: str | None = None

    @classmethod
    def of(cls, cursors: Sequence[str], *, has_next: bool, has_previous: bool) -> PageInfo:
        return cls(has_next_page=has_next, has_previous_page=has_previous,
                   start_cursor=cursors[0] if cursors else None,
                   end_cursor=cursors[-1] if cursors else None)


@strawberry.interface(description="An object with a global id: fetch it again with node(id:).")
class Node:
    id: strawberry.ID = strawberry.field(description="Its global id (opaque).")


NodeLoader = Callable[[Info, Sequence[int]], Awaitable[Sequence[Node]]]
_NODE_LOADERS: dict[str, NodeLoader] = {}


def register_node(type_name: str, load_many: NodeLoader) -> None:
    """``load_many(info, pks)``: the objects of type ``type_name`` with those pks that the
    caller may see (any order; the others left out), for ``node``/``nodes``."""
    _NODE_LOADERS[type_name] = load_many


def node_types() -> list[str]:
    return sorted(_NODE_LOADERS)


async def load_nodes(info: Info, ids: Sequence[str]) -> list[Node | None]:
    """The objects of global ids ``ids`` (None for one that does not exist or is not the
    caller's); ``BAD_USER_INPUT`` for a malformed id or an unknown type."""
    keys = [decode_id(i, *node_types()) for i in ids]
    by_type: dict[str, list[int]] = {}
    for type_name, pk in keys:
        by_type.setdefault(type_name, []).append(pk)
    found: dict[str, Node] = {}
    for type_name, pks in by_type.items():
        for obj in await _NODE_LOADERS[type_name](info, pks):
            found[str(obj.id)] = obj
    return [found.get(encode_id(t, pk)) for t, pk in keys]


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


def domain_enum(name: str, values: Sequence[str], description: str) -> Any:
    """A GraphQL enum ``name`` generated from a domain list of values, one member per value
    (``STOP_LOSS = "stop_loss"``), so the API follows the domain."""
    members = Enum(name, [(v.upper(), v) for v in values])  # type: ignore[misc]
    return strawberry.enum(members, description=description)


def global_id(type_name: str, pk: int) -> strawberry.ID:
    """The ``ID`` of object ``pk`` of ``type_name`` (:func:`graph.ids.encode_id`)."""
    return strawberry.ID(encode_id(type_name, pk))


def optional_id(type_name: str, pk: int | None) -> strawberry.ID | None:
    return None if pk is None else global_id(type_name, pk)


def parse_id(value: str | int, type_name: str) -> int:
    """The row id in an ``ID`` argument naming a ``type_name`` (a global id, or a bare decimal
    id during the transition: ``graph.ids``); ``BAD_USER_INPUT`` when it is malformed."""
    return decode_pk(value, type_name)


def encode_cursor(values: tuple[Any, ...]) -> str:
    """An opaque cursor for a row's sort key (JSON-serialisable values: ints, floats, strings,
    None). Datetimes should be passed as epoch milliseconds or ISO strings."""
    raw = json.dumps(list(values), separators=(",", ":"), allow_nan=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


MAX_CURSOR_LENGTH = 1_000


def decode_cursor(cursor: str, length: int | None = None) -> tuple[Any, ...]:
    """The sort key a cursor of :func:`encode_cursor` holds; ``BAD_USER_INPUT`` when it is not
    one (or, given ``length``, when it does not hold that many values)."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeError, ValueError, RecursionError):
        values = None
    if not isinstance(values, list) or (length is not None and len(values) != length):
        raise BadUserInput(f"invalid cursor {cursor[:40]!r}: pass an endCursor returned by this "
                           "list, or omit 'after' to start from the beginning")
    return tuple(values)


MAX_CURSOR_INT = 2**53  # integers a cursor may hold (JSON-safe, and within int8 columns)


def _bad_cursor(cursor: str) -> BadUserInput:
    return BadUserInput(f"invalid cursor {cursor[:40]!r}: pass a cursor returned by this list, "
                        "or omit it to start from the beginning")


def cursor_int(value: Any, cursor: str, low: int = -MAX_CURSOR_INT,
               high: int = MAX_CURSOR_INT) -> int:
    """An integer a cursor holds (a time, a position), checked: ``BAD_USER_INPUT`` when it is
    not an integer in ``[low, high]`` (a forged value would overflow a query parameter)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad_cursor(cursor)
    return value


def cursor_id(value: Any, cursor: str) -> int:
    """A row id a cursor holds: an integer within the 32-bit id columns, else
    ``BAD_USER_INPUT``."""
    return cursor_int(value, cursor, 0, MAX_PK + 1)


def cursor_time(value: Any, cursor: str) -> datetime:
    """A time a cursor holds (an ISO 8601 string with a zone, as written by the list): in UTC,
    else ``BAD_USER_INPUT`` (a naive time cannot be compared with the stored ones)."""
    try:
        if not isinstance(value, str):
            raise ValueError
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _bad_cursor(cursor) from None


def cursor_number(value: Any, cursor: str) -> float | None:
    """A float sort value a cursor holds (or None): finite, else ``BAD_USER_INPUT``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not -1e300 < float(value) < 1e300:
        raise _bad_cursor(cursor)
    return float(value)


def after_id(after: str | None) -> int | None:
    """The row id an id-ordered page starts after: None for the first page;
    ``BAD_USER_INPUT`` for a malformed cursor (or one holding no id in the id range)."""
    if after is None:
        return None
    (value,) = decode_cursor(after, 1)
    return cursor_id(value, after)


def page_size(first: int | None, name: str = "first") -> int:
    """The number of rows to return for ``first`` (or ``last``: ``name``; default
    :data:`DEFAULT_PAGE_SIZE`); ``BAD_USER_INPUT`` when it is negative or above
    :data:`MAX_PAGE_SIZE`."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0:
        raise BadUserInput(f"'{name}' must be 0 or more (got {first})")
    if first > MAX_PAGE_SIZE:
        raise BadUserInput(f"'{name}' may be at most {MAX_PAGE_SIZE} (got {first}): page through "
                           "the list with 'after' (or 'before')")
    return first


@dataclass(frozen=True)
class Window:
    """Relay's paging arguments, checked: forward (``first``/``after``) or backward
    (``last``/``before``), never both."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        if self.backward and (self.first is not None or self.after is not None):
            raise BadUserInput("page forward (first, after) or backward (last, before), "
                               "not both")
        page_size(self.first)
        page_size(self.last, "last")

    @property
    def backward(self) -> bool:
        return self.last is not None or self.before is not None

    @property
    def size(self) -> int:
        return page_size(self.last, "last") if self.backward else page_size(self.first)

    def id_args(self) -> dict[str, Any]:
        """The keyword arguments of an id-ordered store list (``store.keyset``)."""
        return {"after_id": after_id(self.after), "before_id": after_id(self.before),
                "limit": self.size, "backward": self.backward}

    def page_info(self, cursors: Sequence[str], more: bool) -> PageInfo:
        """``more``: rows lie beyond the page in the direction of travel."""
        if self.backward:
            return PageInfo.of(cursors, has_next=self.before is not None, has_previous=more)
        return PageInfo.of(cursors, has_next=more, has_previous=self.after is not None)


def offset_cursor(index: int) -> str:
    return encode_cursor((index,))


def offset_window(total: int, first: int | None = None, after: str | None = None,
                  last: int | None = None, before: str | None = None
                  ) -> tuple[int, int, PageInfo]:
    """The slice ``[start, end)`` of a list of ``total`` items numbered 0, 1, 2... (a list held
    in memory, or rows numbered by position), for Relay's ``first``/``after`` or
    ``last``/``before`` (not both directions at once); and its page info. Cursors are
    :func:`offset_cursor` of positions."""
    if (last is not None or before is not None) and (first is not None or after is not None):
        raise BadUserInput("page forward (first, after) or backward (last, before), not both")
    if last is not None or before is not None:
        size = page_size(last, "last")
        end = total
        if before is not None:
            (pos,) = decode_cursor(before, 1)
            end = min(cursor_int(pos, before, 0, MAX_CURSOR_INT), total)
        start = max(0, end - size)
        return start, end, PageInfo.of([offset_cursor(i) for i in (start, end - 1)]
                                       if end > start else [],
                                       has_next=before is not None and end < total,
                                       has_previous=start > 0)
    size = page_size(first)
    start = 0
    if after is not None:
        (pos,) = decode_cursor(after, 1)
        start = min(cursor_int(pos, after, -1, MAX_CURSOR_INT) + 1, total)
    end = min(total, start + size)
    return start, end, PageInfo.of([offset_cursor(i) for i in (start, end - 1)]
                                   if end > start else [],
                                   has_next=end < total, has_previous=start > 0)
