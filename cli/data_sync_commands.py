"""``backtest data sync`` and ``backtest data watch``: Binance candles into the store.

``cmd_data_sync(args)``: ``args.symbol``, ``args.timeframe``, ``args.since`` (ISO), ``args.until``
(ISO or None), ``args.exchange``; shows a progress bar on stderr and prints a one-line summary.
``cmd_data_watch(args)``: ``args.symbol``, ``args.timeframe``, ``args.exchange``; prints every
update until Ctrl-C.

Candles go to the store through ``tasks.market.store.StoreSink`` (which invalidates the cached ranges
of the series when ``REDIS_URL`` is set); the exchange's base URLs come from the settings
(``BINANCE_REST_URL``, ``BINANCE_WS_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

from tqdm import tqdm

from cli.errors import UsageError
from cli.inputs import parse_time
from cli.problems import problems_message
from domain.timeframes import iso
from store.db import close_db, init_db
from store.settings import get_settings
from tasks.cache.candles import open_cache
from tasks.jobs.sync_submit import check_sync_request
from tasks.market.live_candles import publisher
from tasks.market.store import StoreSink, exchange_from_settings
from tasks.market.sync import SyncProgress, sync
from tasks.market.watch import KlineUpdate, UpdateCallback, watch_klines
from tasks.messaging.broadcast import Broadcaster, make_broadcaster


@contextlib.asynccontextmanager
async def store_sink() -> AsyncIterator[StoreSink]:
    """The database open, and a sink storing candles in it (invalidating the cached ranges of
    what it stores); closed on the way out. Tests replace it with a memory sink."""
    await init_db()
    try:
        async with open_cache(get_settings()) as cache:  # new candles invalidate cached ranges
            yield StoreSink(cache)
    finally:
        await close_db()


def cmd_data_sync(args: argparse.Namespace) -> int:
    since = parse_time(args.since, "--since")
    until = parse_time(args.until, "--until") if getattr(args, "until", None) else None
    if until is not None and until <= since:
        raise UsageError("--until must be after --since")
    return asyncio.run(_sync(args, since, until))


async def _sync(args: argparse.Namespace, since: int, until: int | None) -> int:
    exchange_id = (getattr(args, "exchange", None) or "binance").strip().lower()
    problems = check_sync_request(exchange_id, args.symbol, args.timeframe, since, until)
    if problems:  # the API's checks, said with the command's options (a demo sync, a typo...)
        raise UsageError(problems_message(problems))
    # disable=None: the bar shows only when stderr is a terminal
    bar = tqdm(total=100.0, unit="%", file=sys.stderr, leave=False, dynamic_ncols=True,
               disable=None, bar_format="{l_bar}{bar}| {n:.0f}% {postfix}",
               desc=f"{args.symbol} {args.timeframe}")

    def on_progress(p: SyncProgress) -> None:
        bar.n = round(p.percent, 1)
        bar.set_postfix_str(f"{p.pages} pages, {p.candles} candles", refresh=False)
        bar.refresh()

    async with store_sink() as sink:
        exchange = exchange_from_settings(exchange_id)
        try:
            report = await sync(exchange, args.symbol, args.timeframe, since, until, sink=sink,
                                progress=on_progress)
        finally:
            bar.close()
            await exchange.close()
    span = (f"{iso(report.first_ts)} .. {iso(report.last_ts)}"
            if report.first_ts is not None and report.last_ts is not None else "nothing new")
    print(f"{report.exchange} {report.symbol} {report.timeframe}: {report.candles_written} "
          f"candles written ({span}) in {report.pages} pages, {report.gaps_repaired} gaps repaired")
    for lo, hi in report.unfilled:
        print(f"  not available from {report.exchange}: {iso(lo)} .. {iso(hi)}")
    return 0


def cmd_data_watch(args: argparse.Namespace) -> int:
    return asyncio.run(_watch(args))


def _print_update(u: KlineUpdate) -> None:
    state = "closed" if u.closed else "open"
    print(f"{iso(u.ts)} {u.symbol} {u.timeframe} o={u.open:g} h={u.high:g} l={u.low:g} "
          f"c={u.close:g} v={u.volume:g} {state}", flush=True)


async def _watch(args: argparse.Namespace) -> int:
    exchange_id = getattr(args, "exchange", None) or "binance"
    stop = asyncio.Event()
    loop: Any = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows: Ctrl-C raises
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    on_update: UpdateCallback = _print_update
    broadcaster: Broadcaster | None = None
    if get_settings().redis_url:
        # API processes on the same Redis stream these updates to their candleUpdates subscribers
        broadcaster = make_broadcaster(get_settings().redis_url)
        publish = publisher(broadcaster)

        async def print_and_publish(update: KlineUpdate) -> None:
            _print_update(update)
            await publish(update)

        on_update = print_and_publish
    async with store_sink() as sink:
        exchange = exchange_from_settings(exchange_id)
        try:
            report = await watch_klines(exchange, args.symbol, args.timeframe, sink=sink,
                                        on_update=on_update, stop_event=stop)
        finally:
            if broadcaster is not None:
                await broadcaster.close()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)
            await exchange.close()
    print(f"stopped: {report.updates} updates, {report.closed_stored} closed candles stored, "
          f"{report.backfilled} backfilled, {report.reconnects} reconnects", file=sys.stderr)
    return 0
