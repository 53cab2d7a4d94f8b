"""Hand-computed scenarios of ``domain.engine.rules``, run on the numba kernel and on the plain
reference (``reference.py``), so each scenario checks both.

Unless stated: initial capital 10,000, long, fraction-of-equity sizing. ``bars`` are
``(open, high, low, close)``; ``entries``/``exits`` list the bars whose close has a signal (the
order fills at the next bar's open).
"""

from __future__ import annotations

import math

import pytest

from domain.engine.config import SIZING_FIXED_QUOTE, SIZING_RISK_PCT
from domain.engine.rules import (
    EXIT_END_OF_DATA,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TRAILING_STOP,
)
from tests.domain.engine.harness import Engine, run
from tests.domain.engine.reference import Result

CENT = 0.005  # "to the cent"
NAN = math.nan


@pytest.fixture(params=["kernel", "reference"])
def engine(request: pytest.FixtureRequest) -> Engine:
    e: Engine = request.param
    return e


def approx(x: float, tol: float = 1e-9) -> object:
    return pytest.approx(x, rel=tol, abs=tol)


def one_trade(res: Result) -> dict[str, float]:
    assert len(res.trades) == 1, res.trades
    return res.trades[0]


def check_curves(res: Result) -> None:
    for e, c, p in zip(res.equity, res.cash, res.position, strict=True):
        assert math.isfinite(e) and math.isfinite(c) and math.isfinite(p)


# --- round trips --------------------------------------------------------------------------------


def test_long_round_trip_with_fees(engine: Engine) -> None:
    bars = [
        (100, 101, 99, 100),  # 0: entry signal
        (100, 110, 100, 108),  # 1: buy at 100; exit signal
        (110, 112, 109, 111),  # 2: sell at 110
        (111, 112, 110, 111),  # 3
    ]
    res = run(engine, bars, entries=[0], exits=[1], fee_rate=0.001, sizing_value=0.5)
    t = one_trade(res)
    # N = 0.5 * 10,000 = 5,000 (< cap 10,000/1.001); q = 5,000/100 = 50; entry fee = 5
    # cash = 10,000 - 5,000 - 5 = 4,995; equity at close 108 = 4,995 + 50*108 = 10,395
    # exit: 50*110 = 5,500, fee 5.5 -> cash = 4,995 + 5,500 - 5.5 = 10,489.50
    # gross = 50*(110-100) = 500; fees = 10.5; net = 489.5; return = 489.5/5,000 = 0.0979
    assert (t["entry_idx"], t["exit_idx"], t["direction"]) == (1, 2, 1)
    assert t["exit_reason"] == EXIT_SIGNAL
    assert t["entry_price"] == approx(100.0)
    assert t["exit_price"] == approx(110.0)
    assert t["quantity"] == approx(50.0)
    assert t["gross_pnl"] == approx(500.0, CENT)
    assert t["fees"] == approx(10.5, CENT)
    assert t["pnl"] == approx(489.5, CENT)
    assert t["return"] == approx(0.0979)
    assert res.cash == [approx(v, CENT) for v in (10_000, 4_995, 10_489.5, 10_489.5)]
    assert res.equity == [approx(v, CENT) for v in (10_000, 10_395, 10_489.5, 10_489.5)]
    assert res.position == [approx(v) for v in (0, 50, 0, 0)]


def test_short_round_trip_with_fees(engine: Engine) -> None:
    bars = [
        (200, 201, 199, 200),  # 0: entry signal
        (200, 201, 189, 190),  # 1: sell short at 200; exit signal
        (180, 182, 178, 181),  # 2: buy back at 180
    ]
    res = run(engine, bars, entries=[0], exits=[1], direction=-1, fee_rate=0.001,
              sizing_value=0.5)
    t = one_trade(res)
    # N = 5,000; q = 25; entry fee 5; cash = 10,000 + 5,000 - 5 = 14,995; position -25
    # equity at close 190 = 14,995 - 25*190 = 10,245
    # exit: cost 25*180 = 4,500, fee 4.5 -> cash = 14,995 - 4,500 - 4.5 = 10,490.50
    # gross = -25*(180-200) = 500; fees = 9.5; net = 490.5; return = 490.5/5,000 = 0.0981
    assert (t["entry_idx"], t["exit_idx"], t["direction"]) == (1, 2, -1)
    assert t["exit_reason"] == EXIT_SIGNAL
    assert t["quantity"] == approx(25.0)
    assert t["gross_pnl"] == approx(500.0, CENT)
    assert t["fees"] == approx(9.5, CENT)
    assert t["pnl"] == approx(490.5, CENT)
    assert t["return"] == approx(0.0981)
    assert res.cash == [approx(v, CENT) for v in (10_000, 14_995, 10_490.5)]
    assert res.equity == [approx(v, CENT) for v in (10_000, 10_245, 10_490.5)]
    assert res.position == [approx(v) for v in (0, -25, 0)]


