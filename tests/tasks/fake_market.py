"""The fake Binance's data: a deterministic, seeded candle series per (symbol, interval), and
Binance's ``exchangeInfo`` entry of each symbol.

Prices are random walks (log-returns N(0, 0.2 %)), kept as the strings Binance would send; a bar's
``open`` is the previous ``close``. Series grow in blocks of ``BLOCK`` bars, each block drawn from
a generator seeded with (seed, symbol/interval, block), so any bar is the same whatever was asked
before it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domain.candles import Candles

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
INTERVALS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
             "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000,
             "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000}
MARKETS = {"BTCUSDT": ("BTC", "USDT", 42_000.0), "ETHUSDT": ("ETH", "USDT", 2_300.0),
           "ETHBTC": ("ETH", "BTC", 0.055), "BNBUSDT": ("BNB", "USDT", 310.0)}
BLOCK = 4096


@dataclass
class _Series:
    """Strings of one (symbol, interval) series, grown block by block."""

    o: list[str] = field(default_factory=list)
    h: list[str] = field(default_factory=list)
    low: list[str] = field(default_factory=list)
    c: list[str] = field(default_factory=list)
    v: list[str] = field(default_factory=list)
    last_close: float = 0.0


class MarketSeries:
    """Every symbol's candles from ``start_ms`` (their listing time) on."""

    def __init__(self, seed: int, start_ms: int = START_MS) -> None:
        self.seed, self.start_ms = seed, start_ms
        self._series: dict[tuple[str, str], _Series] = {}

    def _grow(self, symbol: str, interval: str, n: int) -> _Series:
        key = (symbol, interval)
        s = self._series.setdefault(key, _Series(last_close=MARKETS[symbol][2]))
        while len(s.c) < n:
            block = len(s.c) // BLOCK
            salt = zlib.crc32(f"{symbol}/{interval}".encode())
            rng = np.random.default_rng([self.seed, salt, block])
            ret = rng.normal(0.0, 0.002, BLOCK)
            wick = np.abs(rng.normal(0.0, 0.001, (2, BLOCK)))
            vol = rng.lognormal(2.0, 0.8, BLOCK)
            dec = 2 if MARKETS[symbol][2] > 10 else 6
            prev = s.last_close
            for i in range(BLOCK):
                o = prev
                c = o * float(np.exp(ret[i]))
                h, lo = max(o, c) * (1 + wick[0, i]), min(o, c) * (1 - wick[1, i])
                s.o.append(f"{o:.{dec}f}")
                s.c.append(f"{c:.{dec}f}")
                s.h.append(f"{h:.{dec}f}")
                s.low.append(f"{lo:.{dec}f}")
                s.v.append(f"{vol[i]:.8f}")
                prev = float(s.c[-1])
            s.last_close = prev
        return s

    def bar(self, symbol: str, interval: str, open_ms: int, *, at_ms: int | None = None
            ) -> tuple[str, str, str, str, str]:
        """(open, high, low, close, volume) of a bar; partial when ``at_ms`` is inside it."""
        tf = INTERVALS[interval]
        i = (open_ms - self.start_ms) // tf
        s = self._grow(symbol, interval, i + 1)
        o, h, lo, c, v = s.o[i], s.h[i], s.low[i], s.c[i], s.v[i]
        if at_ms is not None and at_ms < open_ms + tf:
            frac = max(0.0, (at_ms - open_ms) / tf)
            fo, fc = float(o), float(o) + (float(c) - float(o)) * frac
            dec = len(o.split(".")[1])
            c = f"{fc:.{dec}f}"
            h, lo = f"{max(fo, fc):.{dec}f}", f"{min(fo, fc):.{dec}f}"
            v = f"{float(v) * frac:.8f}"
        return o, h, lo, c, v

    def closed(self, symbol: str, interval: str, start_ms: int, end_ms: int, now_ms: int
               ) -> Candles:
        """The bars opening in [start_ms, end_ms) that are closed at ``now_ms``, as floats."""
        tf = INTERVALS[interval]
        first = max(self.start_ms, start_ms)
        first = self.start_ms + -(-(first - self.start_ms) // tf) * tf
        last_closed = (now_ms - self.start_ms) // tf * tf + self.start_ms - tf
        opens = list(range(first, min(end_ms, last_closed + 1), tf))
        rows = [[float(x) for x in self.bar(symbol, interval, t)] for t in opens]
        a = np.array(rows, dtype=np.float64).reshape(len(opens), 5)
        return Candles(ts=np.array(opens, dtype=np.int64), open=a[:, 0].copy(),
                       high=a[:, 1].copy(), low=a[:, 2].copy(), close=a[:, 3].copy(),
                       volume=a[:, 4].copy(), symbol=symbol, timeframe=interval)

    def kline_row(self, symbol: str, interval: str, t: int, now_ms: int) -> list[Any]:
        """The 12-field ``/api/v3/klines`` row of the bar opening at ``t``, as of ``now_ms``."""
        tf = INTERVALS[interval]
        o, h, lo, c, v = self.bar(symbol, interval, t, at_ms=now_ms)
        quote = f"{float(v) * float(c):.8f}"
        trades = 100 + (t // tf) % 900
        return [t, o, h, lo, c, v, t + tf - 1, quote, trades, f"{float(v) / 2:.8f}",
                f"{float(quote) / 2:.8f}", "0"]


def symbol_info(sid: str) -> dict[str, Any]:
    """The symbol's entry in ``GET /api/v3/exchangeInfo``, as Binance sends it."""
    base, quote, price = MARKETS[sid]
    tick = "0.01000000" if price > 10 else "0.00000100"
    return {
        "symbol": sid, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
        "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                       "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
        "cancelReplaceAllowed": True, "amendAllowed": True, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000",
             "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
             "stepSize": "0.00001000"},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000",
             "stepSize": "0.00000000"},
            {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10,
             "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 10,
             "maxTrailingBelowDelta": 2000},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5",
             "bidMultiplierDown": "0.2", "askMultiplierUp": "5", "askMultiplierDown": "0.2",
             "avgPriceMins": 5},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5}],
        "permissions": [], "permissionSets": [["SPOT", "MARGIN"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }
