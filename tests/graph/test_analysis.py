"""Backtest.analysis on SQLite and PostgreSQL: every field against ``domain.analysis`` on the
stored results, against the summary of an engine run, argument bounds, owner scoping."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from domain.analysis import (
    MONTH,
    YEAR,
    drawdown_periods,
    group_stats,
    period_returns,
    pnl_histogram,
    side_index,
)
from domain.demo import demo_candles
from domain.engine.rules import EXIT_REASONS
from domain.engine.run import run_backtest
from domain.series import downsample_minmax
from domain.strategy import parse_strategy
from graph.ids import encode_id
from store import backtests as store
from store import trade_list
from store.models import Role
from store.scope import ALL_OWNERS
from tests.graph.conftest import Api, errors_of
from tests.graph.runs import SMA
from tests.graph.stored_runs import CAPITAL, hand_run, stored_run

pytestmark = pytest.mark.asyncio

ANALYSIS = """
query($id: ID!, $top: Int! = 5, $bins: Int! = 20, $points: Int! = 1000) {
  backtest(id: $id) {
    summary { totalReturn netPnl maxDrawdown maxDrawdownDuration nTrades winRate
              buyAndHoldReturn }
    equityCurve(maxPoints: $points) { times values }
    analysis {
      monthlyReturns { year month return }
      yearlyReturns { year return }
      drawdownPeriods(top: $top) { start trough recovery depth peakEquity troughEquity
                                   bars duration }
      byExitReason { exitReason count wins winRate totalPnl avgPnl avgReturn }
      bySide { side count wins winRate totalPnl avgPnl avgReturn }
      pnlHistogram(bins: $bins) { edges counts }
      buyAndHold(maxPoints: $points) { times values }
    }
  }
}"""


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


async def analysis(api: Api, token: str, run_id: str, **variables: Any) -> dict[str, Any]:
    result = await api.gql(ANALYSIS, {"id": run_id, **variables}, token=token)
    assert "errors" not in result, result
    node: dict[str, Any] = result["data"]["backtest"]
    return node


def _group_rows(stats: Any, key: str, names: list[str]) -> list[dict[str, Any]]:
    """The API's rows of ``domain.analysis.group_stats``, each group named ``names[i]``."""
    return [{key: names[i], "count": int(stats.count[i]), "wins": int(stats.wins[i]),
             "winRate": float(stats.win_rate[i]), "totalPnl": float(stats.total_pnl[i]),
             "avgPnl": float(stats.avg_pnl[i]), "avgReturn": float(stats.avg_return[i])}
            for i in range(len(stats))]


