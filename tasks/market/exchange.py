"""Exchange adapters: ccxt clients with configurable base URLs, and market/timeframe validation.

``make_exchange`` builds a ccxt client (``ccxt.pro`` when the exchange has websockets, so one
object serves both REST and streams) with ccxt's rate limiter on. The REST and websocket base
URLs are arguments, not settings: ``store/settings.py`` reads ``BINANCE_REST_URL`` and
``BINANCE_WS_URL`` and the caller passes them here; ``None`` keeps ccxt's own URLs.

- ``rest_url`` is an origin (``scheme://host[:port]``, optionally with a path prefix). It replaces
  the origin of *every* REST base URL of the exchange and keeps their paths, so for Binance
  ``https://testnet.binance.vision`` serves ``/api/v3/...`` (and ``/sapi/...``, ``/fapi/...``:
  nothing is ever sent to the real hosts when it is set).
- ``ws_url`` is the full base URL of the spot stream endpoint as the exchange documents it, e.g.
  ``wss://stream.testnet.binance.vision/ws``; ccxt appends ``/<n>`` and subscribes with
  ``{"method": "SUBSCRIBE", ...}`` messages. Other websocket URLs get their origin replaced.

Binance markets are loaded for the spot market type only by default (``market_types``): one
request, ``GET /api/v3/exchangeInfo``. ccxt's ``fetchCurrencies`` makes no request without API keys.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

from domain.errors import DataError, DomainError
from domain.timeframes import parse_timeframe

DEFAULT_TIMEOUT_MS = 10_000
WS_CONNECT_TIMEOUT_MS = 5_000
"""How long a websocket may take to open (ccxt.pro waits 10 s by default)."""
MARKETS_TIMEOUT_MS = 4_000
"""How long one request loading the markets may take (a symbol check must not hang)."""
MARKETS_BUDGET_S = 5.0
"""How long loading the markets is retried before the exchange is reported unreachable."""

Exchange = Any
"""A ccxt exchange instance (ccxt is untyped)."""


class MarketDataError(DomainError):
    """A market-data job cannot go on: the message says what the exchange refused and what to do."""


class UnknownSymbol(MarketDataError):
    """The symbol is not one of the exchange's markets."""


class UnsupportedTimeframe(MarketDataError):
    """The timeframe is not offered by the exchange (or not one the platform knows)."""


class ExchangeUnavailable(MarketDataError):
    """Transient failures (network, 429, 5xx, timeouts) outlasted the retries."""


