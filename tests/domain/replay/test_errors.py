"""Bad input: clear ``DomainError`` messages naming the transaction's row."""

from __future__ import annotations

import re

import numpy as np
import pytest

from domain.candles import Candles
from domain.errors import DataError, DomainError
from domain.replay import Fills, ReplayError, ReplayModel, replay_transactions, what_if
from domain.transactions.model import Transaction
from tests.domain.replay.data import SYMBOL, make_candles, tx

H = 3_600_000
CANDLES = make_candles([(10.0, 11.0, 9.0, 10.0)] * 4, "1h", bars=[0, 1, 3, 4])  # bar 2 missing
T0 = int(CANDLES.ts[0])


def fails(txs: list[Transaction], match: str, row: int | None, **kw: object) -> ReplayError:
    with pytest.raises(ReplayError, match=match) as info:
        replay_transactions(txs, CANDLES, 1000.0, **kw)  # type: ignore[arg-type]
    assert info.value.row == row
    if row is not None:
        assert str(info.value).startswith(f"row {row}: ")
    return info.value


def test_replay_errors_are_domain_errors() -> None:
    assert issubclass(ReplayError, DataError) and issubclass(ReplayError, DomainError)


@pytest.mark.parametrize(("time_ms", "where"), [
    (T0 - 1, "before the first candle"),
    (T0 + 2 * H + 5, "in a gap of the candles"),
    (T0 + 5 * H, "after the last candle"),
])
def test_a_transaction_outside_the_candles(time_ms: int, where: str) -> None:
    txs = [tx(T0, "buy", 10.0, 1.0, row=2), tx(time_ms, "sell", 10.0, 1.0, row=7)]
    err = fails(txs, re.escape(where), 7)
    assert "the sell at" in str(err) and "load candles covering every transaction" in str(err)


def test_the_last_millisecond_of_the_last_bar_is_inside() -> None:
    r = replay_transactions([tx(T0 + 5 * H - 1, "buy", 10.0, 1.0)], CANDLES, 1000.0)
    assert r.fills["bar"].tolist() == [3]


def test_a_transaction_of_another_symbol() -> None:
    other = Transaction(T0 + H, "ETH/USDT", "buy", 10.0, 1.0, 0.0, "USDT", None, 4)
    err = fails([tx(T0, "buy", 10.0, 1.0, row=3), other], "ETH/USDT transaction", 4)
    assert "BTC/USDT is replayed" in str(err)
    with pytest.raises(ReplayError, match=r"row 3: .*BTC/USDT transaction, but ETH/USDT"):
        replay_transactions([tx(T0, "buy", 10.0, 1.0, row=3)], CANDLES, 1000.0,
                            symbol="ETH/USDT")
    fills = Fills.from_arrays("ETH/USDT", [T0], [1], [1.0], [1.0], [0.0], "USDT", [9])
    with pytest.raises(ReplayError, match=r"row 9: .*ETH/USDT transaction, but BTC/USDT"):
        replay_transactions(fills, CANDLES, 1000.0)


def test_a_fee_asset_without_conversion_prices() -> None:
    txs = [tx(T0, "buy", 10.0, 1.0, 0.01, "BNB", row=5)]
    err = fails(txs, "pays its fee in BNB, but no BNB prices were given", 5)
    assert "BNB/USDT" in str(err)
    prices = [np.nan, 1.0, 1.0, 1.0]
    fails(txs, "no usable BNB price at the bar of", 5, conversions={"BNB": prices})
    # a zero fee needs no price, and a delay converts at the replayed bar
    replay_transactions([tx(T0, "buy", 10.0, 1.0, 0.0, "BNB")], CANDLES, 1000.0)
    r = replay_transactions(txs, CANDLES, 1000.0, conversions={"BNB": [1.0, 2.0, 3.0, 4.0]},
                            model=ReplayModel(delay_bars=1))
    assert r.fills["replay_fee"].tolist() == [0.02]
    with pytest.raises(ReplayError, match=r"row 5: .*no usable BNB price"):
        what_if(txs, CANDLES, 1000.0, ReplayModel(delay_bars=1),
                conversions={"BNB": [1.0, np.nan, 3.0, 4.0]})


def test_conversion_prices_of_the_wrong_length() -> None:
    with pytest.raises(ReplayError, match="one price per candle"):
        replay_transactions([tx(T0, "buy", 10.0, 1.0, 0.01, "BNB")], CANDLES, 1000.0,
                            conversions={"BNB": [1.0, 2.0]})


@pytest.mark.parametrize(("bad", "match"), [
    ({"price": 0.0}, "price that is not a number > 0"),
    ({"price": float("nan")}, "price that is not a number > 0"),
    ({"quantity": -1.0}, "quantity that is not a number > 0"),
    ({"fee": -0.1}, "fee that is not a number >= 0"),
    ({"fee": 1.0, "fee_asset": "BTC"}, "base fee that is not smaller than the quantity"),
    ({"side": "hold"}, "neither buy nor sell"),
])
def test_malformed_transactions(bad: dict[str, object], match: str) -> None:
    fields: dict[str, object] = {"time_ms": T0 + H, "symbol": SYMBOL, "side": "buy",
                                 "price": 10.0, "quantity": 1.0, "fee": 0.0,
                                 "fee_asset": "USDT", "row": 12}
    fields.update(bad)
    txs = [tx(T0, "buy", 10.0, 1.0, row=2), Transaction(**fields)]  # type: ignore[arg-type]
    fails(txs, match, 12)


def test_a_transaction_without_a_row_is_described() -> None:
    with pytest.raises(ReplayError, match=r"the buy at .* \(1.0 at 0.0\) has a price") as info:
        replay_transactions([tx(T0, "buy", 0.0, 1.0)], CANDLES, 1000.0)
    assert info.value.row is None


@pytest.mark.parametrize(("kw", "match"), [
    ({"fill": "vwap"}, "unknown fill model 'vwap'"),
    ({"fee_rate": -0.001}, "fee rate"),
    ({"slippage_rate": float("inf")}, "slippage rate"),
    ({"delay_bars": -1}, "delay"),
    ({"delay_bars": 1.5}, "delay"),
])
def test_bad_models(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ReplayError, match=match):
        ReplayModel(**kw)  # type: ignore[arg-type]


def test_bad_candles_symbol_and_capital() -> None:
    txs = [tx(T0, "buy", 10.0, 1.0)]
    empty = CANDLES.take(0, 0)
    with pytest.raises(ReplayError, match="no candles"):
        replay_transactions(txs, empty, 1000.0)
    no_tf = Candles(CANDLES.ts, CANDLES.open, CANDLES.high, CANDLES.low, CANDLES.close,
                    CANDLES.volume, SYMBOL, "")
    with pytest.raises(ReplayError, match="no timeframe"):
        replay_transactions(txs, no_tf, 1000.0)
    with pytest.raises(ReplayError, match="initial capital"):
        replay_transactions(txs, CANDLES, 0.0)
    with pytest.raises(ReplayError, match="BASE/QUOTE"):
        replay_transactions(txs, CANDLES, 1000.0, symbol="BTCUSDT")


def test_no_transactions_is_a_flat_account() -> None:
    r = replay_transactions([], CANDLES, 1000.0)
    assert r.equity.tolist() == [1000.0] * 4 and len(r.trades) == 0 and len(r.fills) == 0