async def test_every_field_is_domain_analysis_of_the_stored_results(api: Api) -> None:
    user = await api.user("a@x.io")
    run = await hand_run(user.id)
    node = await analysis(api, user.token, run.gid, top=3, bins=4, points=10)
    a = node["analysis"]

    months = period_returns(run.times, run.equity, CAPITAL, MONTH)
    assert [(m["year"], m["month"]) for m in a["monthlyReturns"]] == [
        (2023, 11), (2023, 12), (2024, 1), (2024, 2)]
    assert [m["return"] for m in a["monthlyReturns"]] == months.returns.tolist()
    november = run.equity[10]  # 2023-11-20 + 10 days: the last bar of November
    assert a["monthlyReturns"][0]["return"] == november / CAPITAL - 1.0
    years = period_returns(run.times, run.equity, CAPITAL, YEAR)
    assert a["yearlyReturns"] == [{"year": y, "return": r} for y, r in
                                  zip(years.years.tolist(), years.returns.tolist(), strict=True)]

    worst = drawdown_periods(run.equity, CAPITAL).worst(3)
    assert len(a["drawdownPeriods"]) == 3
    for got, i in zip(a["drawdownPeriods"], range(3), strict=True):
        peak, recovery = int(worst.peak[i]), int(worst.recovery[i])
        assert got == {
            "start": iso(int(run.times[max(peak, 0)])),
            "trough": iso(int(run.times[worst.trough[i]])),
            "recovery": None if recovery < 0 else iso(int(run.times[recovery])),
            "depth": float(worst.depth[i]), "peakEquity": float(worst.peak_equity[i]),
            "troughEquity": float(worst.trough_equity[i]), "bars": int(worst.bars[i]),
            "duration": float(worst.bars[i])}  # daily bars: one day each
    assert a["drawdownPeriods"][0]["depth"] == node["summary"]["maxDrawdown"]

    t = run.trades
    by_reason = group_stats(t["exit_reason"], t["pnl"], t["return"])
    assert a["byExitReason"] == _group_rows(by_reason, "exitReason", [
        EXIT_REASONS[k].upper() for k in by_reason.keys.tolist()])
    assert [g["exitReason"] for g in a["byExitReason"]] == [
        "SIGNAL", "STOP_LOSS", "TAKE_PROFIT", "TRAILING_STOP", "END_OF_DATA"]
    by_side = group_stats(side_index(t["direction"]), t["pnl"], t["return"])
    assert a["bySide"] == _group_rows(by_side, "side", ["LONG", "SHORT"])
    assert a["bySide"][0]["count"] == 5 and a["bySide"][0]["totalPnl"] == 6.5
    assert a["bySide"][1]["wins"] == 1 and a["bySide"][1]["winRate"] == 1 / 3

    edges, counts = pnl_histogram(t["pnl"], 4)
    assert a["pnlHistogram"] == {"edges": edges.tolist(), "counts": counts.tolist()}
    assert a["pnlHistogram"]["edges"] == [-7.5, -2.625, 2.25, 7.125, 12.0]

    # the buy-and-hold curve at equityCurve's points: the same times, overlaying point for point
    times, _ = downsample_minmax(run.times, run.equity, 10)
    assert a["buyAndHold"]["times"] == node["equityCurve"]["times"] == times.tolist()
    idx = np.searchsorted(run.times, times.astype(np.int64))
    assert a["buyAndHold"]["values"] == pytest.approx((CAPITAL * run.close[idx]
                                                       / run.close[0]).tolist(), rel=1e-15)
    assert a["buyAndHold"]["values"][0] == CAPITAL


async def test_an_engine_run_agrees_with_its_summary(api: Api) -> None:
    user = await api.user("a@x.io")
    candles = demo_candles(2_000, "1h")
    doc = {**SMA, "risk": {**SMA["risk"], "stop_loss_pct": 2, "take_profit_pct": 4}}
    r = run_backtest(parse_strategy(doc), candles)
    run = await stored_run(user.id, candles.ts, r.equity, r.trades, candles.close,
                           symbol="DEMO/USDT", timeframe="1h", capital=10_000.0)
    for points in (2, 50, 100_000):
        node = await analysis(api, user.token, run.gid, top=50, bins=7, points=points)
        s, a = node["summary"], node["analysis"]
        assert a["buyAndHold"]["times"] == node["equityCurve"]["times"]
        assert a["buyAndHold"]["values"][-1] / 10_000.0 - 1.0 == pytest.approx(
            s["buyAndHoldReturn"], rel=1e-12)
    assert len(a["buyAndHold"]["times"]) == 2_000  # every bar
    growth = math.prod(1.0 + m["return"] for m in a["monthlyReturns"])
    assert growth == pytest.approx(1.0 + s["totalReturn"], rel=1e-12)
    assert math.prod(1.0 + y["return"] for y in a["yearlyReturns"]) == pytest.approx(growth)
    periods = a["drawdownPeriods"]
    assert periods[0]["depth"] == s["maxDrawdown"]
    assert [p["depth"] for p in periods] == sorted((p["depth"] for p in periods), reverse=True)
    assert max(p["duration"] for p in periods) <= s["maxDrawdownDuration"]
    groups = a["byExitReason"]
    assert {g["exitReason"] for g in groups} >= {"SIGNAL", "STOP_LOSS", "TAKE_PROFIT"}
    assert sum(g["count"] for g in groups) == s["nTrades"] == sum(a["pnlHistogram"]["counts"])
    assert math.fsum(g["totalPnl"] for g in groups) == pytest.approx(s["netPnl"], rel=1e-9)
    (longs,) = a["bySide"]
    assert longs["side"] == "LONG" and longs["winRate"] == s["winRate"]


