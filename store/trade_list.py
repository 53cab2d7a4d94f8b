"""A backtest's trades read for the API: pages in a chosen order with filters, their count, and
whole columns for analysis.

Every function takes ``owner`` (``store.scope``): the trades of a backtest ``owner`` may not see
are not there (an empty page, a count of 0, no rows).

Order and keys
    :class:`TradeOrder` sorts by a column, ascending or descending, ties broken by ``seq`` (the
    trade's position in the run) in the same direction; ``SEQ`` is the run's trade order. A
    page's key is ``(value, seq)`` of a row (for ``SEQ`` the value is the seq itself); the next
    page starts strictly after the last row's key, the previous one strictly before the first
    row's, so a key stays a valid cursor whatever the filter (keyset pagination, as in
    ``store.backtest_list``; the rows are the run's results, which never change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from domain.engine.records import TRADE_DTYPE
from store.backtest_results import TradeRow
from store.keyset import page_of
from store.models import Trade
from store.scope import OwnerScope, scoped

_ROW_FIELDS = tuple(TradeRow.__dataclass_fields__)


class TradeOrder(StrEnum):
    """A column trades are sorted by (its name in the ``trades`` table)."""

    SEQ = "seq"
    ENTRY_TIME = "entry_time"
    EXIT_TIME = "exit_time"
    PNL = "pnl"
    RETURN = "trade_return"


class Outcome(StrEnum):
    WIN = "win"  # pnl > 0
    LOSS = "loss"  # pnl < 0 (a trade at exactly 0 is neither, as in domain.metrics)


@dataclass(frozen=True)
class TradeFilter:
    """Conditions on listed trades, all of which hold (None or empty: no condition)."""

    long: bool | None = None  # True: direction > 0, False: the others (shorts)
    exit_reasons: tuple[int, ...] = ()  # any of these codes (domain.engine.rules.EXIT_REASONS)
    outcome: Outcome | None = None


Key = tuple[float, int]  # (sort value, seq)


@dataclass(frozen=True)
class TradePage:
    rows: list[TradeRow]
    keys: list[Key]  # each row's key, for cursors
    has_next: bool  # rows lie beyond the page in the direction of travel


def _trades(backtest_id: int, owner: OwnerScope, flt: TradeFilter) -> QuerySet[Trade]:
    query = scoped(Trade.filter(backtest_id=backtest_id), owner, "backtest__owner_id")
    if flt.long is not None:
        query = query.filter(direction__gt=0) if flt.long else query.filter(direction__lte=0)
    if flt.exit_reasons:
        query = query.filter(exit_reason__in=list(flt.exit_reasons))
    if flt.outcome is Outcome.WIN:
        query = query.filter(pnl__gt=0)
    elif flt.outcome is Outcome.LOSS:
        query = query.filter(pnl__lt=0)
    return query


def _beyond(order: TradeOrder, key: Key, greater: bool) -> Q:
    """The rows strictly after ``key`` in ``(value, seq)`` order (``greater``: ascending)."""
    op = "gt" if greater else "lt"
    value, seq = key
    after_seq: dict[str, Any] = {f"seq__{op}": seq}
    if order is TradeOrder.SEQ:
        return Q(**after_seq)
    col = order.value
    beyond: dict[str, Any] = {f"{col}__{op}": value}
    tie: dict[str, Any] = {col: value, **after_seq}
    return Q(**beyond) | Q(**tie)


def _key(order: TradeOrder, row: TradeRow) -> Key:
    value = getattr(row, "seq" if order is TradeOrder.SEQ else order.value)
    return (value, row.seq)


async def list_trades(backtest_id: int, *, owner: OwnerScope, flt: TradeFilter = TradeFilter(),
                      order: TradeOrder = TradeOrder.SEQ, descending: bool = False,
                      after: Key | None = None, before: Key | None = None, limit: int = 20,
                      backward: bool = False) -> TradePage:
    """A page of at most ``limit`` trades of the backtest matching ``flt``, in ``order``,
    strictly after the key ``after`` and before the key ``before``. ``backward``: the
    ``limit`` rows nearest before ``before`` (or the last ones), still in page order;
    ``has_next`` then says whether rows precede the page."""
    query = _trades(backtest_id, owner, flt)
    if after is not None:
        query = query.filter(_beyond(order, after, not descending))
    if before is not None:
        query = query.filter(_beyond(order, before, descending))
    travel_desc = descending != backward
    sign = "-" if travel_desc else ""
    columns = [f"{sign}seq"] if order is TradeOrder.SEQ else [f"{sign}{order.value}",
                                                               f"{sign}seq"]
    found = await query.order_by(*columns).limit(limit + 1).values_list(*_ROW_FIELDS)
    rows, more = page_of([TradeRow(*r) for r in found], limit, backward)
    return TradePage(rows, [_key(order, r) for r in rows], more)


async def count_matching_trades(backtest_id: int, *, owner: OwnerScope,
                                flt: TradeFilter = TradeFilter()) -> int:
    """How many trades of the backtest match ``flt`` (a list's total count)."""
    return await _trades(backtest_id, owner, flt).count()


def _column(name: str) -> str:
    return "trade_return" if name == "return" else name


async def trade_records(backtest_id: int, *, owner: OwnerScope,
                        fields: Sequence[str] | None = None) -> npt.NDArray[np.void]:
    """The backtest's trades in trade order as ``TRADE_DTYPE`` records (only ``fields`` of
    them when given: fewer columns read); empty when there are none or it is not ``owner``'s."""
    names = list(TRADE_DTYPE.names or ()) if fields is None else list(fields)
    dtype: Any = TRADE_DTYPE[names]
    rows = await scoped(Trade.filter(backtest_id=backtest_id), owner, "backtest__owner_id") \
        .order_by("seq").values_list(*(_column(n) for n in names))
    out = np.empty(len(rows), dtype=dtype)
    if rows:
        for name, values in zip(names, zip(*rows, strict=True), strict=True):
            out[name] = values
    return out
