"""A backtest's results: saved in one transaction, read back page by page.

:func:`save_results` writes everything in ONE transaction on the driver's own connection:
the status flip to ``succeeded``, the equity curve blob, the trades and the summary row, the
trades in bulk (``COPY`` on PostgreSQL, one ``executemany`` on SQLite). It first deletes rows a
previous attempt of the same run may have left (a redelivered job replaces, never duplicates),
and a failure anywhere rolls it all back: a failed run has no trades and no summary. It only
applies to a ``running`` backtest (``store.backtests`` has the rest of the life cycle).

The equity curve blob is ``store.curves.encode_curve``'s (older blobs still decode); the
engine's process encodes it (``Results.curve``), else it is encoded here, in a thread. Metrics
that are undefined (NaN) are stored as NULL; infinities (a profit factor without losing
trades) are stored as they are.

Reads take a backtest id the caller has already been allowed to see (``store.backtests``
checks the owner).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.engine.records import TRADE_DTYPE
from domain.metrics import METRIC_NAMES
from store import pgcopy
from store.curves import decode_curve, encode_curve
from store.db import connection, is_postgres
from store.models import Backtest, PerformanceSummary, RunStatus, Trade

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_TRADE_COLUMNS = ("backtest_id", "seq", "entry_idx", "exit_idx", "entry_time", "exit_time",
                  "entry_price", "exit_price", "quantity", "direction", "gross_pnl", "fees", "pnl",
                  "trade_return", "exit_reason")
_TRADE_WIRE = (">i4", ">i4", ">i8", ">i8", ">i8", ">i8", ">f8", ">f8", ">f8", ">i2", ">f8", ">f8",
               ">f8", ">f8", ">i2")  # the PostgreSQL types of _TRADE_COLUMNS
_TRADE_FIELDS = ("entry_idx", "exit_idx", "entry_time", "exit_time", "entry_price",
                 "exit_price", "quantity", "direction", "gross_pnl", "fees", "pnl", "return",
                 "exit_reason")
_SUMMARY_COLUMNS = ("backtest_id", "final_equity", *METRIC_NAMES, "created_at")


@dataclass(frozen=True)
class Summary:
    """A run's metrics: every ``METRIC_NAMES`` entry (NaN where undefined) and its final equity."""

    backtest_id: int
    final_equity: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class Results:
    """What a finished run produced, as :func:`save_results` stores it."""

    trades: npt.NDArray[np.void]  # TRADE_DTYPE
    times: I64 | None  # bar open times (UTC ms); None when ``curve`` is given
    equity: F64 | None  # equity at each bar's close; None when ``curve`` is given
    metrics: dict[str, float]
    final_equity: float
    data_fingerprint: str | None = None
    engine_version: str = ""
    curve: bytes | None = None  # the curve already encoded (``store.curves.encode_curve``)


@dataclass(frozen=True)
class TradeRow:
    seq: int
    entry_idx: int
    exit_idx: int
    entry_time: int
    exit_time: int
    entry_price: float
    exit_price: float
    quantity: float
    direction: int
    gross_pnl: float
    fees: float
    pnl: float
    trade_return: float
    exit_reason: int


