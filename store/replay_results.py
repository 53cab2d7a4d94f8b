"""A replay's results: saved with one statement, read back page by page by byte range.

:func:`save_replay` flips a ``running`` replay (under the attempt's lease when given) to
``succeeded`` and writes, in that one ``UPDATE``: the ``result`` JSON (summaries, totals) and
three packed little-endian arrays (no ORM object or row per fill):

* ``curves``: int64 bar times, then one float64 column per :data:`CURVES` name;
* ``fill_records``: the per-fill table, ``domain.replay.FILL_DTYPE`` records;
* ``trade_records``: the round trips, ``domain.engine.records.TRADE_DTYPE`` records.

Records have a fixed size, so a page of fills or trades is read with ``substr`` on the column
(both backends): the API never loads a whole table to show 100 rows of it. Rows of their own
(as backtests' trades are) were measured: 100,000 fills and as many round trips took ~2.4 s
to COPY on PostgreSQL (foreign-key checks and indexes), the packed columns ~0.2 s. The arrays
are not compressed: float data compresses by ~25 % at a cost of ~0.6 s per year of minutes.
A change of the record dtypes needs the stored values converted (a migration), as a change of
the backtests' curve blob would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from domain.engine.records import TRADE_DTYPE
from domain.replay import FILL_DTYPE
from store.backtest_results import F64, I64, TRADES_LE, TradeRow, numbered
from store.db import connection, is_postgres
from store.models import RunStatus
from store.rawsql import raw_transaction

CURVES = ("equity", "actual_equity", "realized", "unrealized", "position")
"""The per-bar columns kept: the replayed account's equity, the actual account's equity, the
replayed realized and unrealized PnL, and the position (base units) at each close."""
FILLS_LE = FILL_DTYPE.newbyteorder("<")
_MAX_BYTES = 2**31 - 1


@dataclass(frozen=True)
class ReplayResults:
    """What a finished replay produced, as :func:`save_replay` stores it."""

    times: I64  # bar open times (UTC ms)
    curves: dict[str, F64]  # one array per CURVES name, as long as ``times``
    fills: npt.NDArray[np.void]  # FILL_DTYPE, time order
    trades: npt.NDArray[np.void]  # TRADE_DTYPE, the replayed account's round trips
    result: dict[str, Any]  # JSON: summaries and totals


@dataclass(frozen=True)
class FillRow:
    seq: int
    file_row: int
    time: int
    bar: int
    replay_bar: int
    replay_time: int
    side: int
    quantity: float
    price: float
    fee: float
    replay_price: float | None  # None: dropped by the delay
    replay_fee: float | None
    slippage: float | None
    fee_attribution: float | None
    realized_pnl: float | None


def encode_curves(times: I64, curves: dict[str, F64]) -> bytes:
    if any(curves[name].shape != times.shape for name in CURVES):
        raise ValueError("every curve must be as long as the times")
    return times.astype("<i8").tobytes() + b"".join(curves[name].astype("<f8").tobytes()
                                                    for name in CURVES)


def decode_curves(blob: bytes) -> tuple[I64, dict[str, F64]]:
    n = len(blob) // (8 * (1 + len(CURVES)))
    times = np.frombuffer(blob, dtype="<i8", count=n).astype(np.int64)
    curves = {name: np.frombuffer(blob, dtype="<f8", count=n, offset=8 * n * (k + 1))
              .astype(np.float64) for k, name in enumerate(CURVES)}
    return times, curves


async def save_replay(replay_id: int, results: ReplayResults, lease: str | None = None) -> bool:
    """Store a replay's results and mark it ``succeeded`` (see the module docstring); False
    (and nothing written) when it is no longer ``running`` (under ``lease`` when given)."""
    if results.fills.dtype != FILL_DTYPE or results.trades.dtype != TRADE_DTYPE:
        raise ValueError("fills must be FILL_DTYPE and trades TRADE_DTYPE records")
    async with raw_transaction() as raw:
        sql = ("UPDATE replay_executions SET status = ?, progress = 1.0, error = NULL, "
               f"finished_at = ?, result = {raw.json()}, curves = ?, fill_records = ?, "
               "trade_records = ?, lease = NULL WHERE id = ? AND status = ?"
               + (" AND lease = ?" if lease is not None else ""))
        args: list[Any] = [RunStatus.SUCCEEDED.value, raw.now(),
                           orjson.dumps(results.result).decode(),
                           encode_curves(results.times, results.curves),
                           results.fills.astype(FILLS_LE).tobytes(),
                           results.trades.astype(TRADES_LE).tobytes(), replay_id,
                           RunStatus.RUNNING.value]
        if lease is not None:
            args.append(lease)
        return bool(await raw.execute(sql, *args))


async def _records(replay_id: int, column: str, dtype: np.dtype[np.void],
                   after_seq: int | None, limit: int) -> tuple[npt.NDArray[np.void], int]:
    """Records ``after_seq + 1 ..`` (at most ``limit``) of a packed column, and the first's
    seq."""
    first = 0 if after_seq is None else max(0, after_seq + 1)
    size = dtype.itemsize
    client = connection()
    sql = f"SELECT substr({column}, ?, ?) AS part FROM replay_executions WHERE id = ?"
    count = min(max(0, limit), _MAX_BYTES // size)  # substr's arguments are 32-bit
    if first * size >= _MAX_BYTES:
        return np.empty(0, dtype=dtype), first
    rows = await client.execute_query_dict(numbered(is_postgres(client), sql),
                                           [first * size + 1, count * size, replay_id])
    part = rows[0]["part"] if rows else None
    data = b"" if part is None else bytes(part)
    return np.frombuffer(data, dtype=dtype, count=len(data) // size), first


async def _count(replay_id: int, column: str, size: int) -> int:
    client = connection()
    sql = f"SELECT length({column}) AS n FROM replay_executions WHERE id = ?"
    rows = await client.execute_query_dict(numbered(is_postgres(client), sql), [replay_id])
    n = rows[0]["n"] if rows else None
    return 0 if n is None else int(n) // size


def _maybe(x: float) -> float | None:
    return None if x != x else x


async def fills_page(replay_id: int, after_seq: int | None, limit: int) -> list[FillRow]:
    """Up to ``limit`` fills of a replay with ``seq > after_seq``, in time order."""
    recs, first = await _records(replay_id, "fill_records", FILLS_LE, after_seq, limit)
    return [FillRow(first + i, int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]),
                    float(r[6]), float(r[7]), float(r[8]), *map(_maybe, r[9:14]))
            for i, r in enumerate(recs.tolist())]


async def count_fills(replay_id: int) -> int:
    return await _count(replay_id, "fill_records", FILLS_LE.itemsize)


async def trades_page(replay_id: int, after_seq: int | None, limit: int) -> list[TradeRow]:
    """Up to ``limit`` round trips of a replay with ``seq > after_seq``, in order."""
    recs, first = await _records(replay_id, "trade_records", TRADES_LE, after_seq, limit)
    return [TradeRow(first + i, *r) for i, r in enumerate(recs.tolist())]


async def count_trades(replay_id: int) -> int:
    return await _count(replay_id, "trade_records", TRADES_LE.itemsize)


async def replay_curves(replay_id: int) -> tuple[I64, dict[str, F64]] | None:
    """``(times, curves)`` of a finished replay at full resolution (None before)."""
    client = connection()
    sql = numbered(is_postgres(client), "SELECT curves FROM replay_executions WHERE id = ?")
    rows = await client.execute_query_dict(sql, [replay_id])
    if not rows or rows[0]["curves"] is None:
        return None
    return decode_curves(bytes(rows[0]["curves"]))
