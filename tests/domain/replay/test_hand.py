"""Hand-made replays with numbers worked out on paper (see each test's comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.engine.records import TRADE_DTYPE
from domain.engine.rules import EXIT_END_OF_DATA, EXIT_SIGNAL, EXIT_STOP_LOSS
from domain.replay import (
    Fills,
    ReplayModel,
    align_prices,
    replay_metrics,
    replay_transactions,
    transactions_from_trades,
    what_if,
)
from tests.domain.replay.data import SYMBOL, make_candles, tx

H = 3_600_000


def bars(closes: list[float], opens: list[float] | None = None) -> list[tuple[float, ...]]:
    o = opens or closes
    return [(a, max(a, c) + 1.0, min(a, c) - 1.0, c) for a, c in zip(o, closes, strict=True)]


def approx(values: object) -> object:
    return pytest.approx(values, rel=1e-12, abs=1e-9)


def test_fifo_with_partial_closes() -> None:
    c = make_candles(bars([105.0, 115.0, 118.0, 95.0]), "1h")
    t0 = int(c.ts[0])
    txs = [tx(t0 + 5, "buy", 100.0, 1.0, 0.1, row=2),
           tx(t0 + H + 5, "buy", 110.0, 2.0, 0.22, row=3),
           tx(t0 + 2 * H, "sell", 120.0, 1.5, 0.18, row=4),  # closes lot 1, half of lot 2... 0.5
           tx(t0 + 4 * H - 1, "sell", 90.0, 1.5, 0.135, row=5)]  # closes the rest of lot 2
    r = replay_transactions(txs, c, 1000.0)
    # cash: 1000 - 100.1 = 899.9; - 220.22 = 679.68; + 179.82 = 859.5; + 134.865 = 994.365
    assert r.cash.tolist() == approx([899.9, 679.68, 859.5, 994.365])
    assert r.position.tolist() == approx([1.0, 3.0, 1.5, 0.0])
    assert r.equity.tolist() == approx([1004.9, 1024.68, 1036.5, 994.365])
    # pieces: lot 1 (1 @ 100, fee .1) closed at 120 with .18 * 1/1.5 = .12: 20 - .22 = 19.78;
    # 0.5 of lot 2 (fee share .22 * .5/2 = .055, exit .06): 5 - .115 = 4.885;
    # the last 1.5 of lot 2 at 90 (fee .165 + .135): -30 - .3 = -30.3
    t = r.trades
    assert t["pnl"].tolist() == approx([19.78, 4.885, -30.3])
    assert t["fees"].tolist() == approx([0.22, 0.115, 0.3])
    assert t["quantity"].tolist() == approx([1.0, 0.5, 1.5])
    assert t["entry_price"].tolist() == [100.0, 110.0, 110.0]
    assert t["entry_idx"].tolist() == [0, 1, 1] and t["exit_idx"].tolist() == [2, 2, 3]
    assert t["entry_time"].tolist() == [t0 + 5, t0 + H + 5, t0 + H + 5]
    assert (t["exit_reason"] == EXIT_SIGNAL).all() and (t["direction"] == 1).all()
    assert r.realized.tolist() == approx([0.0, 0.0, 24.665, -5.635])
    assert r.unrealized.tolist() == approx([5.0, 25.0, 12.0, 0.0])
    assert r.open_fees.tolist() == approx([0.1, 0.32, 0.165, 0.0])
    assert r.drawdown.tolist() == approx([0.0, 0.0, 0.0, 1.0 - 994.365 / 1036.5])
    assert r.fills["realized_pnl"].tolist() == approx([0.0, 0.0, 24.665, -30.3])
    assert r.fills["row"].tolist() == [2, 3, 4, 5]
    m = replay_metrics(r)
    assert m["n_trades"] == 3 and m["win_rate"] == pytest.approx(2 / 3)
    assert m["net_pnl"] == pytest.approx(-5.635) and m["exposure"] == 0.75


def test_fees_in_base_and_bnb() -> None:
    c = make_candles(bars([100.0, 110.0, 120.0]), "1h")
    t0 = int(c.ts[0])
    txs = [tx(t0, "buy", 100.0, 1.0, 0.001, "BTC"),  # receives 0.999 BTC, fee worth 0.1
           tx(t0 + H, "sell", 110.0, 0.999, 0.0005, "BNB"),  # BNB at 200 in this bar: 0.1
           tx(t0 + 2 * H, "sell", 120.0, 0.5, 0.0006, "btc")]  # 0.5006 BTC leave, fee 0.072
    r = replay_transactions(txs, c, 1000.0, conversions={"bnb": [300.0, 200.0, 400.0]})
    assert r.fills["quantity"].tolist() == approx([0.999, 0.999, 0.5006])
    assert r.fills["fee"].tolist() == approx([0.1, 0.1, 0.072])
    assert r.cash.tolist() == approx([900.0, 1009.79, 1069.79])
    assert r.position.tolist() == approx([0.999, 0.0, -0.5006])
    assert r.trades["pnl"].tolist() == approx([0.999 * 10 - 0.2, -0.072])
    assert r.trades["exit_reason"].tolist() == [EXIT_SIGNAL, EXIT_END_OF_DATA]
    assert r.equity[-1] == pytest.approx(1009.79 - 0.072)


def test_a_short() -> None:
    c = make_candles(bars([100.0, 90.0, 80.0]), "1h")
    t0 = int(c.ts[0])
    r = replay_transactions([tx(t0, "sell", 100.0, 2.0, 0.2), tx(t0 + H, "buy", 90.0, 2.0, 0.18)],
                            c, 1000.0)
    (t,) = r.trades
    assert (t["direction"], t["quantity"], t["gross_pnl"]) == (-1, 2.0, 20.0)
    assert (float(t["pnl"]), float(t["return"])) == approx((19.62, 19.62 / 200.0))
    assert r.position.tolist() == [-2.0, 0.0, 0.0]
    assert r.equity.tolist() == approx([1000.0 - 0.2, 1019.62, 1019.62])


def test_a_fill_crossing_zero() -> None:
    c = make_candles(bars([100.0, 105.0]), "1h")
    t0 = int(c.ts[0])
    r = replay_transactions([tx(t0, "buy", 100.0, 1.0, 0.1), tx(t0 + H, "sell", 110.0, 3.0, 0.33)],
                            c, 1000.0)
    # closes the long (10 - .1 - .11 = 9.79), opens 2 short at 110 with the .22 left of the fee
    closed, left_open = r.trades
    assert (closed["direction"], float(closed["pnl"])) == (1, approx(9.79))
    assert left_open["exit_reason"] == EXIT_END_OF_DATA and left_open["direction"] == -1
    assert (left_open["exit_idx"], left_open["exit_time"]) == (1, c.ts[1])
    assert (float(left_open["quantity"]), float(left_open["fees"])) == approx((2.0, 0.22))
    assert float(left_open["pnl"]) == approx(2.0 * (110 - 105) - 0.22)
    assert r.position.tolist() == [1.0, -2.0]
    assert r.equity[-1] == approx(1000.0 + 9.79 + 9.78)
    assert (r.realized[-1], r.unrealized[-1], r.open_fees[-1]) == approx((9.79, 10.0, 0.22))
    assert math.fsum(r.trades["pnl"].tolist()) == approx(r.net_pnl)


def test_closing_with_float_dust_leaves_no_lot() -> None:
    c = make_candles(bars([1.0, 1.0]), "1h")
    t0 = int(c.ts[0])
    r = replay_transactions([tx(t0, "buy", 1.0, 0.1), tx(t0, "buy", 1.0, 0.2),
                             tx(t0 + H, "sell", 1.0, 0.3)], c, 10.0)
    assert r.position.tolist() == [pytest.approx(0.3), 0.0]
    assert len(r.trades) == 2 and (r.trades["exit_reason"] == EXIT_SIGNAL).all()


def delay_case() -> tuple[object, list[object]]:
    c = make_candles([(10.0, 16.0, 9.0, 15.0), (20.0, 26.0, 19.0, 25.0),
                      (30.0, 36.0, 29.0, 35.0), (40.0, 46.0, 39.0, 45.0)], "1h")
    t0 = int(c.ts[0])
    return c, [tx(t0 + 60_000, "buy", 12.0, 1.0, row=2), tx(t0 + 2 * H, "sell", 33.0, 1.0, row=3)]


def test_delay_shifts_fills_by_bars() -> None:
    c, txs = delay_case()
    t0 = int(c.ts[0])  # type: ignore[attr-defined]
    w = what_if(txs, c, 100.0, ReplayModel("open", fee_rate=0.01, delay_bars=1))  # type: ignore[arg-type]
    f = w.replayed.fills
    assert f["replay_bar"].tolist() == [1, 3]
    assert f["replay_time"].tolist() == [t0 + H + 60_000, t0 + 3 * H]
    assert f["replay_price"].tolist() == [20.0, 40.0]
    assert f["replay_fee"].tolist() == approx([0.2, 0.4])
    # buy 8 dearer, sell 7 dearer: the actual fills were 1 cheaper; their fees .6 lower
    assert f["slippage"].tolist() == [-8.0, 7.0]
    assert (w.slippage, w.fee_attribution) == approx((-1.0, -0.6))
    assert (w.actual.net_pnl, w.replayed.net_pnl) == approx((21.0, 19.4))
    assert (w.pnl_difference, w.dropped_pnl, w.n_dropped) == (approx(-1.6), approx(0.0), 0)


def test_a_fill_delayed_past_the_last_bar_is_dropped() -> None:
    c, txs = delay_case()
    w = what_if(txs, c, 100.0, ReplayModel("open", fee_rate=0.01, delay_bars=2))  # type: ignore[arg-type]
    r = w.replayed
    assert (r.n_dropped, r.dropped_rows.tolist()) == (1, [3])
    assert r.fills["replay_bar"].tolist() == [2, -1]
    assert np.isnan(r.fills["replay_price"][1]) and np.isnan(r.fills["realized_pnl"][1])
    (t,) = r.trades  # bought at open 30 with a .3 fee, still open at the last close 45
    assert (t["exit_reason"], float(t["pnl"])) == (EXIT_END_OF_DATA, approx(14.7))
    assert (w.slippage, w.fee_attribution) == approx((-18.0, -0.3))
    assert (w.pnl_difference, w.dropped_pnl) == approx((14.7 - 21.0, 14.7 - 21.0 + 18.3))
    assert replay_metrics(r)["n_trades"] == 0


def test_a_delayed_time_stays_in_its_bar() -> None:
    jan, feb, mar = 1_704_067_200_000, 1_706_745_600_000, 1_709_251_200_000  # 2024-01/02/03-01
    c = make_candles(bars([1.0, 1.0]), "1M", start=jan)
    r = replay_transactions([tx(feb - 1, "buy", 1.0, 1.0)], c, 10.0,
                            model=ReplayModel(delay_bars=1))
    assert r.fills["replay_time"].tolist() == [mar - 1]  # Jan 31 + one month, capped in Feb


@pytest.mark.parametrize(("fill", "buy", "sell"), [
    ("actual", 12.0, 33.0), ("open", 10.0, 30.0), ("close", 15.0, 35.0),
    ("typical", (16.0 + 9.0 + 15.0) / 3.0, (36.0 + 29.0 + 35.0) / 3.0)])
def test_fill_models_and_slippage(fill: str, buy: float, sell: float) -> None:
    c, txs = delay_case()
    r = replay_transactions(txs, c, 100.0, model=ReplayModel(fill, slippage_rate=0.01))  # type: ignore[arg-type]
    assert r.fills["replay_price"].tolist() == approx([buy * 1.01, sell * 0.99])


def test_actual_fees_follow_the_replayed_price_and_bar() -> None:
    c = make_candles(bars([100.0, 200.0, 300.0]), "1h")
    t0 = int(c.ts[0])
    txs = [tx(t0, "buy", 90.0, 1.0, 0.01, "BTC"), tx(t0, "buy", 90.0, 1.0, 0.5, "BNB")]
    r = replay_transactions(txs, c, 1000.0, model=ReplayModel("close", delay_bars=1),
                            conversions={"BNB": [1.0, 2.0, 3.0]})
    assert r.fills["fee"].tolist() == approx([0.9, 0.5])  # actual: at 90 and BNB at bar 0
    assert r.fills["replay_fee"].tolist() == approx([2.0, 1.0])  # close 200, BNB at bar 1


def test_transactions_from_trades() -> None:
    trades = np.zeros(2, dtype=TRADE_DTYPE)
    trades[0] = (0, 2, 0, 2 * H, 100.0, 110.0, 2.0, 1, 20.0, 0.0, 0.0, 0.0, EXIT_STOP_LOSS)
    trades[1] = (3, 4, 3 * H, 4 * H, 50.0, 40.0, 1.0, -1, 10.0, 0.0, 0.0, 0.0, EXIT_END_OF_DATA)
    txs = transactions_from_trades(trades, "ETH/USDT", 0.001)
    assert [(t.time_ms, t.side, t.price, t.quantity) for t in txs] == [
        (0, "buy", 100.0, 2.0), (2 * H, "sell", 110.0, 2.0), (3 * H, "sell", 50.0, 1.0)]
    assert [t.fee for t in txs] == approx([0.2, 0.22, 0.05])
    assert {t.fee_asset for t in txs} == {"USDT"} and {t.symbol for t in txs} == {"ETH/USDT"}
    assert [(t.row, t.trade_id) for t in txs] == [(1, "1-entry"), (2, "1-exit"), (3, "2-entry")]


def test_columns_give_the_same_replay_as_transactions() -> None:
    c = make_candles(bars([100.0, 110.0, 120.0]), "1h")
    t0 = int(c.ts[0])
    txs = [tx(t0 + H, "sell", 110.0, 1.0, 0.001, "BTC", row=3), tx(t0, "buy", 100.0, 2.0, 0.2,
                                                                   row=2)]
    fills = Fills.from_arrays(SYMBOL, [t0 + H, t0], ["sell", "BUY"], [110.0, 100.0], [1.0, 2.0],
                              [0.001, 0.2], ["BTC", "USDT"], [3, 2])
    a = replay_transactions(txs, c, 1000.0)
    b = replay_transactions(fills, c, 1000.0)
    assert a.equity.tolist() == b.equity.tolist()
    assert a.fills.tobytes() == b.fills.tobytes() and a.trades.tobytes() == b.trades.tobytes()


def test_align_prices_uses_no_later_bar() -> None:
    c = make_candles(bars([1.0, 1.0, 1.0, 1.0]), "1h")
    bnb = make_candles(bars([5.0, 7.0]), "1h", start=int(c.ts[1]), bars=[0, 2])
    got = align_prices(c, bnb)
    assert np.isnan(got[0]) and got[1:].tolist() == [5.0, 5.0, 7.0]
