"""Starting and cancelling backtests and sweeps for a caller: check the request, create the
``queued`` row, publish its first event, hand it to the executor.

Problems with a request come back together as :class:`InvalidRequest`, each located by its
domain path: the request's field (``strategy_id``, ``initial_capital``, ``rank_by``...), ``from``
and ``to`` for the range's ends, ``params.<name>`` and ``grid.<name>`` for a parameter's value
(the API and the CLI turn paths into their own names: ``graph.types_common.api_path``);
a strategy the caller may not see is :class:`UnknownStrategy`, like a missing one.

The row keeps what will run: the strategy's normalized document (with the requested initial
capital applied), every parameter's value and the market range, so a later edit of the strategy does not
change what a run's results mean.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError, Problem, StrategyError
from domain.metrics import METRIC_NAMES
from domain.strategy import Strategy, grid_size, parameter_grid, parse_strategy, resolve_params
from domain.strategy.fields import INITIAL_CAPITAL, RISK_FREE_RATE, number_problem
from domain.strategy.grid import parse_grid
from domain.timeframes import parse_timeframe
from store import backtests as store_backtests
from store import strategies as store_strategies
from store import sweeps as store_sweeps
from store.backtests import BacktestRecord, NewBacktest
from store.candles import KEY_MAX_LEN
from store.scope import OwnerScope
from store.settings import Settings
from store.sweeps import NewSweep, SweepRecord
from tasks.execution.executor import Executor
from tasks.jobs.control import check_quota, start_job
from tasks.messaging.broadcast import Broadcaster


class InvalidRequest(DomainError):
    """The request has problems: ``problems`` lists ``(domain path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))


class UnknownStrategy(DomainError):
    def __init__(self, strategy_id: int) -> None:
        super().__init__(f"strategy {strategy_id} not found")


@dataclass(frozen=True)
class Market:
    """Where and when to run: ``[start_ms, end_ms)`` of one market's candles."""

    exchange: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class BacktestRequest:
    strategy_id: int
    market: Market
    params: Any = None  # JSON from the caller: {name: number}
    initial_capital: float | None = None
    risk_free_rate: float | None = None


@dataclass(frozen=True)
class SweepRequest:
    strategy_id: int
    market: Market
    grid: Any  # JSON from the caller: {name: [values] | {start, stop, step}}
    rank_by: str = "sharpe"
    initial_capital: float | None = None


UNSTORABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
"""Characters no market name holds: control characters (NUL, which PostgreSQL refuses in
text, included) and lone surrogates (which no database encodes)."""


