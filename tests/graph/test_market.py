"""Market data over the API on both backends: candles as arrays equal to the store's, indicator
series equal to the engine's, coded errors for bad input, coverage and stored series; a market
found where it is stored when no exchange is given (an unknown or ambiguous one is an error),
demo data never synced, and a live feed of an unreachable exchange ending within seconds."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from domain.candles import Candles
from domain.demo import demo_candles
from domain.indicators.api import INDICATORS, compute_indicator
from graph.app import create_app
from graph.schema import schema
from store import candles as store_candles
from store.strategies import create_strategy
from tasks.market.candle_series import MAX_LIMIT, WARMUP_FACTOR
from tests.graph.conftest import Api, api_settings, errors_of
from tests.graph.test_market_sync import context_of

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
SYMBOLS = ("{ symbols { totalCount edges { node { exchange symbol timeframe count first last "
           "missingBars } } } }")


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
    nothing = await query(api, a.token, **{"from": iso(int(want.ts[-1]) + HOUR)})
    assert nothing["count"] == 0 and nothing["times"] == [] and nothing["close"] == []
    unknown = await api.gql(CANDLES, {"symbol": "NONE/USDT", "tf": "1h"}, token=a.token)
    [(code, message)] = errors_of(unknown)  # an unknown market is an error, not an empty series
    assert code == "BAD_USER_INPUT" and "unknown market NONE/USDT 1h on demo" in message


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
    found = (await api.gql(SYMBOLS, token=a.token))["data"]["symbols"]
    assert found["totalCount"] == 2
    listed = [e["node"] for e in found["edges"]]
    assert [(s["symbol"], s["count"], s["missingBars"]) for s in listed] == [
        ("ALT/USDT", 10, 0), ("DEMO/USDT", 95, 5)]
    assert [c for c, _ in errors_of(await api.gql(SYMBOLS))] == ["UNAUTHENTICATED"]



RESOLVED = """
query($symbol: String!, $tf: String!) {
  candles(symbol: $symbol, timeframe: $tf, limit: 3) { exchange symbol count }
  marketDataCoverage(symbol: $symbol, timeframe: $tf) { exchange count }
}"""


async def test_markets_are_found_where_they_are_stored_without_an_exchange(api: Api) -> None:
    a = await api.user("a@example.com")
    await stored(100)
    found = await api.gql(RESOLVED, {"symbol": "DEMO/USDT", "tf": "1h"}, token=a.token)
    assert "errors" not in found, found
    assert found["data"]["candles"] == {"exchange": "demo", "symbol": "DEMO/USDT", "count": 3}
    assert found["data"]["marketDataCoverage"] == {"exchange": "demo", "count": 100}
    bad_tf = await api.gql(RESOLVED, {"symbol": "DEMO/USDT", "tf": "1H"}, token=a.token)
    assert errors_of(bad_tf)[0][0] == "BAD_USER_INPUT" and "did you mean 1h" in errors_of(
        bad_tf)[0][1]

    unknown = await api.gql(RESOLVED, {"symbol": "BTC/USDT", "tf": "1h"}, token=a.token)
    assert unknown["data"] is None
    [(code, message), *_] = errors_of(unknown)
    assert code == "BAD_USER_INPUT"
    assert "unknown market BTC/USDT 1h" in message and "DEMO/USDT" in message
    lower = await api.gql(RESOLVED, {"symbol": "demo/usdt", "tf": "1h"}, token=a.token)
    assert "did you mean DEMO/USDT?" in errors_of(lower)[0][1]

    await store_candles.write_candles("binance", "DEMO/USDT", "1h", demo_candles(5, "1h"))
    await store_candles.write_candles("kraken", "DEMO/USDT", "1h", demo_candles(5, "1h"))
    ambiguous = await api.gql(RESOLVED, {"symbol": "DEMO/USDT", "tf": "1h"}, token=a.token)
    [(code, message), *_] = errors_of(ambiguous)
    assert code == "BAD_USER_INPUT"
    assert "stored under several exchanges (binance, demo, kraken)" in message
    chosen = await api.gql(CANDLES, {"symbol": "DEMO/USDT", "tf": "1h"}, token=a.token)
    assert chosen["data"]["candles"]["count"] == 100  # an explicit exchange is never resolved


RUN = """
mutation($input: RunBacktestInput!) {
  runBacktest(input: $input) {
    __typename
    ... on Backtest { exchange symbol }
    ... on ValidationError { problems { path message } }
  }
}"""
SWEEP = """
mutation($input: RunSweepInput!) {
  runSweep(input: $input) {
    __typename
    ... on Sweep { exchange }
    ... on ValidationError { problems { path message } }
  }
}"""
SYNC_DEMO = """
mutation { syncMarketData(input: {exchange: "demo", symbol: "DEMO/USDT", timeframe: "1h",
                                  since: "2024-01-01T00:00:00Z"}) {
  __typename ... on ValidationError { problems { path message } } } }"""


async def test_runs_find_their_market_and_demo_data_is_not_synced(api: Api) -> None:
    a = await api.user("a@example.com")
    document = json.loads((Path(__file__).resolve().parents[2] / "examples" /
                           "sma_crossover.json").read_text())
    strategy = await create_strategy(a.id, "sma", document)
    candles = await stored(300)
    base = {"strategyId": str(strategy.id), "symbol": "DEMO/USDT", "timeframe": "1h",
            "from": iso(int(candles.ts[0])), "to": iso(int(candles.ts[-1]))}
    unknown = await api.gql(RUN, {"input": {**base, "symbol": "NOPE/USDT"}}, token=a.token)
    payload = unknown["data"]["runBacktest"]
    assert payload["__typename"] == "ValidationError"
    [problem] = payload["problems"]
    assert problem["path"] == "input.symbol" and "unknown market NOPE/USDT 1h" in problem["message"]
    sweep = await api.gql(SWEEP, {"input": {**base, "symbol": "NOPE/USDT",
                                            "grid": {"fast": [5, 10]}}}, token=a.token)
    assert [p["path"] for p in sweep["data"]["runSweep"]["problems"]] == ["input.symbol"]
    await store_candles.write_candles("binance", "DEMO/USDT", "1h", demo_candles(5, "1h"))
    ambiguous = await api.gql(RUN, {"input": base}, token=a.token)
    [problem] = ambiguous["data"]["runBacktest"]["problems"]
    assert problem["path"] == "input.exchange" and "(binance, demo)" in problem["message"]
    await store_candles.delete_candles("binance", "DEMO/USDT", "1h")
    resolved = await api.gql(RUN, {"input": base}, token=a.token)
    assert resolved["data"]["runBacktest"] == {"__typename": "Backtest", "exchange": "demo",
                                               "symbol": "DEMO/USDT"}

    demo = (await api.gql(SYNC_DEMO, token=a.token))["data"]["syncMarketData"]
    assert demo["__typename"] == "ValidationError"
    [problem] = demo["problems"]
    assert problem["path"] == "input.exchange"
    assert "synthetic" in problem["message"] and "backtest demo-data" in problem["message"]


async def test_candle_updates_find_their_market_and_demo_has_no_feed(api: Api) -> None:
    a = await api.user("a@example.com")
    await stored(10)
    for symbol, wanted in (("DEMO/USDT", "demo has no live feed: its candles are synthetic"),
                           ("NOPE/USDT", "unknown market NOPE/USDT 1h")):
        stream = await schema.subscribe(
            f'subscription {{ candleUpdates(symbol: "{symbol}", timeframe: "1h") {{ time }} }}',
            context_value=context_of(api, a))
        assert isinstance(stream, AsyncIterator)
        [failed] = [r async for r in stream]
        assert failed.errors and failed.errors[0].extensions == {"code": "BAD_USER_INPUT"}
        assert wanted in failed.errors[0].message
    assert api.services.live_candles.active() == {}


HOG_S = 1.5


def hogging_compute(task: Any, report: Any, cancelled: Any) -> Any:
    """The indicators, after holding the GIL for HOG_S as numba's compiler does on a first use
    (pure Python, no sleep): the API's event loop must not notice."""
    import time

    from tasks.execution.indicators import compute_indicators
    deadline = time.perf_counter() + HOG_S
    spins = 0
    while time.perf_counter() < deadline:
        spins += 1
    return compute_indicators(task, report, cancelled)


