"""A replay's defaults (domain.replay.ranges): market, range and capital, against plain
examples."""

from __future__ import annotations

from domain.replay.ranges import (
    DEFAULT_CAPITAL,
    DEFAULT_EXCHANGE,
    ReplayMarket,
    Source,
    backtest_range,
    bar_end,
    bar_floor,
    initial_capital,
    range_problems,
    replay_market,
    transactions_range,
)

H = 3_600_000
D = 24 * H
JAN_2024 = 1_704_067_200_000  # 2024-01-01T00:00Z, a Monday
BACKTEST = Source("kraken", "ETH/EUR", "4h", 10 * H, 50 * H, 2_500.0)


def test_bars_start_and_end_on_the_timeframe() -> None:
    assert bar_floor(5 * H + 123, "1h") == 5 * H
    assert bar_floor(5 * H, "1h") == 5 * H
    assert bar_end(5 * H + 123, "1h") == 6 * H
    assert bar_end(5 * H, "1h") == 6 * H  # a bar's open time is inside it
    assert bar_end(5 * H + 1, "1h", 2) == 8 * H
    assert bar_floor(JAN_2024 + 30 * H, "1d") == JAN_2024 + D
    assert bar_end(JAN_2024 + 15 * D, "1M") == JAN_2024 + 31 * D  # February 1st


def test_the_market_of_transactions() -> None:
    market, problems = replay_market(" btc/usdt ", None, "1h", None, 32)
    assert market == ReplayMarket(DEFAULT_EXCHANGE, "BTC/USDT", "1h") and problems == []
    market, problems = replay_market("BTC/USDT", " Kraken ", "15m", None, 32)
    assert market == ReplayMarket("kraken", "BTC/USDT", "15m") and problems == []


def test_the_market_of_a_backtest_unless_changed() -> None:
    assert replay_market(None, None, None, BACKTEST, 32) == (
        ReplayMarket("kraken", "ETH/EUR", "4h"), [])
    assert replay_market("btc/usdt", "binance", "1h", BACKTEST, 32) == (
        ReplayMarket("binance", "BTC/USDT", "1h"), [])


def test_market_problems_are_located_at_their_fields() -> None:
    market, problems = replay_market(None, "x" * 33, "1h", None, 32)
    assert market is not None
    assert problems == [("symbol", "give 1 to 32 characters"),
                        ("exchange", "give 1 to 32 characters")]
    _, problems = replay_market("BTCUSDT", None, "1h", None, 32)
    assert problems == [("symbol", "'BTCUSDT' is not of the form BASE/QUOTE (e.g. BTC/USDT)")]
    market, problems = replay_market("BTC/USDT", None, None, None, 32)
    assert market is None and problems == [("timeframe", "give a timeframe, e.g. 1h")]
    market, problems = replay_market("BTC", None, "1H", None, 32)
    assert market is None and [p for p, _ in problems] == ["symbol", "timeframe"]
    assert "did you mean 1h" in problems[1][1]


def test_to_must_be_after_from() -> None:
    assert range_problems(None, None) == range_problems(5, None) == range_problems(1, 2) == []
    assert range_problems(2, 2) == range_problems(3, 2) == [("to", "must be after from")]


def test_ranges_default_to_the_backtests() -> None:
    assert backtest_range(None, None, BACKTEST) == (10 * H, 50 * H)
    assert backtest_range(20 * H, None, BACKTEST) == (20 * H, 50 * H)
    assert backtest_range(None, 30 * H, BACKTEST) == (10 * H, 30 * H)


def test_ranges_of_transactions_cover_their_bars_and_the_delay() -> None:
    first, last = 3 * H + 59_000, 7 * H + 1
    assert transactions_range(first, last, "1h", 0, None, None) == (3 * H, 8 * H)
    assert transactions_range(first, last, "1h", 2, None, None) == (3 * H, 10 * H)
    assert transactions_range(first, last, "4h", 0, None, None) == (0, 8 * H)
    assert transactions_range(first, last, "1h", 2, H, 9 * H) == (H, 9 * H)


def test_capital_is_the_requested_else_the_backtests_else_the_default() -> None:
    assert initial_capital(123.0, BACKTEST) == initial_capital(123.0, None) == 123.0
    assert initial_capital(None, BACKTEST) == 2_500.0
    assert initial_capital(None, None) == DEFAULT_CAPITAL == 10_000.0
