"""The signed part of the fake Binance (``tests.tasks.fake_binance``): accounts with API keys,
their balances and their fills.

Requests are checked as Binance checks them (``SIGNED`` endpoints): the ``X-MBX-APIKEY``
header names the key (``-2014`` when missing, ``-2015`` with HTTP 401 for an unknown or revoked
one), ``signature`` is the hex HMAC-SHA256 of the query string before it, keyed by the secret
(``-1022``, HTTP 400, when it does not match), ``timestamp`` is required and must be within
``recvWindow`` (default 5000 ms, at most 60000) of the real clock (``-1021``).

Served: ``GET /api/v3/account`` (balances) and ``GET /api/v3/myTrades`` (``symbol`` required;
``startTime``/``endTime`` at most 24 hours apart (``-1127``), one of them alone meaning the 24
hours after/before it; ``fromId`` (trades with ``id >= fromId``; not with a time, ``-1128``);
``limit`` default 500, at most 1000; oldest first). ``signed`` counts the requests that passed
the checks, ``refused`` those that did not (by error code).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DAY_MS = 24 * 3600 * 1000


@dataclass
class FakeAccount:
    api_key: str
    secret: str
    balances: dict[str, str] = field(default_factory=dict)
    trades: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by symbol id
    revoked: bool = False


def make_trades(symbol: str, start_ms: int, count: int, step_ms: int, *, first_id: int = 1,
                price: float = 40_000.0) -> list[dict[str, Any]]:
    """``count`` fills of ``symbol`` (a Binance id, BTCUSDT) every ``step_ms`` from
    ``start_ms``, in the body format of ``myTrades``, alternately bought and sold."""
    quote = "USDT" if symbol.endswith("USDT") else symbol[-3:]
    out = []
    for n in range(count):
        p = price * (1 + 0.001 * (n % 17))
        qty = 0.001 * (1 + n % 5)
        out.append({"symbol": symbol, "id": first_id + n, "orderId": 10_000 + first_id + n,
                    "orderListId": -1, "price": f"{p:.2f}", "qty": f"{qty:.8f}",
                    "quoteQty": f"{p * qty:.8f}", "commission": f"{p * qty * 0.001:.8f}",
                    "commissionAsset": quote, "time": start_ms + n * step_ms,
                    "isBuyer": n % 2 == 0, "isMaker": n % 3 == 0, "isBestMatch": True})
    return out


class FakeAccounts:
    """The accounts of the fake exchange (thread-safe: tests add them from their own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, FakeAccount] = {}
        self.signed = 0
        self.refused: Counter[int] = Counter()

    def add(self, api_key: str, secret: str, *, balances: dict[str, str] | None = None,
            trades: list[dict[str, Any]] | None = None) -> FakeAccount:
        account = FakeAccount(api_key, secret, dict(balances or {"USDT": "1000.00000000"}))
        for t in trades or []:
            account.trades.setdefault(t["symbol"], []).append(t)
        for rows in account.trades.values():
            rows.sort(key=lambda t: t["id"])
        with self._lock:
            self._by_key[api_key] = account
        return account

    def revoke(self, api_key: str) -> None:
        with self._lock:
            self._by_key[api_key].revoked = True

    def _refuse(self, code: int, msg: str, status: int = 400) -> web.Response:
        with self._lock:
            self.refused[code] += 1
        return web.json_response({"code": code, "msg": msg}, status=status)

    def check(self, request: web.Request) -> FakeAccount | web.Response:
        """The account a signed request is from, or Binance's error answer."""
        key = request.headers.get("X-MBX-APIKEY", "")
        if not key:
            return self._refuse(-2014, "API-key format invalid.", 401)
        with self._lock:
            account = self._by_key.get(key)
        if account is None or account.revoked:
            return self._refuse(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        parts = request.query_string.split("&")
        given = [p.split("=", 1)[1] for p in parts if p.startswith("signature=")]
        payload = "&".join(p for p in parts if not p.startswith("signature="))
        if not given or not given[0]:
            return self._refuse(-1102, "Mandatory parameter 'signature' was not sent, was "
                                       "empty/null, or malformed.")
        expected = hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given[0]):
            return self._refuse(-1022, "Signature for this request is not valid.")
        q = request.query
        try:
            timestamp = int(q["timestamp"])
            window = int(q.get("recvWindow", "5000"))
        except KeyError:
            return self._refuse(-1102, "Mandatory parameter 'timestamp' was not sent, was "
                                       "empty/null, or malformed.")
        except ValueError:
            return self._refuse(-1100, "Illegal characters found in a parameter.")
        if window > 60_000:
            return self._refuse(-1131, "recvWindow must be less than 60000")
        now = int(time.time() * 1000)
        if timestamp >= now + 1000 or now - timestamp > window:
            return self._refuse(-1021, "Timestamp for this request is outside of the "
                                       "recvWindow.")
        with self._lock:
            self.signed += 1
        return account

    async def account(self, request: web.Request) -> web.Response:
        found = self.check(request)
        if isinstance(found, web.Response):
            return found
        balances = [{"asset": a, "free": v, "locked": "0.00000000"}
                    for a, v in sorted(found.balances.items())]
        return web.json_response({
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0, "canTrade": True, "canWithdraw": True, "canDeposit": True,
            "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": int(time.time() * 1000), "accountType": "SPOT",
            "balances": balances, "permissions": ["SPOT"], "uid": 354937868})

    async def my_trades(self, request: web.Request, markets: Any) -> web.Response:
        found = self.check(request)
        if isinstance(found, web.Response):
            return found
        q = request.query
        symbol = q.get("symbol", "")
        if not symbol:
            return self._refuse(-1102, "Mandatory parameter 'symbol' was not sent, was "
                                       "empty/null, or malformed.")
        if symbol not in markets:
            return self._refuse(-1121, "Invalid symbol.")
        try:
            limit = int(q.get("limit", "500"))
            start = int(q["startTime"]) if "startTime" in q else None
            end = int(q["endTime"]) if "endTime" in q else None
            from_id = int(q["fromId"]) if "fromId" in q else None
        except ValueError:
            return self._refuse(-1100, "Illegal characters found in a parameter.")
        if not 1 <= limit <= 1000:
            return self._refuse(-1130, "Invalid data sent for a parameter.")
        if from_id is not None and (start is not None or end is not None):
            return self._refuse(-1128, "Combination of optional parameters invalid.")
        if start is not None and end is not None and end - start > DAY_MS:
            return self._refuse(-1127, "More than 24 hours between startTime and endTime.")
        rows = list(found.trades.get(symbol, []))
        if from_id is not None:
            return web.json_response([t for t in rows if t["id"] >= from_id][:limit])
        if start is None and end is None:
            return web.json_response(rows[-limit:])
        lo = start if start is not None else end - DAY_MS  # type: ignore[operator]
        hi = end if end is not None else lo + DAY_MS
        return web.json_response([t for t in rows if lo <= t["time"] <= hi][:limit])
