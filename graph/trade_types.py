"""GraphQL types of a run's closed trades: the trade, its connection, and for backtests the
order and filter arguments of ``Backtest.trades``.

A trade's ``side`` and ``exitReason`` are enums generated from the domain's lists
(``domain.engine.rules.EXIT_REASONS``). Replays page their trades (held in memory, numbered 0,
1, 2...) by position with :func:`trade_page`; a backtest's are rows read a page at a time with
:func:`backtest_trade_page`, in trade order or in an ``orderBy`` order, filtered, with keyset
cursors (``store.trade_list``): in trade order a cursor holds the trade's ``seq``, which is also
its position (so these cursors are those :func:`trade_page` makes), in another order the order
and the row's ``(value, seq)``. A cursor of another order is ``BAD_USER_INPUT``; a cursor stays
valid when only the filter changes (the next page starts after that row's key).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry

from domain.engine.rules import EXIT_REASONS
from graph.errors import BadUserInput
from graph.series import FloatColumn, float_column
from graph.sync_jobs import from_ms
from graph.types_common import (
    MAX_CURSOR_INT,
    PageInfo,
    SortDirection,
    Window,
    cursor_int,
    cursor_number,
    decode_cursor,
    domain_enum,
    encode_cursor,
    offset_cursor,
    offset_window,
)
from store import trade_list
from store.backtest_results import TradeRow
from store.scope import OwnerScope

if TYPE_CHECKING:
    ExitReason = Enum
    TradeSide = Enum
else:
    ExitReason = domain_enum("ExitReason", EXIT_REASONS,
                             "Why a trade was closed (domain.engine.rules.EXIT_REASONS).")
    TradeSide = domain_enum("TradeSide", ("long", "short"), "A trade's direction.")


@strawberry.type(description="A closed trade (the last one may be a position closed at the end "
                             "of the data: exitReason end_of_data).")
class Trade:
    seq: int = strawberry.field(description="0-based position in the run's trade list.")
    entry_time: datetime = strawberry.field(description="Open time of the entry bar.")
    exit_time: datetime
    entry_price: float
    exit_price: float
    quantity: float
    direction: int = strawberry.field(description="+1 long, -1 short (see side).")
    side: TradeSide
    gross_pnl: float
    fees: float
    pnl: float = strawberry.field(description="Net of fees.")
    trade_return: float = strawberry.field(name="return",
                                           description="pnl / (quantity * entry price).")
    exit_reason: ExitReason

    @classmethod
    def from_row(cls, r: TradeRow) -> Trade:
        return cls(seq=r.seq, entry_time=from_ms(r.entry_time), exit_time=from_ms(r.exit_time),
                   entry_price=r.entry_price, exit_price=r.exit_price, quantity=r.quantity,
                   direction=r.direction, side=TradeSide("long" if r.direction > 0 else "short"),
                   gross_pnl=r.gross_pnl, fees=r.fees, pnl=r.pnl,
                   trade_return=r.trade_return,
                   exit_reason=ExitReason(EXIT_REASONS[r.exit_reason]))


def _column(name: str) -> Any:
    def resolve(root: TradeColumns) -> FloatColumn:
        return float_column(root.records[name], nullable=False)  # trades are finite

    return resolve


@strawberry.type(description="Every trade of a run at once, as parallel arrays in trade order "
                             "(index i is the trade whose seq is i), for charts and exports: "
                             "one request however many trades there are (the trades "
                             "connection pages them). Times are UTC epoch milliseconds, as in "
                             "every chart series.")
class TradeColumns:
    records: strawberry.Private[Any]  # TRADE_DTYPE records
    count: int
    entry_times: list[float] = strawberry.field(resolver=_column("entry_time"),
                                                description="Open time of each entry bar.")
    exit_times: list[float] = strawberry.field(resolver=_column("exit_time"))
    entry_prices: list[float] = strawberry.field(resolver=_column("entry_price"))
    exit_prices: list[float] = strawberry.field(resolver=_column("exit_price"))
    quantities: list[float] = strawberry.field(resolver=_column("quantity"))
    directions: list[float] = strawberry.field(resolver=_column("direction"),
                                               description="+1 long, -1 short.")
    gross_pnl: list[float] = strawberry.field(resolver=_column("gross_pnl"))
    fees: list[float] = strawberry.field(resolver=_column("fees"))
    pnl: list[float] = strawberry.field(resolver=_column("pnl"), description="Net of fees.")
    returns: list[float] = strawberry.field(resolver=_column("return"),
                                            description="pnl / (quantity * entry price).")

    @strawberry.field(description="Why each trade was closed.")
    def exit_reasons(self) -> list[ExitReason]:
        return [ExitReason(EXIT_REASONS[int(r)]) for r in self.records["exit_reason"]]


async def backtest_trade_columns(backtest_id: int, *, owner: OwnerScope) -> TradeColumns:
    """Every trade of a backtest ``owner`` may see, as columns (none when there are none)."""
    records = await trade_list.trade_records(backtest_id, owner=owner)
    return TradeColumns(records=records, count=int(records.shape[0]))


@strawberry.type
class TradeEdge:
    cursor: str
    node: Trade


@strawberry.type(description="A page of a run's trades, in trade order unless an order is "
                             "given.")
class TradeConnection:
    edges: list[TradeEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many trades the list holds (those "
                                                    "matching the filter, if any), on every "
                                                    "page.")


async def trade_page(rows_page: Any, count: Any, run_id: int, first: int | None,
                     after: str | None, last: int | None, before: str | None
                     ) -> TradeConnection:
    """A page of the trades of run ``run_id`` (numbered 0, 1, 2... by ``seq``), forward or
    backward: ``rows_page(run_id, after_seq, limit)`` and ``count(run_id)`` read them."""
    total = await count(run_id)
    start, end, info = offset_window(total, first, after, last, before)
    rows = await rows_page(run_id, start - 1 if start > 0 else None, end - start) \
        if end > start else []
    edges = [TradeEdge(cursor=offset_cursor(r.seq), node=Trade.from_row(r)) for r in rows]
    return TradeConnection(edges=edges, total_count=total, page_info=info)


@strawberry.enum(description="A column of trades to sort by.")
class TradeOrderField(Enum):
    ENTRY_TIME = "entry_time"
    EXIT_TIME = "exit_time"
    PNL = "pnl"
    RETURN = "trade_return"


@strawberry.input(description="Order of a run's trades: by a column, trades with equal values "
                              "in trade order (in the same direction).")
class TradeOrder:
    field: TradeOrderField = TradeOrderField.ENTRY_TIME
    direction: SortDirection = SortDirection.ASC


@strawberry.enum(description="Winning or losing trades.")
class TradeOutcome(Enum):
    WINNERS = "win"
    LOSERS = "loss"


@strawberry.input(description="Conditions on a run's trades (all must hold; a condition left "
                              "out, or an empty list, holds for every trade).")
class TradeFilter:
    side: TradeSide | None = None
    exit_reason: list[ExitReason] | None = strawberry.field(
        default=None, description="Any of these.")
    outcome: TradeOutcome | None = strawberry.field(
        default=None, description="WINNERS: pnl > 0; LOSERS: pnl < 0 (a trade at exactly 0 is "
                                  "neither, as in winRate).")

    def to_store(self) -> trade_list.TradeFilter:
        return trade_list.TradeFilter(
            long=None if self.side is None else self.side.value == "long",
            exit_reasons=tuple(EXIT_REASONS.index(r.value) for r in self.exit_reason or ()),
            outcome=None if self.outcome is None else trade_list.Outcome(self.outcome.value))


_TIMES = (trade_list.TradeOrder.ENTRY_TIME, trade_list.TradeOrder.EXIT_TIME)


def _key(cursor: str | None, order: trade_list.TradeOrder, descending: bool
         ) -> trade_list.Key | None:
    """The row key in a cursor of this order (``BAD_USER_INPUT`` for another order's)."""
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if order is trade_list.TradeOrder.SEQ and len(values) == 1:
        seq = cursor_int(values[0], cursor, -1, MAX_CURSOR_INT)
        return (seq, seq)
    if len(values) != 4 or values[0] != order.value or values[1] is not descending:
        raise BadUserInput("this cursor belongs to another order of the trades: keep the same "
                           "'orderBy' while paging, or leave the cursor out")
    value = cursor_int(values[2], cursor) if order in _TIMES else cursor_number(values[2], cursor)
    if value is None:
        raise BadUserInput(f"invalid cursor {cursor[:40]!r}: pass a cursor returned by this "
                           "list, or leave it out")
    return (value, cursor_int(values[3], cursor, 0, MAX_CURSOR_INT))


async def backtest_trade_page(backtest_id: int, *, owner: OwnerScope, window: Window,
                              order_by: TradeOrder | None, filter: TradeFilter | None
                              ) -> TradeConnection:
    """A page of a backtest's trades (see the module docstring)."""
    order = trade_list.TradeOrder.SEQ if order_by is None \
        else trade_list.TradeOrder(order_by.field.value)
    descending = order_by is not None and order_by.direction == SortDirection.DESC
    flt = (filter or TradeFilter()).to_store()
    page = await trade_list.list_trades(
        backtest_id, owner=owner, flt=flt, order=order, descending=descending,
        after=_key(window.after, order, descending), before=_key(window.before, order, descending),
        limit=window.size, backward=window.backward)
    edges = [TradeEdge(node=Trade.from_row(row), cursor=offset_cursor(row.seq)
                       if order is trade_list.TradeOrder.SEQ
                       else encode_cursor((order.value, descending, value, seq)))
             for row, (value, seq) in zip(page.rows, page.keys, strict=True)]
    total = await trade_list.count_matching_trades(backtest_id, owner=owner, flt=flt)
    return TradeConnection(edges=edges, total_count=total,
                           page_info=window.page_info([e.cursor for e in edges], page.has_next))