def test_slippage_on_long_entry_and_exit(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 121, 99, 120), (120, 121, 119, 120)]
    res = run(engine, bars, entries=[0], exits=[1], fee_rate=0.0, slippage_rate=0.01,
              sizing_value=0.5)
    t = one_trade(res)
    # buy at 100*1.01 = 101; N = 5,000; q = 5,000/101 = 49.50495...; cash = 5,000
    # sell at 120*0.99 = 118.8; cash = 5,000 + 5,000*118.8/101 = 10,881.188118...
    # gross = q*(118.8-101) = 5,000*17.8/101 = 881.188118...
    assert t["entry_price"] == approx(101.0)
    assert t["exit_price"] == approx(118.8)
    assert t["quantity"] == approx(5_000 / 101)
    assert t["gross_pnl"] == approx(5_000 * 17.8 / 101)
    assert t["fees"] == 0.0
    assert res.cash[1] == approx(5_000.0)
    assert res.equity[1] == approx(5_000 + 5_000 / 101 * 120)
    assert res.cash[2] == approx(10_881.19, CENT)


def test_slippage_on_short_entry_and_exit(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 90, 91), (90, 91, 89, 90)]
    res = run(engine, bars, entries=[0], exits=[1], direction=-1, fee_rate=0.0,
              slippage_rate=0.01, sizing_value=0.5)
    t = one_trade(res)
    # sell short at 100*0.99 = 99; q = 5,000/99; cash = 15,000
    # buy back at 90*1.01 = 90.9; gross = q*(99-90.9) = 5,000*8.1/99 = 409.0909...
    assert t["entry_price"] == approx(99.0)
    assert t["exit_price"] == approx(90.9)
    assert t["gross_pnl"] == approx(5_000 * 8.1 / 99)
    assert res.cash[1] == approx(15_000.0)
    assert res.cash[2] == approx(10_409.09, CENT)


# --- stops and target ---------------------------------------------------------------------------


def test_stop_loss_intrabar(engine: Engine) -> None:
    bars = [
        (100, 100, 100, 100),  # 0: entry signal
        (100, 102, 98, 101),  # 1: buy 100 at 100; stop 95 not touched
        (100, 101, 94, 96),  # 2: low 94 <= 95 -> sold at 95
        (96, 97, 95, 96),  # 3
    ]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=0.05)
    t = one_trade(res)
    # q = 100; stop level = 100*(1-0.05) = 95; pnl = 100*(95-100) = -500
    assert (t["entry_idx"], t["exit_idx"], t["exit_reason"]) == (1, 2, EXIT_STOP_LOSS)
    assert t["exit_price"] == approx(95.0)
    assert t["pnl"] == approx(-500.0)
    assert res.equity == [approx(v) for v in (10_000, 10_100, 9_500, 9_500)]


def test_stop_loss_on_the_entry_bar(engine: Engine) -> None:
    # a position opened at this open is checked against this bar's range
    bars = [(100, 100, 100, 100), (100, 101, 94, 96), (96, 97, 95, 96)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=0.05)
    t = one_trade(res)
    assert (t["entry_idx"], t["exit_idx"], t["exit_reason"]) == (1, 1, EXIT_STOP_LOSS)
    assert t["exit_price"] == approx(95.0)
    assert res.equity == [approx(v) for v in (10_000, 9_500, 9_500)]


def test_stop_loss_with_slippage_and_fees(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (99, 99, 90, 91)]
    res = run(engine, bars, entries=[0], fee_rate=0.001, slippage_rate=0.001,
              stop_loss=0.05, sizing_value=0.5)
    t = one_trade(res)
    # P = 100.1; q = 5,000/100.1; entry fee 5; stop level = 100.1*0.95 = 95.095
    # fill = 95.095*0.999 = 94.999905; exit fee = q*94.999905*0.001
    q = 5_000 / 100.1
    x = 100.1 * 0.95 * 0.999
    assert t["exit_reason"] == EXIT_STOP_LOSS
    assert t["exit_price"] == approx(x)
    assert t["fees"] == approx(5 + q * x * 0.001)
    assert t["pnl"] == approx(q * (x - 100.1) - 5 - q * x * 0.001)
    assert res.cash[2] == approx(10_000 - 5_000 - 5 + q * x * 0.999)


