"""Starting and cancelling replays for a caller: check the request, create the ``queued`` row,
publish its first event, hand it to the executor (as ``tasks.jobs.submit`` does for backtests).

Problems come back together as ``tasks.jobs.submit.InvalidRequest``, each located by the API input
field's name (``symbol``, ``feeBps``, ``importIds``...); a backtest the caller may not see is
:class:`UnknownBacktest`, like a missing one.

Defaults: from a backtest, its exchange, symbol, timeframe, range and initial capital (any of
them may be changed: replaying on another exchange's or timeframe's candles is the robustness
check); from transactions, the exchange ``binance`` and the range from the bar of the first
selected transaction to the end of the bar of the last one (plus ``delayBars`` bars, so that a
delay drops no fill when the candles go on). Only the fills inside ``[from, to)`` are replayed
(the account starts flat at ``from``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.errors import DomainError
from domain.replay import FILL_MODELS
from domain.timeframes import parse_timeframe, period_index, period_start
from store import replays as store_replays
from store import transactions as store_transactions
from store.backtests import get_backtest
from store.candles import KEY_MAX_LEN
from store.models import RunStatus
from store.replays import NewReplay, ReplayRecord
from tasks.execution.executor import Executor
from tasks.jobs.lifecycle import job_events
from tasks.jobs.submit import InvalidRequest, cancel_run
from tasks.messaging.broadcast import Broadcaster

DEFAULT_CAPITAL = 10_000.0
MAX_DELAY_BARS = 100_000


class UnknownBacktest(DomainError):
    def __init__(self, backtest_id: int) -> None:
        super().__init__(f"backtest {backtest_id} not found")


@dataclass(frozen=True)
class ReplayRequest:
    """What the caller asked for; ``None`` means the default (see the module docstring)."""

    symbol: str | None = None
    timeframe: str | None = None
    exchange: str | None = None
    backtest_id: int | None = None
    import_ids: tuple[int, ...] = ()
    start_ms: int | None = None
    end_ms: int | None = None
    initial_capital: float | None = None
    fill: str = "actual"
    fee_bps: float | None = None
    slippage_bps: float = 0.0
    delay_bars: int = 0
    risk_free_rate: float | None = None


def _finite(x: float | None) -> bool:
    return x is not None and not isinstance(x, bool) and math.isfinite(x)


def model_problems(req: ReplayRequest) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The what-if parameters (``store.replays.NewReplay.parameters``) and their problems."""
    problems: list[tuple[str, str]] = []
    if req.fill not in FILL_MODELS:
        problems.append(("fill", f"use one of {', '.join(FILL_MODELS)}"))
    if req.fee_bps is not None and not (_finite(req.fee_bps) and 0 <= req.fee_bps < 10_000):
        problems.append(("feeBps", "must be a number of basis points in [0, 10000)"))
    if not (_finite(req.slippage_bps) and 0 <= req.slippage_bps < 10_000):
        problems.append(("slippageBps", "must be a number of basis points in [0, 10000)"))
    if not 0 <= req.delay_bars <= MAX_DELAY_BARS:
        problems.append(("delayBars", f"must be a whole number of bars from 0 to "
                                      f"{MAX_DELAY_BARS:,}"))
    if req.initial_capital is not None and not (_finite(req.initial_capital)
                                                and req.initial_capital > 0):
        problems.append(("initialCapital", "must be a finite number > 0"))
    if req.risk_free_rate is not None and not _finite(req.risk_free_rate):
        problems.append(("riskFreeRate", "must be a finite number"))
    params: dict[str, Any] = {
        "fill": req.fill, "fee_rate": None if req.fee_bps is None else req.fee_bps / 10_000,
        "slippage_rate": req.slippage_bps / 10_000, "delay_bars": req.delay_bars,
        "import_ids": list(req.import_ids)}
    return params, problems


def _bar_floor(ms: int, timeframe: str) -> int:
    return int(period_start(period_index(np.array([ms], dtype=np.int64), timeframe),
                            timeframe)[0])


def _bar_end(ms: int, timeframe: str, more_bars: int = 0) -> int:
    """The end of the bar holding ``ms``, ``more_bars`` bars later."""
    return int(period_start(period_index(np.array([ms], dtype=np.int64), timeframe) + 1
                            + more_bars, timeframe)[0])


