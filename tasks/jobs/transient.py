"""Which errors are worth retrying a job for: the database or an exchange out of reach for a
while, as opposed to bad input or a bug (``store.db.is_transient_error``, ccxt's network
errors, ``tasks.market.exchange.ExchangeUnavailable``)."""

from __future__ import annotations

import ccxt

from store.db import is_transient_error
from tasks.market.exchange import ExchangeUnavailable


def is_transient(err: BaseException) -> bool:
    if isinstance(err, (ccxt.NetworkError, ExchangeUnavailable)):
        return True
    return is_transient_error(err)