def test_stop_loss_gap_through_the_open(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 102, 98, 101), (90, 92, 88, 91)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, slippage_rate=0.001, stop_loss=0.05)
    t = one_trade(res)
    # P = 100.1 (slippage), stop 95.095; open 90 is beyond it -> sold at the open with
    # slippage: 90*0.999 = 89.91 (not at the stop level)
    q = 10_000 / 100.1
    assert (t["exit_idx"], t["exit_reason"]) == (2, EXIT_STOP_LOSS)
    assert t["exit_price"] == approx(89.91)
    assert t["pnl"] == approx(q * (89.91 - 100.1))
    assert res.cash[2] == approx(q * 89.91)


def test_short_stop_loss_intrabar_with_slippage(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (101, 106, 100, 104)]
    res = run(engine, bars, entries=[0], direction=-1, fee_rate=0.0, slippage_rate=0.01,
              stop_loss=0.05)
    t = one_trade(res)
    # sell short at 99; stop = 99*1.05 = 103.95 (high 106 touches); buy at 103.95*1.01
    assert t["exit_reason"] == EXIT_STOP_LOSS
    assert t["exit_price"] == approx(99 * 1.05 * 1.01)
    assert t["pnl"] == approx(10_000 / 99 * (99 - 99 * 1.05 * 1.01))


def test_take_profit_intrabar_has_no_slippage(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 105, 99, 104), (105, 112, 104, 111)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, slippage_rate=0.01, take_profit=0.1)
    t = one_trade(res)
    # P = 101; q = 10,000/101; target = 101*1.1 = 111.1, a limit: filled at 111.1 exactly
    # cash = q*111.1 = 10,000*1.1 = 11,000
    assert (t["exit_idx"], t["exit_reason"]) == (2, EXIT_TAKE_PROFIT)
    assert t["exit_price"] == approx(111.1)
    assert res.cash[2] == approx(11_000.0)
    assert t["pnl"] == approx(1_000.0)


def test_take_profit_gap_fills_at_the_open(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 105, 99, 104), (115, 118, 113, 116)]
    res = run(engine, bars, entries=[0], fee_rate=0.001, take_profit=0.1, sizing_value=0.5)
    t = one_trade(res)
    # q = 50 at 100 (fee 5); target 110, open 115 is past it -> filled at 115, no slippage
    # cash = 4,995 + 50*115*0.999 = 4,995 + 5,744.25 = 10,739.25
    assert (t["exit_idx"], t["exit_reason"]) == (2, EXIT_TAKE_PROFIT)
    assert t["exit_price"] == approx(115.0)
    assert res.cash[2] == approx(10_739.25, CENT)
    assert t["pnl"] == approx(750 - 5 - 5.75, CENT)


def test_short_take_profit_gap_fills_at_the_open(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 96, 97), (85, 86, 84, 85)]
    res = run(engine, bars, entries=[0], direction=-1, fee_rate=0.0, slippage_rate=0.01,
              take_profit=0.1)
    t = one_trade(res)
    # short at 99; target 99*0.9 = 89.1; open 85 is past it -> bought back at 85 (no slippage)
    assert t["exit_reason"] == EXIT_TAKE_PROFIT
    assert t["exit_price"] == approx(85.0)
    assert t["pnl"] == approx(10_000 / 99 * 14)


def test_stop_and_target_in_one_bar_stop_wins(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 111, 94, 105)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=0.05, take_profit=0.1)
    t = one_trade(res)
    # stop 95 and target 110 are both inside [94, 111]: the stop is assumed first
    assert (t["exit_idx"], t["exit_reason"]) == (2, EXIT_STOP_LOSS)
    assert t["exit_price"] == approx(95.0)
    assert t["pnl"] == approx(-500.0)


