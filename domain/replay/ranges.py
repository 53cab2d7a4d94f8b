"""What a replay runs on when the request leaves it out: market, range and capital defaults.

A replay of a backtest (its :class:`Source`) defaults to the backtest's exchange, symbol,
timeframe, range and initial capital; any of them may be changed (replaying on another
exchange's or timeframe's candles is the robustness check). A replay of transactions defaults to
the exchange :data:`DEFAULT_EXCHANGE`, the capital :data:`DEFAULT_CAPITAL` and the range from the
bar of the first selected transaction to the end of the bar of the last one, plus the replay's
delay in bars (so that a delay drops no fill when the candles go on): :func:`transactions_range`.

Problems are ``(path, message)`` pairs whose path is the request's field (``symbol``,
``timeframe``, ``to``...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.errors import DomainError
from domain.timeframes import parse_timeframe, period_index, period_start

DEFAULT_EXCHANGE = "binance"
DEFAULT_CAPITAL = 10_000.0

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class Source:
    """The defaults a replayed backtest gives: its market, range and initial capital."""

    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    initial_capital: float


@dataclass(frozen=True)
class ReplayMarket:
    """The normalized market of a replay: exchange lower case, symbol upper case (``BASE/QUOTE``),
    a canonical timeframe."""

    exchange: str
    symbol: str
    timeframe: str


def bar_floor(ms: int, timeframe: str) -> int:
    """The start of the ``timeframe`` bar holding ``ms`` (epoch milliseconds)."""
    return int(period_start(period_index(np.array([ms], dtype=np.int64), timeframe),
                            timeframe)[0])


def bar_end(ms: int, timeframe: str, more_bars: int = 0) -> int:
    """The end of the ``timeframe`` bar holding ``ms``, ``more_bars`` bars later."""
    return int(period_start(period_index(np.array([ms], dtype=np.int64), timeframe) + 1
                            + more_bars, timeframe)[0])


def _key_problems(symbol: str, exchange: str, max_len: int) -> Problems:
    problems = [(name, f"give 1 to {max_len} characters")
                for name, value in (("symbol", symbol), ("exchange", exchange))
                if not value or len(value) > max_len]
    if symbol and symbol.count("/") != 1:
        problems.append(("symbol", f"{symbol!r} is not of the form BASE/QUOTE (e.g. BTC/USDT)"))
    return problems


def replay_market(symbol: str | None, exchange: str | None, timeframe: str | None,
                  source: Source | None, max_len: int) -> tuple[ReplayMarket | None, Problems]:
    """The market a replay runs on, each field the request's or else the source's (exchange:
    :data:`DEFAULT_EXCHANGE` without a source), and its problems; ``None`` when the timeframe is
    missing or not one (nothing depending on it can be checked). Symbols and exchanges are 1 to
    ``max_len`` characters."""
    sym = (symbol or (source.symbol if source else "")).strip().upper()
    ex = (exchange or (source.exchange if source else DEFAULT_EXCHANGE)).strip().lower()
    problems = _key_problems(sym, ex, max_len)
    tf = timeframe or (source.timeframe if source else "")
    try:
        return ReplayMarket(ex, sym, parse_timeframe(tf)), problems
    except DomainError as err:
        problems.append(("timeframe", str(err) if tf else "give a timeframe, e.g. 1h"))
        return None, problems


def range_problems(start_ms: int | None, end_ms: int | None) -> Problems:
    """``to`` must be after ``from`` (when both are known)."""
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        return [("to", "must be after from")]
    return []


def backtest_range(start_ms: int | None, end_ms: int | None, source: Source) -> tuple[int, int]:
    """The range of a replay of a backtest: the requested ends, else the backtest's."""
    return (source.start_ms if start_ms is None else start_ms,
            source.end_ms if end_ms is None else end_ms)


def transactions_range(first_ts: int, last_ts: int, timeframe: str, delay_bars: int,
                       start_ms: int | None, end_ms: int | None) -> tuple[int, int]:
    """The range of a replay of transactions made from ``first_ts`` to ``last_ts``: the
    requested ends, else from the bar of the first transaction to the end of the bar of the
    last one plus ``delay_bars`` bars."""
    return (bar_floor(first_ts, timeframe) if start_ms is None else start_ms,
            bar_end(last_ts, timeframe, delay_bars) if end_ms is None else end_ms)


def initial_capital(requested: float | None, source: Source | None) -> float:
    """The starting quote balance: the requested one, else the source's, else
    :data:`DEFAULT_CAPITAL` (a requested 0 counts as none: it is refused as a problem)."""
    return requested or (source.initial_capital if source else DEFAULT_CAPITAL)


__all__ = [
    "DEFAULT_CAPITAL",
    "DEFAULT_EXCHANGE",
    "ReplayMarket",
    "Source",
    "backtest_range",
    "bar_end",
    "bar_floor",
    "initial_capital",
    "range_problems",
    "replay_market",
    "transactions_range",
]
