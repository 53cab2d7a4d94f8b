"""The replay (numba kernel and numpy pricing) equals the plain-Python reference on random
transaction streams: long and short, partial fills, exact closes, zero crossings, fees in the
quote, the base, BNB or none, gaps and monthly bars, every fill model, fee schedule, slippage
and delay."""

from __future__ import annotations

import math

from hypothesis import given

from domain.replay import replay_transactions, what_if
from tests.domain.replay.data import PROPS, Scenario, diff, scale_of, scenarios


def run(s: Scenario):  # type: ignore[no-untyped-def]
    return replay_transactions(s.txs, s.candles, s.capital, model=s.model,
                               conversions=s.conversions)


@PROPS
@given(s=scenarios())
def test_kernel_equals_reference(s: Scenario) -> None:
    diffs = diff(run(s), s.reference(), scale_of(s))
    assert not diffs, diffs[:10]


@PROPS
@given(s=scenarios())
def test_accounting_identities(s: Scenario) -> None:
    r = run(s)
    tol = 1e-9 * scale_of(s)
    # equity = cash + position * close = C + realized + unrealized - open fees, at every close
    for j in range(len(s.candles)):
        e = float(r.equity[j])
        assert math.isclose(e, r.cash[j] + r.position[j] * s.candles.close[j], abs_tol=tol)
        assert math.isclose(e, s.capital + r.realized[j] + r.unrealized[j] - r.open_fees[j],
                            abs_tol=tol)
    # every trade's pnl adds up to the final equity (end_of_data rows included)
    assert math.isclose(math.fsum(r.trades["pnl"].tolist()), r.net_pnl, abs_tol=tol)
    # the realized PnL is the sum of the closed trades' and of the fills'
    assert math.isclose(float(r.realized[-1]), math.fsum(r.closed_trades["pnl"].tolist()),
                        abs_tol=tol)


@PROPS
@given(s=scenarios())
def test_what_if_attribution_adds_up(s: Scenario) -> None:
    w = what_if(s.txs, s.candles, s.capital, s.model, conversions=s.conversions)
    tol = 1e-9 * scale_of(s)
    assert math.isclose(w.pnl_difference, w.replayed.net_pnl - w.actual.net_pnl, abs_tol=tol)
    if w.n_dropped == 0:
        assert math.isclose(w.dropped_pnl, 0.0, abs_tol=tol)
    assert math.isclose(w.slippage + w.fee_attribution + w.dropped_pnl, w.pnl_difference,
                        abs_tol=tol)
    # the actual replay is the plain one, and attributes nothing
    plain = replay_transactions(s.txs, s.candles, s.capital, conversions=s.conversions)
    assert plain.equity.tolist() == w.actual.equity.tolist()
    assert w.actual.total_slippage == 0.0 and w.actual.total_fee_attribution == 0.0
    assert (w.actual.fills["time"] == w.replayed.fills["time"]).all()
