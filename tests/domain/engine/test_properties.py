"""Property tests of the kernel on random valid candles, signals and configurations.

(a) the kernel equals the plain reference (``reference.py``);
(b) accounting identities at every bar and per trade;
(c) the trades' net PnL adds up to the final equity;
(d) no look-ahead: changing bars after ``t`` changes nothing up to ``t``;
(e) fees and slippage never help;
(f) a free round trip at an unchanged price makes nothing;
(g) the chunked runner (``run.simulate``) equals the one-shot run, reports progress and cancels.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domain.candles import Candles
from domain.engine.config import (
    SIZING_FIXED_QUOTE,
    SIZING_FRACTION,
    SIZING_RISK_PCT,
    SimConfig,
)
from domain.engine.rules import EXIT_END_OF_DATA
from tests.domain.engine.harness import diff_results, run_kernel, run_ref
from tests.domain.engine.reference import Result

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
NAN = math.nan

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=_HEALTH)
LIGHT = settings(max_examples=100, deadline=None, suppress_health_check=_HEALTH)


@dataclass(frozen=True)
class Market:
    open: F64
    high: F64
    low: F64
    close: F64
    entries: B
    exits: B

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def args(self) -> tuple[F64, F64, F64, F64, B, B]:
        return self.open, self.high, self.low, self.close, self.entries, self.exits


# --- generators ---------------------------------------------------------------------------------


@st.composite
def bar_rows(draw: st.DrawFn, n: int, start: float | None = None) -> list[tuple[float, ...]]:
    """``n`` valid bars: positive, low <= min(open, close), high >= max(open, close)."""
    rows: list[tuple[float, ...]] = []
    if draw(st.booleans(), label="small integer prices"):
        # few distinct values: levels and prices often coincide (the "at or beyond" ties)
        for _ in range(n):
            o = float(draw(st.integers(5, 30)))
            c = float(draw(st.integers(5, 30)))
            h = max(o, c) + draw(st.integers(0, 3))
            lo = min(o, c) - draw(st.integers(0, 3))
            rows.append((o, h, lo, c))
        return rows
    p = start if start is not None else draw(st.floats(1.0, 1000.0))
    move = st.floats(-0.1, 0.1)
    wick = st.floats(0.0, 0.1)
    for _ in range(n):
        o = p * (1.0 + draw(move))
        c = o * (1.0 + draw(move))
        h = max(o, c) * (1.0 + draw(wick))
        lo = min(o, c) * (1.0 - draw(wick))
        rows.append((o, h, lo, c))
        p = c
    return rows


def signals(n: int) -> st.SearchStrategy[list[bool]]:
    return st.lists(st.booleans(), min_size=n, max_size=n)


def to_market(rows: list[tuple[float, ...]], entries: list[bool], exits: list[bool]) -> Market:
    a = np.array(rows, dtype=np.float64).reshape(-1, 4)
    o, h, lo, c = (np.ascontiguousarray(a[:, i]) for i in range(4))
    return Market(o, h, lo, c, np.array(entries, dtype=np.bool_), np.array(exits, dtype=np.bool_))


@st.composite
def markets(draw: st.DrawFn, min_n: int = 1, max_n: int = 40) -> Market:
    n = draw(st.integers(min_n, max_n))
    return to_market(draw(bar_rows(n)), draw(signals(n)), draw(signals(n)))


def fraction_or_nan(nice: list[float], lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.just(NAN) | st.sampled_from(nice) | st.floats(lo, hi)


@st.composite
def configs(
    draw: st.DrawFn,
    sizing: int | None = None,
    stops: bool = True,
    direction: int | None = None,
) -> SimConfig:
    d = direction if direction is not None else draw(st.sampled_from([1, -1]))
    # risk_pct needs a stop-loss: not drawn when stops are off unless asked for
    modes = [SIZING_FRACTION, SIZING_FIXED_QUOTE] + ([SIZING_RISK_PCT] if stops else [])
    mode = sizing if sizing is not None else draw(st.sampled_from(modes))
    capital = draw(st.sampled_from([10_000.0, 1_000.0]) | st.floats(100.0, 1e6))
    fee = draw(st.sampled_from([0.0, 0.001]) | st.floats(0.0, 0.01))
    slip = draw(st.sampled_from([0.0, 0.0005]) | st.floats(0.0, 0.01))
    sl = tp = trail = NAN
    if stops:
        sl = draw(fraction_or_nan([0.05, 0.1, 0.2, 0.25, 0.5], 0.001, 0.9))
        tp = draw(fraction_or_nan([0.05, 0.1, 0.2, 0.25, 0.5, 1.0], 0.001, 2.0))
        trail = draw(fraction_or_nan([0.05, 0.1, 0.2, 0.25, 0.5], 0.001, 0.9))
    if mode == SIZING_FRACTION:
        value = draw(st.sampled_from([1.0, 0.5]) | st.floats(0.01, 1.0))
    elif mode == SIZING_FIXED_QUOTE:
        value = draw(st.floats(1.0, 2.0 * capital))
    else:
        if math.isnan(sl):  # risk_pct needs a stop-loss
            sl = draw(st.sampled_from([0.05, 0.1]) | st.floats(0.001, 0.9))
        value = draw(st.sampled_from([1.0, 2.0]) | st.floats(0.1, 20.0))
    return SimConfig(
        direction=int(d), initial_capital=float(capital), fee_rate=float(fee),
        slippage_rate=float(slip), stop_loss=float(sl), take_profit=float(tp),
        trailing_stop=float(trail), sizing_mode=int(mode), sizing_value=float(value),
    )


def kernel(m: Market, cfg: SimConfig) -> Result:
    return run_kernel(*m.args(), cfg)


# --- (a) differential ---------------------------------------------------------------------------


@PROPS
@given(m=markets(), cfg=configs())
def test_kernel_equals_reference(m: Market, cfg: SimConfig) -> None:
    k = kernel(m, cfg)
    r = run_ref(*m.args(), cfg)
    diffs = diff_results(k, r, rel=1e-9, scale=cfg.initial_capital)
    assert not diffs, diffs[:10]


# --- (b), (c) accounting ------------------------------------------------------------------------


@PROPS
@given(m=markets(), cfg=configs())
def test_accounting_identities(m: Market, cfg: SimConfig) -> None:
    res = kernel(m, cfg)
    cap = cfg.initial_capital
    # (b) equity = cash + signed position * close, at every bar
    for j in range(len(m)):
        assert res.equity[j] == pytest.approx(
            res.cash[j] + res.position[j] * float(m.close[j]), rel=1e-12, abs=1e-9 * cap)
        assert res.position[j] == 0.0 or np.sign(res.position[j]) == cfg.direction
    scale = cap + sum(abs(t["gross_pnl"]) + t["fees"] for t in res.trades)
    for i, t in enumerate(res.trades):
        # trade fields are consistent with each other
        assert t["direction"] == cfg.direction
        assert t["quantity"] > 0.0
        assert t["entry_idx"] <= t["exit_idx"]
        assert t["fees"] >= 0.0
        assert t["pnl"] <= t["gross_pnl"] + 1e-12 * scale  # fees never add
        assert t["gross_pnl"] == pytest.approx(
            cfg.direction * t["quantity"] * (t["exit_price"] - t["entry_price"]),
            rel=1e-9, abs=1e-9 * scale)
        assert t["pnl"] == pytest.approx(t["gross_pnl"] - t["fees"], rel=1e-9, abs=1e-9 * scale)
        assert t["return"] == pytest.approx(t["pnl"] / (t["quantity"] * t["entry_price"]))
        if i > 0:  # one position at a time; a new entry comes after the previous exit
            assert t["entry_idx"] > res.trades[i - 1]["exit_idx"]
        if t["exit_reason"] == EXIT_END_OF_DATA:
            assert i == len(res.trades) - 1 and t["exit_idx"] == len(m) - 1
            assert t["exit_price"] == float(m.close[-1])
            assert res.position[-1] != 0.0
    if not res.trades or res.trades[-1]["exit_reason"] != EXIT_END_OF_DATA:
        assert res.position[-1] == 0.0
    # (c) the sum of trade net PnL is the final equity minus the initial capital
    total = math.fsum(t["pnl"] for t in res.trades)
    assert total == pytest.approx(res.equity[-1] - cap, rel=1e-9, abs=1e-9 * scale)


@LIGHT
@given(m=markets(), cfg=configs())
def test_no_leverage_at_entry(m: Market, cfg: SimConfig) -> None:
    """Notional + entry fee never exceed the equity at the entry (cash when flat)."""
    res = kernel(m, cfg)
    for t in res.trades:
        j = int(t["entry_idx"])
        equity_before = res.cash[j - 1] if j > 0 else cfg.initial_capital
        notional = t["quantity"] * t["entry_price"]
        assert equity_before > 0.0
        assert notional * (1.0 + cfg.fee_rate) <= equity_before * (1.0 + 1e-12)


# --- (d) no look-ahead --------------------------------------------------------------------------


@st.composite
def market_and_future(draw: st.DrawFn) -> tuple[Market, Market, int]:
    """A market, a cut ``t`` and a copy of the market whose bars after ``t`` (prices and
    signals) are redrawn."""
    m = draw(markets(min_n=2))
    n = len(m)
    t = draw(st.integers(0, n - 2))
    k = n - 1 - t
    rows = draw(bar_rows(k, start=float(m.close[t])))
    future = to_market(rows, draw(signals(k)), draw(signals(k)))

    def cat(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.ascontiguousarray(np.concatenate([a[: t + 1], b]))

    m2 = Market(cat(m.open, future.open), cat(m.high, future.high), cat(m.low, future.low),
                cat(m.close, future.close), cat(m.entries, future.entries),
                cat(m.exits, future.exits))
    return m, m2, t


@PROPS
@given(mm=market_and_future(), cfg=configs())
def test_no_look_ahead(mm: tuple[Market, Market, int], cfg: SimConfig) -> None:
    m1, m2, t = mm
    r1, r2 = kernel(m1, cfg), kernel(m2, cfg)
    assert r1.equity[: t + 1] == r2.equity[: t + 1]
    assert r1.cash[: t + 1] == r2.cash[: t + 1]
    assert r1.position[: t + 1] == r2.position[: t + 1]

    def closed_by_t(r: Result) -> list[dict[str, float]]:
        return [x for x in r.trades if x["exit_idx"] <= t and x["exit_reason"] != EXIT_END_OF_DATA]

    assert closed_by_t(r1) == closed_by_t(r2)


# --- (e) costs never help -----------------------------------------------------------------------


@st.composite
def cost_pairs(draw: st.DrawFn) -> tuple[SimConfig, SimConfig]:
    """A fraction-of-equity config ``a`` and ``b`` = ``a`` with fee and/or slippage raised.

    When the slippage is raised, stops and target are removed: their levels are fractions of the
    (slipped) entry price, so they would move the exits. A higher fee alone changes no price or
    level, so stops stay."""
    a = draw(configs(sizing=SIZING_FRACTION))
    more_fee = draw(st.sampled_from([0.0, 0.001]) | st.floats(0.0, 0.01))
    more_slip = draw(st.sampled_from([0.0, 0.001]) | st.floats(0.0, 0.01))
    if more_slip > 0.0:
        a = replace(a, stop_loss=NAN, take_profit=NAN, trailing_stop=NAN)
    b = replace(a, fee_rate=a.fee_rate + more_fee, slippage_rate=a.slippage_rate + more_slip)
    return a, b


@PROPS
@given(m=markets(), ab=cost_pairs())
def test_costs_never_increase_final_equity(m: Market, ab: tuple[SimConfig, SimConfig]) -> None:
    """Fraction-of-equity sizing, same signals, ``b`` costs at least as much as ``a`` (and the
    same stop levels): the final equity of ``b`` is <= that of ``a``.

    Why: the signals and levels are the same, so both runs trade at the same bars (as long as the
    equity stays positive). Each trade multiplies the equity by a factor ``g`` (the notional is
    proportional to the equity, cap included) and ``g_b <= g_a`` trade by trade. A product of
    factors is monotone only while they are >= 0, which a long always satisfies; a short can
    lose more than its equity (``g < 0``), so the property is claimed only when every trade of
    ``a`` ends with a positive equity (after a ruin ``b`` stops trading with equity <= 0).
    """
    a, b = ab
    ra, rb = kernel(m, a), kernel(m, b)
    assume(all(ra.equity[int(t["exit_idx"])] > 0.0 for t in ra.trades))
    if a.direction == 1:
        assert [(t["entry_idx"], t["exit_idx"]) for t in ra.trades] == [
            (t["entry_idx"], t["exit_idx"]) for t in rb.trades]
    tol = 1e-9 * (a.initial_capital + abs(ra.equity[-1]))
    assert rb.equity[-1] <= ra.equity[-1] + tol


@LIGHT
@given(m=markets(), cfg=configs(sizing=SIZING_FIXED_QUOTE, stops=False),
       more_fee=st.floats(0.0, 0.01), more_slip=st.floats(0.0, 0.01))
def test_costs_never_increase_any_fixed_quote_trade(
    m: Market, cfg: SimConfig, more_fee: float, more_slip: float
) -> None:
    """Fixed-quote sizing, no stops, same signals: when the notional is the same amount ``A`` in
    both runs (the equity cap binds in neither), every trade's net PnL with the higher fee and
    slippage is <= its PnL with the lower ones (the same notional buys at a worse price, sells
    at a worse price and pays more fees)."""
    a = replace(cfg, sizing_value=min(cfg.sizing_value, 0.2 * cfg.initial_capital))
    b = replace(a, fee_rate=a.fee_rate + more_fee, slippage_rate=a.slippage_rate + more_slip)
    ra, rb = kernel(m, a), kernel(m, b)

    def uncapped(r: Result) -> bool:
        return all(math.isclose(t["quantity"] * t["entry_price"], a.sizing_value, rel_tol=1e-9)
                   for t in r.trades)

    assume(uncapped(ra) and uncapped(rb) and len(ra.trades) == len(rb.trades))
    for ta, tb in zip(ra.trades, rb.trades, strict=True):
        assert (ta["entry_idx"], ta["exit_idx"]) == (tb["entry_idx"], tb["exit_idx"])
        assert tb["pnl"] <= ta["pnl"] + 1e-9 * a.initial_capital


# --- (f) a free round trip at an unchanged price ------------------------------------------------


@st.composite
def flat_round_trips(draw: st.DrawFn) -> tuple[Market, int, int]:
    """A market with one entry signal at ``i`` and one exit signal at ``k`` (i < k <= n-2),
    and ``open[k+1] == open[i+1]`` (high/low widened to keep the bar valid)."""
    m = draw(markets(min_n=3))
    n = len(m)
    i = draw(st.integers(0, n - 3))
    k = draw(st.integers(i + 1, n - 2))
    o, h, lo = m.open.copy(), m.high.copy(), m.low.copy()
    o[k + 1] = o[i + 1]
    h[k + 1] = max(h[k + 1], o[k + 1])
    lo[k + 1] = min(lo[k + 1], o[k + 1])
    entries = np.zeros(n, dtype=np.bool_)
    exits = np.zeros(n, dtype=np.bool_)
    entries[i] = True
    exits[k] = True
    return Market(o, h, lo, m.close, entries, exits), i, k


@LIGHT
@given(mk=flat_round_trips(), cfg=configs(stops=False))
def test_free_round_trip_at_the_same_price_makes_nothing(
    mk: tuple[Market, int, int], cfg: SimConfig
) -> None:
    m, i, k = mk
    cfg = replace(cfg, fee_rate=0.0, slippage_rate=0.0)
    res = kernel(m, cfg)
    assert len(res.trades) == 1
    t = res.trades[0]
    assert (t["entry_idx"], t["exit_idx"]) == (i + 1, k + 1)
    assert t["entry_price"] == t["exit_price"]
    assert t["gross_pnl"] == 0.0 and t["fees"] == 0.0 and t["pnl"] == 0.0
    assert res.equity[-1] == pytest.approx(cfg.initial_capital, rel=1e-12)
    assert res.position[-1] == 0.0


# --- (g) the chunked runner ---------------------------------------------------------------------


def candles_of(m: Market) -> Candles:
    n = len(m)
    ts = np.arange(n, dtype=np.int64) * 3_600_000 + 1_700_000_000_000
    return Candles(ts, m.open, m.high, m.low, m.close, np.ones(n), "TEST", "1h")


def assert_same_sim(x: object, y: object) -> None:
    for name in ("equity", "cash", "position"):
        np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
    tx, ty = x.trades, y.trades  # type: ignore[attr-defined]
    assert tx.dtype == ty.dtype and tx.shape == ty.shape
    for f in tx.dtype.names:
        np.testing.assert_array_equal(tx[f], ty[f], err_msg=f)


@LIGHT
@given(m=markets(max_n=60), cfg=configs(), chunk=st.integers(1, 9))
def test_chunked_run_equals_one_shot(m: Market, cfg: SimConfig, chunk: int) -> None:
    from domain.engine.run import Progress, simulate

    c = candles_of(m)
    one = simulate(c, m.entries, m.exits, cfg)
    seen: list[tuple[int, float, F64]] = []

    def progress(p: Progress) -> None:
        seen.append((p.bars_done, p.fraction, p.equity.copy()))

    chunked = simulate(c, m.entries, m.exits, cfg, progress=progress, cancel=lambda: False,
                       chunk_bars=chunk, min_interval_s=0.0)
    assert_same_sim(one, chunked)
    # the same numbers as the bare kernel
    k = kernel(m, cfg)
    np.testing.assert_array_equal(one.equity, np.array(k.equity))
    assert len(one.trades) == len(k.trades)
    for rec, t in zip(one.trades, k.trades, strict=True):
        assert int(rec["entry_idx"]) == t["entry_idx"] and float(rec["pnl"]) == t["pnl"]
        assert rec["entry_time"] == c.ts[rec["entry_idx"]]
        assert rec["exit_time"] == c.ts[rec["exit_idx"]]
    # progress: increasing fractions ending at exactly 1.0, with the equity so far
    fractions = [f for _, f, _ in seen]
    assert fractions[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(fractions))
    n = len(m)
    assert len(seen) == -(-n // chunk)  # one report per chunk (the last one at the end)
    for done, _, eq in seen:
        np.testing.assert_array_equal(eq, one.equity[:done])


def test_chunked_run_grows_the_trade_buffer() -> None:
    """Hundreds of trades (the runner's buffer starts at 64 rows), chunked and not."""
    from domain.engine.run import simulate

    n = 1_000
    rng = np.random.default_rng(7)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * 1.002
    low = np.minimum(open_, close) * 0.998
    entries = np.arange(n) % 3 == 0
    exits = np.arange(n) % 3 == 1
    m = Market(open_, high, low, close, entries, exits)
    cfg = SimConfig(fee_rate=0.001, slippage_rate=0.0002, stop_loss=0.004, take_profit=0.01)
    c = candles_of(m)
    one = simulate(c, entries, exits, cfg)
    assert len(one.trades) > 200
    for chunk in (1, 7, 64):
        chunked = simulate(c, entries, exits, cfg, cancel=lambda: False, chunk_bars=chunk)
        assert_same_sim(one, chunked)
    ref = run_ref(*m.args(), cfg)
    assert not diff_results(kernel(m, cfg), ref, scale=cfg.initial_capital)


def test_cancel_raises_cancelled_between_chunks() -> None:
    from domain.engine.run import Progress, simulate
    from domain.errors import Cancelled

    m = Market(np.full(50, 100.0), np.full(50, 101.0), np.full(50, 99.0), np.full(50, 100.0),
               np.arange(50) % 2 == 0, np.arange(50) % 2 == 1)
    c = candles_of(m)
    with pytest.raises(Cancelled):
        simulate(c, m.entries, m.exits, SimConfig(), cancel=lambda: True, chunk_bars=7)

    calls: list[int] = []
    reports: list[int] = []

    def cancel_on_third() -> bool:
        calls.append(1)
        return len(calls) >= 3

    def progress(p: Progress) -> None:
        reports.append(p.bars_done)

    with pytest.raises(Cancelled):
        simulate(c, m.entries, m.exits, SimConfig(), progress=progress,
                 cancel=cancel_on_third, chunk_bars=7, min_interval_s=0.0)
    assert len(calls) == 3
    assert reports == [7, 14]  # two chunks done before the cancel; no final report


def test_cancel_never_true_completes() -> None:
    from domain.engine.run import simulate

    m = Market(np.full(20, 100.0), np.full(20, 101.0), np.full(20, 99.0), np.full(20, 100.0),
               np.zeros(20, dtype=np.bool_), np.zeros(20, dtype=np.bool_))
    res = simulate(candles_of(m), m.entries, m.exits, SimConfig(), cancel=lambda: False,
                   chunk_bars=7)
    assert res.equity.tolist() == [10_000.0] * 20
    assert res.trades.shape == (0,)
