from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from tortoise.exceptions import IntegrityError

from domain.engine.records import TRADE_DTYPE
from domain.metrics import METRIC_NAMES
from store.backtest_results import pack_trades, unpack_trades
from store.models import (
    AuditLog,
    Backtest,
    ExchangeCredential,
    PerformanceSummary,
    ReplayExecution,
    RunStatus,
    Strategy,
    TransactionRecord,
    User,
)
from store.settings import Settings

STRATEGY_DOC = {"name": "sma", "entry": {"all": [{"op": "crosses_above"}]}, "parameters": {}}
def test_summary_has_a_column_per_metric() -> None:
    fields = PerformanceSummary._meta.fields_map
    assert [m for m in METRIC_NAMES if m not in fields] == []


def sample_trades(n: int) -> np.ndarray:
    t = np.zeros(n, dtype=TRADE_DTYPE)
    t["entry_idx"] = np.arange(n) * 10
    t["exit_idx"] = t["entry_idx"] + 5
    t["entry_time"] = 1_704_067_200_000 + t["entry_idx"] * 3_600_000
    t["exit_time"] = 1_704_067_200_000 + t["exit_idx"] * 3_600_000
    t["entry_price"] = 100.0 + np.arange(n)
    t["exit_price"] = t["entry_price"] * 1.01
    t["quantity"] = 0.5
    t["direction"] = np.where(np.arange(n) % 2 == 0, 1, -1)
    t["pnl"] = (t["exit_price"] - t["entry_price"]) * t["quantity"] * t["direction"]
    t["return"] = t["pnl"] / (t["quantity"] * t["entry_price"])
    t["exit_reason"] = 1
    return t


@pytest.mark.asyncio
async def test_user_strategy_backtest_trades_and_summary(db: Settings) -> None:
    user = await User.create(email="ada@example.com", display_name="Ada")
    strategy = await Strategy.create(owner=user, name="sma", document=STRATEGY_DOC)
    assert strategy.version == 1
    v2 = await Strategy.create(owner=user, name="sma", version=2, document=STRATEGY_DOC)
    with pytest.raises(IntegrityError):
        await Strategy.create(owner=user, name="sma", version=2, document=STRATEGY_DOC)

    bt = await Backtest.create(
        owner=user, strategy=v2, strategy_snapshot=STRATEGY_DOC, parameters={"fast": 10},
        exchange="binance", symbol="BTC/USDT", timeframe="1h",
        range_start_ms=1_704_067_200_000, range_end_ms=1_706_745_600_000,
        initial_capital=10_000.0, engine_version="0.1.0", data_fingerprint="ab" * 32)
    assert bt.status == RunStatus.QUEUED and bt.progress == 0.0 and bt.created_at.tzinfo
    bt.status, bt.progress, bt.started_at = RunStatus.RUNNING, 0.5, datetime.now(UTC)
    await bt.save()

    records = sample_trades(7)
    bt.trade_records = pack_trades(records)
    metrics: dict[str, Any] = {name: float(i) for i, name in enumerate(METRIC_NAMES)}
    metrics["profit_factor"] = None  # undefined metrics are NULL
    await PerformanceSummary.create(backtest=bt, final_equity=10_123.5, **metrics)
    bt.status, bt.progress, bt.finished_at = RunStatus.SUCCEEDED, 1.0, datetime.now(UTC)
    await bt.save()

    loaded = await Backtest.get(id=bt.id).prefetch_related("summary", "strategy")
    assert loaded.status == RunStatus.SUCCEEDED
    assert loaded.strategy_snapshot == STRATEGY_DOC and loaded.parameters == {"fast": 10}
    assert loaded.strategy is not None and loaded.strategy.version == 2
    assert np.array_equal(unpack_trades(loaded.trade_records), records)
    summary = loaded.summary
    assert summary.final_equity == 10_123.5
    assert summary.sharpe == metrics["sharpe"] and summary.profit_factor is None
    with pytest.raises(IntegrityError):  # one summary per backtest
        await PerformanceSummary.create(backtest=bt, final_equity=1.0)
    assert await Backtest.filter(owner=user, status=RunStatus.SUCCEEDED).count() == 1

    await v2.delete()  # the backtest keeps its snapshot
    assert (await Backtest.get(id=bt.id)).strategy_id is None
    await user.delete()  # everything the user owns goes with them
    assert await Backtest.all().count() == 0
    assert await PerformanceSummary.all().count() == 0


@pytest.mark.asyncio
async def test_credentials_transactions_replays_and_audit(db: Settings) -> None:
    user = await User.create(email="bob@example.com")
    cred = await ExchangeCredential.create(owner=user, exchange="binance", label="main",
                                           api_key_encrypted=b"\x00\x01ciphertext")
    assert (await ExchangeCredential.get(id=cred.id)).api_key_encrypted == b"\x00\x01ciphertext"

    tx: dict[str, Any] = {"owner": user, "exchange": "binance", "symbol": "BTC/USDT", "kind": "trade",
          "side": "buy", "ts": 1_704_067_200_000, "price": 42_000.5, "quantity": 0.01,
          "fee": 0.42, "fee_asset": "USDT", "external_id": "123", "payload": {"id": 123}}
    await TransactionRecord.create(**tx)
    with pytest.raises(IntegrityError):  # a re-import of the same exchange id
        await TransactionRecord.create(**tx)

    replay = await ReplayExecution.create(owner=user, exchange="binance", symbol="BTC/USDT",
                                          timeframe="1h", range_start_ms=0, range_end_ms=1)
    replay.status, replay.result = RunStatus.FAILED, None
    replay.error = "no market data for BTC/USDT 1h"
    await replay.save()
    assert (await ReplayExecution.get(id=replay.id)).status == RunStatus.FAILED

    await AuditLog.create(user=user, action="credential.create", entity_type="credential",
                          entity_id=str(cred.id), details={"exchange": "binance"})
    await user.delete()
    entry = await AuditLog.get(action="credential.create")
    assert entry.user_id is None  # the log outlives the user
    assert entry.details == {"exchange": "binance"}
