"""Transaction replay: imported fills -> FIFO lots, PnL, equity, round trips and what-ifs.

The rules are written down in ``domain.replay.rules``; ``run`` holds the entry points, ``nb``
the numba kernel, ``fills`` and ``placement`` the checked inputs, ``records`` the output dtypes
and ``export`` a backtest's trades as transactions.
"""

from __future__ import annotations

from domain.replay.export import transactions_from_trades
from domain.replay.fills import Fills, ReplayError
from domain.replay.placement import Conversions, align_prices
from domain.replay.records import FILL_DTYPE
from domain.replay.rules import FILL_MODELS
from domain.replay.run import (
    ACTUAL,
    Replay,
    ReplayModel,
    Transactions,
    WhatIf,
    replay_metrics,
    replay_transactions,
    what_if,
)

__all__ = [
    "ACTUAL",
    "FILL_DTYPE",
    "FILL_MODELS",
    "Conversions",
    "Fills",
    "Replay",
    "ReplayError",
    "ReplayModel",
    "Transactions",
    "WhatIf",
    "align_prices",
    "replay_metrics",
    "replay_transactions",
    "transactions_from_trades",
    "what_if",
]
