"""Which exchange a market is stored under, when a request does not say.

Every API argument naming an exchange (``candles``, ``marketDataCoverage``, ``runBacktest``,
``runSweep``, ``runReplay``, ``candleUpdates``) may be omitted: the market is then looked up
where its candles are (``store.markets.exchanges_with``). Exactly one exchange holding candles
of that symbol and timeframe is the answer (the synthetic ``DEMO/USDT`` is under ``demo``);
none is :class:`UnknownMarket`, several are :class:`AmbiguousMarket` listing them. Both are
``DomainError``\\ s whose ``field`` says which request field is at fault, so the API reports
them as ``BAD_USER_INPUT`` or as a problem of a ``ValidationError``.

(No ccxt import here: reading stored candles must not pay for it.) ``syncMarketData`` is not
resolved: it fetches from an exchange (``binance`` by default).
"""

from __future__ import annotations

from domain.errors import DomainError
from domain.timeframes import parse_timeframe
from store.markets import exchanges_with


class UnknownMarket(DomainError):
    """No candles of the market are stored (under the exchange asked for, or anywhere)."""

    field = "symbol"


class AmbiguousMarket(DomainError):
    """The market is stored under several exchanges and the request did not say which."""

    field = "exchange"

    def __init__(self, message: str, exchanges: list[str]) -> None:
        super().__init__(message)
        self.exchanges = exchanges


def _how_to_get(symbol: str, timeframe: str) -> str:
    return (f"sync it first (syncMarketData, or `backtest data sync {symbol} {timeframe}`); "
            "the demo market is DEMO/USDT 1h, under the exchange demo")


async def resolve_exchange(symbol: str, timeframe: str) -> str:
    """The one exchange holding candles of ``symbol`` and ``timeframe``; raises
    :class:`UnknownMarket` or :class:`AmbiguousMarket` (and ``DataError`` for a timeframe
    the platform does not know)."""
    symbol = symbol.strip()
    tf = parse_timeframe(timeframe)
    if not symbol:
        raise UnknownMarket("give a symbol, written BASE/QUOTE (e.g. BTC/USDT)")
    found = await exchanges_with(symbol, tf)
    if not found:
        hint = _how_to_get(symbol, tf)
        if symbol != symbol.upper() and await exchanges_with(symbol.upper(), tf):
            hint = f"symbols are case-sensitive: did you mean {symbol.upper()}?"
        raise UnknownMarket(f"unknown market {symbol} {tf}: no candles of it are stored under "
                            f"any exchange; {hint}")
    if len(found) > 1:
        raise AmbiguousMarket(f"{symbol} {tf} is stored under several exchanges "
                              f"({', '.join(found)}): say which one with exchange", found)
    return found[0]


async def exchange_or_resolved(exchange: str | None, symbol: str, timeframe: str) -> str:
    """``exchange`` normalised (trimmed, lower case) when given, else :func:`resolve_exchange`."""
    if exchange is not None and exchange.strip():
        return exchange.strip().lower()
    return await resolve_exchange(symbol, timeframe)


async def check_stored(exchange: str, symbol: str, timeframe: str) -> None:
    """Raise :class:`UnknownMarket` when no candle of the market is stored under ``exchange``
    (saying where it is stored instead, if anywhere): for a request that found no candles, so
    that an unknown market is an error and not an empty answer."""
    tf = parse_timeframe(timeframe)
    found = await exchanges_with(symbol, tf)
    if exchange in found:
        return
    where = (f"it is stored under {', '.join(found)}" if found
             else _how_to_get(symbol, tf))
    raise UnknownMarket(f"unknown market {symbol} {tf} on {exchange}: no candles of it are "
                        f"stored there; {where}")
