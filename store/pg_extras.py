"""PostgreSQL-only set-up of ``market_data`` (and of the results' tables: :func:`setup_results`)
that Tortoise's migrations do not express.

Run after every ``migrate``; each step is idempotent.

Always, for bulk-write speed (measured: each roughly halves the cost of inserting 1M rows):

* the key columns ``exchange``, ``symbol``, ``timeframe`` use the ``"C"`` collation, so the
  unique index compares bytes instead of calling the locale's ``strcoll``;
* the surrogate ``id`` column loses its primary-key index: nothing looks candles up by id, the
  (exchange, symbol, timeframe, ts) unique constraint is the table's real key (and the conflict
  target of the bulk writer), and a TimescaleDB hypertable could not keep it anyway (its unique
  indexes must contain the time column). ``id`` stays, filled by its sequence, which hands out
  values in blocks of 10,000 per session (``CACHE``: one sequence access per block instead of
  per row; ids may have gaps, nothing cares).

Then:

* TimescaleDB available (``pg_available_extensions``): create the extension, turn
  ``market_data`` into a hypertable on ``ts`` (BIGINT ms, 30-day chunks), enable compression
  segmented by (exchange, symbol, timeframe) and ordered by ``ts``, and compress chunks older
  than 90 days.
* Otherwise (or if creating the extension fails, e.g. it is not in
  ``shared_preload_libraries``): a BRIN index on ``ts``, small and good for the append-mostly,
  time-ordered rows.
"""

from __future__ import annotations

import logging

import asyncpg

log = logging.getLogger(__name__)

TABLE = "market_data"
CHUNK_MS = 30 * 86_400_000
COMPRESS_AFTER_MS = 90 * 86_400_000
BRIN_INDEX = "market_data_ts_brin"
KEY_COLUMNS = ("exchange", "symbol", "timeframe")
ID_CACHE = 10_000

HYPERTABLE = "timescaledb hypertable"
BRIN = "plain table + BRIN index"
PLAIN = "plain table"

_NOW_FUNC = f"""
CREATE OR REPLACE FUNCTION {TABLE}_now_ms() RETURNS BIGINT LANGUAGE SQL STABLE AS
$$ SELECT (extract(epoch FROM now()) * 1000)::BIGINT $$
"""


async def timescaledb_available(conn: asyncpg.Connection) -> bool:
    row = await conn.fetchval(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    return row is not None


async def is_hypertable(conn: asyncpg.Connection) -> bool:
    installed = await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    if installed is None:
        return False
    found = await conn.fetchval(
        "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = $1", TABLE)
    return found is not None


async def _make_hypertable(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        if await is_hypertable(conn):
            return
        await conn.execute(
            f"SELECT create_hypertable('{TABLE}', 'ts', chunk_time_interval => {CHUNK_MS}::BIGINT,"
            " migrate_data => true)")
        await conn.execute(_NOW_FUNC)
        await conn.execute(f"SELECT set_integer_now_func('{TABLE}', '{TABLE}_now_ms')")
        await conn.execute(
            f"ALTER TABLE {TABLE} SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'exchange, symbol, timeframe', "
            "timescaledb.compress_orderby = 'ts')")
        await conn.execute(
            f"SELECT add_compression_policy('{TABLE}', {COMPRESS_AFTER_MS}::BIGINT, "
            "if_not_exists => true)")


async def _tune_keys(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, c.collname "
        "FROM pg_attribute a LEFT JOIN pg_collation c ON c.oid = a.attcollation "
        "WHERE a.attrelid = $1::regclass AND a.attname = ANY($2::text[])",
        TABLE, list(KEY_COLUMNS))
    changes = [f'ALTER COLUMN {r["attname"]} TYPE {r["type"]} COLLATE "C"'
               for r in rows if r["collname"] != "C"]
    async with conn.transaction():
        if changes:
            await conn.execute(f"ALTER TABLE {TABLE} " + ", ".join(changes))
        await conn.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {TABLE}_pkey")
        seq = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", TABLE)
        if seq is not None:
            await conn.execute(f"ALTER SEQUENCE {seq} CACHE {ID_CACHE}")


async def setup_market_data(conn: asyncpg.Connection) -> str:
    """Apply the extras; returns the resulting storage mode (see :func:`market_data_storage`)."""
    await _tune_keys(conn)
    if await timescaledb_available(conn):
        try:
            await _make_hypertable(conn)
            return HYPERTABLE
        except asyncpg.PostgresError as err:
            log.warning("TimescaleDB is available but could not be set up (%s); "
                        "using a plain table with a BRIN index", err)
    await conn.execute(f"CREATE INDEX IF NOT EXISTS {BRIN_INDEX} ON {TABLE} USING BRIN (ts)")
    return BRIN


async def setup_results(conn: asyncpg.Connection) -> None:
    """The results' blobs (a backtest's equity curve and trades) are stored out of line WITHOUT
    compression (``STORAGE EXTERNAL``): ``store.curves`` has made the curve compact already,
    packed trades hardly compress, and pglz trying cost about 40 ms per year of minutes."""
    async with conn.transaction():
        for column in ("equity_curve", "trade_records"):
            await conn.execute(f"ALTER TABLE backtests ALTER COLUMN {column} SET STORAGE EXTERNAL")


async def market_data_storage(conn: asyncpg.Connection) -> str:
    """"timescaledb hypertable", "plain table + BRIN index" or "plain table" (not migrated)."""
    if await is_hypertable(conn):
        return HYPERTABLE
    brin = await conn.fetchval(
        "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1",
        BRIN_INDEX)
    return BRIN if brin is not None else PLAIN
