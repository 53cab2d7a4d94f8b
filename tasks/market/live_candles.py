"""Live candles for subscribers: one kline watcher per market, shared and reference-counted.

:class:`LiveCandles` starts a ``tasks.market.watch.watch_klines`` watcher for a market when its first
subscriber arrives (:meth:`LiveCandles.watching`) and stops it when the last one leaves. The
watcher stores each closed bar (no REST backfill: a subscriber never starts a large download;
``backtest data sync`` fills gaps) and publishes every update on the progress channel
(``tasks.messaging.broadcast``) under :func:`candle_channel`, as :func:`update_event` dicts. A watcher that
fails for good publishes an :func:`error_event` there (``error``: the message, ``expected``: True
for a failure of the request itself, a ``DomainError`` such as an unknown symbol, False for one
on the server's side) and is started afresh for the next subscriber. How to report either to a
client (an API error code...) is the subscriber's business.

The app makes one :class:`LiveCandles` (:meth:`LiveCandles.for_settings`) for its lifetime and
closes it on shutdown (:meth:`LiveCandles.aclose`).

With Redis configured, any process can publish on those channels: :func:`publisher` gives the
``on_update`` callback for ``watch_klines`` (e.g. a separately running ``backtest data watch``),
so API subscribers see its candles too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from domain.errors import DomainError
from store.settings import Settings
from tasks.cache.candles import Cache
from tasks.market.exchange import Exchange, ExchangeUnavailable
from tasks.market.retry import Backoff
from tasks.market.store import StoreSink, exchange_from_settings
from tasks.market.sync import CandleSink
from tasks.market.watch import KlineUpdate, UpdateCallback, watch_klines
from tasks.messaging.broadcast import Broadcaster, Event

log = logging.getLogger("tasks.market.live_candles")

MAX_FAILURES = 8
"""Consecutive failed connections before a watcher gives up (with the default backoff, a few
minutes of trying)."""
STOP_TIMEOUT_S = 10.0
CONNECT_BUDGET_S = 5.0
"""How long a new watcher may try to reach the exchange's stream before it gives up: a
subscriber to an unreachable exchange hears so within seconds (see ``error_event``)."""

MarketKey = tuple[str, str, str]  # exchange, symbol, timeframe


def has_live_feed(exchange_id: str) -> bool:
    """Whether the exchange has a kline stream ccxt can watch (the synthetic ``demo`` has
    none)."""
    import ccxt.pro as ccxt_pro

    return exchange_id in ccxt_pro.exchanges


def candle_channel(exchange: str, symbol: str, timeframe: str) -> str:
    """The channel of one market's live candles: ``candles:<exchange>:<symbol>:<timeframe>``."""
    return f"candles:{exchange}:{symbol}:{timeframe}"


def update_event(update: KlineUpdate) -> Event:
    """A kline update as a channel event (``kind`` ``candle``; ``closed`` False while forming)."""
    return {"kind": "candle", "exchange": update.exchange, "symbol": update.symbol,
            "timeframe": update.timeframe, "ts": update.ts, "open": update.open,
            "high": update.high, "low": update.low, "close": update.close,
            "volume": update.volume, "closed": update.closed}


def error_event(message: str, *, expected: bool, unavailable: bool = False) -> Event:
    """A watcher's failure as a channel event (``kind`` ``error``): ``expected`` True when the
    request itself was at fault (a ``DomainError``: unknown symbol, unsupported timeframe...),
    False for a failure on the server's side; ``unavailable`` True when the exchange could not
    be reached (``ExchangeUnavailable``: offline, wrong base URL, down)."""
    event: Event = {"kind": "error", "error": message, "expected": expected}
    if unavailable:
        event["unavailable"] = True
    return event


def publisher(broadcaster: Broadcaster, channel: str | None = None) -> UpdateCallback:
    """An ``on_update`` callback publishing each update on ``channel`` (default: the
    :func:`candle_channel` of the update's own market)."""

    async def on_update(update: KlineUpdate) -> None:
        name = channel or candle_channel(update.exchange, update.symbol, update.timeframe)
        await broadcaster.publish(name, update_event(update))

    return on_update


@dataclass
class _Watcher:
    key: MarketKey
    exchange: Exchange
    stop: asyncio.Event
    task: asyncio.Task[None] | None = None
    refs: int = 0