def make_exchange(
    exchange_id: str = "binance",
    rest_url: str | None = None,
    ws_url: str | None = None,
    *,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ws_connect_timeout_ms: int = WS_CONNECT_TIMEOUT_MS,
    async_: bool = True,
    market_types: Sequence[str] = ("spot",),
    config: Mapping[str, Any] | None = None,
) -> Exchange:
    """A ccxt client for ``exchange_id`` with rate limiting on and base URLs overridden when given.

    ``async_=True`` (the default) gives a ``ccxt.pro`` instance when the exchange has websocket
    support (REST and ``watch_*`` on one object), else a ``ccxt.async_support`` one; the caller must
    ``await exchange.close()``. ``async_=False`` gives the blocking ``ccxt`` class (REST only).
    ``market_types`` limits which Binance market lists ``load_markets`` fetches. ``config`` is
    merged into ccxt's constructor arguments last. ``timeout_ms`` bounds each REST request,
    ``ws_connect_timeout_ms`` the opening of a websocket.
    """
    if async_:
        module: Any = ccxt_pro if exchange_id in ccxt_pro.exchanges else ccxt_async
    else:
        module = ccxt
    cls = getattr(module, exchange_id, None) if exchange_id in ccxt.exchanges else None
    if cls is None:
        near = difflib.get_close_matches(exchange_id, ccxt.exchanges, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise MarketDataError(f"unknown exchange {exchange_id!r}{hint}")
    if async_ and exchange_id == "binance":
        cls = _binance_with_kline_flags(cls)
    options: dict[str, Any] = {}
    if exchange_id.startswith("binance"):
        options = {"fetchMarkets": {"types": list(market_types)}, "fetchMargins": False}
    extra = dict(config or {})
    options.update(extra.pop("options", None) or {})
    settings: dict[str, Any] = {"enableRateLimit": True, "timeout": int(timeout_ms),
                                "options": options, **extra}
    exchange = cls(settings)
    streaming = getattr(exchange, "streaming", None)
    if isinstance(streaming, dict):  # ccxt.pro: whole seconds, at least 1
        streaming["connectionTimeout"] = max(1000, int(ws_connect_timeout_ms))
    if rest_url:
        override_rest_url(exchange, rest_url)
    if ws_url:
        override_ws_url(exchange, ws_url)
    return exchange


@functools.cache
def _binance_with_kline_flags(base: type) -> type:
    """ccxt.pro's binance, also remembering which klines Binance marked closed (``k.x``).

    ccxt's ``watch_ohlcv`` returns bare ``[t, o, h, l, c, v]`` rows; this keeps, per
    ``(market id, interval)``, the open time of the latest kline that arrived with ``"x": true``
    in ``closed_kline_ts`` (ccxt documents overriding ``handle_ohlcv`` to see the raw message).
    """

    class BinanceKlineFlags(base):  # type: ignore[misc]
        def __init__(self, config: Any = None) -> None:
            super().__init__(config or {})
            self.closed_kline_ts: dict[tuple[str, str], int] = {}

        def handle_ohlcv(self, client: Any, message: Any) -> Any:
            kline = message.get("k") if isinstance(message, dict) else None
            if isinstance(kline, dict) and kline.get("x") is True:
                key = (str(kline.get("s")), str(kline.get("i")))
                t = int(kline.get("t", -1))
                self.closed_kline_ts[key] = max(self.closed_kline_ts.get(key, -1), t)
            return super().handle_ohlcv(client, message)

    BinanceKlineFlags.__name__ = base.__name__
    return BinanceKlineFlags


def _replace_origin(url: str, origin: str) -> str:
    parts = urlsplit(url)
    return origin.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def override_rest_url(exchange: Exchange, rest_url: str) -> None:
    """Send ``exchange``'s REST calls to ``rest_url`` (scheme, host and port; the paths stay)."""
    _check_url(rest_url, ("http", "https"), "REST")
    api = exchange.urls.get("api")
    if isinstance(api, str):
        exchange.urls["api"] = _replace_origin(api, rest_url)
        return
    for key, value in list(api.items()):
        if isinstance(value, str) and value.startswith("http"):
            api[key] = _replace_origin(value, rest_url)


def override_ws_url(exchange: Exchange, ws_url: str) -> None:
    """Open ``exchange``'s websocket streams on ``ws_url`` (no-op without websocket support)."""
    _check_url(ws_url, ("ws", "wss"), "websocket")
    api = exchange.urls.get("api")
    if not isinstance(api, dict) or "ws" not in api:
        return  # no websocket support in this class (async_=False or REST-only exchange)
    ws = api["ws"]
    if isinstance(ws, str):
        api["ws"] = ws_url
        return
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(ws_url))

    def walk(node: dict[str, Any], top: bool) -> None:
        for key, value in list(node.items()):
            if isinstance(value, dict):
                walk(value, False)
            elif isinstance(value, str) and value.startswith("ws"):
                spot = top and key in ("spot", "margin")
                node[key] = ws_url if spot else _replace_origin(value, origin)

    walk(ws, True)


def _check_url(url: str, schemes: tuple[str, ...], what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc:
        raise MarketDataError(
            f"bad {what} base URL {url!r}: expected {' or '.join(schemes)}://host[:port][/path]")


async def load_market(exchange: Exchange, symbol: str) -> dict[str, Any]:
    """The exchange's market for ``symbol`` (loading the markets once, each request within
    :data:`MARKETS_TIMEOUT_MS`).

    Accepts the unified form (``BTC/USDT``) in any case, and the exchange's own id (``BTCUSDT``).
    Raises ``UnknownSymbol`` naming the closest symbols the exchange has.
    """
    saved = exchange.timeout
    exchange.timeout = min(int(saved), MARKETS_TIMEOUT_MS)  # a symbol check must not hang
    try:
        markets: dict[str, Any] = await exchange.load_markets()
    finally:
        exchange.timeout = saved
    wanted = symbol.strip()
    if wanted in markets:
        return dict(markets[wanted])
    if wanted.upper() in markets:
        return dict(markets[wanted.upper()])
    by_id = exchange.markets_by_id or {}
    for candidate in (wanted, wanted.upper()):
        found = by_id.get(candidate)
        if found:
            return dict(found[0])
    near = difflib.get_close_matches(wanted.upper(), list(markets), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise UnknownSymbol(
        f"unknown symbol {symbol!r} on {exchange.id} ({len(markets)} markets loaded){hint} "
        "Symbols are written BASE/QUOTE, e.g. BTC/USDT.")


def check_timeframe(exchange: Exchange, timeframe: str) -> str:
    """The canonical timeframe name, after checking the platform and the exchange both know it."""
    offered = list((exchange.timeframes or {}).keys())
    try:
        name = parse_timeframe(timeframe)
    except DataError as err:
        raise UnsupportedTimeframe(f"{err} (offered by {exchange.id}: {', '.join(offered)})") from err
    if offered and name not in offered:
        raise UnsupportedTimeframe(
            f"timeframe {timeframe!r} is not offered by {exchange.id}: use one of {', '.join(offered)}")
    return name