def test_gap_at_the_stop_exactly_fills_at_the_open(engine: Engine) -> None:
    # "at or beyond": open == stop level is a gap fill at the open (same price here)
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (95, 111, 94, 105)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=0.05, take_profit=0.1)
    t = one_trade(res)
    assert (t["exit_idx"], t["exit_reason"], t["exit_price"]) == (2, EXIT_STOP_LOSS, 95.0)


# --- trailing stop ------------------------------------------------------------------------------


def test_trailing_stop_uses_previous_bars_extremes_only(engine: Engine) -> None:
    bars = [
        (100, 100, 100, 100),  # 0: entry signal
        (100, 105, 99, 104),  # 1: buy 100 at 100; trail level 100*0.9 = 90; then best = 105
        (104, 120, 94, 118),  # 2: level 105*0.9 = 94.5 (not 120*0.9 = 108): low 94 -> 94.5
        (118, 119, 117, 118),  # 3
    ]
    res = run(engine, bars, entries=[0], fee_rate=0.0, trailing_stop=0.1)
    t = one_trade(res)
    assert (t["exit_idx"], t["exit_reason"]) == (2, EXIT_TRAILING_STOP)
    assert t["exit_price"] == approx(94.5)
    assert res.cash[2] == approx(9_450.0)


def test_trailing_stop_follows_the_best_completed_bar(engine: Engine) -> None:
    bars = [
        (100, 100, 100, 100),  # 0
        (100, 110, 99, 109),  # 1: buy at 100; best -> 110
        (109, 130, 108, 125),  # 2: level 99 not hit (low 108); best -> 130
        (125, 126, 100, 101),  # 3: best stays 130 (126 < 130); level 117 hit -> 117
    ]
    res = run(engine, bars, entries=[0], fee_rate=0.0, trailing_stop=0.1)
    t = one_trade(res)
    assert (t["exit_idx"], t["exit_reason"]) == (3, EXIT_TRAILING_STOP)
    assert t["exit_price"] == approx(117.0)


def test_short_trailing_stop_uses_lows(engine: Engine) -> None:
    bars = [
        (100, 100, 100, 100),  # 0
        (100, 101, 80, 82),  # 1: short at 100; level 110 not hit; best -> 80
        (82, 89, 60, 85),  # 2: level 80*1.1 = 88 (the bar's low 60 not used): high 89 -> 88
    ]
    res = run(engine, bars, entries=[0], direction=-1, fee_rate=0.0, trailing_stop=0.1)
    t = one_trade(res)
    assert (t["exit_idx"], t["exit_reason"]) == (2, EXIT_TRAILING_STOP)
    assert t["exit_price"] == approx(88.0)
    assert t["pnl"] == approx(100 * 12.0)


def test_trailing_gap_through_the_open(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 120, 99, 118), (100, 101, 99, 100)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, trailing_stop=0.1)
    t = one_trade(res)
    # level after bar 1 = 120*0.9 = 108; open 100 is below -> filled at the open
    assert (t["exit_idx"], t["exit_reason"], t["exit_price"]) == (2, EXIT_TRAILING_STOP, 100.0)


def test_stop_tie_with_trailing_is_reported_as_stop_loss(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 100, 89, 95)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=0.1, trailing_stop=0.1)
    t = one_trade(res)
    # both levels are 100*0.9 = 90 on the entry bar: a tie -> stop_loss
    assert (t["exit_idx"], t["exit_reason"]) == (1, EXIT_STOP_LOSS)
    assert t["exit_price"] == approx(90.0)


def test_tighter_trailing_stop_wins_over_stop_loss(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 110, 99, 108), (108, 109, 95, 96)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=0.1, trailing_stop=0.05)
    t = one_trade(res)
    # stop-loss 90; trailing 110*0.95 = 104.5 is higher (tighter) -> trailing_stop at 104.5
    assert (t["exit_idx"], t["exit_reason"]) == (2, EXIT_TRAILING_STOP)
    assert t["exit_price"] == approx(104.5)


def test_tighter_stop_loss_wins_over_trailing(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 97, 98)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=0.02, trailing_stop=0.1)
    t = one_trade(res)
    # stop-loss 98 vs trailing 101*0.9 = 90.9 -> stop_loss at 98
    assert (t["exit_reason"], t["exit_price"]) == (EXIT_STOP_LOSS, approx(98.0))


# --- sizing -------------------------------------------------------------------------------------


