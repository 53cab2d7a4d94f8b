"""A fake Binance spot API on 127.0.0.1 (random port), in its own thread and event loop.

Serves, in Binance's formats: ``GET /api/v3/exchangeInfo``, ``GET /api/v3/klines`` (12-field rows,
prices as strings, ``startTime``/``endTime``/``limit`` as Binance: default 500, max 1000, error
``-1121`` for an unknown symbol, ``-1120`` for a bad interval), ``GET /api/v3/time``,
``GET /api/v3/ping``, the signed ``GET /api/v3/account`` and ``GET /api/v3/myTrades`` of the
accounts in ``accounts`` (``tests.tasks.fake_binance_account``: API keys, HMAC-SHA256
signatures and Binance's errors for them), and the kline stream on ``/ws`` (``SUBSCRIBE`` requests as ccxt.pro sends them,
then ``{"e": "kline", ...}`` events). Any other path answers 404 and is recorded in ``unexpected``.

Candles come from ``fake_market.MarketSeries``: deterministic, seeded, from ``start_ms`` on.
The server's clock (``now_ms``) decides which bar is still open: klines stop at the bar containing
``now_ms``, whose values are partial. The websocket advances the clock by ``tick_ms`` every
``tick_s`` real seconds and sends one event per tick per subscribed stream (the final ``"x": true``
event of a bar at its close).

Faults, set per test: ``fail_next`` (429 with Retry-After, 418, 500, 503, ... on the next N
requests of a path, optionally after M normal answers), ``delay_next`` (answer after a delay,
beyond the client's timeout), ``skip_once``
(omit a range of bars from the next page that has them), ``duplicate_next`` (repeat rows in the next
pages), ``drop_ws_after`` (close the websocket after N events while the clock jumps ahead).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from domain.candles import Candles
from tests.tasks.fake_binance_account import FakeAccounts
from tests.tasks.fake_market import INTERVALS, MARKETS, START_MS, MarketSeries, symbol_info


@dataclass
class _Fault:
    status: int = 0
    retry_after: str | None = None
    delay_s: float = 0.0
    count: int = 1
    path: str = "/api/v3/klines"
    after: int = 0  # requests to let through first


class FakeBinance:
    """``FakeBinance(seed=7).start()``; point ccxt at ``rest_url``/``ws_url``; ``stop()`` at the end.

    ``requests`` logs every (path, query) served; ``ticks`` counts websocket ticks so far.
    """

    def __init__(self, *, seed: int = 7, start_ms: int = START_MS, now_ms: int | None = None,
                 tick_ms: int = 20_000, tick_s: float = 0.01, ws_max_ticks: int = 60) -> None:
        self.seed = seed
        self.start_ms = start_ms
        self.now_ms = now_ms if now_ms is not None else start_ms + 3_500 * 60_000 + 25_000
        self.tick_ms, self.tick_s, self.ws_max_ticks = tick_ms, tick_s, ws_max_ticks
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.unexpected: list[str] = []
        self.ws_connections = 0
        self.ws_subscriptions: list[str] = []
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._skips: list[tuple[int, int]] = []
        self._duplicates = 0
        self._drop: tuple[int, int] | None = None
        self._drop_pause = 0.0
        self._ticks = 0
        self.market = MarketSeries(seed, start_ms)
        self.accounts = FakeAccounts()
        self._sockets: set[web.WebSocketResponse] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.port = 0
        self.error: BaseException | None = None

    @property
    def ticks(self) -> int:
        return self._ticks

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeBinance:
        self._thread = threading.Thread(target=self._run, name="fake-binance", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or not self.port:
            raise RuntimeError(f"the fake Binance did not start: {self.error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)  # (a second stop() does nothing)
        if self._thread is not None:
            self._thread.join(10)

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # surfaced by start() or the test's assertions
            self.error = err
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/klines", self._klines)
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/ping", self._ping)
        app.router.add_get("/api/v3/account", self._account)
        app.router.add_get("/api/v3/myTrades", self._my_trades)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/ws/{tail:.*}", self._ws)
        app.router.add_route("*", "/{tail:.*}", self._other)
        app.on_shutdown.append(self._close_sockets)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _close_sockets(self, _app: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # ---- faults ----------------------------------------------------------------------------
    def fail_next(self, status: int, count: int = 1, retry_after: float | None = None,
                  path: str = "/api/v3/klines", after: int = 0) -> None:
        """Answer the next ``count`` requests to ``path`` with ``status`` (and Retry-After),
        once ``after`` more have been answered normally."""
        ra = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(_Fault(status=status, retry_after=ra, count=count, path=path,
                                       after=after))

    def delay_next(self, seconds: float, count: int = 1, path: str = "/api/v3/klines",
                   after: int = 0) -> None:
        with self._lock:
            self._faults.append(_Fault(delay_s=seconds, count=count, path=path, after=after))

    def skip_once(self, start_ms: int, end_ms: int) -> None:
        """Leave the bars opening in [start_ms, end_ms) out of the next page that has any."""
        with self._lock:
            self._skips.append((start_ms, end_ms))

    def duplicate_next(self, count: int = 1) -> None:
        """The next ``count`` kline pages repeat some of their rows (out of order)."""
        with self._lock:
            self._duplicates += count

    def drop_ws_after(self, events: int, skip_bars: int = 0, interval: str = "1m",
                      pause_s: float = 0.0) -> None:
        """Close the next websocket ``pause_s`` seconds after its ``events``-th event; the clock
        then jumps ``skip_bars`` bars (time that passes while the client is disconnected)."""
        with self._lock:
            self._drop = (events, skip_bars * INTERVALS[interval])
            self._drop_pause = pause_s

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.path == path and f.count > 0:
                    if f.after > 0:
                        f.after -= 1
                        return None
                    f.count -= 1
                    return f
        return None

    # ---- the series ------------------------------------------------------------------------
    def bar(self, symbol: str, interval: str, open_ms: int, *, at_ms: int | None = None
            ) -> tuple[str, str, str, str, str]:
        return self.market.bar(symbol, interval, open_ms, at_ms=at_ms)

    def expected(self, symbol: str, interval: str, start_ms: int, end_ms: int) -> Candles:
        """The bars opening in [start_ms, end_ms) closed by now, as the client should store them."""
        return self.market.closed(symbol, interval, start_ms, end_ms, self.now_ms)

    # ---- REST ------------------------------------------------------------------------------
    async def _faulted(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.path, dict(request.query)))
        fault = self._take_fault(request.path)
        if fault is None:
            return None
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
            return None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.status in (418, 429):
            body = {"code": -1003, "msg": "Too much request weight used; current limit is 6000 "
                                          "request weight per 1 MINUTE."}
            return web.json_response(body, status=fault.status, headers=headers)
        return web.Response(status=fault.status, text="<html>server error</html>", headers=headers)

    def _error(self, code: int, msg: str) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=400)

    async def _time(self, request: web.Request) -> web.Response:
        return await self._faulted(request) or web.json_response({"serverTime": self.now_ms})

    async def _ping(self, request: web.Request) -> web.Response:
        return await self._faulted(request) or web.json_response({})

    async def _account(self, request: web.Request) -> web.Response:
        return await self._faulted(request) or await self.accounts.account(request)

    async def _my_trades(self, request: web.Request) -> web.Response:
        return (await self._faulted(request)
                or await self.accounts.my_trades(request, MARKETS))

    async def _other(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path_qs}")
        return web.json_response({"code": -1000, "msg": f"not served: {request.path}"}, status=404)

    async def _exchange_info(self, request: web.Request) -> web.Response:
        faulted = await self._faulted(request)
        if faulted is not None:
            return faulted
        return web.json_response({
            "timezone": "UTC", "serverTime": self.now_ms,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
                 "limit": 61000}],
            "exchangeFilters": [],
            "symbols": [symbol_info(sid) for sid in MARKETS],
        })

    async def _klines(self, request: web.Request) -> web.Response:
        faulted = await self._faulted(request)
        if faulted is not None:
            return faulted
        q = request.query
        symbol, interval = q.get("symbol", ""), q.get("interval", "")
        if not symbol or not interval:
            return self._error(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, "
                                      "or malformed.")
        if symbol not in MARKETS:
            return self._error(-1121, "Invalid symbol.")
        if interval not in INTERVALS:
            return self._error(-1120, "Invalid interval.")
        try:
            limit = int(q.get("limit", "500"))
            start = int(q["startTime"]) if "startTime" in q else None
            end = int(q["endTime"]) if "endTime" in q else None
        except ValueError:
            return self._error(-1100, "Illegal characters found in a parameter.")
        if not 1 <= limit <= 1000:
            return self._error(-1130, "Invalid data sent for a parameter.")
        tf = INTERVALS[interval]
        newest = self.start_ms + (self.now_ms - self.start_ms) // tf * tf  # the open bar
        hi = newest if end is None else min(newest, end)
        if start is not None:
            lo = max(self.start_ms, self.start_ms + -(-(start - self.start_ms) // tf) * tf)
            opens = list(range(lo, hi + 1, tf))[:limit]
        else:
            opens = list(range(self.start_ms, hi + 1, tf))[-limit:]
        with self._lock:
            for a, b in list(self._skips):
                if any(a <= t < b for t in opens):
                    opens = [t for t in opens if not a <= t < b]
                    self._skips.remove((a, b))
            dup = self._duplicates > 0
            self._duplicates -= 1 if dup else 0
        rows = [self.market.kline_row(symbol, interval, t, self.now_ms) for t in opens]
        if dup and rows:
            rows = rows + rows[: max(1, len(rows) // 3)]
            rows.insert(len(rows) // 2, list(rows[0]))
        return web.json_response(rows)

    # ---- websocket -------------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.ws_connections += 1
        streams: list[str] = []
        sender = asyncio.ensure_future(self._stream(ws, streams))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                req = json.loads(msg.data)
                method, rid = req.get("method"), req.get("id")
                if method == "SUBSCRIBE":
                    streams.extend(req.get("params", []))
                    self.ws_subscriptions.extend(req.get("params", []))
                    await ws.send_json({"result": None, "id": rid})
                elif method == "UNSUBSCRIBE":
                    for name in req.get("params", []):
                        if name in streams:
                            streams.remove(name)
                    await ws.send_json({"result": None, "id": rid})
                elif method == "LIST_SUBSCRIPTIONS":
                    await ws.send_json({"result": list(streams), "id": rid})
                else:
                    await ws.send_json({"code": 2, "msg": f"Invalid request: {method}", "id": rid})
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            self._sockets.discard(ws)
        return ws

    async def _stream(self, ws: web.WebSocketResponse, streams: list[str]) -> None:
        sent = 0
        while not ws.closed:
            await asyncio.sleep(self.tick_s)
            if not streams or self._ticks >= self.ws_max_ticks:
                continue
            self._ticks += 1
            self.now_ms += self.tick_ms
            for name in list(streams):
                await ws.send_str(json.dumps(self._event(name)))
                sent += 1
            with self._lock:
                drop = self._drop
                if drop is not None and sent >= drop[0]:
                    self._drop = None
            if drop is not None and sent >= drop[0]:
                await asyncio.sleep(self._drop_pause)
                self.now_ms += drop[1]
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by test")
                return

    def _event(self, stream: str) -> dict[str, Any]:
        market, _, kind = stream.partition("@")
        symbol, interval = market.upper(), kind.removeprefix("kline_")
        tf = INTERVALS[interval]
        now = self.now_ms
        newest = self.start_ms + (now - self.start_ms) // tf * tf
        closed = newest == now  # the bar that ended exactly now is final
        t = newest - tf if closed else newest
        o, h, lo, c, v = self.bar(symbol, interval, t, at_ms=None if closed else now)
        first_trade = (t // tf) * 1000
        return {"e": "kline", "E": now, "s": symbol, "k": {
            "t": t, "T": t + tf - 1, "s": symbol, "i": interval, "f": first_trade,
            "L": first_trade + 99, "o": o, "c": c, "h": h, "l": lo, "v": v, "n": 100,
            "x": closed, "q": f"{float(v) * float(c):.8f}", "V": f"{float(v) / 2:.8f}",
            "Q": f"{float(v) * float(c) / 2:.8f}", "B": "0"}}
