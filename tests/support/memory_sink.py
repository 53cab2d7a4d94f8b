"""``MemorySink``: an in-memory ``CandleSink`` (tests, dry runs), idempotent like the store."""

from __future__ import annotations

import numpy as np

from domain.candles import Candles
from tasks.market.sync import missing_ranges_of


class MemorySink:
    """Candles kept in dicts keyed by (exchange, symbol, timeframe) then open time.

    Writing an open time that is already stored keeps the stored row (as the store's
    ``ON CONFLICT DO NOTHING``). ``writes`` records the size of every write call.
    """

    def __init__(self) -> None:
        self._data: dict[tuple[str, str, str], dict[int, tuple[float, float, float, float, float]]] = {}
        self.writes: list[int] = []

    async def last_ts(self, exchange_id: str, symbol: str, timeframe: str) -> int | None:
        rows = self._data.get((exchange_id, symbol, timeframe))
        return max(rows) if rows else None

    async def write(self, exchange_id: str, symbol: str, timeframe: str, candles: Candles) -> int:
        rows = self._data.setdefault((exchange_id, symbol, timeframe), {})
        new = 0
        for i, t in enumerate(candles.ts.tolist()):
            if t not in rows:
                rows[t] = (float(candles.open[i]), float(candles.high[i]), float(candles.low[i]),
                           float(candles.close[i]), float(candles.volume[i]))
                new += 1
        self.writes.append(len(candles))
        return new

    async def missing_ranges(
        self, exchange_id: str, symbol: str, timeframe: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, int]]:
        rows = self._data.get((exchange_id, symbol, timeframe), {})
        return missing_ranges_of(np.fromiter(rows, dtype=np.int64, count=len(rows)), timeframe,
                                 start_ms, end_ms)

    def candles(self, exchange_id: str, symbol: str, timeframe: str) -> Candles:
        """Everything stored for the key, sorted by open time."""
        rows = self._data.get((exchange_id, symbol, timeframe), {})
        ts = np.array(sorted(rows), dtype=np.int64)
        vals = np.array([rows[t] for t in ts.tolist()], dtype=np.float64).reshape(len(ts), 5)
        return Candles(ts=ts, open=vals[:, 0].copy(), high=vals[:, 1].copy(),
                       low=vals[:, 2].copy(), close=vals[:, 3].copy(), volume=vals[:, 4].copy(),
                       symbol=symbol, timeframe=timeframe)