def text_problems(fields: Sequence[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """A problem for each ``(path, value)`` holding an :data:`UNSTORABLE` character."""
    return [(name, "holds a control character or an invalid one (a lone surrogate)")
            for name, value in fields if value is not None and UNSTORABLE.search(value)]


def market_problems(m: Market) -> tuple[Market, list[tuple[str, str]]]:
    """The market with its timeframe normalized, and what is wrong with it."""
    problems = text_problems([("exchange", m.exchange), ("symbol", m.symbol),
                              ("timeframe", m.timeframe)])
    if problems:
        return m, problems
    for name, value in (("exchange", m.exchange), ("symbol", m.symbol)):
        if not value.strip() or len(value.strip()) > KEY_MAX_LEN:
            problems.append((name, f"give 1 to {KEY_MAX_LEN} characters"))
    timeframe = m.timeframe
    try:
        timeframe = parse_timeframe(m.timeframe)
    except DomainError as err:
        problems.append(("timeframe", str(err)))
    if m.start_ms >= m.end_ms:
        problems.append(("to", "must be after from"))
    return Market(m.exchange.strip().lower(), m.symbol.strip(), timeframe, m.start_ms,
                  m.end_ms), problems


async def _strategy(owner_scope: OwnerScope, strategy_id: int, initial_capital: float | None,
                    problems: list[tuple[str, str]]) -> Strategy | None:
    found = await store_strategies.get_strategy(strategy_id, owner=owner_scope)
    if found is None:
        raise UnknownStrategy(strategy_id)
    document = dict(found.document)
    if initial_capital is not None:
        problem = number_problem(INITIAL_CAPITAL, initial_capital)
        if problem is not None:
            problems.append(("initial_capital", problem))
            return None
        document["initial_capital"] = initial_capital
    try:
        return parse_strategy(document)
    except StrategyError as err:
        problems.extend(("strategy_id", f"the saved strategy is not valid: {p}")
                        for p in err.problems)
        return None


def _located(problems: list[Problem], prefix: str) -> list[tuple[str, str]]:
    """``problems`` as ``(path, message)``, a parameter's ``parameters.NAME`` (of
    ``resolve_params``) as ``prefix + NAME``; the grid's ``grid.NAME`` stays as it is."""
    out = []
    for p in problems:
        path = p.path
        if path.startswith("parameters."):
            path = prefix + path[len("parameters."):]
        out.append((path, p.message))
    return out


async def queue_backtest(owner_id: int, owner_scope: OwnerScope, req: BacktestRequest,
                         executor: Executor, broadcaster: Broadcaster, *,
                         settings: Settings | None = None) -> BacktestRecord:
    """Check ``req``, create the queued backtest of ``owner_id`` and submit it; the strategy
    must be visible in ``owner_scope``. With ``settings``, its per-user caps apply
    (``MAX_QUEUED_JOBS``: :func:`tasks.jobs.control.check_quota`)."""
    market, problems = market_problems(req.market)
    problems.extend(await check_quota(owner_id, settings))
    strategy = await _strategy(owner_scope, req.strategy_id, req.initial_capital, problems)
    rf = 0.0 if req.risk_free_rate is None else req.risk_free_rate
    problem = number_problem(RISK_FREE_RATE, rf, " (0.04 for 4 %)")
    if problem is not None:
        problems.append(("risk_free_rate", problem))
    values: dict[str, float] = {}
    if req.params is not None and not isinstance(req.params, Mapping):
        problems.append(("params", 'give an object of parameter values, e.g. {"fast": 10}'))
    elif strategy is not None:
        try:
            values = resolve_params(strategy, dict(req.params or {}))
        except StrategyError as err:
            problems.extend(_located(err.problems, "params."))
    if problems or strategy is None:
        raise InvalidRequest(problems)
    record = await store_backtests.create_backtest(NewBacktest(
        owner_id, req.strategy_id, strategy.document, values, market.exchange, market.symbol,
        market.timeframe, market.start_ms, market.end_ms, float(strategy.initial_capital), rf))
    await start_job("backtest", record.id, owner_id, executor, broadcaster)
    return record


async def queue_sweep(owner_id: int, owner_scope: OwnerScope, req: SweepRequest,
                      executor: Executor, broadcaster: Broadcaster, *,
                      settings: Settings | None = None) -> SweepRecord:
    """Check ``req``, create the queued sweep of ``owner_id`` and submit it. With ``settings``,
    its per-user caps apply: ``MAX_QUEUED_JOBS`` and ``MAX_SWEEP_SETS`` (a larger grid is
    refused at ``grid`` before its sets are built)."""
    market, problems = market_problems(req.market)
    problems.extend(await check_quota(owner_id, settings))
    strategy = await _strategy(owner_scope, req.strategy_id, req.initial_capital, problems)
    if req.rank_by not in METRIC_NAMES:
        problems.append(("rank_by", f"unknown metric {req.rank_by!r}; one of "
                                    f"{', '.join(METRIC_NAMES)}"))
    grid: dict[str, list[float]] = {}
    n_sets = 0
    if not isinstance(req.grid, Mapping):
        problems.append(("grid", 'give an object: parameter -> list of values or '
                                 '{"start", "stop", "step"}'))
    else:
        try:
            grid = parse_grid({str(k): v for k, v in req.grid.items()}, "grid")
            cap = 0 if settings is None else settings.max_sweep_sets
            size = 0 if strategy is None else grid_size(strategy, grid)
            if cap and size > cap:
                problems.append(("grid", f"the grid has {size:,} parameter sets, more than the "
                                         f"{cap:,} one sweep may try: use fewer values or "
                                         "coarser ranges, or split it into several sweeps"))
            elif strategy is not None:  # checks every value; up to a million sets: off the loop
                n_sets = len(await asyncio.to_thread(parameter_grid, strategy, grid))
        except StrategyError as err:
            problems.extend(_located(err.problems, "grid."))
    if problems or strategy is None:
        raise InvalidRequest(problems)
    record = await store_sweeps.create_sweep(NewSweep(
        owner_id, req.strategy_id, strategy.document, grid, req.rank_by, market.exchange,
        market.symbol, market.timeframe, market.start_ms, market.end_ms, n_sets))
    await start_job("sweep", record.id, owner_id, executor, broadcaster)
    return record
