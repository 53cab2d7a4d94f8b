"""Live klines: follow an exchange's kline websocket stream (ccxt.pro ``watch_ohlcv``).

``watch_klines`` hands every update (the open bar as it changes, and each bar when it closes) to
``on_update`` and stores each closed bar through the sink. A bar counts as closed when the exchange
says so: on Binance the kline event's ``"x": true``, which the client made by
``tasks.market.exchange.make_exchange`` records (ccxt's rows do not carry it).

Whatever is not stored that way is fetched over REST with ``tasks.market.sync.sync`` ("backfill"): when
the stream shows a bar opening after closed bars the sink lacks, which happens after a dropped
connection (the watcher reconnects with exponential backoff), at start-up when the sink already
holds older candles (or ``since_ms`` is given), and on exchanges without a closed flag. So
after a reconnect the gap is repaired before the watcher goes on; a bar fetched by backfill is
stored but not sent to ``on_update``.

The watcher runs until ``stop_event`` is set; it does not close the exchange (its caller does).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt

from tasks.market.exchange import (
    MARKETS_BUDGET_S,
    Exchange,
    ExchangeUnavailable,
    MarketDataError,
    check_timeframe,
    load_market,
)
from tasks.market.retry import Backoff, call_with_retry, is_transient
from tasks.market.sync import CandleSink, next_open, rows_to_candles, sync


@dataclass(frozen=True)
class KlineUpdate:
    """One state of a bar: ``closed`` is False while the bar is still open."""

    exchange: str
    symbol: str
    timeframe: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool


UpdateCallback = Callable[[KlineUpdate], Any]


@dataclass
class WatchReport:
    """Counts of what a watch did, updated as it runs (pass one in to observe it live)."""

    updates: int = 0
    closed_stored: int = 0
    reconnects: int = 0
    backfills: int = 0
    backfilled: int = 0
    backfill_errors: int = 0


async def watch_klines(
    exchange: Exchange,
    symbol: str,
    timeframe: str,
    *,
    sink: CandleSink,
    on_update: UpdateCallback,
    stop_event: asyncio.Event,
    backfill: bool = True,
    since_ms: int | None = None,
    backoff: Backoff | None = None,
    max_failures: int | None = None,
    max_retries: int = 6,
    report: WatchReport | None = None,
    connect_budget_s: float | None = None,
) -> WatchReport:
    """Follow ``symbol``'s ``timeframe`` klines until ``stop_event`` is set (see the module doc).

    ``on_update`` may be a plain or an async function. ``backfill=False`` stores only the bars
    the stream reports closed. With an empty sink, candles are stored from ``since_ms`` on, or
    from the first bar the stream shows. ``max_failures`` (None: keep trying) bounds consecutive failed connections before
    ``ExchangeUnavailable``; ``max_retries`` and ``backoff`` also govern the REST backfill.
    Loading the markets gives up after ``tasks.market.exchange.MARKETS_BUDGET_S``; with
    ``connect_budget_s``, a stream that has not delivered anything that long after the start
    (the exchange is unreachable) raises ``ExchangeUnavailable`` too, saying so, instead of
    retrying for minutes.
    """
    policy = backoff or Backoff()
    report = report if report is not None else WatchReport()
    started = time.monotonic()
    market = await call_with_retry(exchange, lambda: load_market(exchange, symbol),
                                   what="loading the markets", max_retries=max_retries,
                                   backoff=policy, budget_s=MARKETS_BUDGET_S)
    tf = check_timeframe(exchange, timeframe)
    sym, ex_id, market_id = str(market["symbol"]), str(exchange.id), str(market["id"])
    interval = str((exchange.timeframes or {}).get(tf, tf))
    last_stored = await sink.last_ts(ex_id, sym, tf)
    start_from = since_ms

    async def fill_before(bound: int) -> None:
        """Backfill the closed bars opening before ``bound`` that the sink lacks."""
        nonlocal last_stored
        lo = next_open(last_stored, tf) if last_stored is not None else start_from
        if not backfill or lo is None or lo >= bound:
            return
        report.backfills += 1
        try:
            done = await sync(exchange, sym, tf, lo, bound, sink=sink, max_retries=max_retries,
                              backoff=policy)
        except ExchangeUnavailable:
            report.backfill_errors += 1  # tried again on the next update
            return
        report.backfilled += done.candles_written
        last_stored = await sink.last_ts(ex_id, sym, tf)

    async def handle(rows: list[list[Any]]) -> None:
        nonlocal last_stored, start_from
        rows = sorted((r for r in rows if r and r[0] is not None), key=lambda r: int(r[0]))
        if not rows:
            return
        if start_from is None:
            start_from = int(rows[0][0])  # an empty sink is filled from the first bar seen
        await fill_before(int(rows[0][0]))
        flags = getattr(exchange, "closed_kline_ts", {})
        closed_until = int(flags.get((market_id, interval), -1))
        newest_open = None
        for row in rows:
            t = int(row[0])
            closed = t <= closed_until
            if closed and (last_stored is None or t > last_stored):
                candles = rows_to_candles([row], sym, tf, t, t + 1)
                if len(candles):
                    report.closed_stored += await sink.write(ex_id, sym, tf, candles)
                    last_stored = t
            if not closed:
                newest_open = t
            o, h, lo, c, v = (float(x) for x in row[1:6])
            update = KlineUpdate(ex_id, sym, tf, t, o, h, lo, c, v, closed)
            report.updates += 1
            result = on_update(update)
            if inspect.isawaitable(result):
                await result
        if newest_open is not None:
            await fill_before(newest_open)

    stopper = asyncio.ensure_future(stop_event.wait())
    failures = 0
    delivered = False
    try:
        while not stop_event.is_set():
            watcher = asyncio.ensure_future(exchange.watch_ohlcv(sym, tf))
            await asyncio.wait({watcher, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not watcher.done():
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
                break
            try:
                rows = watcher.result()
            except ccxt.BaseError as err:
                if not is_transient(err):
                    raise MarketDataError(f"{ex_id} refused the {sym} {tf} kline stream: {err}"
                                          ) from err
                failures += 1
                if max_failures is not None and failures > max_failures:
                    raise ExchangeUnavailable(
                        f"{ex_id} {sym} {tf} kline stream failed {failures} times in a row "
                        f"({type(err).__name__}: {err}); try again later") from err
                wait = policy.delay(failures - 1)
                spent = time.monotonic() - started
                if not delivered and connect_budget_s is not None \
                        and spent + wait > connect_budget_s:
                    raise ExchangeUnavailable(
                        f"{ex_id} is unreachable: its {sym} {tf} kline stream did not connect "
                        f"in {spent:.1f} s ({failures} attempt(s); {type(err).__name__}: "
                        f"{str(err)[:200]}); check the network (or the exchange's websocket URL "
                        "setting) and try again later") from err
                report.reconnects += 1
                await asyncio.wait({stopper}, timeout=wait)
                continue
            failures = 0
            delivered = True
            await handle(list(rows))
    finally:
        stopper.cancel()
        await asyncio.gather(stopper, return_exceptions=True)
    return report