class LiveCandles:
    """Reference-counted kline watchers publishing on the broadcaster (see the module doc).

    ``exchange_factory(exchange_id)`` builds a ccxt.pro client (closed here when its watcher
    stops); ``sink_factory()`` where closed bars go (default: the store, invalidating the
    cached ranges of ``cache`` as it stores them).
    """

    def __init__(self, broadcaster: Broadcaster, exchange_factory: Callable[[str], Exchange], *,
                 sink_factory: Callable[[], CandleSink] | None = None, cache: Cache | None = None,
                 backoff: Backoff | None = None, max_failures: int | None = MAX_FAILURES,
                 connect_budget_s: float | None = CONNECT_BUDGET_S) -> None:
        self.broadcaster = broadcaster
        self.exchange_factory = exchange_factory
        self.sink_factory: Callable[[], CandleSink] = sink_factory or (lambda: StoreSink(cache))
        self.backoff = backoff
        self.max_failures = max_failures
        self.connect_budget_s = connect_budget_s
        self._watchers: dict[MarketKey, _Watcher] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    @classmethod
    def for_settings(cls, settings: Settings, broadcaster: Broadcaster, *,
                     cache: Cache | None = None) -> LiveCandles:
        """The watchers of an app: exchange clients with the base URLs of ``settings``
        (``tasks.market.store.exchange_from_settings``), closed bars stored through ``cache``."""

        def exchange_factory(exchange_id: str) -> Exchange:
            return exchange_from_settings(exchange_id, settings)

        return cls(broadcaster, exchange_factory, cache=cache)

    def active(self) -> dict[MarketKey, int]:
        """The markets watched now and how many subscribers each has."""
        return {key: w.refs for key, w in self._watchers.items()}

    @contextlib.asynccontextmanager
    async def watching(self, exchange: str, symbol: str, timeframe: str) -> AsyncIterator[str]:
        """Keep the market's watcher running for the ``async with`` body; yields its channel.
        Subscribe to the channel *before* entering, so no update is missed."""
        key = (exchange, symbol, timeframe)
        watcher = self._watchers.get(key)
        if watcher is None or watcher.task is None or watcher.task.done():
            watcher = self._start(key)
        watcher.refs += 1
        try:
            yield candle_channel(*key)
        finally:
            watcher.refs -= 1
            if watcher.refs == 0 and self._watchers.get(key) is watcher:
                del self._watchers[key]
                # stopped in the background: the caller may be being cancelled right now
                task = asyncio.ensure_future(self._stop(watcher))
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)

    def _start(self, key: MarketKey) -> _Watcher:
        watcher = _Watcher(key, self.exchange_factory(key[0]), asyncio.Event())
        watcher.task = asyncio.ensure_future(self._run(watcher))
        self._watchers[key] = watcher
        return watcher

    async def _run(self, watcher: _Watcher) -> None:
        exchange, symbol, timeframe = watcher.key
        channel = candle_channel(*watcher.key)
        try:
            await watch_klines(watcher.exchange, symbol, timeframe, sink=self.sink_factory(),
                               on_update=publisher(self.broadcaster, channel),
                               stop_event=watcher.stop, backfill=False, backoff=self.backoff,
                               max_failures=self.max_failures,
                               connect_budget_s=self.connect_budget_s)
        except ExchangeUnavailable as err:
            log.warning("live candles of %s %s %s: %s", exchange, symbol, timeframe, err)
            await self._fail(channel, error_event(str(err), expected=False, unavailable=True))
        except DomainError as err:
            await self._fail(channel, error_event(str(err), expected=True))
        except Exception as err:
            log.exception("live candles of %s %s %s failed", exchange, symbol, timeframe)
            await self._fail(channel, error_event(
                f"the live {symbol} {timeframe} feed failed on the server side "
                f"({type(err).__name__}); subscribe again later", expected=False))

    async def _fail(self, channel: str, event: Event) -> None:
        with contextlib.suppress(Exception):
            await self.broadcaster.publish(channel, event)

    async def _stop(self, watcher: _Watcher) -> None:
        watcher.stop.set()
        try:
            if watcher.task is not None:
                done, _ = await asyncio.wait({watcher.task}, timeout=STOP_TIMEOUT_S)
                if not done:
                    watcher.task.cancel()
                await asyncio.gather(watcher.task, return_exceptions=True)
        finally:
            with contextlib.suppress(Exception):
                await watcher.exchange.close()

    async def aclose(self) -> None:
        """Stop every watcher (app shutdown)."""
        watchers = list(self._watchers.values())
        self._watchers.clear()
        await asyncio.gather(*(self._stop(w) for w in watchers), *list(self._stopping),
                             return_exceptions=True)