async def _resolve(owner_id: int, owner_scope: int | None, req: ReplayRequest,
                   params: dict[str, Any], problems: list[tuple[str, str]]) -> NewReplay | None:
    backtest = None
    if req.backtest_id is not None:
        backtest = await get_backtest(req.backtest_id, owner_scope)
        if backtest is None:
            raise UnknownBacktest(req.backtest_id)
        if backtest.status != RunStatus.SUCCEEDED:
            problems.append(("backtestId", f"backtest {backtest.id} has not succeeded (it is "
                                           f"{backtest.status.value}): replay a finished one"))
        if req.import_ids:
            problems.append(("importIds", "give importIds or backtestId, not both"))
    symbol = (req.symbol or (backtest.symbol if backtest else "")).strip().upper()
    exchange = (req.exchange or (backtest.exchange if backtest else "binance")).strip().lower()
    for name, value in (("symbol", symbol), ("exchange", exchange)):
        if not value or len(value) > KEY_MAX_LEN:
            problems.append((name, f"give 1 to {KEY_MAX_LEN} characters"))
    if symbol and symbol.count("/") != 1:
        problems.append(("symbol", f"{symbol!r} is not of the form BASE/QUOTE (e.g. BTC/USDT)"))
    timeframe = req.timeframe or (backtest.timeframe if backtest else "")
    try:
        timeframe = parse_timeframe(timeframe)
    except DomainError as err:
        problems.append(("timeframe", str(err) if timeframe else "give a timeframe, e.g. 1h"))
        return None
    start, end = req.start_ms, req.end_ms
    if start is not None and end is not None and start >= end:
        problems.append(("to", "must be after from"))
        return None
    if backtest is not None:
        start = backtest.start_ms if start is None else start
        end = backtest.end_ms if end is None else end
    elif not problems:
        found = await store_transactions.get_imports(list(req.import_ids), owner_id)
        missing = sorted(set(req.import_ids) - {b.id for b in found})
        if missing:
            problems.append(("importIds", f"no import {', '.join(map(str, missing))} of yours"))
        span = await store_transactions.transaction_span(owner_id, symbol, req.import_ids,
                                                         start, end)
        if span.count == 0 or span.first_ts is None or span.last_ts is None:
            problems.append(("symbol", f"no {symbol} transactions of yours are stored (in "
                                       "those imports and that range): import some first"))
            return None
        start = _bar_floor(span.first_ts, timeframe) if start is None else start
        end = _bar_end(span.last_ts, timeframe, req.delay_bars) if end is None else end
    if start is None or end is None:
        return None
    if start >= end:
        problems.append(("to", "must be after from"))
    capital = req.initial_capital or (backtest.initial_capital if backtest else DEFAULT_CAPITAL)
    return NewReplay(owner_id, "backtest" if backtest else "transactions",
                     backtest.id if backtest else None, exchange, symbol, timeframe, start, end,
                     capital, params, req.risk_free_rate or 0.0)


async def queue_replay(owner_id: int, owner_scope: int | None, req: ReplayRequest,
                       executor: Executor, broadcaster: Broadcaster) -> ReplayRecord:
    """Check ``req``, create the queued replay of ``owner_id`` and submit it; a backtest must
    be visible in ``owner_scope`` (None: any owner's), imports must be ``owner_id``'s."""
    params, problems = model_problems(req)
    new = await _resolve(owner_id, owner_scope, req, params, problems)
    if problems or new is None:
        raise InvalidRequest(problems)
    record = await store_replays.create_replay(new)
    await job_events(broadcaster, "replay", record.id).emit("status", "queued", 0.0)
    await executor.submit_replay(record.id)
    return record


async def cancel_replay(replay_id: int, owner_scope: int | None, executor: Executor,
                        broadcaster: Broadcaster) -> ReplayRecord | None:
    """Cancel a replay the caller may see: None when not found; the record as it is then (a
    finished one unchanged; a running one ends ``cancelled`` at the next check)."""
    if await cancel_run("replay", replay_id, owner_scope, executor, broadcaster) is None:
        return None
    return await store_replays.get_replay(replay_id)