async def test_null_until_succeeded_and_when_the_candles_are_gone(api: Api) -> None:
    user = await api.user("a@x.io")
    queued = await store.create_backtest(store.NewBacktest(
        user.id, None, {"name": "q"}, {}, "binance", "Q/USDT", "1h", 0, 3_600_000, 100.0))
    result = await api.gql("query($id: ID!) { backtest(id: $id) { analysis { bySide { count } } "
                           "} }", {"id": encode_id("Backtest", queued.id)}, token=user.token)
    assert result == {"data": {"backtest": {"analysis": None}}}
    run = await hand_run(user.id, symbol="GONE/USDT")
    times, equity, trades = run.times, run.equity, run.trades
    missing = await stored_run(user.id, times, equity, trades, None, symbol="NONE/USDT")
    for gid, held in ((run.gid, True), (missing.gid, False)):
        node = await analysis(api, user.token, gid)
        assert (node["analysis"]["buyAndHold"] is not None) is held
    empty = await stored_run(user.id, times, equity, trades[:0], run.close, symbol="EMPTY/USDT")
    a = (await analysis(api, user.token, empty.gid))["analysis"]
    assert a["byExitReason"] == a["bySide"] == []
    assert a["pnlHistogram"] == {"edges": [], "counts": []}


@pytest.mark.parametrize(("args", "message"), [
    ({"top": 0}, "'top' must be between 1 and 50 (got 0)"),
    ({"top": 10_000}, "'top' must be between 1 and 50 (got 10000)"),
    ({"bins": 0}, "'bins' must be between 1 and 100 (got 0)"),
    ({"bins": -3}, "'bins' must be between 1 and 100 (got -3)"),
    ({"bins": 101}, "'bins' must be between 1 and 100 (got 101)"),
    ({"points": 1}, "'maxPoints' must be between 2 and 100,000 (got 1)"),
])
async def test_bounded_arguments(api: Api, args: dict[str, int], message: str) -> None:
    user = await api.user("a@x.io")
    run = await hand_run(user.id)
    result = await api.gql(ANALYSIS, {"id": run.gid, **args}, token=user.token)
    assert ("BAD_USER_INPUT", message) in errors_of(result)


async def test_another_users_backtest_is_not_readable(api: Api) -> None:
    alice, bob = await api.user("a@x.io"), await api.user("b@x.io")
    admin = await api.user("root@x.io", Role.ADMIN)
    run = await hand_run(alice.id)
    result = await api.gql(ANALYSIS, {"id": run.gid}, token=bob.token)
    assert errors_of(result) == [("NOT_FOUND", f"backtest {run.gid} not found")]
    assert result["data"] is None
    node = await api.gql("query($id: ID!) { node(id: $id) { ... on Backtest { analysis { "
                         "bySide { count } } } } }", {"id": run.gid}, token=bob.token)
    assert node == {"data": {"node": None}}
    assert (await analysis(api, admin.token, run.gid))["analysis"]["bySide"][0]["count"] == 5
    # the store's reads are scoped too
    assert len(await trade_list.trade_records(run.id, owner=bob.id)) == 0
    assert len(await trade_list.trade_records(run.id, owner=alice.id)) == 8
    assert len(await trade_list.trade_records(run.id, owner=ALL_OWNERS)) == 8
    assert await trade_list.count_matching_trades(run.id, owner=bob.id) == 0
    assert (await trade_list.list_trades(run.id, owner=bob.id)).rows == []
