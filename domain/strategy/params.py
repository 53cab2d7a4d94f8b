"""Parameter sets of a strategy: defaults, sweep grids, checking values, and the ``SimConfig``
of one set (every ``$parameter`` of ``risk`` and ``costs`` resolved)."""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence

from domain.engine.config import SIZING_MODES, SimConfig
from domain.errors import Problem, StrategyError
from domain.strategy.fields import MAX_GRID_SETS, show
from domain.strategy.model import ParamRef, Strategy, Value, range_count
from domain.strategy.walker import violation


def default_params(strategy: Strategy) -> dict[str, float]:
    """Each parameter's ``value``, in document order."""
    return {name: p.value for name, p in strategy.parameters.items()}


def _defined(strategy: Strategy) -> str:
    names = ", ".join(strategy.parameters)
    return f"defined: {names}" if names else "the strategy defines no parameters"


def _check_value(strategy: Strategy, name: str, x: object, where: str) -> list[Problem]:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        return [Problem(where, f"must be a finite number, got {show(x)}")]
    for use in strategy.uses.get(name, ()):
        message = violation(use, name, float(x))
        if message is not None:
            return [Problem(where, message)]
    return []


def resolve_params(strategy: Strategy, params: Mapping[str, float] | None = None) -> dict[str, float]:
    """Every parameter's value: ``params`` over the defaults, each checked against the places it
    is used (``StrategyError`` at ``parameters.NAME`` for an unknown name or a bad value, e.g. a
    non-integer period)."""
    values = default_params(strategy)
    if not params:
        return values
    problems: list[Problem] = []
    for name, x in params.items():
        where = f"parameters.{name}"
        if name not in values:
            problems.append(Problem(where, f"unknown parameter '{name}'; {_defined(strategy)}"))
            continue
        found = _check_value(strategy, name, x, where)
        problems.extend(found)
        if not found:
            values[name] = x
    if problems:
        raise StrategyError(problems)
    return values


def grid_size(strategy: Strategy, overrides: Mapping[str, Sequence[float]] | None = None) -> int:
    """How many parameter sets :func:`parameter_grid` would build for ``overrides``: the product
    of each parameter's count of values, computed without building them (names the strategy
    does not have are left to ``parameter_grid`` to report)."""
    overrides = overrides or {}
    total = 1
    for name, p in strategy.parameters.items():
        if name in overrides:
            total *= len(overrides[name])
        elif p.range is not None:
            total *= range_count(*p.range)
        elif p.values is not None:
            total *= len(p.values)
    return total


def parameter_grid(
    strategy: Strategy, overrides: Mapping[str, Sequence[float]] | None = None
) -> list[dict[str, float]]:
    """Every parameter set of a sweep: the cartesian product of each parameter's values, the
    first parameter varying slowest (document order).

    A parameter's values are ``overrides[name]`` when given (a sweep's grid), else its
    ``range`` or ``values``, else just its ``value``. Raises ``StrategyError`` at ``grid.NAME``
    for an unknown name, an empty list or a value that does not suit a place the parameter is
    used, and at ``parameters`` when the grid exceeds ``MAX_GRID_SETS`` sets.
    """
    overrides = overrides or {}
    problems: list[Problem] = []
    for name in overrides:
        if name not in strategy.parameters:
            problems.append(Problem(f"grid.{name}", f"the strategy has no parameter '{name}'; "
                                                    f"{_defined(strategy)}"))
    axes: list[tuple[float, ...]] = []
    for name, p in strategy.parameters.items():
        if name not in overrides:
            axes.append(p.sweep_values())
            continue
        given = tuple(overrides[name])
        where = f"grid.{name}"
        if not given:
            problems.append(Problem(where, "needs at least one value"))
        for x in given:
            for problem in _check_value(strategy, name, x, where):
                if problem not in problems:
                    problems.append(problem)
        axes.append(given)
    if problems:
        raise StrategyError(problems)
    total = math.prod(len(a) for a in axes)
    if total > MAX_GRID_SETS:
        raise StrategyError([Problem("parameters", f"the grid has {total:,} parameter sets, more "
                                                   f"than the {MAX_GRID_SETS:,} allowed: use fewer "
                                                   "values or coarser ranges")])
    names = list(strategy.parameters)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]


def resolve(v: Value, values: Mapping[str, float]) -> float:
    """The number ``v`` stands for, given the parameter values ``values``."""
    return float(values[v.name]) if isinstance(v, ParamRef) else float(v)


def sim_config(strategy: Strategy, params: Mapping[str, float] | None = None) -> SimConfig:
    """The engine's settings for one parameter set (defaults for parameters not in ``params``).

    Percents become fractions (``stop_loss_pct`` 2 -> ``stop_loss`` 0.02; unset -> NaN), basis
    points become fractions (``fee_bps`` 10 -> ``fee_rate`` 0.001), the sizing mode its integer
    code (``domain.engine.config.SIZING_MODES``); ``sizing_value`` stays as written (a fraction,
    a quote amount, or a percent for ``risk_pct``). Raises ``StrategyError`` like
    ``resolve_params``.
    """
    values = resolve_params(strategy, params)
    risk, costs = strategy.risk, strategy.costs

    def pct(v: Value | None) -> float:
        return math.nan if v is None else resolve(v, values) / 100.0

    return SimConfig(
        direction=strategy.direction,
        initial_capital=float(strategy.initial_capital),
        fee_rate=resolve(costs.fee_bps, values) / 10_000.0,
        slippage_rate=resolve(costs.slippage_bps, values) / 10_000.0,
        stop_loss=pct(risk.stop_loss_pct),
        take_profit=pct(risk.take_profit_pct),
        trailing_stop=pct(risk.trailing_stop_pct),
        sizing_mode=SIZING_MODES[risk.sizing_mode],
        sizing_value=resolve(risk.sizing_value, values),
    )
