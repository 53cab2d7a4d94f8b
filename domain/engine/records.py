"""Record dtypes of the engine's outputs, in one place."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.engine import nb

TRADE_DTYPE = np.dtype(
    [
        ("entry_idx", np.int64),
        ("exit_idx", np.int64),
        ("entry_time", np.int64),  # UTC ms, open time of the entry bar (the fill is at its open)
        ("exit_time", np.int64),  # UTC ms, open time of the exit bar
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("quantity", np.float64),  # always > 0; ``direction`` gives the side
        ("direction", np.int8),  # +1 long, -1 short
        ("gross_pnl", np.float64),
        ("fees", np.float64),
        ("pnl", np.float64),  # net of both fees
        ("return", np.float64),  # pnl / (quantity * entry_price)
        ("exit_reason", np.int8),  # index into domain.engine.rules.EXIT_REASONS
    ]
)


def trades_from_matrix(
    matrix: npt.NDArray[np.float64], n_trades: int, ts: npt.NDArray[np.int64]
) -> npt.NDArray[np.void]:
    """Turn the kernel's float trade matrix (first ``n_trades`` rows) into ``TRADE_DTYPE`` records."""
    m = matrix[:n_trades]
    out = np.empty(n_trades, dtype=TRADE_DTYPE)
    entry_idx = m[:, nb.T_ENTRY_IDX].astype(np.int64)
    exit_idx = m[:, nb.T_EXIT_IDX].astype(np.int64)
    out["entry_idx"] = entry_idx
    out["exit_idx"] = exit_idx
    out["entry_time"] = ts[entry_idx]
    out["exit_time"] = ts[exit_idx]
    out["entry_price"] = m[:, nb.T_ENTRY_PRICE]
    out["exit_price"] = m[:, nb.T_EXIT_PRICE]
    out["quantity"] = m[:, nb.T_QTY]
    out["direction"] = m[:, nb.T_DIRECTION].astype(np.int8)
    out["gross_pnl"] = m[:, nb.T_GROSS]
    out["fees"] = m[:, nb.T_FEES]
    out["pnl"] = m[:, nb.T_NET]
    out["return"] = m[:, nb.T_RETURN]
    out["exit_reason"] = m[:, nb.T_REASON].astype(np.int8)
    return out
