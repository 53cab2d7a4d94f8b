"""Input checks shared by the analysis functions."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from domain.metrics import vector

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def floats(values: npt.ArrayLike, name: str) -> F64:
    """``values`` as a 1-D float64 array (``ValueError`` for another shape)."""
    return vector(values, name)


def ints(values: npt.ArrayLike, name: str) -> I64:
    """``values`` as a 1-D int64 array (``ValueError`` for another shape)."""
    return vector(values, name, np.int64)


def same_length(**arrays: npt.NDArray[np.generic]) -> None:
    """``ValueError`` unless every array has the same length."""
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("arrays must have the same length, got "
                         + ", ".join(f"{k}={v}" for k, v in lengths.items()))


def capital(initial_capital: float) -> float:
    """``initial_capital`` as a float (``ValueError`` unless positive and finite)."""
    cap = float(initial_capital)
    if not (math.isfinite(cap) and cap > 0.0):
        raise ValueError(f"initial_capital must be > 0 and finite, got {initial_capital}")
    return cap
