"""Run the fake Binance (``tests.tasks.fake_binance``) as a process of its own, for the web
client's end-to-end tests (``client/e2e/globalSetup.ts`` starts it and points ``backtest serve``
at it with ``BINANCE_REST_URL`` / ``BINANCE_WS_URL``).

    python -m tests.tasks.serve_fake_binance [--seed 7] [--tick-s 0.5] [--tick-ms 20000]

Both servers bind 127.0.0.1 on random ports. Once they listen, one JSON line goes to stdout:
``{"rest_url": ..., "ws_url": ..., "control_url": ...}``. The exchange's clock starts at the fake's
default (2024-01-01 plus 3,500 minutes and 25 s) and moves ``--tick-ms`` every ``--tick-s`` real
seconds while a kline stream is subscribed (a 1m bar closes every third tick by default).

The control server (a test's side door, never the browser's) answers ``GET /events`` with
every kline event the websocket has sent so far, oldest first, as Binance's ``{"e": "kline",
"k": {...}}`` payloads, ``GET /state`` with the clock, the ticks and the paths served that a
real Binance would not have been asked (``unexpected``), and ``POST /delay`` with
``{"seconds": 4, "count": 1}`` makes the next ``count`` kline pages answer ``seconds`` late (a
sync that runs long enough to be cancelled). ``POST /accounts`` with ``{"api_key": ..., "api_secret":
..., "trades": {"BTCUSDT": 1500}, "start_ms": 1704067200000, "step_ms": 60000, "balances":
{"USDT": "1000"}}`` adds an account whose signed requests (``/api/v3/account``,
``/api/v3/myTrades``) are answered (``tests.tasks.fake_binance_account``; trades generated per
symbol from ``start_ms``, every ``step_ms``, default 2024-01-01 and one minute); ``POST
/accounts/revoke`` with ``{"api_key": ...}`` makes a key refused from then on. ``GET /state``
also counts the signed requests accepted and refused. SIGTERM or SIGINT stops both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from typing import Any

from aiohttp import web

from tests.tasks.fake_binance import FakeBinance
from tests.tasks.fake_binance_account import make_trades
from tests.tasks.fake_market import START_MS


class RecordingFakeBinance(FakeBinance):
    """The fake, keeping every kline event its websocket sent (for the control server)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[dict[str, Any]] = []
        self._sent_lock = threading.Lock()

    def _event(self, stream: str) -> dict[str, Any]:
        event = super()._event(stream)
        with self._sent_lock:
            self.sent.append(event)
        return event

    def sent_events(self) -> list[dict[str, Any]]:
        with self._sent_lock:
            return list(self.sent)


async def serve(fake: RecordingFakeBinance) -> None:
    async def events(_request: web.Request) -> web.Response:
        return web.json_response(fake.sent_events())

    async def state(_request: web.Request) -> web.Response:
        return web.json_response({"now_ms": fake.now_ms, "ticks": fake.ticks,
                                  "ws_connections": fake.ws_connections,
                                  "ws_subscriptions": fake.ws_subscriptions,
                                  "unexpected": fake.unexpected,
                                  "signed": fake.accounts.signed,
                                  "refused": {str(k): v for k, v in
                                              fake.accounts.refused.items()}})

    async def delay(request: web.Request) -> web.Response:
        body = await request.json()
        seconds, count = float(body.get("seconds", 0)), int(body.get("count", 1))
        if not (0 < seconds <= 30 and 0 < count <= 10):
            return web.json_response({"error": "seconds 0..30, count 1..10"}, status=400)
        fake.delay_next(seconds, count)
        return web.json_response({"seconds": seconds, "count": count})

    async def accounts(request: web.Request) -> web.Response:
        body = await request.json()
        key, secret = str(body.get("api_key", "")), str(body.get("api_secret", ""))
        trades = body.get("trades") or {}
        if not key or not secret or not isinstance(trades, dict):
            return web.json_response({"error": "api_key, api_secret, trades {SYMBOL: count}"},
                                     status=400)
        start, step = int(body.get("start_ms", START_MS)), int(body.get("step_ms", 60_000))
        rows = [t for symbol, count in trades.items()
                for t in make_trades(str(symbol), start, min(int(count), 100_000), step)]
        fake.accounts.add(key, secret, balances=body.get("balances"), trades=rows)
        return web.json_response({"api_key": key, "trades": len(rows)})

    async def revoke(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            fake.accounts.revoke(str(body.get("api_key", "")))
        except KeyError:
            return web.json_response({"error": "no such api_key"}, status=404)
        return web.json_response({"revoked": True})

    app = web.Application()
    app.router.add_post("/accounts", accounts)
    app.router.add_post("/accounts/revoke", revoke)
    app.router.add_post("/delay", delay)
    app.router.add_get("/events", events)
    app.router.add_get("/state", state)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"rest_url": fake.rest_url, "ws_url": fake.ws_url,
                      "control_url": f"http://127.0.0.1:{port}"}), flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tick-s", type=float, default=0.5,
                        help="real seconds between websocket ticks (default 0.5)")
    parser.add_argument("--tick-ms", type=int, default=20_000,
                        help="exchange milliseconds each tick moves the clock (default 20000)")
    parser.add_argument("--max-ticks", type=int, default=100_000,
                        help="ticks after which the websocket goes quiet (default 100000)")
    args = parser.parse_args(argv)
    fake = RecordingFakeBinance(seed=args.seed, tick_s=args.tick_s, tick_ms=args.tick_ms,
                                ws_max_ticks=args.max_ticks)
    fake.start()
    try:
        asyncio.run(serve(fake))
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
