from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from store import db as store_db
from store.backtest_results import numbered as store_db_numbered
from store.db import close_db, database, db_info, init_db, migrate, tortoise_config
from store.errors import DatabaseUnavailable
from store.models import ALL_MODELS
from store.settings import Settings
from tests.dbfixtures import MIGRATIONS

pytestmark = pytest.mark.asyncio
TABLES = {m._meta.db_table for m in ALL_MODELS}


async def test_migrate_creates_every_table_on_an_empty_database(empty_url: str) -> None:
    settings = Settings(database_url=empty_url)
    try:
        applied = await migrate(settings)
        assert applied == MIGRATIONS
        assert await store_db.existing_tables() >= TABLES
        assert await migrate(settings) == []  # a second run is a no-op
    finally:
        await close_db()


async def test_db_info_before_and_after_migrating(empty_url: str) -> None:
    settings = Settings(database_url=empty_url)
    async with database(settings):
        before = await db_info()
    assert before["migrations"] == {"applied": [], "pending": MIGRATIONS}
    assert set(before["tables"]) == TABLES
    assert all(n is None for n in before["tables"].values())
    try:
        await migrate(settings)
        info = await db_info()
    finally:
        await close_db()
    assert info["migrations"] == {"applied": MIGRATIONS, "pending": []}
    assert info["tables"] == dict.fromkeys(before["tables"], 0)
    if empty_url.startswith("sqlite"):
        assert info["backend"] == "sqlite"
        assert info["market_data_storage"] == "sqlite table"
        assert info["timescaledb"] is None
    else:
        assert info["backend"] == "postgresql"
        assert info["server_version"].startswith("PostgreSQL")
        assert info["market_data_storage"] in ("timescaledb hypertable",
                                               "plain table + BRIN index")
        assert info["timescaledb"]
    assert info["url"] == settings.safe_database_url


async def test_db_info_counts_rows(db: Settings) -> None:
    from store.models import User

    await User.create(email="a@example.com")
    await User.create(email="b@example.com")
    info = await db_info()
    assert info["tables"]["users"] == 2
    assert info["tables"]["market_data"] == 0


async def test_models_and_migrations_agree(db: Settings) -> None:
    """Fails when store/models.py changed without a migration: run
    `tortoise -c store.tortoise_config.TORTOISE_ORM makemigrations --name ...`."""
    assert Tortoise.apps is not None
    detector = MigrationAutodetector(Tortoise.apps, tortoise_config(db)["apps"])
    changes = await detector.changes()
    assert [w.name for w in changes] == []


