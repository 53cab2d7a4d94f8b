"""``candleUpdates``: live candles of one market as the exchange's kline stream reports them.

The subscription subscribes to the market's channel (``tasks.market.live_candles.candle_channel``)
first, then keeps the app's shared watcher of that market running while it lasts
(``Services.live_candles``, a ``tasks.market.live_candles.LiveCandles``), so no update published
in between is lost. Each closed bar is sent once (several publishers, e.g. another API process
and ``backtest data watch`` over Redis, may report it); the forming bar's updates only with
``includeForming: true``, flagged ``closed: false``. History comes from the ``candles`` query:
load it, then subscribe, and merge by time (the first update may repeat the last bar loaded).

A watcher that gives up ends the subscription with an error: ``BAD_USER_INPUT`` for a failure
the watcher reports as ``expected`` (the request's fault: an unknown symbol...), else
``INTERNAL``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from domain.timeframes import parse_timeframe
from graph.context import Context
from graph.errors import BAD_USER_INPUT, INTERNAL, ApiError, BadUserInput
from tasks.market.live_candles import candle_channel


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


class FeedFailed(ApiError):
    """The market's live feed stopped (the watcher gave up): ``BAD_USER_INPUT`` when the failure
    was ``expected`` (the request's fault, e.g. an unknown symbol), else ``INTERNAL``."""

    def __init__(self, message: str, expected: bool) -> None:
        super().__init__(message)
        self.code = BAD_USER_INPUT if expected else INTERNAL

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> FeedFailed:
        """The failure an ``error`` event of the channel reports
        (``tasks.market.live_candles.error_event``)."""
        return cls(str(event.get("error")), expected=event.get("expected") is True)


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
            services.live_candles.watching(exchange, symbol, tf):
        async for event in events:
            kind = event.get("kind")
            if kind == "error":
                raise FeedFailed.from_event(event)
            if kind != "candle":
                continue
            if event.get("closed"):
                if int(event["ts"]) <= last_closed:
                    continue
                last_closed = int(event["ts"])
            elif not include_forming:
                continue
            yield CandleUpdate.from_event(event)