def test_risk_pct_sizing(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 97, 98)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=0.02,
              sizing_mode=SIZING_RISK_PCT, sizing_value=1.0)
    t = one_trade(res)
    # N = 10,000 * 1/100 / 0.02 = 5,000; q = 50; stop at 98 loses 50*2 = 100 = 1% of equity
    assert t["quantity"] == approx(50.0)
    assert (t["exit_reason"], t["exit_price"]) == (EXIT_STOP_LOSS, approx(98.0))
    assert t["pnl"] == approx(-100.0)
    assert res.equity[-1] == approx(9_900.0)


def test_risk_pct_sizing_is_capped_at_equity(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100)]
    res = run(engine, bars, entries=[0], fee_rate=0.001, stop_loss=0.02,
              sizing_mode=SIZING_RISK_PCT, sizing_value=5.0)
    t = one_trade(res)
    # N = 10,000*5/100/0.02 = 25,000 > cap 10,000/1.001 = 9,990.00999...; q = 99.9000999...
    assert t["quantity"] == approx(10_000 / 1.001 / 100)
    assert res.cash[1] == approx(0.0, 1e-6)
    assert t["exit_reason"] == EXIT_END_OF_DATA


def test_fixed_quote_sizing(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (110, 111, 109, 110)]
    res = run(engine, bars, entries=[0], exits=[1], fee_rate=0.001,
              sizing_mode=SIZING_FIXED_QUOTE, sizing_value=2_000.0)
    t = one_trade(res)
    # N = 2,000; q = 20; fee 2 -> cash 7,998; exit 20*110 = 2,200, fee 2.2 -> 10,195.80
    assert t["quantity"] == approx(20.0)
    assert res.cash[1] == approx(7_998.0, CENT)
    assert res.cash[2] == approx(10_195.8, CENT)
    assert t["pnl"] == approx(195.8, CENT)


def test_fixed_quote_is_capped_at_equity_over_one_plus_fee(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (110, 111, 109, 110)]
    res = run(engine, bars, entries=[0], exits=[1], fee_rate=0.001,
              sizing_mode=SIZING_FIXED_QUOTE, sizing_value=50_000.0)
    t = one_trade(res)
    # N = min(50,000, 10,000/1.001) = 9,990.00999...; fee = 9.99000999...; cash = 0
    n_ = 10_000 / 1.001
    assert t["quantity"] == approx(n_ / 100)
    assert t["fees"] == approx(n_ * 0.001 + n_ / 100 * 110 * 0.001)
    assert res.cash[1] == approx(0.0, 1e-6)
    assert res.equity[2] == approx(n_ / 100 * 110 * 0.999)


def test_fraction_sizing_compounds(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (200, 200, 200, 200),
            (200, 200, 200, 200), (100, 100, 100, 100)]
    res = run(engine, bars, entries=[0, 2], exits=[1, 3], fee_rate=0.0, sizing_value=0.5)
    # trade 1: N 5,000, q 50 at 100, exit at 200 -> equity 15,000 (signal at 2 re-enters)
    # trade 2: N 7,500, q 37.5 at 200, exit at 100 -> loses 3,750 -> 11,250
    assert [t["quantity"] for t in res.trades] == [approx(50.0), approx(37.5)]
    assert res.equity[-1] == approx(11_250.0)


# --- signals and timing -------------------------------------------------------------------------


def test_entry_signal_on_the_last_bar_is_ignored(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100)]
    res = run(engine, bars, entries=[2], fee_rate=0.001)
    assert res.trades == []
    assert res.equity == [10_000.0] * 3
    assert res.position == [0.0] * 3


def test_exit_signal_on_the_last_bar_leaves_the_position_open(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 120)]
    res = run(engine, bars, entries=[0], exits=[2], fee_rate=0.001, sizing_value=0.5)
    t = one_trade(res)
    assert t["exit_reason"] == EXIT_END_OF_DATA
    assert res.position[-1] == approx(50.0)


def test_open_position_at_the_end_is_end_of_data_with_entry_fee_only(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (110, 121, 109, 120)]
    res = run(engine, bars, entries=[0], fee_rate=0.001, sizing_value=0.5)
    t = one_trade(res)
    # q = 50 at 100, entry fee 5; marked at the last close 120, no exit fee
    # gross = 50*20 = 1,000; net = 995; equity = 4,995 + 50*120 = 10,995 = 10,000 + 995
    assert (t["entry_idx"], t["exit_idx"], t["exit_reason"]) == (1, 2, EXIT_END_OF_DATA)
    assert t["exit_price"] == approx(120.0)
    assert t["fees"] == approx(5.0)
    assert t["pnl"] == approx(995.0)
    assert t["return"] == approx(995.0 / 5_000)
    assert res.equity[-1] == approx(10_995.0)
    assert res.cash[-1] == approx(4_995.0)


