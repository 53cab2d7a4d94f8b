"""A backtest's results: saved in one transaction, read back page by page.

:func:`save_results` writes everything in ONE transaction on the driver's own connection:
the status flip to ``succeeded``, the equity curve blob, the trades and the summary row, the
trades in bulk (``COPY`` on PostgreSQL, one ``executemany`` on SQLite). It first deletes rows a
previous attempt of the same run may have left (a redelivered job replaces, never duplicates),
and a failure anywhere rolls it all back: a failed run has no trades and no summary. It only
applies to a ``running`` backtest (``store.backtests`` has the rest of the life cycle).

The equity curve blob (:func:`encode_curve`) is ``b"EQD1"`` then ``zlib`` (level 1) of the
little-endian int64 differences of the bar times, then of the equity's float64 bit patterns
read as int64 (wrapping): both mostly repeat (regular bars, flat equity between trades), which
makes it about 6x faster to write than plain ``zlib(times || equity)`` at level 6 and half the
size. Blobs of that older format (no marker; a zlib stream starts with ``0x78``) still decode. Metrics that are undefined (NaN) are stored as NULL; infinities (a
profit factor without losing trades) are stored as they are.

Reads take a backtest id the caller has already been allowed to see (``store.backtests``
checks the owner).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.engine.records import TRADE_DTYPE
from domain.metrics import METRIC_NAMES
from store.db import connection, is_postgres
from store.models import Backtest, PerformanceSummary, RunStatus, Trade

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_TRADE_COLUMNS = ("backtest_id", "seq", "entry_idx", "exit_idx", "entry_time", "exit_time",
                  "entry_price", "exit_price", "quantity", "direction", "gross_pnl", "fees", "pnl",
                  "trade_return", "exit_reason")
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
    times: I64  # bar open times (UTC ms)
    equity: F64  # equity at each bar's close
    metrics: dict[str, float]
    final_equity: float
    data_fingerprint: str | None = None
    engine_version: str = ""


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


_CURVE_DELTA = b"EQD1"


def encode_curve(times: I64, equity: F64) -> bytes:
    """The equity curve blob (see the module docstring)."""
    if times.shape != equity.shape:
        raise ValueError("times and equity must have the same length")
    words = np.empty(2 * times.shape[0], dtype="<i8")
    n = times.shape[0]
    with np.errstate(over="ignore"):
        words[:n] = np.diff(times.astype(np.int64), prepend=np.int64(0))
        bits = np.ascontiguousarray(equity, dtype=np.float64).view(np.int64)
        words[n:] = np.diff(bits, prepend=np.int64(0))
    return _CURVE_DELTA + zlib.compress(words.tobytes(), 1)


def decode_curve(blob: bytes) -> tuple[I64, F64]:
    if blob[:4] == _CURVE_DELTA:
        words = np.frombuffer(zlib.decompress(blob[4:]), dtype="<i8")
        n = words.shape[0] // 2
        with np.errstate(over="ignore"):
            times = np.cumsum(words[:n], dtype=np.int64)
            equity = np.cumsum(words[n:], dtype=np.int64).view(np.float64)
        return times, equity
    raw = zlib.decompress(blob)
    n = len(raw) // 16
    times = np.frombuffer(raw, dtype="<i8", count=n).astype(np.int64)
    equity = np.frombuffer(raw, dtype="<f8", count=n, offset=8 * n).astype(np.float64)
    return times, equity


def _db_number(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _trade_rows(backtest_id: int, trades: npt.NDArray[np.void]) -> list[tuple[Any, ...]]:
    if trades.dtype != TRADE_DTYPE:
        raise ValueError("trades must be records of domain.engine.records.TRADE_DTYPE")
    n = int(trades.shape[0])
    cols: list[list[Any]] = [[backtest_id] * n, list(range(n))]
    for name in ("entry_idx", "exit_idx", "entry_time", "exit_time", "entry_price",
                 "exit_price", "quantity", "direction", "gross_pnl", "fees", "pnl", "return",
                 "exit_reason"):
        cols.append(trades[name].tolist())
    return list(zip(*cols, strict=True))


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
    # ~60 ms for a year of minutes, in a thread (zlib lets go of the GIL) while the trades are
    # written: the blob goes in last, in the same transaction
    encoding = asyncio.ensure_future(asyncio.to_thread(encode_curve, results.times,
                                                       results.equity))
    try:
        return await _save(backtest_id, results, lease, encoding)
    finally:
        if not encoding.done():
            encoding.cancel()
        with contextlib.suppress(BaseException):
            await encoding


async def _save(backtest_id: int, results: Results, lease: str | None,
                encoding: asyncio.Future[bytes]) -> bool:
    trades = _trade_rows(backtest_id, results.trades)
    update = ("UPDATE backtests SET status = ?, progress = 1.0, error = NULL, finished_at = ?, "
              "data_fingerprint = ?, engine_version = ?, lease = NULL "
              "WHERE id = ? AND status = ?" + (" AND lease = ?" if lease is not None else ""))
    set_curve = "UPDATE backtests SET equity_curve = ? WHERE id = ?"
    client = connection()
    postgres = is_postgres(client)
    now = datetime.now(UTC)
    when: Any = now if postgres else str(now)  # Tortoise keeps SQLite datetimes as str(dt)
    summary = (backtest_id, float(results.final_equity),
               *(_db_number(results.metrics[m]) for m in METRIC_NAMES), when)
    args = [RunStatus.SUCCEEDED.value, when, results.data_fingerprint,
            results.engine_version, backtest_id, RunStatus.RUNNING.value]
    if lease is not None:
        args.append(lease)
    insert_summary = (f"INSERT INTO performance_summaries ({', '.join(_SUMMARY_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(_SUMMARY_COLUMNS))})")
    insert_trade = (f"INSERT INTO trades ({', '.join(_TRADE_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_TRADE_COLUMNS))})")
    clear = ("DELETE FROM trades WHERE backtest_id = ?",
             "DELETE FROM performance_summaries WHERE backtest_id = ?")
    async with client.acquire_connection() as conn:
        if postgres:
            async with conn.transaction():
                status: str = await conn.execute(numbered(True, update), *args)
                if status.endswith(" 0"):
                    return False
                for sql in clear:
                    await conn.execute(numbered(True, sql), backtest_id)
                if trades:
                    await conn.copy_records_to_table("trades", records=trades,
                                                     columns=list(_TRADE_COLUMNS))
                await _insert_summary(conn, True, numbered(True, insert_summary), summary)
                await conn.execute(numbered(True, set_curve), await encoding, backtest_id)
            return True
        await conn.execute("BEGIN")
        try:
            cursor = await conn.execute(update, args)
            if cursor.rowcount == 0:
                await conn.rollback()
                return False
            for sql in clear:
                await conn.execute(sql, (backtest_id,))
            await conn.executemany(insert_trade, trades)
            await _insert_summary(conn, False, insert_summary, summary)
            await conn.execute(set_curve, (await encoding, backtest_id))
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
    return True


async def _insert_summary(conn: Any, postgres: bool, sql: str, row: tuple[Any, ...]) -> None:
    if postgres:
        await conn.execute(sql, *row)
    else:
        await conn.execute(sql, row)


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
