"""Retrying exchange calls: bounded exponential backoff, Retry-After, transient vs permanent errors.

Transient (retried): ccxt's ``OperationFailed`` family: ``NetworkError`` (``RequestTimeout``,
``RateLimitExceeded``, ``DDoSProtection``, ``ExchangeNotAvailable``: HTTP 5xx, 429, 418,
connection errors) and ``BadResponse``. A 429/418 answer's ``Retry-After`` header (read from
``exchange.last_response_headers``) is honoured as the least wait, up to ``max_retry_after``.

Permanent (raised at once as ``MarketDataError``): every other ccxt error, e.g. ``BadSymbol``
(Binance -1121), ``BadRequest`` (-1120 bad interval, -1100 bad parameter), authentication errors,
and HTTP 451 (Binance's refusal of restricted locations).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import ccxt

from tasks.market.exchange import Exchange, ExchangeUnavailable, MarketDataError

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts: ``min(cap, base * 2**attempt)`` seconds, times a jitter factor
    drawn from ``[1 - jitter, 1]``; ``max_retry_after`` bounds how long a Retry-After may make us
    wait before giving up instead."""

    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 300.0

    def delay(self, attempt: int) -> float:
        raw = min(self.cap, self.base * (2.0 ** attempt))
        return raw * (1.0 - self.jitter * random.random())


def retry_after_seconds(exchange: Exchange) -> float | None:
    """The last response's ``Retry-After`` (seconds or an HTTP date), if it had one."""
    headers = getattr(exchange, "last_response_headers", None) or {}
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - float(exchange.milliseconds()) / 1000.0)


def is_transient(err: BaseException) -> bool:
    """Worth retrying: ccxt's ``OperationFailed`` family, except a refusal by location."""
    return isinstance(err, ccxt.OperationFailed) and not is_geo_blocked(err)


def is_geo_blocked(err: BaseException) -> bool:
    """HTTP 451: Binance serves no clients from this location (ccxt maps it to the transient
    ``ExchangeNotAvailable``, but waiting does not help)."""
    text = str(err)
    return " 451 " in text or "restricted location" in text.lower()


async def call_with_retry(
    exchange: Exchange,
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    max_retries: int = 6,
    backoff: Backoff | None = None,
    on_retry: Callable[[int, float, BaseException], Any] | None = None,
    budget_s: float | None = None,
) -> T:
    """``await call()``, retrying transient ccxt errors up to ``max_retries`` times, and only
    while the next attempt, taking as long as the last one did, would end within ``budget_s``
    seconds of the first (None: no time limit).

    ``what`` names the request in error messages. Raises ``ExchangeUnavailable`` when the retries
    (or the time budget) run out and ``MarketDataError`` on a permanent error.
    """
    policy = backoff or Backoff()
    attempt = 0
    started = time.monotonic()
    while True:
        began = time.monotonic()
        try:
            return await call()
        except ccxt.BaseError as err:
            if is_geo_blocked(err):
                raise MarketDataError(
                    f"{exchange.id} refuses clients from this location (HTTP 451) for {what}: "
                    "use a regional endpoint (BINANCE_REST_URL, BINANCE_WS_URL)") from err
            if not is_transient(err):
                raise MarketDataError(f"{exchange.id} refused {what}: {_short(err)}") from err
            if attempt >= max_retries:
                raise ExchangeUnavailable(
                    f"{exchange.id} {what} still failing after {attempt + 1} attempts "
                    f"({type(err).__name__}: {_short(err)}); try again later") from err
            wait = policy.delay(attempt)
            now = time.monotonic()
            spent = now - started
            if budget_s is not None and spent + wait + (now - began) > budget_s:
                raise ExchangeUnavailable(
                    f"{exchange.id} is unreachable: {what} failed for {spent:.1f} s "
                    f"({attempt + 1} attempt(s); {type(err).__name__}: {_short(err)}); check "
                    "the network (or the exchange's base URL setting) and try again later"
                ) from err
            if isinstance(err, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
                asked = retry_after_seconds(exchange)
                if asked is not None:
                    if asked > policy.max_retry_after:
                        raise ExchangeUnavailable(
                            f"{exchange.id} rate limit: asked to wait {asked:.0f} s before {what} "
                            f"(more than {policy.max_retry_after:.0f} s); try again later") from err
                    wait = max(wait, asked)
            if on_retry is not None:
                on_retry(attempt + 1, wait, err)
            await asyncio.sleep(wait)
            attempt += 1


def _short(err: BaseException, limit: int = 300) -> str:
    text = str(err)
    return text if len(text) <= limit else text[: limit - 3] + "..."