def test_reentry_at_the_next_open_after_a_stop(engine: Engine) -> None:
    bars = [
        (100, 100, 100, 100),  # 0: entry signal
        (100, 101, 99, 100),  # 1: buy at 100 (q 100); entry signal ignored (in position)
        (100, 101, 94, 96),  # 2: stopped at 95 -> cash 9,500; flat at the close: entry signal
        (96, 97, 95, 96),  # 3: buy at 96: q = 9,500/96
        (96, 97, 95, 97),  # 4
    ]
    res = run(engine, bars, entries=range(5), fee_rate=0.0, stop_loss=0.05)
    assert len(res.trades) == 2
    t1, t2 = res.trades
    assert (t1["entry_idx"], t1["exit_idx"], t1["exit_reason"]) == (1, 2, EXIT_STOP_LOSS)
    assert (t2["entry_idx"], t2["exit_idx"], t2["exit_reason"]) == (3, 4, EXIT_END_OF_DATA)
    assert t2["entry_price"] == approx(96.0)
    assert t2["quantity"] == approx(9_500 / 96)
    assert res.equity[-1] == approx(9_500 / 96 * 97)


def test_reentry_after_a_signal_exit(engine: Engine) -> None:
    bars = [(100, 100, 100, 100)] * 2 + [(110, 110, 110, 110)] * 3
    # entry at 1; exit signal at 1 -> sold at open 2; flat at close 2 with an entry -> buy at 3
    res = run(engine, bars, entries=[0, 2], exits=[1], fee_rate=0.0)
    assert [(t["entry_idx"], t["exit_idx"]) for t in res.trades] == [(1, 2), (3, 4)]


def test_entry_signals_in_position_and_exit_signals_when_flat_are_ignored(
    engine: Engine,
) -> None:
    bars = [(100 + i, 101 + i, 99 + i, 100 + i) for i in range(7)]
    # exit at 0 (flat: ignored); entry at 1 -> buy at 2; entries 2, 3 ignored; exit at 4 -> 5
    res = run(engine, bars, entries=[1, 2, 3], exits=[0, 4], fee_rate=0.0)
    t = one_trade(res)
    assert (t["entry_idx"], t["exit_idx"], t["exit_reason"]) == (2, 5, EXIT_SIGNAL)
    assert t["entry_price"] == approx(102.0)
    assert t["exit_price"] == approx(105.0)
    assert t["quantity"] == approx(10_000 / 102)


def test_signal_exit_beats_stop_at_the_open(engine: Engine) -> None:
    # a pending signal exit fills at the open; the stops are not checked for that bar
    bars = [(100, 100, 100, 100), (100, 101, 99, 100), (90, 91, 80, 85)]
    res = run(engine, bars, entries=[0], exits=[1], fee_rate=0.0, stop_loss=0.05)
    t = one_trade(res)
    assert (t["exit_idx"], t["exit_reason"], t["exit_price"]) == (2, EXIT_SIGNAL, 90.0)


def test_no_entry_when_equity_is_not_positive(engine: Engine) -> None:
    # short wiped out: 10,000 short at 100 (q 100), bought back at 300: cash = -10,000
    bars = [(100, 100, 100, 100), (100, 100, 100, 100), (300, 300, 300, 300),
            (300, 300, 300, 300), (300, 300, 300, 300)]
    res = run(engine, bars, entries=[0, 2, 3], exits=[1], direction=-1, fee_rate=0.0)
    t = one_trade(res)
    assert t["pnl"] == approx(-20_000.0)
    assert res.equity == [approx(v) for v in (10_000, 10_000, -10_000, -10_000, -10_000)]
    assert res.position[-1] == 0.0
    check_curves(res)


def test_no_stops_means_none(engine: Engine) -> None:
    bars = [(100, 100, 100, 100), (100, 200, 1, 100), (100, 100, 100, 100)]
    res = run(engine, bars, entries=[0], fee_rate=0.0, stop_loss=NAN, take_profit=NAN,
              trailing_stop=NAN)
    assert one_trade(res)["exit_reason"] == EXIT_END_OF_DATA
