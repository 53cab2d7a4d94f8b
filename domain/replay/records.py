"""Record dtypes of the replay's outputs: the per-fill table and the round trips.

Round trips use the engine's ``TRADE_DTYPE`` (``domain.engine.records``) so that the metrics,
the store and the API treat a replay's trades like a backtest's. One difference: a replayed
trade's ``entry_time``/``exit_time`` are the fills' own times (a fill can be anywhere in its
bar), not the bars' open times; an ``end_of_data`` row's exit time is the last bar's open time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.engine.records import TRADE_DTYPE
from domain.replay import nb

FILL_DTYPE = np.dtype(
    [
        ("row", np.int64),  # the transaction's row in the user's file (0: unknown)
        ("time", np.int64),  # UTC ms, the transaction's time
        ("bar", np.int64),  # index of the candle it falls in
        ("replay_bar", np.int64),  # bar + delay: where it was replayed; -1 when dropped
        ("replay_time", np.int64),  # its time in the replay (rules: delay); -1 when dropped
        ("side", np.int8),  # +1 buy, -1 sell
        ("quantity", np.float64),  # effective quantity (change of the base position), > 0
        ("price", np.float64),  # actual price
        ("fee", np.float64),  # actual fee in quote
        ("replay_price", np.float64),  # the replayed price (NaN when dropped)
        ("replay_fee", np.float64),  # the replayed fee in quote (NaN when dropped)
        ("slippage", np.float64),  # side * (price - replay_price) * quantity: actual's extra cost
        ("fee_attribution", np.float64),  # fee - replay_fee: actual's extra fee
        ("realized_pnl", np.float64),  # net PnL this fill realized in the replay (NaN: dropped)
    ]
)


def round_trips_to_records(matrix: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.void]:
    """The kernel's round-trip matrix (first ``k`` rows) as ``TRADE_DTYPE`` records."""
    m = matrix[:k]
    out = np.empty(k, dtype=TRADE_DTYPE)
    out["entry_idx"] = m[:, nb.R_ENTRY_IDX].astype(np.int64)
    out["exit_idx"] = m[:, nb.R_EXIT_IDX].astype(np.int64)
    out["entry_time"] = m[:, nb.R_ENTRY_TIME].astype(np.int64)
    out["exit_time"] = m[:, nb.R_EXIT_TIME].astype(np.int64)
    out["entry_price"] = m[:, nb.R_ENTRY_PRICE]
    out["exit_price"] = m[:, nb.R_EXIT_PRICE]
    out["quantity"] = m[:, nb.R_QTY]
    out["direction"] = m[:, nb.R_DIRECTION].astype(np.int8)
    out["gross_pnl"] = m[:, nb.R_GROSS]
    out["fees"] = m[:, nb.R_FEES]
    out["pnl"] = m[:, nb.R_NET]
    out["return"] = m[:, nb.R_RETURN]
    out["exit_reason"] = m[:, nb.R_REASON].astype(np.int8)
    return out
