"""Strategy documents: parse and validate them, build sweep grids and engine settings, and
compile their conditions into entry/exit signals.

The format is described in ``docs/strategy.md``; its JSON Schema comes from
``strategy_json_schema()`` (``python -m domain.strategy.schema``).

Modules: ``kinds``/``fields`` (the declarative tables both the validator and the schema read),
``walker``/``document`` (validation), ``model``/``build`` (the parsed dataclasses), ``params``
(parameter sets, ``SimConfig``), ``compile`` (signals), ``program`` (conditions compiled once
for many parameter sets, evaluated by ``program_nb``), ``schema`` (JSON Schema).
"""

from __future__ import annotations

from typing import Any

from domain.strategy.compile import compile_signals, compile_signals_many
from domain.strategy.document import parse_strategy, validate_strategy
from domain.strategy.model import (
    All,
    AnyOf,
    Compare,
    Condition,
    Const,
    Costs,
    Indicator,
    Not,
    Operand,
    Parameter,
    ParamRef,
    Price,
    Risk,
    Strategy,
    Value,
    range_values,
)
from domain.strategy.params import (
    default_params,
    grid_size,
    parameter_grid,
    resolve_params,
    sim_config,
)
from domain.strategy.program import Bound, Program, bind, compile_program, program_signals


def strategy_json_schema() -> dict[str, Any]:
    """The JSON Schema of strategy documents (see ``domain.strategy.schema``)."""
    # imported here so `python -m domain.strategy.schema` runs without a runpy warning
    from domain.strategy.schema import strategy_json_schema as build

    return build()


__all__ = [
    "All",
    "AnyOf",
    "Bound",
    "Compare",
    "Condition",
    "Const",
    "Costs",
    "Indicator",
    "Not",
    "Operand",
    "ParamRef",
    "Parameter",
    "Price",
    "Program",
    "Risk",
    "Strategy",
    "Value",
    "bind",
    "compile_program",
    "compile_signals",
    "compile_signals_many",
    "default_params",
    "grid_size",
    "parameter_grid",
    "parse_strategy",
    "program_signals",
    "range_values",
    "resolve_params",
    "sim_config",
    "strategy_json_schema",
    "validate_strategy",
]
