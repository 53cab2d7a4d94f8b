"""Checking a market data sync request before its job is queued (``tasks.jobs.kinds.sync``
runs it). Whether the exchange lists the symbol is only known when the job runs.

Problems are ``(domain path, message)`` pairs, located at the request's fields: ``exchange``,
``symbol``, ``timeframe``, and ``since`` / ``until`` for the range's ends (the API and the CLI
name them their own way: ``graph.types_common.api_path``, ``cli.problems``)."""

from __future__ import annotations

import ccxt

from domain.errors import DomainError
from domain.timeframes import parse_timeframe
from store.candles import KEY_MAX_LEN
from store.seed import DEMO_EXCHANGE


def check_sync_request(exchange: str, symbol: str, timeframe: str, since_ms: int,
                       until_ms: int | None) -> list[tuple[str, str]]:
    """What is wrong with a sync request, as ``(domain path, message)`` pairs (empty when
    fine)."""
    problems: list[tuple[str, str]] = []
    if exchange == DEMO_EXCHANGE:
        problems.append(("exchange", "demo candles are synthetic: they are generated, not "
                                     "fetched (`backtest demo-data`, or `backtest db migrate "
                                     "--seed-demo` to store them); sync from a real exchange "
                                     "such as binance"))
    elif exchange not in ccxt.exchanges:
        problems.append(("exchange", f"unknown exchange {exchange!r}: use a ccxt exchange id "
                                     "such as binance"))
    if not symbol.strip() or len(symbol) > KEY_MAX_LEN:
        problems.append(("symbol", f"give a symbol of 1 to {KEY_MAX_LEN} characters, written "
                                   "BASE/QUOTE (e.g. BTC/USDT)"))
    try:
        parse_timeframe(timeframe)
    except DomainError as err:
        problems.append(("timeframe", str(err)))
    if since_ms < 0:
        problems.append(("since", "must be on or after 1970-01-01"))
    if until_ms is not None and until_ms <= since_ms:
        problems.append(("until", "must be after since"))
    return problems
