"""A backtest's results: saved in one transaction, read back page by page.

:func:`save_results` writes everything in ONE transaction on the driver's own connection: the
status flip to ``succeeded`` with the equity curve blob and the trades (one value each, on the
backtest's row), then the summary row. It first deletes a summary a previous attempt of the
same run may have left (a redelivered job replaces, never duplicates), and a failure anywhere
rolls it all back: a failed run has no trades and no summary. It only applies to a ``running``
backtest (``store.backtests`` has the rest of the life cycle).

The equity curve blob is ``store.curves.encode_curve``'s (older blobs still decode); the
engine's process encodes it (``Results.curve``), else it is encoded here, in a thread. The
trades are packed ``TRADE_DTYPE`` records, little-endian (:data:`TRADES_LE`), in trade order:
``store.trade_list`` pages, sorts and filters them. Metrics that are undefined (NaN) are stored
as NULL; infinities (a profit factor without losing trades) are stored as they are.

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
from store.curves import decode_curve, encode_curve
from store.db import connection, is_postgres
from store.models import Backtest, PerformanceSummary, RunStatus

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

TRADES_LE = TRADE_DTYPE.newbyteorder("<")
"""How trades are stored (``backtests.trade_records``, ``replay_executions.trade_records``)."""
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


def pack_trades(trades: npt.NDArray[np.void]) -> bytes:
    """``TRADE_DTYPE`` records as stored (:data:`TRADES_LE`)."""
    if trades.dtype != TRADE_DTYPE:
        raise ValueError("trades must be records of domain.engine.records.TRADE_DTYPE")
    return trades.astype(TRADES_LE).tobytes()


def unpack_trades(blob: bytes | None) -> npt.NDArray[np.void]:
    """Stored trades back as ``TRADE_DTYPE`` records (none for NULL)."""
    data = b"" if blob is None else bytes(blob)
    return np.frombuffer(data, dtype=TRADES_LE).astype(TRADE_DTYPE)


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
    trades = pack_trades(results.trades)
    client = connection()
    postgres = is_postgres(client)
    now = datetime.now(UTC)
    when: Any = now if postgres else str(now)  # Tortoise keeps SQLite datetimes as str(dt)
    summary = (backtest_id, float(results.final_equity),
               *(_db_number(results.metrics[m]) for m in METRIC_NAMES), when)
    args = [RunStatus.SUCCEEDED.value, when, results.data_fingerprint,
            results.engine_version, curve, trades, backtest_id, RunStatus.RUNNING.value]
    if lease is not None:
        args.append(lease)
    async with client.acquire_connection() as conn:
        if postgres:
            async with conn.transaction():
                status: str = await conn.execute(numbered(True, _update(lease)), *args)
                if status.endswith(" 0"):
                    return False
                await conn.execute(numbered(True, _CLEAR), backtest_id)
                await _insert_summary(conn, True, summary)
            return True
        await conn.execute("BEGIN")
        try:
            cursor = await conn.execute(_update(lease), args)
            if cursor.rowcount == 0:
                await conn.rollback()
                return False
            await conn.execute(_CLEAR, (backtest_id,))
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
            "data_fingerprint = ?, engine_version = ?, equity_curve = ?, trade_records = ?, "
            "lease = NULL "
            "WHERE id = ? AND status = ?" + (" AND lease = ?" if lease is not None else ""))


_INSERT_SUMMARY = (f"INSERT INTO performance_summaries ({', '.join(_SUMMARY_COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(_SUMMARY_COLUMNS))})")
_CLEAR = "DELETE FROM performance_summaries WHERE backtest_id = ?"  # a previous attempt's


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


async def equity_curve(backtest_id: int) -> tuple[I64, F64] | None:
    """``(times, equity)`` of a finished run, at full resolution (None before it finishes)."""
    blobs = await Backtest.filter(id=backtest_id).values_list("equity_curve", flat=True)
    if not blobs or blobs[0] is None:
        return None
    return decode_curve(bytes(blobs[0]))
