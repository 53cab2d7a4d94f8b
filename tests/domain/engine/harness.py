"""Shared helpers of the engine tests: run the kernel or the reference on the same inputs, and
compare two results field by field."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from domain.engine import nb
from domain.engine.config import SimConfig
from tests.domain.engine.reference import TRADE_FIELDS, Result, simulate_reference

Engine = Literal["kernel", "reference"]
Bar = tuple[float, float, float, float]  # open, high, low, close

_COLUMNS = {
    "entry_idx": nb.T_ENTRY_IDX,
    "exit_idx": nb.T_EXIT_IDX,
    "entry_price": nb.T_ENTRY_PRICE,
    "exit_price": nb.T_EXIT_PRICE,
    "quantity": nb.T_QTY,
    "direction": nb.T_DIRECTION,
    "gross_pnl": nb.T_GROSS,
    "fees": nb.T_FEES,
    "pnl": nb.T_NET,
    "return": nb.T_RETURN,
    "exit_reason": nb.T_REASON,
}
INT_FIELDS = ("entry_idx", "exit_idx", "direction", "exit_reason")
MONEY_FIELDS = ("gross_pnl", "fees", "pnl")


def ohlc(bars: Sequence[Bar]) -> tuple[npt.NDArray[np.float64], ...]:
    a = np.asarray(bars, dtype=np.float64).reshape(-1, 4)
    return tuple(np.ascontiguousarray(a[:, i]) for i in range(4))


def signal(n: int, at: Iterable[int]) -> npt.NDArray[np.bool_]:
    out = np.zeros(n, dtype=np.bool_)
    out[list(at)] = True
    return out


def kernel_args(
    o: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    entries: npt.NDArray[np.bool_],
    exits: npt.NDArray[np.bool_],
    cfg: SimConfig,
) -> tuple[object, ...]:
    return (
        o, h, lo, c, entries, exits, cfg.initial_capital, cfg.direction, cfg.fee_rate,
        cfg.slippage_rate, cfg.stop_loss, cfg.take_profit, cfg.trailing_stop, cfg.sizing_mode,
        cfg.sizing_value,
    )


def run_kernel(
    o: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    entries: npt.NDArray[np.bool_],
    exits: npt.NDArray[np.bool_],
    cfg: SimConfig,
) -> Result:
    """``nb.simulate_nb``, its outputs converted to the reference's ``Result``."""
    trades, k, equity, cash, pos = nb.simulate_nb(*kernel_args(o, h, lo, c, entries, exits, cfg))
    rows = []
    for r in range(int(k)):
        row: dict[str, float] = {}
        for name, col in _COLUMNS.items():
            v = float(trades[r, col])
            row[name] = int(v) if name in INT_FIELDS else v
        rows.append(row)
    return Result(rows, [float(x) for x in equity], [float(x) for x in cash],
                  [float(x) for x in pos])


def run_ref(
    o: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    entries: npt.NDArray[np.bool_],
    exits: npt.NDArray[np.bool_],
    cfg: SimConfig,
) -> Result:
    return simulate_reference(
        list(map(float, o)), list(map(float, h)), list(map(float, lo)), list(map(float, c)),
        list(map(bool, entries)), list(map(bool, exits)), cfg.initial_capital, cfg.direction,
        cfg.fee_rate, cfg.slippage_rate, cfg.stop_loss, cfg.take_profit, cfg.trailing_stop,
        cfg.sizing_mode, cfg.sizing_value,
    )


def run(
    engine: Engine,
    bars: Sequence[Bar],
    entries: Iterable[int] = (),
    exits: Iterable[int] = (),
    **config: float,
) -> Result:
    """Run ``engine`` on ``bars`` with entry/exit signals at the given bar indices."""
    o, h, lo, c = ohlc(bars)
    n = len(bars)
    cfg = SimConfig(**config)  # type: ignore[arg-type]
    fn = run_kernel if engine == "kernel" else run_ref
    return fn(o, h, lo, c, signal(n, entries), signal(n, exits), cfg)


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-9) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def diff_results(a: Result, b: Result, rel: float = 1e-9, scale: float = 1.0) -> list[str]:
    """Differences between two results (empty when equal up to ``rel``; money amounts also get an
    absolute tolerance of ``rel * scale``, scale being e.g. the initial capital: a pnl that should
    be 0 is a difference of large numbers)."""
    out: list[str] = []
    if len(a.trades) != len(b.trades):
        out.append(f"{len(a.trades)} trades vs {len(b.trades)}")
    for i, (ta, tb) in enumerate(zip(a.trades, b.trades, strict=False)):
        for f in TRADE_FIELDS:
            if f in INT_FIELDS:
                if ta[f] != tb[f]:
                    out.append(f"trade {i} {f}: {ta[f]} vs {tb[f]}")
            elif not close(ta[f], tb[f], rel, rel * scale if f in MONEY_FIELDS else 1e-12):
                out.append(f"trade {i} {f}: {ta[f]!r} vs {tb[f]!r}")
    for name in ("equity", "cash", "position"):
        xa, xb = getattr(a, name), getattr(b, name)
        if len(xa) != len(xb):
            out.append(f"{name}: length {len(xa)} vs {len(xb)}")
            continue
        tol = rel * scale if name != "position" else 1e-12
        for j, (va, vb) in enumerate(zip(xa, xb, strict=True)):
            if not close(va, vb, rel, tol):
                out.append(f"{name}[{j}]: {va!r} vs {vb!r}")
                break
    return out