async def test_healthz_answers_while_an_indicator_is_computed(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Indicators are computed in a process of their own (``tasks.execution.indicators``):
    while one hogs its interpreter (as a first-use numba compile does), /healthz keeps
    answering, many times before the candles come back."""
    import asyncio
    import time

    from tasks.execution import indicators

    monkeypatch.setattr(indicators, "compute_indicators", hogging_compute)
    a = await api.user("a@example.com")
    want = await stored()
    answers: list[float] = []
    done = asyncio.Event()

    async def poll() -> None:
        while not done.is_set():
            started = time.perf_counter()
            response = await api.client.get("/healthz")
            assert response.status_code == 200
            answers.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    poller = asyncio.create_task(poll())
    started = time.perf_counter()
    series = await query(api, a.token, limit=200, indicators=[{"name": "wma"}, {"name": "adx"}])
    took = time.perf_counter() - started
    done.set()
    await poller
    assert series["count"] == 200
    wma = compute_indicator("wma", want, {})["value"]
    np.testing.assert_allclose(series["indicators"][0]["values"], wma[-200:], rtol=1e-9)
    # the loop was free during the call: healthz answered all along (the bound is loose: the
    # tests never assert wall-clock speed, only that the answers came during the call)
    assert took >= HOG_S and len(answers) >= 5, (took, answers)
    print(f"\ncandles with a {HOG_S} s GIL-holding indicator: {took:.2f} s; /healthz answered "
          f"{len(answers)} times, slowest {max(answers) * 1000:.1f} ms")


async def test_candle_updates_of_an_unreachable_exchange_end_within_seconds(
        backend_url: str, tmp_path: Path) -> None:
    with socket.socket() as s:  # a closed port on 127.0.0.1: nothing leaves the machine
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(api_settings(backend_url, tmp_path,
                                  binance_rest_url=f"http://127.0.0.1:{port}",
                                  binance_ws_url=f"ws://127.0.0.1:{port}/ws"))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(app, client)
        a = await api.user("a@example.com")
        t0 = time.monotonic()
        stream = await schema.subscribe(
            'subscription { candleUpdates(exchange: "binance", symbol: "BTC/USDT", '
            'timeframe: "1m") { time } }', context_value=context_of(api, a))
        assert isinstance(stream, AsyncIterator)
        [failed] = [r async for r in stream]
        assert time.monotonic() - t0 < 8.0
    assert failed.errors and failed.errors[0].extensions == {"code": "EXCHANGE_UNAVAILABLE"}
    assert "binance is unreachable" in failed.errors[0].message
