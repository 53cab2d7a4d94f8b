"""Signed calls to an exchange with a user's API key: test the connection, read the account's
fills.

The key and secret are decrypted (``store.exchange_keys.open_key``) by the caller in the
process that makes the calls, handed to ccxt, and dropped with the client. Errors become
messages for a person that never quote the request (its URL carries the signature) or the
key: :func:`describe` (a wrong or revoked key, a missing permission, the exchange out of reach).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt

from domain.errors import DomainError
from store.settings import Settings
from tasks.market.exchange import ExchangeUnavailable, make_exchange

SUPPORTED_EXCHANGES = ("binance",)
T = TypeVar("T")


class KeyRefused(DomainError):
    """The exchange refused the key (wrong, revoked, or without the permission needed)."""


class ExchangeRefused(DomainError):
    """The exchange answered the request with an error that is not about the key."""


class RedactingLogger:
    """ccxt's logger for a signed client: ccxt logs every request with its headers (the API
    key among them) at DEBUG; these lines go to the ``ccxt.signed`` logger with the key and
    the secret replaced by ``***``."""

    def __init__(self, *hidden: str) -> None:
        self._log = logging.getLogger("ccxt.signed")
        self._hidden = tuple(h for h in hidden if h)

    def _emit(self, level: int, msg: object, *args: object, **_: object) -> None:
        if not self._log.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        for value in self._hidden:
            text = text.replace(value, "***")
        self._log.log(level, "%s", text)

    def debug(self, msg: object, *args: object, **kw: object) -> None:
        self._emit(logging.DEBUG, msg, *args, **kw)

    def info(self, msg: object, *args: object, **kw: object) -> None:
        self._emit(logging.INFO, msg, *args, **kw)

    def warning(self, msg: object, *args: object, **kw: object) -> None:
        self._emit(logging.WARNING, msg, *args, **kw)

    def error(self, msg: object, *args: object, **kw: object) -> None:
        self._emit(logging.ERROR, msg, *args, **kw)


def signed_client(exchange_id: str, api_key: str, api_secret: str, settings: Settings) -> Any:
    """A ccxt client of ``exchange_id`` signing with the key (REST base URL from the settings:
    ``BINANCE_REST_URL``), logging through :class:`RedactingLogger`. Close it with
    ``await client.close()``."""
    rest = settings.binance_rest_url if exchange_id == "binance" else None
    # currencies (a signed /sapi call, another permission) are not needed for spot fills
    return make_exchange(exchange_id, rest, None,
                         config={"apiKey": api_key, "secret": api_secret,
                                 "logger": RedactingLogger(api_key, api_secret),
                                 "options": {"fetchCurrencies": False}})


def _exchange_message(err: BaseException) -> str:
    """The exchange's own ``msg`` (Binance answers ``{"code": ..., "msg": ...}``), if any."""
    found = re.search(r'"msg"\s*:\s*"([^"]{1,200})"', str(err))
    return f' (the exchange said: "{found.group(1)}")' if found else ""


def describe(err: BaseException, exchange_id: str) -> DomainError:
    """A person's message for a ccxt error of a signed call (never the request itself)."""
    said = _exchange_message(err)
    if isinstance(err, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return KeyRefused(f"{exchange_id} refused the API key{said}: it is wrong, revoked or "
                          "expired, restricted to other IP addresses, or lacks the permission "
                          "to read the account; check it on the exchange, then delete it here "
                          "and add it again")
    if isinstance(err, ccxt.BadSymbol):
        return ExchangeRefused(f"{exchange_id} does not know that symbol{said}")
    if isinstance(err, ccxt.InvalidNonce):
        return ExchangeRefused(f"{exchange_id} refused the request's timestamp{said}: this "
                               "server's clock is off; sync it (NTP) and try again")
    if isinstance(err, ccxt.NetworkError):
        return ExchangeUnavailable(f"{exchange_id} could not be reached ({type(err).__name__}): "
                                   "check the network (or the exchange's base URL setting) and "
                                   "try again later")
    return ExchangeRefused(f"{exchange_id} answered with an error ({type(err).__name__}){said}")


async def signed(exchange_id: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, its ccxt errors turned into :func:`describe`'s."""
    try:
        return await call()
    except ccxt.BaseError as err:
        raise describe(err, exchange_id) from None


async def test_connection(client: Any, exchange_id: str) -> str:
    """Read the account with a signed request (``fetch_balance``); a message saying what the
    key can see. Raises :func:`describe`'s errors."""
    balance = await signed(exchange_id, client.fetch_balance)
    held = sorted(code for code, amount in (balance.get("total") or {}).items()
                  if amount and float(amount) > 0)
    return (f"connected: the key can read the {exchange_id} account "
            f"({len(held)} asset(s) with a balance)")