async def test_unreachable_postgres_names_the_url_without_password() -> None:
    settings = Settings(database_url="postgres://someone:hunter2@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseUnavailable) as info:
        await init_db(settings)
    message = str(info.value)
    assert "postgres://someone:***@127.0.0.1:1/nowhere" in message
    assert "hunter2" not in message
    assert "Start PostgreSQL" in message


async def test_missing_postgres_database_is_reported(pg_migrated: str) -> None:
    url = pg_migrated.rsplit("/", 1)[0] + "/bt_test_does_not_exist"
    with pytest.raises(DatabaseUnavailable, match="bt_test_does_not_exist"):
        await init_db(Settings(database_url=url))


async def test_postgres_market_data_extras(pg_db: Settings) -> None:
    """After migrate: BRIN (or hypertable), byte-wise key collation, no surrogate-key index."""
    async with store_db.connection().acquire_connection() as conn:
        collations = dict(await conn.fetch(
            "SELECT a.attname, c.collname FROM pg_attribute a JOIN pg_collation c "
            "ON c.oid = a.attcollation WHERE a.attrelid = 'market_data'::regclass "
            "AND a.attname IN ('exchange', 'symbol', 'timeframe')"))
        primary = await conn.fetchval(
            "SELECT 1 FROM pg_constraint WHERE conrelid = 'market_data'::regclass "
            "AND contype = 'p'")
        unique = await conn.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'market_data'::regclass AND contype = 'u'")
    assert collations == {"exchange": "C", "symbol": "C", "timeframe": "C"}
    assert primary is None
    assert unique == "UNIQUE (exchange, symbol, timeframe, ts)"
    assert (await db_info())["market_data_storage"] in ("plain table + BRIN index",
                                                       "timescaledb hypertable")


async def test_0008_packs_existing_trade_rows_into_their_backtest(empty_url: str) -> None:
    """A database holding trades as rows (before 0008) keeps every trade, in seq order, in its
    backtest's ``trade_records`` once migrated; a backtest without trades gets none."""
    from tortoise.migrations.executor import MigrationTarget

    from store.db import connection
    from store.scope import ALL_OWNERS
    from store.trade_list import count_matching_trades, trade_records
    from tests.store.test_models import sample_trades

    settings = Settings(database_url=empty_url)
    trades = sample_trades(5)
    columns = ("seq", *("trade_return" if n == "return" else n for n in trades.dtype.names or ()))
    try:
        await init_db(settings)
        await store_db._executor(settings).migrate(
            targets=[MigrationTarget("models", "0007_candle_series_versions")])
        client = connection()
        pg = empty_url.startswith("postgres")
        when: Any = datetime(2026, 1, 1, tzinfo=UTC) if pg else "2026-01-01 00:00:00+00:00"

        def sql(text: str) -> str:
            return store_db_numbered(pg, text)

        await client.execute_query(sql("INSERT INTO users (id, email, display_name, "
                                       "password_hash, role, is_active, created_at) VALUES "
                                       "(1, 'a@x.io', '', NULL, 'user', ?, ?)"),
                                   [True, when])
        for backtest_id in (1, 2):
            await client.execute_query(sql(
                "INSERT INTO backtests (id, owner_id, strategy_snapshot, parameters, exchange, "
                "symbol, timeframe, range_start_ms, range_end_ms, initial_capital, "
                "engine_version, risk_free_rate, status, progress, created_at, stage, attempts) "
                "VALUES (?, 1, '{}', '{}', 'demo', 'DEMO/USDT', '1h', 0, 1, 1000.0, '', 0.0, "
                "'succeeded', 1.0, ?, 'done', 1)"), [backtest_id, when])
        for seq in (4, 2, 0, 3, 1):  # inserted out of order: seq decides
            row = trades[seq]
            await client.execute_query(
                sql(f"INSERT INTO trades (backtest_id, {', '.join(columns)}) "
                    f"VALUES (1, {', '.join('?' * len(columns))})"),
                [seq, *(row[n].item() for n in trades.dtype.names or ())])
        assert (await migrate(settings))[0] == "models.0008_trade_records"  # and any later
        assert "trades" not in await store_db.existing_tables()
        assert np.array_equal(await trade_records(1, owner=ALL_OWNERS), trades)
        assert await count_matching_trades(2, owner=ALL_OWNERS) == 0
        assert (await trade_records(2, owner=ALL_OWNERS)).shape == (0,)
    finally:
        await close_db()


async def test_0010_makes_every_user_a_trader_and_keeps_their_rows(empty_url: str) -> None:
    """Roles split into viewer / trader / admin: a ``user`` becomes a ``trader``, an admin stays
    an admin, and nothing that references users is lost (on SQLite a table rebuild of ``users``
    would cascade into their backtests)."""
    from tortoise.migrations.executor import MigrationTarget

    from store.db import connection
    from store.models import Backtest, Role, User

    settings = Settings(database_url=empty_url)
    try:
        await init_db(settings)
        await store_db._executor(settings).migrate(
            targets=[MigrationTarget("models", "0009_sessions")])
        client = connection()
        pg = empty_url.startswith("postgres")
        when: Any = datetime(2026, 1, 1, tzinfo=UTC) if pg else "2026-01-01 00:00:00+00:00"
        for user_id, role in ((1, "user"), (2, "admin")):
            await client.execute_query(store_db_numbered(pg, (
                "INSERT INTO users (id, email, display_name, password_hash, role, is_active, "
                "created_at) VALUES (?, ?, '', NULL, ?, ?, ?)")),
                [user_id, f"u{user_id}@x.io", role, True, when])
        await client.execute_query(store_db_numbered(pg, (
            "INSERT INTO backtests (id, owner_id, strategy_snapshot, parameters, exchange, "
            "symbol, timeframe, range_start_ms, range_end_ms, initial_capital, engine_version, "
            "risk_free_rate, status, progress, created_at, stage, attempts) VALUES (1, 1, '{}', "
            "'{}', 'demo', 'DEMO/USDT', '1h', 0, 1, 1000.0, '', 0.0, 'succeeded', 1.0, ?, "
            "'done', 1)")), [when])
        assert "models.0010_security" in await migrate(settings)
        assert {u.id: u.role for u in await User.all()} == {1: Role.TRADER, 2: Role.ADMIN}
        assert await Backtest.filter(owner_id=1).count() == 1
        assert (await User.create(id=3, email="new@x.io")).role == Role.TRADER
    finally:
        await close_db()
