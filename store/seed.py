"""The demo data set in the database, so ``make run`` works offline on a fresh install."""

from __future__ import annotations

from domain.demo import DEMO_START_MS, demo_candles
from store.candles import last_ts, write_candles

DEMO_EXCHANGE = "demo"
DEMO_SYMBOL = "DEMO/USDT"
DEMO_TIMEFRAME = "1h"
DEMO_BARS = 20_000
DEMO_SEED = 42


async def seed_demo_if_empty(n_bars: int = DEMO_BARS, timeframe: str = DEMO_TIMEFRAME) -> int:
    """Write ``domain.demo.demo_candles`` as exchange ``demo``, symbol ``DEMO/USDT`` when the
    database holds no candle of that series; return how many rows were written (0: already
    there). The series is the one ``backtest demo-data`` writes with the same defaults."""
    if await last_ts(DEMO_EXCHANGE, DEMO_SYMBOL, timeframe) is not None:
        return 0
    candles = demo_candles(n_bars=n_bars, timeframe=timeframe, seed=DEMO_SEED,
                           start_ms=DEMO_START_MS, symbol=DEMO_SYMBOL)
    return await write_candles(DEMO_EXCHANGE, DEMO_SYMBOL, timeframe, candles)
