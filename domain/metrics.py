"""Every performance metric of a backtest, in one numba kernel and a thin wrapper.

``metrics_nb`` is called once per run by the engine and once per parameter set inside the
sweep's ``prange`` loop, so it allocates only its output vector (``N_METRICS`` floats) and makes
one streaming pass over the bars and one over the trades. ``compute_metrics`` checks the inputs
and names the vector's entries. Units are fractions (0.25 = 25 %), money is quote currency.

Inputs: ``equity[t]`` account equity at bar ``t``'s close (``n >= 1`` bars), ``position[t]`` the
signed quantity held at that close, ``close[t]`` the bar's close, ``trade_pnl``/``trade_ret`` the
net PnL (after fees) and net return (on entry notional) of each of the ``k`` CLOSED trades,
``initial_capital > 0``, ``bar_ms`` the bar length in ms, ``periods_per_year`` the bars in a
365-day year, ``risk_free_rate`` annual.

Formulas (``E = equity``, ``C = initial_capital``, ``P = periods_per_year``):

- total_return = E[n-1] / C - 1;  net_pnl = E[n-1] - C.
- cagr = (E[n-1] / C) ** (1 / years) - 1, years = n * bar_ms / (365 * 86_400_000);
  -1.0 if E[n-1] <= 0 (may be ``inf`` when a short run's growth overflows).
- n_trades = k.  win_rate = #(pnl > 0) / k.  avg_win = mean of pnl > 0.  avg_loss = mean of
  pnl < 0 (a negative number).  Trades with pnl == 0 count in k but are neither wins nor losses.
- profit_factor = sum(pnl > 0) / |sum(pnl < 0)|; ``inf`` if no losses but some wins; 0.0 if
  losses but no wins; NaN if neither.
- expectancy = mean(pnl).  best_trade / worst_trade = max / min of trade_ret.
- sqn = sqrt(k) * mean(pnl) / std(pnl, ddof=1) (Van Tharp's System Quality Number).
- Bar returns: r[0] = E[0] / C - 1, r[t] = E[t] / E[t-1] - 1. Ruin: at the first bar with
  E[t] <= 0 the return is -1 (all capital lost, even if E[t] < 0) and the series STOPS there;
  later bars have no return (there is no capital to earn one on). N = number of returns.
- rf_bar = (1 + risk_free_rate) ** (1 / P) - 1;  x = r - rf_bar.
- sharpe = mean(x) / std(r, ddof=1) * sqrt(P).
- sortino = mean(x) / sqrt(sum(min(0, x) ** 2) / N) * sqrt(P)  (target downside deviation over
  ALL N returns, Sortino & Price).
- max_drawdown = max_t (1 - E[t] / peak[t]), peak[t] = max(C, E[0..t]); may exceed 1 if the
  equity goes negative.
- max_drawdown_duration = longest span, in days, from a peak to the first bar whose equity is
  back at or above it (or to the last bar if it never is): bars * bar_ms / 86_400_000. The
  initial capital is the peak "at bar -1", so losing from the start and recovering at bar t
  spans t + 1 bars.
- calmar = cagr / max_drawdown.
- exposure = #(position != 0) / n.
- buy_and_hold_return = close[-1] / close[0] - 1.

NaN (undefined) when: k == 0 (win_rate, expectancy, avg_*, best/worst, profit_factor); no wins
(avg_win) or no losses (avg_loss); k < 2 or zero std (sqn); N < 2 or zero std (sharpe); N < 2
or zero downside deviation (sortino); max_drawdown == 0 (calmar); close[0] == 0 (buy and hold).
A standard deviation counts as zero when it is <= 1e-12 * the largest |value| of its sample:
such a spread is floating-point noise (e.g. constant returns), not dispersion, and would
otherwise give a ratio of ~1e15.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]

METRIC_NAMES: tuple[str, ...] = (
    "total_return", "cagr", "net_pnl", "n_trades", "win_rate", "avg_win", "avg_loss",
    "profit_factor", "expectancy", "max_drawdown", "max_drawdown_duration", "sharpe", "sortino",
    "calmar", "exposure", "best_trade", "worst_trade", "sqn", "buy_and_hold_return",
)
M_TOTAL_RETURN = 0
M_CAGR = 1
M_NET_PNL = 2
M_N_TRADES = 3
M_WIN_RATE = 4
M_AVG_WIN = 5
M_AVG_LOSS = 6
M_PROFIT_FACTOR = 7
M_EXPECTANCY = 8
M_MAX_DRAWDOWN = 9
M_MAX_DRAWDOWN_DURATION = 10
M_SHARPE = 11
M_SORTINO = 12
M_CALMAR = 13
M_EXPOSURE = 14
M_BEST_TRADE = 15
M_WORST_TRADE = 16
M_SQN = 17
M_BUY_AND_HOLD_RETURN = 18
N_METRICS = 19
assert len(METRIC_NAMES) == N_METRICS
assert METRIC_NAMES[M_BUY_AND_HOLD_RETURN] == "buy_and_hold_return"

DAY_MS = 86_400_000.0
YEAR_MS = 365.0 * DAY_MS
ZERO_STD_REL = 1e-12  # a std <= this * max|value| is treated as zero (see the module docstring)


@njit(cache=True)
def _trade_stats_nb(trade_pnl: F64, trade_ret: F64, out: F64) -> None:
    """Fill the trade statistics of ``out`` in a pass over the closed trades (two for SQN)."""
    k = trade_pnl.shape[0]
    out[M_N_TRADES] = float(k)
    wins = 0
    losses = 0
    gross_win = 0.0
    gross_loss = 0.0
    mean = 0.0
    max_abs = 0.0
    for i in range(k):
        p = trade_pnl[i]
        if p > 0.0:
            wins += 1
            gross_win += p
        elif p < 0.0:
            losses += 1
            gross_loss += p
        mean += (p - mean) / (i + 1)  # Welford's running mean
        max_abs = max(max_abs, abs(p))
    if k > 0:
        out[M_WIN_RATE] = wins / k
        out[M_EXPECTANCY] = mean
    if wins > 0:
        out[M_AVG_WIN] = gross_win / wins
    if losses > 0:
        out[M_AVG_LOSS] = gross_loss / losses
        out[M_PROFIT_FACTOR] = gross_win / -gross_loss
    elif wins > 0:
        out[M_PROFIT_FACTOR] = np.inf
    if k >= 2 and max_abs > 0.0:
        # SQN is scale-free: computed on pnl / max|pnl|, so that squared deviations of tiny
        # pnls (1e-159, say) do not lose their precision as subnormal numbers
        mean_s = 0.0
        m2_s = 0.0
        for i in range(k):
            q = trade_pnl[i] / max_abs
            delta = q - mean_s
            mean_s += delta / (i + 1)
            m2_s += delta * (q - mean_s)
        std = math.sqrt(m2_s / (k - 1))
        if std > ZERO_STD_REL:
            out[M_SQN] = math.sqrt(k) * mean_s / std
    m = trade_ret.shape[0]
    if m > 0:
        best = trade_ret[0]
        worst = trade_ret[0]
        for i in range(1, m):
            best = max(best, trade_ret[i])
            worst = min(worst, trade_ret[i])
        out[M_BEST_TRADE] = best
        out[M_WORST_TRADE] = worst


@njit(cache=True)
def _returns_until_ruin_nb(equity, cap, rf_bar):  # type: ignore[no-untyped-def]
    """The returns' shifted sums when equity reaches 0: at the first bar with ``E <= 0`` the
    return is -1 and the series stops there. Returns ``(n_ret, shift, sum_d, sum_d2, max_abs,
    down2)``."""
    prev = cap
    n_ret = 0
    shift = 0.0
    sum_d = 0.0
    sum_d2 = 0.0
    max_abs = 0.0
    down2 = 0.0
    for t in range(equity.shape[0]):
        e = equity[t]
        r = -1.0 if e <= 0.0 else e / prev - 1.0
        prev = e
        if n_ret == 0:
            shift = r
        n_ret += 1
        dev = r - shift
        sum_d += dev
        sum_d2 += dev * dev
        max_abs = max(max_abs, abs(r))
        x = min(r - rf_bar, 0.0)
        down2 += x * x
        if e <= 0.0:
            break
    return n_ret, shift, sum_d, sum_d2, max_abs, down2


@njit(cache=True)
def metrics_nb(  # type: ignore[no-untyped-def]
    equity, position, close, trade_pnl, trade_ret, initial_capital, bar_ms, periods_per_year,
    risk_free_rate,
):
    """Every metric (``METRIC_NAMES`` order, index with ``M_*``) as a float64 vector.

    Formulas and edge cases are in the module docstring. ``metrics_exposed_nb`` with the
    number of bars whose ``position`` is not 0.
    """
    exposed = 0
    for t in range(position.shape[0]):
        exposed += 1 if position[t] != 0.0 else 0
    return metrics_exposed_nb(equity, exposed, close, trade_pnl, trade_ret, initial_capital,
                              bar_ms, periods_per_year, risk_free_rate)


@njit(cache=True, error_model="numpy")  # IEEE division: x/0 is inf or NaN, never an error
def metrics_exposed_nb(  # type: ignore[no-untyped-def]
    equity, exposed_bars, close, trade_pnl, trade_ret, initial_capital, bar_ms,
    periods_per_year, risk_free_rate,
):
    """``metrics_nb`` given the count of bars with a position open instead of the positions
    (the engine's kernel counts them as it runs, so no per-bar position array is needed).

    One pass over the bars (drawdown, the returns' shifted sums and downside deviation) and one
    over the trades.
    """
    out = np.full(N_METRICS, np.nan)
    _trade_stats_nb(trade_pnl, trade_ret, out)
    n = equity.shape[0]
    if n == 0:
        return out
    cap = float(initial_capital)
    bar = float(bar_ms)
    ppy = float(periods_per_year)
    last = equity[n - 1]
    out[M_TOTAL_RETURN] = last / cap - 1.0
    out[M_NET_PNL] = last - cap
    years = n * bar / YEAR_MS
    cagr = np.nan
    if last <= 0.0:
        cagr = -1.0
    elif years > 0.0:
        cagr = (last / cap) ** (1.0 / years) - 1.0
    out[M_CAGR] = cagr

    rf_bar = (1.0 + float(risk_free_rate)) ** (1.0 / ppy) - 1.0
    # One pass: drawdown (tracking each episode's trough, so no division per bar) and the
    # returns as shifted sums: with the shift K = r[0], sum(r - K) and sum((r - K)^2) give the
    # variance without cancellation when returns are near-constant (constant returns give
    # exactly 0), and without a division on a dependency chain. A bar whose equity equals the
    # previous one (every bar spent flat, in a backtest) has a return of exactly 0 and leaves
    # the drawdown state as it is (apart from a peak's index, which moves on while at the
    # peak): it is only counted, and the zero returns are added once after the loop. The
    # returns part assumes no ruin and finite returns; if equity ever reached 0, or a return
    # was not finite (e.g. an infinite equity, for which E/E is NaN, not 0), it is redone by
    # ``_returns_until_ruin_nb``, which evaluates every return and stops them at the first
    # bar with E <= 0.
    peak = cap
    peak_i = -1  # the initial capital is the peak "at bar -1"
    trough = cap
    under = False
    mdd = 0.0
    dd_bars = 0
    prev = cap
    shift = equity[0] / cap - 1.0
    sum_d = 0.0
    sum_d2 = 0.0
    max_abs = 0.0
    down2 = 0.0
    min_e = np.inf
    zeros = 0
    for t in range(n):
        e = equity[t]
        if e == prev:
            zeros += 1
            if not under:
                peak_i = t
            continue
        if e >= peak:
            if under:
                dd_bars = max(dd_bars, t - peak_i)
                mdd = max(mdd, 1.0 - trough / peak)
                under = False
            peak = e
            peak_i = t
        elif not under:
            under = True
            trough = e
        elif e < trough:
            trough = e
        r = e / prev - 1.0
        prev = e
        dev = r - shift
        sum_d += dev
        sum_d2 += dev * dev
        max_abs = max(max_abs, abs(r))
        x = min(r - rf_bar, 0.0)
        down2 += x * x
        min_e = min(min_e, e)
    if zeros > 0:  # the zero returns: r = 0, r - K = -K, min(0 - rf_bar, 0) = min(-rf_bar, 0)
        sum_d -= zeros * shift
        sum_d2 += zeros * (shift * shift)
        x = min(-rf_bar, 0.0)
        down2 += zeros * (x * x)
    n_ret = n
    if min_e <= 0.0 or not math.isfinite(sum_d2):
        n_ret, shift, sum_d, sum_d2, max_abs, down2 = _returns_until_ruin_nb(equity, cap, rf_bar)
    if under:
        mdd = max(mdd, 1.0 - trough / peak)
        dd_bars = max(dd_bars, n - 1 - peak_i)
    mean = shift + sum_d / n_ret
    m2 = max(0.0, sum_d2 - sum_d * sum_d / n_ret)

    out[M_MAX_DRAWDOWN] = mdd
    out[M_MAX_DRAWDOWN_DURATION] = dd_bars * bar / DAY_MS
    if mdd > 0.0:
        out[M_CALMAR] = cagr / mdd
    out[M_EXPOSURE] = exposed_bars / n
    excess = mean - rf_bar
    if n_ret >= 2:
        std = math.sqrt(m2 / (n_ret - 1))
        if std > ZERO_STD_REL * max_abs:
            out[M_SHARPE] = excess / std * math.sqrt(ppy)
        if down2 > 0.0:
            out[M_SORTINO] = excess / math.sqrt(down2 / n_ret) * math.sqrt(ppy)
    if close.shape[0] > 0 and close[0] != 0.0:
        out[M_BUY_AND_HOLD_RETURN] = close[close.shape[0] - 1] / close[0] - 1.0
    return out


def vector(a: npt.ArrayLike, name: str,
           dtype: type[np.generic] = np.float64) -> npt.NDArray[Any]:
    """``a`` as a contiguous 1-D array of ``dtype``; ``ValueError`` naming ``name`` for another
    shape."""
    arr = np.ascontiguousarray(a, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def check_scalars(initial_capital: float, bar_ms: float, periods_per_year: float,
                  risk_free_rate: float) -> None:
    """Raise ``ValueError`` unless the scalar inputs of the metrics are in range."""
    if not initial_capital > 0.0:
        raise ValueError(f"initial_capital must be > 0, got {initial_capital}")
    if not bar_ms > 0 or not periods_per_year > 0:
        raise ValueError(f"bar_ms and periods_per_year must be > 0, got {bar_ms}, {periods_per_year}")
    if not risk_free_rate > -1.0:
        raise ValueError(f"risk_free_rate must be > -1, got {risk_free_rate}")


def compute_metrics(
    equity: npt.ArrayLike,
    position: npt.ArrayLike,
    close: npt.ArrayLike,
    trade_pnl: npt.ArrayLike,
    trade_ret: npt.ArrayLike,
    initial_capital: float,
    bar_ms: float,
    periods_per_year: float,
    risk_free_rate: float = 0.0,
) -> dict[str, float]:
    """Every metric by name (see the module docstring); checks the inputs, calls ``metrics_nb``."""
    eq = vector(equity, "equity")
    pos = vector(position, "position")
    cl = vector(close, "close")
    pnl = vector(trade_pnl, "trade_pnl")
    ret = vector(trade_ret, "trade_ret")
    if eq.shape[0] == 0:
        raise ValueError("equity is empty: metrics need at least one bar")
    if pos.shape != eq.shape or cl.shape != eq.shape:
        raise ValueError(f"equity, position and close must have the same length, got "
                         f"{eq.shape[0]}, {pos.shape[0]}, {cl.shape[0]}")
    if pnl.shape != ret.shape:
        raise ValueError(f"trade_pnl and trade_ret must have the same length, got "
                         f"{pnl.shape[0]} and {ret.shape[0]}")
    check_scalars(initial_capital, bar_ms, periods_per_year, risk_free_rate)
    vec = metrics_nb(eq, pos, cl, pnl, ret, float(initial_capital), float(bar_ms),
                     float(periods_per_year), float(risk_free_rate))
    return {name: float(v) for name, v in zip(METRIC_NAMES, vec, strict=True)}


__all__ = [
    "METRIC_NAMES",
    "M_AVG_LOSS",
    "M_AVG_WIN",
    "M_BEST_TRADE",
    "M_BUY_AND_HOLD_RETURN",
    "M_CAGR",
    "M_CALMAR",
    "M_EXPECTANCY",
    "M_EXPOSURE",
    "M_MAX_DRAWDOWN",
    "M_MAX_DRAWDOWN_DURATION",
    "M_NET_PNL",
    "M_N_TRADES",
    "M_PROFIT_FACTOR",
    "M_SHARPE",
    "M_SORTINO",
    "M_SQN",
    "M_TOTAL_RETURN",
    "M_WIN_RATE",
    "M_WORST_TRADE",
    "N_METRICS",
    "check_scalars",
    "compute_metrics",
    "metrics_exposed_nb",
    "metrics_nb",
    "vector",
]
