"""make_exchange (URL overrides, rate limiting), symbol and timeframe validation, error mapping."""

from __future__ import annotations

import ccxt
import pytest

from tasks.market.exchange import (
    MarketDataError,
    UnknownSymbol,
    UnsupportedTimeframe,
    check_timeframe,
    load_market,
    make_exchange,
)
from tasks.market.retry import call_with_retry
from tasks.market.sync import sync
from tests.support.memory_sink import MemorySink
from tests.tasks.conftest import FAST, connect, run
from tests.tasks.fake_binance import FakeBinance


def test_urls_overridden_keeping_paths() -> None:
    async def main() -> None:
        ex = make_exchange(rest_url="https://testnet.example:8443",
                           ws_url="wss://stream.example/ws", timeout_ms=1234)
        try:
            api = ex.urls["api"]
            assert api["public"] == "https://testnet.example:8443/api/v3"
            assert api["v1"] == "https://testnet.example:8443/api/v1"
            assert api["sapi"] == "https://testnet.example:8443/sapi/v1"
            assert api["fapiPublic"] == "https://testnet.example:8443/fapi/v1"
            assert api["ws"]["spot"] == "wss://stream.example/ws"
            assert api["ws"]["linear"] == "wss://stream.example/ws"
            assert api["ws"]["ws-api"]["spot"] == "wss://stream.example/ws-api/v3"
            assert ex.enableRateLimit is True and ex.timeout == 1234
            assert isinstance(ex, ccxt.pro.binance)
            assert ex.options["fetchMarkets"]["types"] == ["spot"]
        finally:
            await ex.close()

    run(main())


def test_defaults_are_ccxts_own() -> None:
    async def main() -> None:
        ex = make_exchange()
        try:
            assert ex.urls["api"]["public"] == "https://api.binance.com/api/v3"
            assert ex.urls["api"]["ws"]["spot"].startswith("wss://stream.binance.com")
            assert ex.rateLimit == 50
        finally:
            await ex.close()

    run(main())


def test_blocking_client_and_bad_arguments() -> None:
    ex = make_exchange(rest_url="http://127.0.0.1:9", async_=False)
    assert isinstance(ex, ccxt.binance) and not isinstance(ex, ccxt.async_support.binance)
    assert ex.urls["api"]["public"] == "http://127.0.0.1:9/api/v3"
    with pytest.raises(MarketDataError, match=r"unknown exchange 'binanse'.*binance"):
        make_exchange("binanse")
    with pytest.raises(MarketDataError, match="bad REST base URL"):
        make_exchange(rest_url="127.0.0.1:9")
    with pytest.raises(MarketDataError, match="bad websocket base URL"):
        make_exchange(ws_url="http://127.0.0.1:9/ws")


def test_load_markets_asks_only_exchange_info(fake: FakeBinance) -> None:
    async def main() -> None:
        async with connect(fake) as ex:
            markets = await ex.load_markets()
            assert set(markets) == {"BTC/USDT", "ETH/USDT", "ETH/BTC", "BNB/USDT"}
            btc = markets["BTC/USDT"]
            assert btc["id"] == "BTCUSDT" and btc["spot"] and btc["active"]
            assert btc["precision"]["price"] == 0.01

    run(main())
    assert [path for path, _ in fake.requests] == ["/api/v3/exchangeInfo"]
    assert fake.unexpected == []


def test_symbols_are_validated(fake: FakeBinance) -> None:
    async def main() -> None:
        async with connect(fake) as ex:
            assert (await load_market(ex, "btc/usdt"))["symbol"] == "BTC/USDT"
            assert (await load_market(ex, "ETHBTC"))["symbol"] == "ETH/BTC"
            with pytest.raises(UnknownSymbol) as info:
                await load_market(ex, "BTC/USDX")
            message = str(info.value)
            assert "unknown symbol 'BTC/USDX' on binance" in message
            assert "did you mean BTC/USDT" in message

    run(main())


def test_timeframes_are_validated(fake: FakeBinance) -> None:
    async def main() -> None:
        async with connect(fake) as ex:
            assert check_timeframe(ex, "1h") == "1h"
            with pytest.raises(UnsupportedTimeframe, match=r"unknown timeframe '7m'.*1m, 3m"):
                check_timeframe(ex, "7m")
            with pytest.raises(UnsupportedTimeframe, match="did you mean 1h"):
                check_timeframe(ex, "1H")

    run(main())


def test_sync_stops_at_once_on_bad_input(fake: FakeBinance) -> None:
    async def main() -> None:
        async with connect(fake) as ex:
            with pytest.raises(UnknownSymbol, match="DOGE/USDT"):
                await sync(ex, "DOGE/USDT", "1m", fake.start_ms, sink=MemorySink(), backoff=FAST)
            with pytest.raises(UnsupportedTimeframe, match="7m"):
                await sync(ex, "BTC/USDT", "7m", fake.start_ms, sink=MemorySink(), backoff=FAST)

    run(main())
    assert not [path for path, _ in fake.requests if path == "/api/v3/klines"]


def test_permanent_exchange_errors_are_not_retried(fake: FakeBinance) -> None:
    async def main() -> None:
        async with connect(fake) as ex:
            await ex.load_markets()
            with pytest.raises(MarketDataError, match=r"refused .*Invalid symbol"):
                await call_with_retry(
                    ex, lambda: ex.public_get_klines({"symbol": "NOPEUSDT", "interval": "1m"}),
                    what="klines", backoff=FAST)
            with pytest.raises(MarketDataError, match=r"refused .*Invalid interval"):
                # ccxt passes an interval it does not know through unchanged: Binance says -1120
                await call_with_retry(ex, lambda: ex.fetch_ohlcv("BTC/USDT", "7m"),
                                      what="klines", backoff=FAST)

    run(main())
    assert len([path for path, _ in fake.requests if path == "/api/v3/klines"]) == 2
