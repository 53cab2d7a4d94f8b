"""Metrics: hand-computed examples, edge cases, a numpy reference on random inputs, prange use."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit, prange

from domain import metrics as mm
from domain.metrics import METRIC_NAMES, N_METRICS, compute_metrics, metrics_nb

F64 = npt.NDArray[np.float64]
DAY = 86_400_000
YEAR = 365 * DAY


def run(equity: list[float], pnl: list[float] | None = None, ret: list[float] | None = None,
        position: list[float] | None = None, close: list[float] | None = None,
        cap: float = 100.0, bar_ms: int = DAY, rf: float = 0.0) -> dict[str, float]:
    n = len(equity)
    pnl = pnl or []
    return compute_metrics(
        np.array(equity, dtype=float),
        np.array(position if position is not None else [0.0] * n, dtype=float),
        np.array(close if close is not None else [1.0] * n, dtype=float),
        np.array(pnl, dtype=float),
        np.array(ret if ret is not None else [0.0] * len(pnl), dtype=float),
        cap, bar_ms, YEAR / bar_ms, rf,
    )


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-9, abs=1e-12)


def test_names_and_index_constants_agree() -> None:
    assert len(METRIC_NAMES) == N_METRICS == len(set(METRIC_NAMES))
    for i, name in enumerate(METRIC_NAMES):
        assert getattr(mm, f"M_{name.upper()}") == i


def test_hand_computed_example() -> None:
    # initial 100, daily bars (365 per year); equity 110, 99, 108.9, 119.79
    m = run([110.0, 99.0, 108.9, 119.79], pnl=[10.0, -5.0, 20.0, 0.0],
            ret=[0.1, -0.05, 0.2, 0.0], position=[0, 1, -1, 0], close=[10, 11, 12, 15])
    assert m["total_return"] == approx(0.1979)  # 119.79 / 100 - 1
    assert m["net_pnl"] == approx(19.79)  # 119.79 - 100
    # years = 4 bars * 1 day / 365 days
    cagr = 1.1979 ** (365 / 4) - 1
    assert m["cagr"] == approx(cagr)
    # returns: 110/100-1 = .1, 99/110-1 = -.1, 108.9/99-1 = .1, 119.79/108.9-1 = .1
    # mean .05; deviations .05 -.15 .05 .05; squares sum .0025*3 + .0225 = .03; /3 = .01; std .1
    assert m["sharpe"] == approx(0.05 / 0.1 * math.sqrt(365))
    # downside: only -.1 -> .01 / 4 returns = .0025 -> sqrt .05; sortino = .05 / .05 * sqrt(365)
    assert m["sortino"] == approx(math.sqrt(365))
    # peak 110 at bar 0; 99 is 1 - 99/110 = 10 % below; regained at bar 3 (119.79) -> 3 bars = 3 days
    assert m["max_drawdown"] == approx(0.1)
    assert m["max_drawdown_duration"] == approx(3.0)
    assert m["calmar"] == approx(cagr / 0.1)
    assert m["exposure"] == approx(0.5)  # 2 of 4 bars with a position (long or short)
    assert m["buy_and_hold_return"] == approx(0.5)  # 15 / 10 - 1
    # trades: pnl 10, -5, 20, 0 (the 0 is neither win nor loss)
    assert m["n_trades"] == 4
    assert m["win_rate"] == approx(0.5)  # 2 / 4
    assert m["avg_win"] == approx(15.0)  # (10 + 20) / 2
    assert m["avg_loss"] == approx(-5.0)
    assert m["profit_factor"] == approx(6.0)  # 30 / |-5|
    assert m["expectancy"] == approx(6.25)  # 25 / 4
    assert m["best_trade"] == approx(0.2)
    assert m["worst_trade"] == approx(-0.05)
    # deviations from 6.25: 3.75 -11.25 13.75 -6.25; squares 14.0625 + 126.5625 + 189.0625
    # + 39.0625 = 368.75; var = 368.75 / 3; sqn = sqrt(4) * 6.25 / sqrt(var)
    assert m["sqn"] == approx(2 * 6.25 / math.sqrt(368.75 / 3))


def test_risk_free_rate_lowers_sharpe_and_sortino() -> None:
    eq = [101.0, 100.5, 102.0, 103.0, 102.5]
    base, with_rf = run(eq), run(eq, rf=0.05)
    assert with_rf["sharpe"] < base["sharpe"]
    assert with_rf["sortino"] < base["sortino"]
    # rf per bar = 1.05 ** (1/365) - 1; sharpe shifts by exactly rf_bar / std * sqrt(365)
    r = np.array(eq) / np.array([100.0, *eq[:-1]]) - 1
    rf_bar = 1.05 ** (1 / 365) - 1
    assert base["sharpe"] - with_rf["sharpe"] == approx(rf_bar / r.std(ddof=1) * math.sqrt(365))


def test_no_trades() -> None:
    m = run([100.0, 101.0])
    assert m["n_trades"] == 0
    for name in ("win_rate", "avg_win", "avg_loss", "profit_factor", "expectancy",
                 "best_trade", "worst_trade", "sqn"):
        assert math.isnan(m[name]), name


def test_all_wins() -> None:
    m = run([100.0], pnl=[1.0, 3.0], ret=[0.01, 0.03])
    assert m["win_rate"] == 1.0
    assert m["avg_win"] == 2.0
    assert math.isnan(m["avg_loss"])
    assert m["profit_factor"] == math.inf
    # mean 2, std sqrt(((-1)^2 + 1^2) / 1) = sqrt(2); sqn = sqrt(2) * 2 / sqrt(2) = 2
    assert m["sqn"] == approx(2.0)


def test_all_losses() -> None:
    m = run([100.0], pnl=[-1.0, -3.0], ret=[-0.01, -0.03])
    assert m["win_rate"] == 0.0
    assert math.isnan(m["avg_win"])
    assert m["avg_loss"] == -2.0
    assert m["profit_factor"] == 0.0
    assert m["best_trade"] == -0.01
    assert m["worst_trade"] == -0.03
    assert m["sqn"] == approx(-2.0)


def test_single_trade_and_breakeven_trades() -> None:
    one = run([100.0], pnl=[5.0], ret=[0.05])
    assert math.isnan(one["sqn"])  # k < 2
    flat = run([100.0], pnl=[0.0, 0.0], ret=[0.0, 0.0])
    assert flat["win_rate"] == 0.0
    assert math.isnan(flat["profit_factor"])  # neither wins nor losses
    assert math.isnan(flat["sqn"])  # std 0
    same = run([100.0], pnl=[0.1, 0.1, 0.1], ret=[0.0] * 3)
    assert math.isnan(same["sqn"])  # identical trades: std is rounding noise at most


def test_flat_equity() -> None:
    m = run([100.0] * 5, position=[0.0] * 5)
    assert m["total_return"] == 0.0
    assert m["cagr"] == 0.0
    assert m["max_drawdown"] == 0.0
    assert m["max_drawdown_duration"] == 0.0
    assert m["exposure"] == 0.0
    for name in ("sharpe", "sortino", "calmar"):
        assert math.isnan(m[name]), name
    # with rf > 0 every excess return is -rf_bar: sortino = -rf_bar / rf_bar * sqrt(365)
    assert run([100.0] * 5, rf=0.05)["sortino"] == approx(-math.sqrt(365))


def test_constant_nonzero_returns_have_no_sharpe() -> None:
    eq = [100.0 * 1.001 ** (t + 1) for t in range(50)]
    m = run(eq)
    assert math.isnan(m["sharpe"])  # std is rounding noise, not dispersion
    assert math.isnan(m["sortino"])  # no bar below the target


def test_one_bar() -> None:
    m = run([105.0], position=[1.0], close=[7.0], bar_ms=DAY)
    assert m["total_return"] == approx(0.05)
    assert m["cagr"] == approx(1.05 ** 365 - 1)  # one day = 1/365 year
    assert math.isnan(m["sharpe"])
    assert math.isnan(m["sortino"])
    assert m["max_drawdown"] == 0.0
    assert m["exposure"] == 1.0
    assert m["buy_and_hold_return"] == 0.0
    lost = run([95.0])  # below the initial capital from the start, never regained: 1 bar
    assert lost["max_drawdown"] == approx(0.05)
    assert lost["max_drawdown_duration"] == approx(1.0)


def test_drawdown_from_initial_capital() -> None:
    # peak is the initial 100 "at bar -1"; 90, 95 below; 100 at bar 2 regains it: 3 bars
    m = run([90.0, 95.0, 100.0, 99.0], bar_ms=3_600_000)
    assert m["max_drawdown"] == approx(0.1)
    assert m["max_drawdown_duration"] == approx(3 / 24)  # 3 hourly bars, in days


def test_equity_going_to_zero() -> None:
    m = run([100.0, 50.0, 0.0, 0.0], cap=100.0)
    assert m["total_return"] == -1.0
    assert m["cagr"] == -1.0
    assert m["max_drawdown"] == 1.0
    assert m["calmar"] == -1.0
    assert m["max_drawdown_duration"] == 3.0  # peak at bar 0, never regained, last bar is 3
    # returns 0, -.5, -1 then stop (N = 3); mean -.5, var (.25 + 0 + .25) / 2 = .25, std .5
    assert m["sharpe"] == approx(-0.5 / 0.5 * math.sqrt(365))
    # downside: (.25 + 1) / 3
    assert m["sortino"] == approx(-0.5 / math.sqrt(1.25 / 3) * math.sqrt(365))


def test_negative_equity() -> None:
    m = run([80.0, -20.0, -10.0])
    assert m["max_drawdown"] == approx(1.2)  # 1 - (-20) / 100
    assert m["cagr"] == -1.0
    # returns -.2, -1 then stop: mean -.6, std sqrt(.32) (deviations +-.4, var .32)
    assert m["sharpe"] == approx(-0.6 / math.sqrt(0.32) * math.sqrt(365))


def test_compute_metrics_checks_inputs() -> None:
    ok: dict[str, object] = {
        "equity": [1.0], "position": [0.0], "close": [1.0], "trade_pnl": [], "trade_ret": [],
        "initial_capital": 1.0, "bar_ms": DAY, "periods_per_year": 365.0,
    }
    compute_metrics(**ok)  # type: ignore[arg-type]
    for bad in ({"equity": []}, {"position": [0.0, 0.0]}, {"trade_pnl": [1.0]},
                {"initial_capital": 0.0}, {"bar_ms": 0}, {"risk_free_rate": -1.0},
                {"equity": [[1.0]]}):
        with pytest.raises(ValueError):
            compute_metrics(**{**ok, **bad})  # type: ignore[arg-type]


# ---------------------------------------------------------------- numpy reference ---------

def _ratio_std(x: F64) -> float:
    """std(ddof=1), zero when it is rounding noise (the module's documented tolerance)."""
    s = float(np.std(x, ddof=1))
    return 0.0 if s <= mm.ZERO_STD_REL * float(np.max(np.abs(x))) else s


def reference(eq: F64, pos: F64, close: F64, pnl: F64, ret: F64, cap: float, bar_ms: float,
              ppy: float, rf: float) -> dict[str, float]:
    nan = math.nan
    n, k = len(eq), len(pnl)
    out: dict[str, float] = {"total_return": eq[-1] / cap - 1, "net_pnl": eq[-1] - cap}
    years = n * bar_ms / YEAR
    with np.errstate(over="ignore"):
        growth = float(np.power(np.float64(eq[-1] / cap), 1 / years)) if eq[-1] > 0 else 0.0
    out["cagr"] = growth - 1
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    out["n_trades"] = k
    out["win_rate"] = len(wins) / k if k else nan
    out["avg_win"] = float(wins.mean()) if len(wins) else nan
    out["avg_loss"] = float(losses.mean()) if len(losses) else nan
    with np.errstate(over="ignore"):  # a subnormal total loss: the factor is inf, as in the kernel
        out["profit_factor"] = (wins.sum() / -losses.sum() if len(losses)
                                else math.inf if len(wins) else nan)
    out["expectancy"] = float(pnl.mean()) if k else nan
    out["best_trade"] = float(ret.max()) if k else nan
    out["worst_trade"] = float(ret.min()) if k else nan
    # SQN is scale-free: on pnl / max|pnl| (tiny pnls squared would be subnormal otherwise)
    q = pnl / np.max(np.abs(pnl)) if k and np.max(np.abs(pnl)) > 0 else pnl
    sd = _ratio_std(q) if k >= 2 and np.max(np.abs(q)) > 0 else 0.0
    out["sqn"] = math.sqrt(k) * q.mean() / sd if sd > 0 else nan
    # returns, stopping at the first bar with equity <= 0 (its return is -1)
    prev = np.concatenate(([cap], eq[:-1]))
    ruin = np.flatnonzero(eq <= 0)
    stop = int(ruin[0]) + 1 if len(ruin) else n
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (eq / prev - 1)[:stop]
    if len(ruin):
        r[-1] = -1.0
    rf_bar = (1 + rf) ** (1 / ppy) - 1
    x = r - rf_bar
    sd = _ratio_std(r) if len(r) >= 2 else 0.0
    out["sharpe"] = x.mean() / sd * math.sqrt(ppy) if sd > 0 else nan
    dd = math.sqrt(float(np.mean(np.minimum(x, 0.0) ** 2)))
    out["sortino"] = x.mean() / dd * math.sqrt(ppy) if dd > 0 and len(r) >= 2 else nan
    # drawdown on [cap, eq...]: runs of bars strictly below the running peak; a run that is
    # regained spans run length + 1 bars (from its peak), one that lasts to the end spans its length
    ext = np.concatenate(([cap], eq))
    peak = np.maximum.accumulate(ext)
    out["max_drawdown"] = float(np.max(1 - ext / peak))
    under = ext < peak
    longest, run_len = 0, 0
    for j, u in enumerate(under):
        if u:
            run_len += 1
            if j == len(ext) - 1:
                longest = max(longest, run_len)
        else:
            if run_len:
                longest = max(longest, run_len + 1)
            run_len = 0
    out["max_drawdown_duration"] = longest * bar_ms / DAY
    mdd = out["max_drawdown"]
    out["calmar"] = out["cagr"] / mdd if mdd > 0 else nan
    out["exposure"] = float(np.count_nonzero(pos)) / n
    out["buy_and_hold_return"] = close[-1] / close[0] - 1
    return {name: float(out[name]) for name in METRIC_NAMES}


@st.composite
def inputs(draw: st.DrawFn) -> tuple[F64, F64, F64, F64, F64, float, float, float, float]:
    n = draw(st.integers(1, 40))
    cap = draw(st.sampled_from([1.0, 100.0, 10_000.0]))
    factors = draw(st.lists(st.one_of(st.just(1.0), st.floats(0.5, 1.6)), min_size=n, max_size=n))
    eq = cap * np.cumprod(np.array(factors))
    if draw(st.booleans()) and draw(st.booleans()):  # sometimes ruin at some bar
        at = draw(st.integers(0, n - 1))
        eq[at] = draw(st.floats(-0.5 * cap, 0.0))
        eq[at + 1:] = draw(st.sampled_from([0.0, eq[at], 0.1 * cap]))
    pos = np.array(draw(st.lists(st.sampled_from([0.0, 1.5, -2.0]), min_size=n, max_size=n)))
    close = np.array(draw(st.lists(st.floats(1.0, 1e5), min_size=n, max_size=n)))
    trades = draw(st.lists(st.tuples(st.one_of(st.just(0.0), st.floats(-100, 100)),
                                     st.floats(-1.0, 3.0)), max_size=30))
    pnl = np.array([p for p, _ in trades], dtype=float)
    ret = np.array([r for _, r in trades], dtype=float)
    bar_ms = float(draw(st.sampled_from([60_000, 3_600_000, DAY])))
    rf = draw(st.sampled_from([0.0, 0.03, 0.1]))
    return eq, pos, close, pnl, ret, cap, bar_ms, YEAR / bar_ms, rf


@settings(max_examples=100, deadline=None)
@given(inputs())
def test_matches_numpy_reference(args: tuple[F64, F64, F64, F64, F64, float, float, float, float]
                                 ) -> None:
    got = dict(zip(METRIC_NAMES, metrics_nb(*args), strict=True))
    want = reference(*args)
    for name in METRIC_NAMES:
        g, w = got[name], want[name]
        assert (math.isnan(g) and math.isnan(w)) or math.isclose(g, w, rel_tol=1e-8, abs_tol=1e-9), (
            f"{name}: kernel {g!r} != reference {w!r}")


# ---------------------------------------------------------------- inside prange -----------

@njit(parallel=True)
def _many_nb(equity: F64, position: F64, close: F64, pnl: F64, ret: F64, caps: F64) -> F64:
    out = np.empty((caps.shape[0], N_METRICS))
    for i in prange(caps.shape[0]):
        out[i] = metrics_nb(equity * (caps[i] / 100.0), position, close, pnl, ret, caps[i],
                            3_600_000.0, 8760.0, 0.0)
    return out


def test_callable_from_parallel_kernel() -> None:
    eq = np.array([101.0, 99.0, 103.0, 104.0])
    pos = np.array([1.0, 1.0, 0.0, 0.0])
    close = np.array([10.0, 9.8, 10.2, 10.3])
    pnl, ret = np.array([3.0, -1.0]), np.array([0.03, -0.01])
    caps = np.array([100.0, 1_000.0, 50.0, 7.0])
    got = _many_nb(eq, pos, close, pnl, ret, caps)
    base = metrics_nb(eq, pos, close, pnl, ret, 100.0, 3_600_000.0, 8760.0, 0.0)
    scale_free = [mm.M_TOTAL_RETURN, mm.M_CAGR, mm.M_SHARPE, mm.M_SORTINO, mm.M_MAX_DRAWDOWN,
                  mm.M_MAX_DRAWDOWN_DURATION, mm.M_EXPOSURE, mm.M_WIN_RATE, mm.M_SQN]
    for row in got:
        np.testing.assert_allclose(row[scale_free], base[scale_free], rtol=1e-9)


@pytest.mark.parametrize("equity", [
    [100.0, 100.0, 110.0, 110.0, 110.0, 99.0, 99.0, 120.0, 120.0],  # flat stretches
    [100.0, 130.0, 130.0, 120.0, 120.0, 130.0, 130.0, 140.0],  # at the peak again, then above
    [100.0, math.inf, math.inf, 50.0],  # inf / inf is NaN, not a zero return
    [100.0, 50.0, 50.0, 0.0, 0.0, 0.0],  # ruin after a flat stretch
], ids=["flat", "peak-ties", "inf", "ruin"])
def test_repeated_equity_matches_reference(equity: list[float]) -> None:
    # bars whose equity repeats the previous one take the kernel's shortcut (a zero return,
    # drawdown state unchanged): the same metrics as evaluating each of them
    n = len(equity)
    args = (np.array(equity), np.array([0.0, 1.0] * (n // 2) + [0.0] * (n % 2)),
            np.linspace(1.0, 2.0, n), np.array([1.0, -2.0]), np.array([0.01, -0.02]),
            100.0, float(DAY), 365.0, 0.03)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = reference(*args)
    got = dict(zip(METRIC_NAMES, metrics_nb(*args), strict=True))
    # an infinite peak: the kernel's drawdown from it is 1 - 50/inf = 1, the reference's
    # 1 - inf/inf is NaN (a long-standing difference in this degenerate case, not a return)
    skip = {"max_drawdown", "calmar"} if math.inf in equity else set()
    for name in set(METRIC_NAMES) - skip:
        g, w = got[name], want[name]
        assert (math.isnan(g) and math.isnan(w)) or math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12), (
            f"{name}: kernel {g!r} != reference {w!r}")
