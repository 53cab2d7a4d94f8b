"""``candleUpdates``: live candles of one market as the exchange's kline stream reports them.

The subscription subscribes to the market's channel (``tasks.market.live_candles.candle_channel``)
first, then keeps the app's shared watcher of that market running while it lasts
(``tasks.market.live_candles.LiveCandles``), so no update published in between is lost. Each closed bar
is sent once (several publishers, e.g. another API process and ``backtest data watch`` over
Redis, may report it); the forming bar's updates only with ``includeForming: true``, flagged
``closed: false``. History comes from the ``candles`` query: load it, then subscribe, and
merge by time (the first update may repeat the last bar loaded).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from domain.timeframes import parse_timeframe
from graph.context import Context, Services
from graph.errors import ApiError, BadUserInput
from tasks.market.exchange import Exchange
from tasks.market.live_candles import LiveCandles, candle_channel, live_candles_of
from tasks.market.store import exchange_from_settings


@strawberry.type(description="One state of a bar: closed, or still forming (closed false).")
class CandleUpdate:
    exchange: str
    symbol: str
    timeframe: str
    time: float = strawberry.field(description="Open time, UTC milliseconds.")
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool

    @classmethod
    def from_event(cls, e: dict[str, Any]) -> CandleUpdate:
        return cls(exchange=str(e["exchange"]), symbol=str(e["symbol"]),
                   timeframe=str(e["timeframe"]), time=float(e["ts"]), open=float(e["open"]),
                   high=float(e["high"]), low=float(e["low"]), close=float(e["close"]),
                   volume=float(e["volume"]), closed=bool(e["closed"]))


def manager_of(services: Services) -> LiveCandles:
    """The app's live candle watchers (made on first use, kept in ``services.extra``)."""

    def exchange_factory(exchange_id: str) -> Exchange:
        return exchange_from_settings(exchange_id, services.settings)

    return live_candles_of(services.extra, services.broadcaster, exchange_factory,
                           cache=services.cache)


class FeedFailed(ApiError):
    """The market's live feed stopped (the watcher gave up); ``code`` says whose fault."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


async def candle_updates(info: Info[Context, None], symbol: str, timeframe: str,
                         exchange: str = "binance", include_forming: bool = False
                         ) -> AsyncGenerator[CandleUpdate, None]:
    info.context.require_viewer()
    exchange, symbol, tf = exchange.strip().lower(), symbol.strip(), parse_timeframe(timeframe)
    if not symbol:
        raise BadUserInput("give a symbol, written BASE/QUOTE (e.g. BTC/USDT)")
    services = info.context.services
    last_closed = -1
    async with services.broadcaster.subscribe(candle_channel(exchange, symbol, tf)) as events, \
            manager_of(services).watching(exchange, symbol, tf):
        async for event in events:
            kind = event.get("kind")
            if kind == "error":
                raise FeedFailed(str(event.get("error")), str(event.get("code", "INTERNAL")))
            if kind != "candle":
                continue
            if event.get("closed"):
                if int(event["ts"]) <= last_closed:
                    continue
                last_closed = int(event["ts"])
            elif not include_forming:
                continue
            yield CandleUpdate.from_event(event)
