"""Market data over the API on both backends: candles as arrays equal to the store's, indicator
series equal to the engine's, coded errors for bad input, coverage and stored series."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from domain.candles import Candles
from domain.demo import demo_candles
from domain.indicators.api import INDICATORS, compute_indicator
from store import candles as store_candles
from tasks.market.candle_series import MAX_LIMIT, WARMUP_FACTOR
from tests.graph.conftest import Api, errors_of

pytestmark = pytest.mark.asyncio

HOUR = 3_600_000
CANDLES = """
query($symbol: String!, $tf: String!, $from: DateTime, $to: DateTime, $limit: Int,
      $indicators: [IndicatorInput!]) {
  candles(exchange: "demo", symbol: $symbol, timeframe: $tf, from: $from, to: $to,
          limit: $limit, indicators: $indicators) {
    exchange symbol timeframe count times open high low close volume
    indicators { name indicator output params values }
  }
}"""
COVERAGE = """
query($symbol: String!) {
  marketDataCoverage(exchange: "demo", symbol: $symbol, timeframe: "1h") {
    exchange symbol timeframe count first last missingBars missing { first last bars }
  }
}"""
SYMBOLS = "{ symbols { exchange symbol timeframe count first last missingBars } }"


def iso(ms: int) -> str:
    return np.datetime_as_string(np.datetime64(ms, "ms"), unit="ms") + "Z"


async def stored(n: int = 600, symbol: str = "DEMO/USDT") -> Candles:
    candles = demo_candles(n, "1h", seed=3, symbol=symbol)
    await store_candles.write_candles("demo", symbol, "1h", candles)
    return candles


async def query(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    variables.setdefault("symbol", "DEMO/USDT")
    variables.setdefault("tf", "1h")
    result = await api.gql(CANDLES, variables, token=token)
    assert "errors" not in result, result
    series: dict[str, Any] = result["data"]["candles"]
    return series


def assert_columns(series: dict[str, Any], want: Candles) -> None:
    assert series["count"] == len(want)
    assert series["times"] == want.ts.astype(float).tolist()
    for name in ("open", "high", "low", "close", "volume"):
        assert series[name] == getattr(want, name).tolist(), name


def nullable(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


async def test_candles_are_the_stored_arrays(api: Api) -> None:
    a = await api.user("a@example.com")
    want = await stored()
    series = await query(api, a.token, limit=1_000)
    assert (series["exchange"], series["symbol"], series["timeframe"]) == ("demo", "DEMO/USDT",
                                                                           "1h")
    assert_columns(series, want)
    assert series["indicators"] == []
    assert_columns(await query(api, a.token, limit=100), want.take(500, 600))  # the newest
    assert_columns(await query(api, a.token), want)  # default limit 1,000
    window = await query(api, a.token, **{"from": iso(int(want.ts[10])), "limit": 5})
    assert_columns(window, want.take(10, 15))
    bounded = await query(api, a.token, **{"from": iso(int(want.ts[10]) - 1),
                                           "to": iso(int(want.ts[20]))})
    assert_columns(bounded, want.take(10, 20))
    before = await query(api, a.token, to=iso(int(want.ts[50])), limit=10)
    assert_columns(before, want.take(40, 50))
    nothing = await query(api, a.token, symbol="NONE/USDT")
    assert nothing["count"] == 0 and nothing["times"] == [] and nothing["close"] == []


async def test_indicator_series_are_the_engines(api: Api) -> None:
    a = await api.user("a@example.com")
    want = await stored()
    requests = [{"name": "sma", "params": {"period": 20}, "as": "fast"},
                {"name": "macd", "params": {}},
                {"name": "rsi"}]
    whole = await query(api, a.token, limit=1_000, indicators=requests)
    sma = compute_indicator("sma", want, {"period": 20})["value"]
    macd = compute_indicator("macd", want, {})
    rsi = compute_indicator("rsi", want, {})["value"]
    assert [(s["name"], s["indicator"], s["output"]) for s in whole["indicators"]] == [
        ("fast", "sma", "value"), *[("macd", "macd", o) for o in INDICATORS["macd"].outputs],
        ("rsi", "rsi", "value")]
    assert whole["indicators"][0]["params"] == {"period": 20, "source": "close"}
    assert whole["indicators"][0]["values"] == nullable(sma)
    for s in whole["indicators"][1:-1]:
        assert s["values"] == nullable(macd[s["output"]]), s["output"]
    assert whole["indicators"][-1]["values"] == nullable(rsi)
    assert whole["indicators"][0]["values"][:19] == [None] * 19  # warm-up: no earlier data

    # from the middle: warm-up bars are read before 'from', so values start defined
    mid = await query(api, a.token, **{"from": iso(int(want.ts[300])), "limit": 100},
                      indicators=requests)
    assert_columns(mid, want.take(300, 400))
    np.testing.assert_allclose(mid["indicators"][0]["values"], sma[300:400], rtol=1e-12)
    assert all(v is not None for s in mid["indicators"] for v in s["values"])
    # exactly the engine's values on what the server reads: the longest warm-up, times the factor
    warm = WARMUP_FACTOR * max(INDICATORS[n].warmup(p) for n, p in
                               (("sma", {"period": 20}), ("macd", {}), ("rsi", {})))
    read = want.take(300 - warm, 400)
    engine = [compute_indicator("sma", read, {"period": 20})["value"],
              *compute_indicator("macd", read, {}).values(),
              compute_indicator("rsi", read, {})["value"]]
    for s, values in zip(mid["indicators"], engine, strict=True):
        assert s["values"] == nullable(values[warm:]), s["output"]


async def test_warm_up_reads_across_a_gap(api: Api) -> None:
    a = await api.user("a@example.com")
    full = demo_candles(400, "1h", seed=5)
    kept = np.r_[0:150, 250:400]  # 100 bars missing right before bar 250
    part = Candles(full.ts[kept], full.open[kept], full.high[kept], full.low[kept],
                   full.close[kept], full.volume[kept], full.symbol, "1h")
    await store_candles.write_candles("demo", "DEMO/USDT", "1h", part)
    series = await query(api, a.token, **{"from": iso(int(full.ts[250])), "limit": 20},
                         indicators=[{"name": "sma", "params": {"period": 50}}])
    values = series["indicators"][0]["values"]
    assert all(v is not None for v in values)
    np.testing.assert_allclose(values, compute_indicator("sma", part, {"period": 50})["value"][
        150:170])


async def test_bad_inputs_are_coded_errors(api: Api) -> None:
    a = await api.user("a@example.com")
    await stored(50)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"limit": MAX_LIMIT + 1}, "limit must be between 1 and 200,000"),
        ({"limit": 0}, "limit must be between 1"),
        ({"tf": "1H"}, "unknown timeframe '1H'"),
        ({"indicators": [{"name": "smaa"}]}, "indicators[0]: unknown indicator 'smaa'"),
        ({"indicators": [{"name": "sma", "params": {"period": -1}}]},
         "indicators[0]: sma.period: must be an integer >= 1"),
        ({"indicators": [{"name": "sma", "params": {"length": 3}}]}, "unknown parameter(s) length"),
        ({"indicators": [{"name": "sma", "params": [1]}]}, "params must be an object"),
        ({"indicators": [{"name": "sma"}, {"name": "sma", "params": {"period": 5}}]},
         "indicators[1]: two indicators are called 'sma'"),
        ({"from": "2024-01-02T00:00:00Z", "to": "2024-01-01T00:00:00Z"}, "'to' must be after"),
    ]
    for variables, message in cases:
        variables.setdefault("symbol", "DEMO/USDT")
        variables.setdefault("tf", "1h")
        result = await api.gql(CANDLES, variables, token=a.token)
        [(code, text)] = errors_of(result)
        assert code == "BAD_USER_INPUT" and message in text, (variables, text)
    result = await api.gql(CANDLES, {"symbol": "DEMO/USDT", "tf": "1h"})
    assert [c for c, _ in errors_of(result)] == ["UNAUTHENTICATED"]
    result = await api.gql(CANDLES, {"symbol": "DEMO/USDT", "tf": "1h", "limit": 10**12},
                           token=a.token)
    assert [c for c, _ in errors_of(result)] == ["BAD_USER_INPUT"]  # not a 32-bit Int


async def test_coverage_and_stored_series(api: Api) -> None:
    a = await api.user("a@example.com")
    full = demo_candles(100, "1h", seed=9)
    kept = np.r_[0:40, 45:100]
    part = Candles(full.ts[kept], full.open[kept], full.high[kept], full.low[kept],
                   full.close[kept], full.volume[kept], full.symbol, "1h")
    await store_candles.write_candles("demo", "DEMO/USDT", "1h", part)
    await stored(10, symbol="ALT/USDT")
    result = await api.gql(COVERAGE, {"symbol": "DEMO/USDT"}, token=a.token)
    cov = result["data"]["marketDataCoverage"]
    assert cov["count"] == 95 and cov["missingBars"] == 5
    assert cov["missing"] == [{"first": iso(int(full.ts[40])).replace(".000Z", "+00:00"),
                               "last": iso(int(full.ts[44])).replace(".000Z", "+00:00"),
                               "bars": 5}]
    assert cov["first"].startswith(iso(int(full.ts[0]))[:19])
    nothing = await api.gql(COVERAGE, {"symbol": "NONE/USDT"}, token=a.token)
    assert nothing == {"data": {"marketDataCoverage": None}}
    listed = (await api.gql(SYMBOLS, token=a.token))["data"]["symbols"]
    assert [(s["symbol"], s["count"], s["missingBars"]) for s in listed] == [
        ("ALT/USDT", 10, 0), ("DEMO/USDT", 95, 5)]
    assert [c for c, _ in errors_of(await api.gql(SYMBOLS))] == ["UNAUTHENTICATED"]

