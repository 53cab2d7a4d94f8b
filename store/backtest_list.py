"""Lists of backtests: filters, sorting by creation or by a metric, keyset pagination.

One query per page, whatever its size: the rows (without the equity curve blob), their sort
values and their summaries (``performance_summaries`` joined: :attr:`BacktestPage.summaries`,
so the API's ``summary`` needs no query of its own for a listed run).

Order and keys
    ``created`` sorts by id: ids are handed out in creation order, so this is the
    ``(created_at, id)`` order without comparing timestamps in SQL. A metric sorts by
    ``(value, id)``, both ascending or both descending, runs without the metric (not finished,
    or undefined) LAST in either direction. A page's key is ``(value, id)`` of its last row
    (``value`` None for ``created`` and for rows without the metric); the next page starts
    strictly after it, so rows inserted meanwhile never shift the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from store.backtest_results import Summary, numbered, summary_columns, summary_from_raw
from store.backtests import BacktestRecord, record_columns, records_from_raw
from store.db import connection, is_postgres
from store.models import RunStatus
from store.scope import OwnerScope, owner_id_of


class SortKey(StrEnum):
    CREATED = "created"
    TOTAL_RETURN = "total_return"
    SHARPE = "sharpe"
    MAX_DRAWDOWN = "max_drawdown"


Key = tuple[float | None, int]
_SUMMARY = "s_"  # prefix of the summary's columns in a page's rows


@dataclass(frozen=True)
class BacktestFilter:
    """Conditions a listed backtest meets (each None or empty: no condition).
    ``created_from`` is inclusive, ``created_to`` exclusive."""

    statuses: tuple[RunStatus, ...] = ()
    exchange: str | None = None
    symbol: str | None = None
    strategy_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class BacktestPage:
    rows: list[BacktestRecord]
    keys: list[Key]  # the sort key of each row, for cursors
    has_next: bool
    summaries: list[Summary | None]  # each row's summary (None: none yet)


def _when(value: datetime, postgres: bool) -> Any:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value if postgres else str(value)  # how Tortoise stores datetimes in SQLite


def _conditions(flt: BacktestFilter, postgres: bool, *, owner: OwnerScope,
                ) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for sql, value in (("b.owner_id = ?", owner_id_of(owner)), ("b.exchange = ?", flt.exchange),
                       ("b.symbol = ?", flt.symbol), ("b.strategy_id = ?", flt.strategy_id)):
        if value is not None:
            where.append(sql)
            args.append(value)
    if flt.statuses:
        where.append(f"b.status IN ({', '.join('?' * len(flt.statuses))})")
        args.extend(s.value for s in flt.statuses)
    if flt.created_from is not None:
        where.append("b.created_at >= ?")
        args.append(_when(flt.created_from, postgres))
    if flt.created_to is not None:
        where.append("b.created_at < ?")
        args.append(_when(flt.created_to, postgres))
    return where, args


def _after(sort: SortKey, descending: bool, key: Key) -> tuple[str, list[Any]]:
    """The condition for rows strictly after ``key`` in the page order."""
    value, last_id = key
    beyond = "<" if descending else ">"
    if sort is SortKey.CREATED:
        return f"b.id {beyond} ?", [last_id]
    if value is None:  # among the trailing rows without a value: by id only
        return f"(s.{sort.value} IS NULL AND b.id {beyond} ?)", [last_id]
    col = f"s.{sort.value}"
    return (f"({col} IS NULL OR {col} {beyond} ? OR ({col} = ? AND b.id {beyond} ?))",
            [value, value, last_id])


def _before(sort: SortKey, descending: bool, key: Key) -> tuple[str, list[Any]]:
    """The condition for rows strictly before ``key`` in the page order (runs without the
    metric come last, so every run with it precedes a key among them)."""
    value, first_id = key
    ahead = ">" if descending else "<"
    if sort is SortKey.CREATED:
        return f"b.id {ahead} ?", [first_id]
    col = f"s.{sort.value}"
    if value is None:
        return f"({col} IS NOT NULL OR b.id {ahead} ?)", [first_id]
    return (f"({col} IS NOT NULL AND ({col} {ahead} ? OR ({col} = ? AND b.id {ahead} ?)))",
            [value, value, first_id])


async def list_backtests(flt: BacktestFilter, *, owner: OwnerScope,
                         sort: SortKey = SortKey.CREATED, descending: bool = True,
                         after: Key | None = None, limit: int = 20,
                         before: Key | None = None, backward: bool = False) -> BacktestPage:
    """A page of at most ``limit`` backtests ``owner`` may see (``store.scope``) matching
    ``flt``, in ``sort`` order, starting after the key ``after``. ``backward``: the ``limit``
    rows nearest before the key ``before`` (the order reversed, nulls first, and the page put
    back in order); ``has_next`` then says whether more rows precede the page."""
    client = connection()
    postgres = is_postgres(client)
    where, args = _conditions(flt, postgres, owner=owner)
    if after is not None:
        cond, more = _after(sort, descending, after)
        where.append(cond)
        args.extend(more)
    if before is not None:
        cond, more = _before(sort, descending, before)
        where.append(cond)
        args.extend(more)
    if backward:
        descending = not descending
    direction = "DESC" if descending else "ASC"
    value = "NULL" if sort is SortKey.CREATED else f"s.{sort.value}"
    select = (f"SELECT {record_columns('b')}, {value} AS sort_value, "
              f"{summary_columns('s', _SUMMARY)} FROM backtests b "
              "LEFT JOIN performance_summaries s ON s.backtest_id = b.id")
    nulls = "DESC" if backward else "ASC"  # runs without the metric last, in page order
    if sort is SortKey.CREATED:
        order = f"b.id {direction}"
    else:
        order = (f"(s.{sort.value} IS NULL) {nulls}, s.{sort.value} {direction}, "
                 f"b.id {direction}")
    sql = (select + (" WHERE " + " AND ".join(where) if where else "")
           + f" ORDER BY {order} LIMIT ?")
    args.append(limit + 1)
    found = await client.execute_query_dict(numbered(postgres, sql), args)
    has_next = len(found) > limit
    found = found[:limit]
    keys: list[Key] = [(None if r["sort_value"] is None else float(r["sort_value"]), int(r["id"]))
                       for r in found]
    summaries = [summary_from_raw(r, _SUMMARY) for r in found]
    if backward:
        found.reverse()
        keys.reverse()
        summaries.reverse()
    return BacktestPage(records_from_raw(found), keys, has_next, summaries)


async def count_backtests(flt: BacktestFilter, *, owner: OwnerScope) -> int:
    """How many backtests ``owner`` may see match ``flt`` (a list's total count)."""
    client = connection()
    postgres = is_postgres(client)
    where, args = _conditions(flt, postgres, owner=owner)
    sql = "SELECT COUNT(*) AS n FROM backtests b" + (" WHERE " + " AND ".join(where)
                                                     if where else "")
    found = await client.execute_query_dict(numbered(postgres, sql), args)
    return int(found[0]["n"])
