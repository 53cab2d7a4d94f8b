"""Concrete simulation settings: what the kernel needs, with every ``$param`` already resolved."""

from __future__ import annotations

import math
from dataclasses import dataclass

SIZING_FRACTION = 0  # value: fraction of equity (0, 1]
SIZING_FIXED_QUOTE = 1  # value: quote amount > 0
SIZING_RISK_PCT = 2  # value: percent of equity lost if the stop is hit (needs stop_loss)

SIZING_MODES = {
    "fraction_of_equity": SIZING_FRACTION,
    "fixed_quote": SIZING_FIXED_QUOTE,
    "risk_pct": SIZING_RISK_PCT,
}


@dataclass(frozen=True)
class SimConfig:
    """Settings of one simulation. Rates are plain fractions (10 bps -> 0.001).

    ``stop_loss``, ``take_profit`` and ``trailing_stop`` are fractions of the entry price (2% ->
    0.02) or NaN when unset.
    """

    direction: int = 1  # +1 long, -1 short
    initial_capital: float = 10_000.0
    fee_rate: float = 0.001
    slippage_rate: float = 0.0
    stop_loss: float = math.nan
    take_profit: float = math.nan
    trailing_stop: float = math.nan
    sizing_mode: int = SIZING_FRACTION
    sizing_value: float = 1.0