def _db_number(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _trade_rows(backtest_id: int, trades: npt.NDArray[np.void]) -> list[tuple[Any, ...]]:
    if trades.dtype != TRADE_DTYPE:
        raise ValueError("trades must be records of domain.engine.records.TRADE_DTYPE")
    n = int(trades.shape[0])
    cols: list[list[Any]] = [[backtest_id] * n, list(range(n))]
    for name in _TRADE_FIELDS:
        cols.append(trades[name].tolist())
    return list(zip(*cols, strict=True))


def _trade_copy(backtest_id: int, trades: npt.NDArray[np.void]) -> memoryview:
    """The trades as a binary COPY payload of ``_TRADE_COLUMNS`` (no Python object per row)."""
    n = int(trades.shape[0])
    values: list[Any] = [backtest_id, np.arange(n), *(trades[f] for f in _TRADE_FIELDS)]
    return pgcopy.encode_columns(list(zip(_TRADE_WIRE, values, strict=True)), n)


def numbered(postgres: bool, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, numbered ``$n`` for PostgreSQL."""
    if not postgres:
        return sql
    parts = sql.split("?")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


async def save_results(backtest_id: int, results: Results, lease: str | None = None) -> bool:
    """Store a run's results and mark it ``succeeded``, in one transaction (see the module
    docstring); False (and nothing written) when the run is no longer ``running`` (under
    ``lease`` when given: ``store.leases``)."""
    curve = results.curve
    if curve is None:  # a few ms for a year of minutes: off the event loop all the same
        if results.times is None or results.equity is None:
            raise ValueError("give the curve: times and equity, or the encoded curve")
        curve = await asyncio.to_thread(encode_curve, results.times, results.equity)
    if results.trades.dtype != TRADE_DTYPE:
        raise ValueError("trades must be records of domain.engine.records.TRADE_DTYPE")
    client = connection()
    postgres = is_postgres(client)
    now = datetime.now(UTC)
    when: Any = now if postgres else str(now)  # Tortoise keeps SQLite datetimes as str(dt)
    summary = (backtest_id, float(results.final_equity),
               *(_db_number(results.metrics[m]) for m in METRIC_NAMES), when)
    args = [RunStatus.SUCCEEDED.value, when, results.data_fingerprint,
            results.engine_version, curve, backtest_id, RunStatus.RUNNING.value]
    if lease is not None:
        args.append(lease)
    async with client.acquire_connection() as conn:
        if postgres:
            async with conn.transaction():
                status: str = await conn.execute(numbered(True, _update(lease)), *args)
                if status.endswith(" 0"):
                    return False
                for sql in _CLEAR:
                    await conn.execute(numbered(True, sql), backtest_id)
                if results.trades.shape[0]:
                    await conn.copy_to_table("trades", source=_trade_copy(
                        backtest_id, results.trades), columns=list(_TRADE_COLUMNS),
                        format="binary")
                await _insert_summary(conn, True, summary)
            return True
        await conn.execute("BEGIN")
        try:
            cursor = await conn.execute(_update(lease), args)
            if cursor.rowcount == 0:
                await conn.rollback()
                return False
            for sql in _CLEAR:
                await conn.execute(sql, (backtest_id,))
            await conn.executemany(_INSERT_TRADE, _trade_rows(backtest_id, results.trades))
            await _insert_summary(conn, False, summary)
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
    return True


async def _insert_summary(conn: Any, postgres: bool, row: tuple[Any, ...]) -> None:
    if postgres:
        await conn.execute(numbered(True, _INSERT_SUMMARY), *row)
    else:
        await conn.execute(_INSERT_SUMMARY, row)


def _update(lease: str | None) -> str:
    return ("UPDATE backtests SET status = ?, progress = 1.0, error = NULL, finished_at = ?, "
            "data_fingerprint = ?, engine_version = ?, equity_curve = ?, lease = NULL "
            "WHERE id = ? AND status = ?" + (" AND lease = ?" if lease is not None else ""))


_INSERT_SUMMARY = (f"INSERT INTO performance_summaries ({', '.join(_SUMMARY_COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(_SUMMARY_COLUMNS))})")
_INSERT_TRADE = (f"INSERT INTO trades ({', '.join(_TRADE_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(_TRADE_COLUMNS))})")
_CLEAR = ("DELETE FROM trades WHERE backtest_id = ?",  # a previous attempt's rows
          "DELETE FROM performance_summaries WHERE backtest_id = ?")


def _summary(row: dict[str, Any], prefix: str = "") -> Summary:
    metrics = {m: math.nan if row[prefix + m] is None else float(row[prefix + m])
               for m in METRIC_NAMES}
    return Summary(int(row[prefix + "backtest_id"]), float(row[prefix + "final_equity"]),
                   metrics)


def summary_columns(alias: str, prefix: str) -> str:
    """The SELECT list of a raw SQL query joining ``performance_summaries`` as ``alias``,
    each column renamed ``prefix + name``, for :func:`summary_from_raw`."""
    return ", ".join(f"{alias}.{c} AS {prefix}{c}"
                     for c in ("backtest_id", "final_equity", *METRIC_NAMES))


def summary_from_raw(row: dict[str, Any], prefix: str) -> Summary | None:
    """The summary in a row selected with :func:`summary_columns` (None: no summary row)."""
    return None if row[prefix + "backtest_id"] is None else _summary(row, prefix)


async def summaries_for(backtest_ids: Sequence[int]) -> list[Summary | None]:
    """The summary of each backtest (None when it has none yet), in one query: the batch
    function of the API's summary DataLoader."""
    rows = await PerformanceSummary.filter(backtest_id__in=list(backtest_ids)).values(
        "backtest_id", "final_equity", *METRIC_NAMES)
    by_id = {int(r["backtest_id"]): _summary(r) for r in rows}
    return [by_id.get(i) for i in backtest_ids]


async def trades_page(backtest_id: int, after_seq: int | None, limit: int) -> list[TradeRow]:
    """Up to ``limit`` trades of a backtest with ``seq > after_seq``, in trade order."""
    query = Trade.filter(backtest_id=backtest_id)
    if after_seq is not None:
        query = query.filter(seq__gt=after_seq)
    fields = [f for f in TradeRow.__dataclass_fields__]
    rows = await query.order_by("seq").limit(limit).values_list(*fields)
    return [TradeRow(*r) for r in rows]


async def count_trades(backtest_id: int) -> int:
    return await Trade.filter(backtest_id=backtest_id).count()


async def equity_curve(backtest_id: int) -> tuple[I64, F64] | None:
    """``(times, equity)`` of a finished run, at full resolution (None before it finishes)."""
    blobs = await Backtest.filter(id=backtest_id).values_list("equity_curve", flat=True)
    if not blobs or blobs[0] is None:
        return None
    return decode_curve(bytes(blobs[0]))
