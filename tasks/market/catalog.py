"""Which markets an exchange has: to resolve and check the symbols of imported transactions.

:func:`market_catalog` answers with, for an exchange ccxt knows (``binance``...), its spot
markets as ccxt lists them (``load_markets`` through the configured REST URL, e.g.
``BINANCE_REST_URL``), kept in this process for :data:`TTL_S`; for any other exchange id (the
synthetic ``demo``), the symbols whose candles are stored under it. When the exchange cannot
be reached, the answer is None (the import then checks symbols by their form only, and says
so in the log): an import must not depend on the network being up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import ccxt

from store.markets import stored_symbols
from store.settings import Settings
from tasks.market.store import exchange_from_settings

log = logging.getLogger("tasks.market.catalog")

TTL_S = 3600.0
TIMEOUT_S = 4.0
"""How long loading the markets may take before symbols are checked by their form only."""


@dataclass(frozen=True)
class MarketCatalog:
    """``ids``: the exchange's market ids -> unified symbols (``BTCUSDT`` -> ``BTC/USDT``);
    ``symbols``: every unified symbol; ``source``: ``exchange`` or ``stored candles``."""

    exchange: str
    ids: dict[str, str]
    symbols: frozenset[str]
    source: str


_cache: dict[tuple[str, str | None], tuple[float, MarketCatalog]] = {}


async def _from_exchange(exchange_id: str, settings: Settings) -> MarketCatalog:
    exchange = exchange_from_settings(exchange_id, settings)
    exchange.timeout = int(TIMEOUT_S * 1000)
    try:
        markets = await asyncio.wait_for(exchange.load_markets(), TIMEOUT_S)
    finally:
        await exchange.close()
    ids = {str(m["id"]).upper(): str(m["symbol"]) for m in markets.values()
           if m.get("spot") and ":" not in str(m["symbol"])}
    return MarketCatalog(exchange_id, ids, frozenset(ids.values()), "exchange")


async def _from_store(exchange_id: str) -> MarketCatalog:
    symbols = await stored_symbols(exchange_id)
    ids = {s.replace("/", "").upper(): s for s in symbols}
    return MarketCatalog(exchange_id, ids, frozenset(symbols), "stored candles")


async def market_catalog(exchange_id: str, settings: Settings) -> MarketCatalog | None:
    """The markets of ``exchange_id`` (see the module docstring); None when its list cannot be
    loaded now."""
    if exchange_id not in ccxt.exchanges:
        return await _from_store(exchange_id)
    key = (exchange_id, settings.binance_rest_url if exchange_id == "binance" else None)
    cached = _cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < TTL_S:
        return cached[1]
    try:
        catalog = await _from_exchange(exchange_id, settings)
    except (ccxt.BaseError, OSError, TimeoutError) as err:
        log.warning("could not load the markets of %s (%s: %s): symbols are checked by their "
                    "form only", exchange_id, type(err).__name__, err)
        return None
    _cache[key] = (time.monotonic(), catalog)
    return catalog
