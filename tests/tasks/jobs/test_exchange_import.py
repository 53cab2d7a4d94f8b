"""The exchange import job against the fake Binance (SQLite and PostgreSQL): signed, paged by
24-hour windows and trade ids, two symbols, resumed after a transient error without
duplicates, and a wrong key failing with a clear message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store import exchange_imports, exchange_keys
from store.key_vault import vault_for
from store.models import AuditLog, ExchangeImport, RunStatus, TransactionImport, TransactionRecord
from store.settings import Settings
from store.users import create_user
from tasks.execution.compute import CancelToken
from tasks.jobs.kinds.exchange_import import PAGE, WINDOW_MS
from tasks.jobs.lease import JobOptions, TransientJobError
from tasks.jobs.lifecycle import run_job
from tasks.messaging.broadcast import MemoryBroadcaster
from tasks.messaging.events import channel
from tests.tasks.fake_binance import FakeBinance
from tests.tasks.fake_binance_account import make_trades

pytestmark = pytest.mark.asyncio

START = 1_704_067_200_000  # 2024-01-01
DAY = WINDOW_MS
API_KEY, API_SECRET = "A" * 60 + "wxyz", "S" * 64


def account_trades() -> list[dict[str, Any]]:
    """BTCUSDT: 2,500 fills on day 1 (three pages), 20 over days 2-3, 5 after the range;
    ETHUSDT: 40 over the three days; and one before the range."""
    return (make_trades("BTCUSDT", START - 5_000, 1, 1, first_id=1)
            + make_trades("BTCUSDT", START, 2_500, 30_000, first_id=2)
            + make_trades("BTCUSDT", START + DAY + 3_600_000, 20, 7_200_000, first_id=2_502)
            + make_trades("BTCUSDT", START + 3 * DAY + 3_600_000, 5, 60_000, first_id=2_522)
            + make_trades("ETHUSDT", START + 1_000, 40, 5_400_000, first_id=1, price=2_300))


EXPECTED = 2_500 + 20 + 40


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance().start()
    server.accounts.add(API_KEY, API_SECRET, trades=account_trades())
    try:
        yield server
    finally:
        server.stop()


def job_settings(db: Settings, fake: FakeBinance, tmp_path: Path) -> Settings:
    return Settings(database_url=db.database_url, data_dir=tmp_path / "keys",
                    binance_rest_url=fake.rest_url)


async def queued_import(settings: Settings, api_key: str = API_KEY,
                        api_secret: str = API_SECRET) -> int:
    user = await create_user("imp@example.com", None)
    key = await exchange_keys.create_key(user.id, "binance", "main", api_key, api_secret,
                                         vault_for(settings))
    job = await exchange_imports.create_import(user.id, key.id, "binance",
                                               ["BTC/USDT", "ETH/USDT"], START,
                                               START + 3 * DAY, "my fills")
    return job.id


def trade_requests(fake: FakeBinance) -> list[dict[str, str]]:
    return [q for path, q in fake.requests if path == "/api/v3/myTrades"]


async def stored_fills() -> list[tuple[str, str]]:
    rows = await TransactionRecord.all().values_list("symbol", "external_id")
    return sorted((str(s), str(e)) for s, e in rows)


async def test_import_pages_two_symbols_into_one_transaction_import(
        db: Settings, fake: FakeBinance, tmp_path: Path) -> None:
    settings = job_settings(db, fake, tmp_path)
    job = await queued_import(settings)
    broadcaster = MemoryBroadcaster()
    await run_job("exchange_import", job, broadcaster, settings=settings)
    row = await ExchangeImport.get(id=job)
    assert row.status == RunStatus.SUCCEEDED, row.error
    assert row.n_fetched == EXPECTED and row.transaction_import_id is not None
    batch = await TransactionImport.get(id=row.transaction_import_id)
    assert (batch.name, batch.format, batch.n_rows, batch.n_stored) == (
        "my fills", "binance_my_trades", EXPECTED, EXPECTED)
    assert sorted(batch.symbols) == ["BTC/USDT", "ETH/USDT"]
    fills = await stored_fills()
    assert len(fills) == len(set(fills)) == EXPECTED
    assert ("BTC/USDT", "1") not in fills and ("BTC/USDT", "2522") not in fills  # outside
    # every request signed and accepted; a full page continued by trade id; windows <= 24 h
    assert fake.accounts.signed == len(trade_requests(fake)) and not fake.accounts.refused
    queries = trade_requests(fake)
    assert all(q["signature"] and q["timestamp"] for q in queries)
    by_id = [q for q in queries if "fromId" in q]
    assert [q["fromId"] for q in by_id] == [str(2 + PAGE), str(2 + 2 * PAGE)]
    assert all(int(q["endTime"]) - int(q["startTime"]) < DAY for q in queries if "startTime" in q)
    assert len(queries) == 3 + 2 + 3  # BTC: day 1 in three pages, days 2-3; ETH: 3 days
    event = await broadcaster.latest(channel("exchange_import", job))
    assert event is not None and event["kind"] == "done"
    assert event["n_fetched"] == EXPECTED and event["transaction_import_id"] == batch.id
    used = await AuditLog.filter(action="key.use").values("outcome", "details")
    assert [u["outcome"] for u in used] == ["ok"]
    assert API_KEY not in str(used) and API_SECRET not in str(used)

    # the same range again: every fill is known already, a batch of duplicates
    again = await exchange_imports.create_import(row.owner_id, row.credential_id, "binance",
                                                 ["BTC/USDT", "ETH/USDT"], START,
                                                 START + 3 * DAY, "again")
    await run_job("exchange_import", again.id, broadcaster, settings=settings)
    second = await ExchangeImport.get(id=again.id)
    batch2 = await TransactionImport.get(id=second.transaction_import_id)
    assert (batch2.n_rows, batch2.n_stored, batch2.n_duplicates) == (EXPECTED, 0, EXPECTED)
    assert len(await stored_fills()) == EXPECTED


async def test_a_retried_import_continues_without_duplicates(
        db: Settings, fake: FakeBinance, tmp_path: Path) -> None:
    settings = job_settings(db, fake, tmp_path)
    job = await queued_import(settings)
    broadcaster = MemoryBroadcaster()
    fake.fail_next(503, path="/api/v3/myTrades", after=2)  # the third page: out of reach
    with pytest.raises(TransientJobError, match="could not be reached"):
        await run_job("exchange_import", job, broadcaster, settings=settings,
                      options=JobOptions(retry_transient=True))
    row = await ExchangeImport.get(id=job)
    assert row.status == RunStatus.QUEUED and row.n_fetched == 2 * PAGE
    assert row.cursor["from_id"] == str(2 + 2 * PAGE) and row.cursor["symbol"] == 0
    assert len(await stored_fills()) == 2 * PAGE
    before = len(trade_requests(fake))

    await run_job("exchange_import", job, broadcaster, settings=settings,
                  options=JobOptions(retry_transient=True))
    row = await ExchangeImport.get(id=job)
    assert row.status == RunStatus.SUCCEEDED, row.error
    resumed = trade_requests(fake)[before:]
    assert resumed[0]["fromId"] == str(2 + 2 * PAGE)  # where it stopped, not from the start
    assert len(resumed) == 1 + 2 + 3
    fills = await stored_fills()
    assert len(fills) == len(set(fills)) == EXPECTED == row.n_fetched
    batch = await TransactionImport.get(id=row.transaction_import_id)
    assert (batch.n_rows, batch.n_stored) == (EXPECTED, EXPECTED)
    assert await TransactionImport.all().count() == 1


async def test_a_cancelled_import_keeps_nothing(db: Settings, fake: FakeBinance,
                                                tmp_path: Path) -> None:
    settings = job_settings(db, fake, tmp_path)
    job = await queued_import(settings)
    fake.delay_next(3.0, path="/api/v3/myTrades", after=2)  # the third page takes a while
    token = CancelToken()
    run = asyncio.create_task(run_job("exchange_import", job, MemoryBroadcaster(),
                                      settings=settings, cancel=token))
    deadline = time.monotonic() + 20
    while len(await stored_fills()) < 2 * PAGE:  # two pages stored, the third on its way
        assert time.monotonic() < deadline and not run.done()
        await asyncio.sleep(0.05)
    token.cancel()
    await run
    row = await ExchangeImport.get(id=job)
    assert row.status == RunStatus.CANCELLED and row.error is not None
    assert "nothing was imported" in row.error
    assert await stored_fills() == [] and await TransactionImport.all().count() == 0


@pytest.mark.parametrize("secret", ["wrong secret", "revoked"])
async def test_a_wrong_or_revoked_key_fails_with_a_clear_message(
        db: Settings, fake: FakeBinance, tmp_path: Path, secret: str) -> None:
    settings = job_settings(db, fake, tmp_path)
    if secret == "revoked":
        fake.accounts.revoke(API_KEY)
        job = await queued_import(settings)
        code = -2015
    else:
        job = await queued_import(settings, api_secret="W" * 64)
        code = -1022
    await run_job("exchange_import", job, MemoryBroadcaster(), settings=settings)
    row = await ExchangeImport.get(id=job)
    assert row.status == RunStatus.FAILED
    assert row.error is not None and "binance refused the API key" in row.error
    assert "wrong, revoked or expired" in row.error
    assert fake.accounts.refused[code] == 1
    assert await TransactionImport.all().count() == 0  # nothing partial kept
    used = await AuditLog.filter(action="key.use").values("outcome", "entity_id")
    assert [u["outcome"] for u in used] == ["failed"]


async def test_an_unknown_symbol_fails_before_any_fill_is_read(
        db: Settings, fake: FakeBinance, tmp_path: Path) -> None:
    settings = job_settings(db, fake, tmp_path)
    job = await queued_import(settings)
    await ExchangeImport.filter(id=job).update(symbols=["BTC/USDT", "NOPE/USDT"])
    await run_job("exchange_import", job, MemoryBroadcaster(), settings=settings)
    row = await ExchangeImport.get(id=job)
    assert row.status == RunStatus.FAILED
    assert row.error == ("binance has no market NOPE/USDT: check the symbols (BASE/QUOTE, e.g. "
                         "BTC/USDT) and start the import again")
    assert not trade_requests(fake)


async def test_a_deleted_key_fails_the_import(db: Settings, fake: FakeBinance,
                                              tmp_path: Path) -> None:
    settings = job_settings(db, fake, tmp_path)
    job = await queued_import(settings)
    row = await ExchangeImport.get(id=job)
    assert row.credential_id is not None
    await exchange_keys.delete_key(row.credential_id, row.owner_id)
    await run_job("exchange_import", job, MemoryBroadcaster(), settings=settings)
    row = await ExchangeImport.get(id=job)
    assert row.status == RunStatus.FAILED and row.credential_id is None
    assert row.error is not None and "was deleted" in row.error
    assert not trade_requests(fake)
