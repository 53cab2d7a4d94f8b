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
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError, Problem, StrategyError
from domain.metrics import METRIC_NAMES
from domain.strategy import Strategy, parameter_grid, parse_strategy, resolve_params
from domain.strategy.grid import parse_grid
from domain.timeframes import parse_timeframe
from store import backtests as store_backtests
from store import strategies as store_strategies
from store import sweeps as store_sweeps
from store.backtests import BacktestRecord, NewBacktest
from store.candles import KEY_MAX_LEN
from store.scope import OwnerScope
from store.sweeps import NewSweep, SweepRecord
from tasks.execution.executor import Executor
from tasks.jobs.control import start_job
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


def _number(x: object) -> bool:
    return not isinstance(x, bool) and isinstance(x, numbers.Real) and math.isfinite(x)


def market_problems(m: Market) -> tuple[Market, list[tuple[str, str]]]:
    """The market with its timeframe normalized, and what is wrong with it."""
    problems: list[tuple[str, str]] = []
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
        if not _number(initial_capital) or initial_capital <= 0:
            problems.append(("initial_capital", "must be a finite number > 0"))
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
                         executor: Executor, broadcaster: Broadcaster) -> BacktestRecord:
    """Check ``req``, create the queued backtest of ``owner_id`` and submit it; the strategy
    must be visible in ``owner_scope``."""
    market, problems = market_problems(req.market)
    strategy = await _strategy(owner_scope, req.strategy_id, req.initial_capital, problems)
    rf = 0.0 if req.risk_free_rate is None else req.risk_free_rate
    if not _number(rf) or rf <= -1:
        problems.append(("risk_free_rate", "must be a finite number > -1 (0.04 for 4 %)"))
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
                      executor: Executor, broadcaster: Broadcaster) -> SweepRecord:
    """Check ``req``, create the queued sweep of ``owner_id`` and submit it."""
    market, problems = market_problems(req.market)
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
            if strategy is not None:  # checks every value; up to a million sets: off the loop
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
