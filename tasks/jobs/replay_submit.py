"""Starting and cancelling replays for a caller: check the request, create the ``queued`` row,
publish its first event, hand it to the executor (as ``tasks.jobs.submit`` does for backtests).

Problems come back together as ``tasks.jobs.submit.InvalidRequest``, each located by the
domain path of the request's field (``symbol``, ``fee_bps``, ``import_ids``, ``from``, ``to``...);
a backtest the caller may not see is :class:`UnknownBacktest`, like a missing one.

Defaults (``domain.replay.ranges``): from a backtest, its exchange, symbol, timeframe, range and
initial capital (any of them may be changed); from transactions, the exchange ``binance`` and
the range from the bar of the first selected transaction to the end of the bar of the last one
plus ``delay_bars`` bars. Only the fills inside ``[from, to)`` are replayed (the account starts
flat at ``from``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError
from domain.replay import FILL_MODELS
from domain.replay.ranges import (
    ReplayMarket,
    Source,
    backtest_range,
    initial_capital,
    range_problems,
    replay_market,
    transactions_range,
)
from domain.strategy.fields import INITIAL_CAPITAL, RISK_FREE_RATE, number_problem
from store import replays as store_replays
from store import transactions as store_transactions
from store.backtests import BacktestRecord, get_backtest
from store.candles import KEY_MAX_LEN
from store.models import RunStatus
from store.replays import NewReplay, ReplayRecord
from store.scope import OwnerScope
from store.settings import Settings
from tasks.execution.executor import Executor
from tasks.jobs.control import check_quota, start_job
from tasks.jobs.submit import InvalidRequest, text_problems
from tasks.messaging.broadcast import Broadcaster

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
        problems.append(("fee_bps", "must be a number of basis points in [0, 10000)"))
    if not (_finite(req.slippage_bps) and 0 <= req.slippage_bps < 10_000):
        problems.append(("slippage_bps", "must be a number of basis points in [0, 10000)"))
    if not 0 <= req.delay_bars <= MAX_DELAY_BARS:
        problems.append(("delay_bars", f"must be a whole number of bars from 0 to "
                                       f"{MAX_DELAY_BARS:,}"))
    for name, rule, value, example in (
            ("initial_capital", INITIAL_CAPITAL, req.initial_capital, ""),
            ("risk_free_rate", RISK_FREE_RATE, req.risk_free_rate, " (0.04 for 4 %)")):
        problem = None if value is None else number_problem(rule, value, example)
        if problem is not None:
            problems.append((name, problem))
    params: dict[str, Any] = {
        "fill": req.fill, "fee_rate": None if req.fee_bps is None else req.fee_bps / 10_000,
        "slippage_rate": req.slippage_bps / 10_000, "delay_bars": req.delay_bars,
        "import_ids": list(req.import_ids)}
    return params, problems


def _source(backtest: BacktestRecord | None) -> Source | None:
    if backtest is None:
        return None
    return Source(backtest.exchange, backtest.symbol, backtest.timeframe, backtest.start_ms,
                  backtest.end_ms, backtest.initial_capital)


async def _backtest(owner_scope: OwnerScope, req: ReplayRequest,
                    problems: list[tuple[str, str]]) -> BacktestRecord | None:
    """The backtest to replay (None: transactions); :class:`UnknownBacktest` when the caller
    may not see it."""
    if req.backtest_id is None:
        return None
    backtest = await get_backtest(req.backtest_id, owner=owner_scope)
    if backtest is None:
        raise UnknownBacktest(req.backtest_id)
    if backtest.status != RunStatus.SUCCEEDED:
        problems.append(("backtest_id", f"backtest {backtest.id} has not succeeded (it is "
                                        f"{backtest.status.value}): replay a finished one"))
    if req.import_ids:
        problems.append(("import_ids", "replay either imports or a backtest, not both"))
    return backtest


async def _transactions_range(owner_id: int, req: ReplayRequest, market: ReplayMarket,
                              problems: list[tuple[str, str]]) -> tuple[int, int] | None:
    """The range of a replay of ``owner_id``'s transactions (None when there are none)."""
    found = await store_transactions.get_imports(list(req.import_ids), owner=owner_id)
    missing = sorted(set(req.import_ids) - {b.id for b in found})
    if missing:
        problems.append(("import_ids", f"no import {', '.join(map(str, missing))} of yours"))
    span = await store_transactions.transaction_span(market.symbol, req.import_ids,
                                                     req.start_ms, req.end_ms, owner=owner_id)
    if span.count == 0 or span.first_ts is None or span.last_ts is None:
        problems.append(("symbol", f"no {market.symbol} transactions of yours are stored (in "
                                   "those imports and that range): import some first"))
        return None
    return transactions_range(span.first_ts, span.last_ts, market.timeframe, req.delay_bars,
                              req.start_ms, req.end_ms)


async def _resolve(owner_id: int, owner_scope: OwnerScope, req: ReplayRequest,
                   params: dict[str, Any], problems: list[tuple[str, str]]) -> NewReplay | None:
    """The replay to create, with the defaults of ``domain.replay.ranges`` (None when a
    problem leaves nothing to check further)."""
    backtest = await _backtest(owner_scope, req, problems)
    source = _source(backtest)
    market, found = replay_market(req.symbol, req.exchange, req.timeframe, source, KEY_MAX_LEN)
    problems += found
    if market is None:
        return None
    if order := range_problems(req.start_ms, req.end_ms):
        problems += order
        return None
    if source is not None:
        start, end = backtest_range(req.start_ms, req.end_ms, source)
    else:
        span = None if problems else await _transactions_range(owner_id, req, market, problems)
        if span is None:
            return None
        start, end = span
    problems += range_problems(start, end)
    return NewReplay(owner_id, "backtest" if backtest else "transactions",
                     backtest.id if backtest else None, market.exchange, market.symbol,
                     market.timeframe, start, end, initial_capital(req.initial_capital, source),
                     params, req.risk_free_rate or 0.0)


async def queue_replay(owner_id: int, owner_scope: OwnerScope, req: ReplayRequest,
                       executor: Executor, broadcaster: Broadcaster, *,
                       settings: Settings | None = None) -> ReplayRecord:
    """Check ``req``, create the queued replay of ``owner_id`` and submit it; a backtest must
    be visible in ``owner_scope``, imports must be ``owner_id``'s. With ``settings``, its
    per-user cap on queued jobs applies (:func:`tasks.jobs.control.check_quota`)."""
    params, problems = model_problems(req)
    if unstorable := text_problems([("symbol", req.symbol), ("exchange", req.exchange),
                                    ("timeframe", req.timeframe)]):
        raise InvalidRequest(unstorable)
    problems.extend(await check_quota(owner_id, settings))
    new = await _resolve(owner_id, owner_scope, req, params, problems)
    if problems or new is None:
        raise InvalidRequest(problems)
    record = await store_replays.create_replay(new)
    await start_job("replay", record.id, owner_id, executor, broadcaster)
    return record
