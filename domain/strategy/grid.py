"""Sweep grids written by people: one parameter's values as a list or as an inclusive range.

The CLI's ``--grid fast=5:50:5`` / ``--grid fast=5,10,20`` and the API's ``grid: {"fast":
{"start": 5, "stop": 50, "step": 5}, "slow": [30, 60]}`` both end up here, so both accept and
reject the same things with the same messages. Each parameter's values are then checked against
the strategy by ``domain.strategy.params.parameter_grid``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from domain.errors import Problem, StrategyError
from domain.strategy.model import range_count, range_values

MAX_AXIS_VALUES = 1_000_000


def _number(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        return None
    return float(x)


def _range(spec: Mapping[object, object], where: str) -> list[float]:
    keys = set(spec)
    if keys != {"start", "stop", "step"}:
        raise StrategyError([Problem(where, "a range needs exactly start, stop and step, e.g. "
                                            '{"start": 5, "stop": 50, "step": 5}')])
    nums = {k: _number(spec[k]) for k in ("start", "stop", "step")}
    bad = [k for k, v in nums.items() if v is None]
    if bad:
        raise StrategyError([Problem(f"{where}.{k}", f"must be a finite number, got {spec[k]!r}")
                             for k in bad])
    start, stop, step = (float(nums[k] or 0.0) for k in ("start", "stop", "step"))
    if step <= 0:
        raise StrategyError([Problem(where, f"step must be > 0, got {step:g}")])
    if start > stop:
        raise StrategyError([Problem(where, f"start must be <= stop, got {start:g} > {stop:g}")])
    if range_count(start, stop, step) > MAX_AXIS_VALUES:
        raise StrategyError([Problem(where, f"more than {MAX_AXIS_VALUES:,} values: use a larger "
                                            "step or a narrower range")])
    return [float(v) for v in range_values(start, stop, step)]


def grid_axis(spec: object, where: str) -> list[float]:
    """One parameter's sweep values from ``spec``: a non-empty list of finite numbers, or a
    mapping ``{"start", "stop", "step"}`` (``stop`` included, as in ``range_values``).
    Raises ``StrategyError`` whose problems are located at ``where``."""
    if isinstance(spec, Mapping):
        return _range(spec, where)
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise StrategyError([Problem(where, "no values")])
        if len(spec) > MAX_AXIS_VALUES:
            raise StrategyError([Problem(where, f"more than {MAX_AXIS_VALUES:,} values")])
        values = [_number(x) for x in spec]
        bad = [i for i, v in enumerate(values) if v is None]
        if bad:
            raise StrategyError([Problem(f"{where}[{i}]", f"must be a finite number, got "
                                                          f"{spec[i]!r}") for i in bad])
        return [float(v) for v in values if v is not None]
    raise StrategyError([Problem(where, "give a list of numbers or a range "
                                        '{"start": ..., "stop": ..., "step": ...}')])


def parse_grid(grid: Mapping[str, object], where: str = "grid") -> dict[str, list[float]]:
    """Every axis of ``grid`` (parameter name -> list or range) by :func:`grid_axis`, problems
    of all axes reported together at ``where.NAME``."""
    out: dict[str, list[float]] = {}
    problems: list[Problem] = []
    for name, spec in grid.items():
        try:
            out[name] = grid_axis(spec, f"{where}.{name}")
        except StrategyError as err:
            problems.extend(err.problems)
    if problems:
        raise StrategyError(problems)
    return out
