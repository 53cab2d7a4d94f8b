"""A backtest's trades read for the API: pages in a chosen order with filters, their count, and
whole columns for analysis.

The trades are one value on the backtest's row (``backtests.trade_records``, packed records:
``store.backtest_results``), so a page is read by loading them and choosing in numpy: a year of
minutes has a few thousand trades, microseconds to filter and sort. Every function takes
``owner`` (``store.scope``): the trades of a backtest ``owner`` may not see are not there (an
empty page, a count of 0, no rows).

Order and keys
    :class:`TradeOrder` sorts by a column, ascending or descending, ties broken by ``seq`` (the
    trade's position in the run) in the same direction; ``SEQ`` is the run's trade order. A NaN
    value sorts after every number (as PostgreSQL sorts it). A page's key is ``(value, seq)`` of
    a row (for ``SEQ`` the value is the seq itself); the next page starts strictly after the
    last row's key, the previous one strictly before the first row's, so a key stays a valid
    cursor whatever the filter (keyset pagination, as in ``store.backtest_list``; the rows are
    the run's results, which never change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from store.backtest_results import TRADES_LE, TradeRow, numbered, unpack_trades
from store.db import connection, is_postgres
from store.models import Backtest
from store.scope import OwnerScope, owner_id_of, scoped

_ROW_FIELDS = tuple(TradeRow.__dataclass_fields__)


class TradeOrder(StrEnum):
    """A column trades are sorted by (``TradeRow``'s name for it)."""

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


_RECORD_FIELD = {TradeOrder.ENTRY_TIME: "entry_time", TradeOrder.EXIT_TIME: "exit_time",
                 TradeOrder.PNL: "pnl", TradeOrder.RETURN: "return"}


async def _load(backtest_id: int, owner: OwnerScope) -> npt.NDArray[np.void]:
    """The backtest's trades as ``TRADE_DTYPE`` records (none when it is not ``owner``'s)."""
    blobs: list[bytes | None] = await scoped(Backtest.filter(id=backtest_id), owner) \
        .values_list("trade_records", flat=True)  # type: ignore[assignment]
    return unpack_trades(blobs[0] if blobs else None)


def _matching(trades: npt.NDArray[np.void], flt: TradeFilter) -> npt.NDArray[np.bool_]:
    mask = np.ones(trades.shape[0], dtype=bool)
    if flt.long is not None:
        mask &= (trades["direction"] > 0) if flt.long else (trades["direction"] <= 0)
    if flt.exit_reasons:
        mask &= np.isin(trades["exit_reason"], np.asarray(flt.exit_reasons))
    if flt.outcome is Outcome.WIN:
        mask &= trades["pnl"] > 0
    elif flt.outcome is Outcome.LOSS:
        mask &= trades["pnl"] < 0
    return mask


def _beyond(values: npt.NDArray[np.float64], seqs: npt.NDArray[np.int64], key: Key,
            greater: bool) -> npt.NDArray[np.bool_]:
    """Which ``(value, seq)`` pairs lie strictly after ``key`` (``greater``: ascending), NaN
    above every number."""
    value, seq = float(key[0]), int(key[1])
    nan, key_nan = np.isnan(values), value != value
    if key_nan:
        above, below, equal = np.zeros_like(nan), ~nan, nan
    else:
        above = nan | (values > value)
        below = ~nan & (values < value)
        equal = values == value
    return (above if greater else below) | (equal & ((seqs > seq) if greater else (seqs < seq)))


def _row(seq: int, r: tuple[object, ...]) -> TradeRow:
    return TradeRow(seq, *r)  # type: ignore[arg-type]  # TRADE_DTYPE's fields, in order


async def list_trades(backtest_id: int, *, owner: OwnerScope, flt: TradeFilter = TradeFilter(),
                      order: TradeOrder = TradeOrder.SEQ, descending: bool = False,
                      after: Key | None = None, before: Key | None = None, limit: int = 20,
                      backward: bool = False) -> TradePage:
    """A page of at most ``limit`` trades of the backtest matching ``flt``, in ``order``,
    strictly after the key ``after`` and before the key ``before``. ``backward``: the
    ``limit`` rows nearest before ``before`` (or the last ones), still in page order;
    ``has_next`` then says whether rows precede the page."""
    trades = await _load(backtest_id, owner)
    seqs = np.flatnonzero(_matching(trades, flt))
    values = seqs.astype(np.float64) if order is TradeOrder.SEQ \
        else trades[_RECORD_FIELD[order]][seqs].astype(np.float64)
    ranked = np.lexsort((seqs, values))  # ascending (value, seq); NaN last
    if descending:
        ranked = ranked[::-1]
    keep = np.ones(ranked.shape[0], dtype=bool)
    if after is not None:
        keep &= _beyond(values[ranked], seqs[ranked], after, not descending)
    if before is not None:
        keep &= _beyond(values[ranked], seqs[ranked], before, descending)
    ranked = ranked[keep]
    limit = max(0, limit)
    taken = ranked[max(0, ranked.shape[0] - limit - 1):] if backward else ranked[:limit + 1]
    more = taken.shape[0] > limit
    chosen = taken[max(0, taken.shape[0] - limit):] if backward else taken[:limit]
    rows = [_row(int(seqs[i]), r) for i, r in zip(chosen, trades[seqs[chosen]].tolist(),
                                                  strict=True)]
    field = None if order is TradeOrder.SEQ else _RECORD_FIELD[order]
    keys: list[Key] = [(int(seqs[i]) if field is None else trades[field][seqs[i]].item(),
                        int(seqs[i])) for i in chosen]  # the column's own type, as cursors hold
    return TradePage(rows, keys, more)


async def count_matching_trades(backtest_id: int, *, owner: OwnerScope,
                                flt: TradeFilter = TradeFilter()) -> int:
    """How many trades of the backtest match ``flt`` (a list's total count)."""
    if flt == TradeFilter():  # the stored length says it, without reading the trades
        client = connection()
        owner_id = owner_id_of(owner)
        sql = "SELECT length(trade_records) AS n FROM backtests WHERE id = ?" + (
            "" if owner_id is None else " AND owner_id = ?")
        args = [backtest_id] + ([] if owner_id is None else [owner_id])
        rows = await client.execute_query_dict(numbered(is_postgres(client), sql), args)
        n = rows[0]["n"] if rows else None
        return 0 if n is None else int(n) // TRADES_LE.itemsize
    return int(_matching(await _load(backtest_id, owner), flt).sum())


async def trade_records(backtest_id: int, *, owner: OwnerScope,
                        fields: Sequence[str] | None = None) -> npt.NDArray[np.void]:
    """The backtest's trades in trade order as ``TRADE_DTYPE`` records (only ``fields`` of
    them when given); empty when there are none or it is not ``owner``'s."""
    trades = await _load(backtest_id, owner)
    return trades if fields is None else trades[list(fields)]
