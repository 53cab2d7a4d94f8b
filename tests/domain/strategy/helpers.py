"""Shared bits of the strategy tests: a valid base document, candles from lists, examples."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from domain.candles import Candles

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
SCHEMA_FILE = ROOT / "docs" / "strategy.schema.json"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


BASE: dict[str, Any] = {
    "name": "test",
    "parameters": {
        "fast": {"value": 10, "range": {"start": 5, "stop": 50, "step": 5}},
        "slow": {"value": 50, "values": [20, 50, 100]},
        "level": 30,
    },
    "entry": {"all": [
        {"left": {"indicator": "sma", "period": "$fast"}, "op": "crosses_above",
         "right": {"indicator": "sma", "period": "$slow"}},
        {"left": {"indicator": "rsi"}, "op": ">", "right": "$level"},
    ]},
    "exit": {"left": {"indicator": "sma", "period": "$fast"}, "op": "crosses_below",
             "right": {"indicator": "sma", "period": "$slow"}},
}


def doc(**changes: Any) -> dict[str, Any]:
    """A deep copy of ``BASE`` with top-level keys replaced (``None`` removes a key)."""
    d = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            d.pop(key, None)
        else:
            d[key] = value
    return d


def candles(close: Sequence[float], *, high: Sequence[float] | None = None,
            low: Sequence[float] | None = None, open_: Sequence[float] | None = None,
            volume: Sequence[float] | None = None) -> Candles:
    """Candles from a list of closes (open/high/low default to the close, volume to 1)."""
    c = np.asarray(close, dtype=np.float64)
    n = c.shape[0]

    def col(x: Sequence[float] | None, default: np.ndarray) -> np.ndarray:
        return default.copy() if x is None else np.asarray(x, dtype=np.float64)

    return Candles(np.arange(n, dtype=np.int64) * 60_000, col(open_, c), col(high, c),
                   col(low, c), c, col(volume, np.ones(n)), "TEST", "1m")


def random_candles(seed: int, n: int) -> Candles:
    """A geometric random walk with consistent OHLC and positive volume."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1.0 + rng.uniform(0.0, 0.01, n))
    low = np.minimum(open_, close) * (1.0 - rng.uniform(0.0, 0.01, n))
    volume = rng.uniform(0.5, 50.0, n)
    return Candles(np.arange(n, dtype=np.int64) * 60_000, open_, high, low, close, volume,
                   "TEST", "1m")
