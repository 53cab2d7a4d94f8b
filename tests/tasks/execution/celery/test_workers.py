"""Backtests and sweeps on real Celery worker processes, through the API (``EXECUTOR=celery``),
on PostgreSQL and Redis: results equal the engine's, a worker killed mid-run loses nothing,
cancels stop runs, a restarted Redis leaves nothing half-written.

The module has a PostgreSQL database of its own (the workers keep connections to it) and each
test a Redis database of its own; workers are started per test (``tests.support.local_workers``) with
short heartbeats and visibility timeout, so recovery takes seconds.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from domain.candles import Candles
from domain.demo import demo_candles
from domain.engine.run import run_backtest
from domain.strategy import parse_strategy
from graph.app import create_app
from graph.ids import decode_id
from store.backtest_results import TRADES_LE
from store.candles import write_candles
from store.db import close_db, init_db
from store.settings import Settings
from store.strategies import create_strategy
from store.users import create_user
from tasks.execution.compute import SweepTask, compute_sweep, warm_up
from tests.dbfixtures import PgServer, _migrate_once, _truncate, require_pg
from tests.graph.conftest import JWT_SECRET, Api
from tests.graph.runs import SMA, iso, wait_for
from tests.support.local_workers import LocalWorkers

EXCHANGE, TIMEFRAME = "demo", "1m"
SMALL = demo_candles(3_000, TIMEFRAME)
BIG = demo_candles(1_500_000, TIMEFRAME)  # a backtest of a second or so: long enough to hit
pytestmark = pytest.mark.asyncio
TIMINGS = {"JOB_HEARTBEAT_S": "0.3", "JOB_STALE_AFTER_S": "2", "CELERY_VISIBILITY_TIMEOUT": "3",
           "JOB_MAX_RETRIES": "2"}


@pytest.fixture(scope="module")
def workers_db(pg_server: PgServer) -> Iterator[str]:
    """A migrated PostgreSQL database for this module's workers."""
    require_pg(pg_server)
    warm_up()  # compile the kernels into numba's cache once, before workers load them
    url = pg_server.create("_celery")
    _migrate_once(url)
    try:
        yield url
    finally:
        pg_server.drop(url)


def settings_for(db_url: str, redis_url: str, tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {"executor": "celery", "job_heartbeat_s": 0.3,
                              "job_stale_after_s": 2.0, "visibility_timeout_s": 3.0,
                              "job_max_retries": 2,
                              "max_queued_jobs": 100}  # fifty backtests at once, over the cap
    values.update(extra)
    return Settings(database_url=db_url, data_dir=tmp_path, redis_url=redis_url,
                    jwt_secret=JWT_SECRET, **values)


def worker_env(db_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOB_", "CELERY_"))}
    env.update(DATABASE_URL=db_url, REDIS_URL=redis_url, EXECUTOR="celery", **TIMINGS)
    return env


@pytest.fixture
def workers(workers_db: str, redis_url: str, tmp_path: Path) -> Iterator[LocalWorkers]:
    asyncio.run(_truncate(workers_db))
    pool = LocalWorkers(worker_env(workers_db, redis_url), tmp_path / "logs")
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest_asyncio.fixture
async def celery_api(workers_db: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    app = create_app(settings_for(workers_db, redis_url, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


RUN = """mutation($input: RunBacktestInput!) { runBacktest(input: $input) {
  __typename ... on Backtest { id status } ... on ValidationError { problems { path message } } } }"""
SWEEP = """mutation($input: RunSweepInput!) { runSweep(input: $input) {
  __typename ... on Sweep { id status } ... on ValidationError { problems { path message } } } }"""
RESULT = """query($id: ID!) { backtest(id: $id) { status error
  summary { finalEquity nTrades sharpe maxDrawdown } trades(first: 100) { totalCount
  edges { node { pnl } } } } }"""


async def seed(api: Api, candles: Candles, symbol: str) -> tuple[str, int]:
    user = await api.user(f"{symbol.split('/')[0].lower()}@x.io")
    strategy = await create_strategy(user.id, "sma", SMA)
    await write_candles(EXCHANGE, symbol, TIMEFRAME, candles)
    return user.token, strategy.id


def market(strategy_id: int, candles: Candles, symbol: str, **extra: Any) -> dict[str, Any]:
    end = int(candles.ts[-1]) + 60_000
    return {"strategyId": str(strategy_id), "exchange": EXCHANGE, "symbol": symbol,
            "timeframe": TIMEFRAME, "from": iso(int(candles.ts[0])), "to": iso(end), **extra}


async def run(api: Api, token: str, strategy_id: int, candles: Candles, symbol: str,
              **extra: Any) -> str:
    result = await api.gql(RUN, {"input": market(strategy_id, candles, symbol, **extra)},
                           token=token)
    payload = result["data"]["runBacktest"]
    assert payload["__typename"] == "Backtest", result
    return str(payload["id"])


async def trade_rows(db_url: str, backtest_id: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        size = await conn.fetchval("SELECT length(trade_records) FROM backtests WHERE id = $1",
                                   decode_id(backtest_id)[1])
        return 0 if size is None else int(size) // TRADES_LE.itemsize
    finally:
        await conn.close()


async def wait_running(db_url: str, backtest_id: str, timeout: float = 60) -> str:
    """Wait until a worker has the backtest running with progress; its lease."""
    conn = await asyncpg.connect(db_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = await conn.fetchrow("SELECT status, lease FROM backtests WHERE id = $1",
                                      decode_id(backtest_id)[1])
            if row is not None and row["status"] == "running" and row["lease"]:
                return str(row["lease"])
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
    raise AssertionError(f"backtest {backtest_id} never ran")


async def test_fifty_backtests_equal_the_engine(workers: LocalWorkers,
                                                celery_api: Api) -> None:
    workers.start("prefork", pool="prefork", concurrency=2)
    workers.start("solo")
    token, strategy_id = await seed(celery_api, SMALL, "DEMO/USDT")
    ids = await asyncio.gather(*(run(celery_api, token, strategy_id, SMALL, "DEMO/USDT",
                                     params={"fast": 5 + i % 40, "slow": 60 + i})
                                 for i in range(50)))
    strategy = parse_strategy(SMA)
    for i, run_id in enumerate(ids):
        node = await wait_for(celery_api, token, "backtest", run_id, timeout=120)
        assert node["status"] == "SUCCEEDED", (node, workers.procs[0].log()[-3000:])
        result = (await celery_api.gql(RESULT, {"id": run_id}, token=token))["data"]["backtest"]
        expected = run_backtest(strategy, SMALL, {"fast": 5 + i % 40, "slow": 60 + i})
        assert result["summary"]["finalEquity"] == expected.final_equity
        assert result["summary"]["sharpe"] == expected.metrics["sharpe"]
        assert result["summary"]["maxDrawdown"] == expected.metrics["max_drawdown"]
        assert result["trades"]["totalCount"] == len(expected.trades)
        assert [e["node"]["pnl"] for e in result["trades"]["edges"]] == \
            expected.trades["pnl"][:100].tolist()


async def test_a_killed_worker_s_backtest_completes_on_another(
        workers: LocalWorkers, celery_api: Api, workers_db: str) -> None:
    first = workers.start("first")
    token, strategy_id = await seed(celery_api, BIG, "DEMO/USDT")
    run_id = await run(celery_api, token, strategy_id, BIG, "DEMO/USDT")
    events: list[dict[str, Any]] = []

    async def follow() -> None:
        from tasks.jobs.state import stored_state
        from tasks.messaging.events import channel
        from tasks.messaging.events import follow as follow_channel

        broadcaster = celery_api.services.broadcaster
        async for event in follow_channel(broadcaster, channel("backtest", decode_id(run_id)[1]),
                                          lambda: stored_state("backtest", decode_id(run_id)[1])):
            events.append(event)

    listener = asyncio.create_task(follow())
    lease = await wait_running(workers_db, run_id)
    assert lease.split(":")[1] == str(first.pid)
    workers.kill(first)  # SIGKILL mid-run
    workers.start("second")
    node = await wait_for(celery_api, token, "backtest", run_id, timeout=90)
    assert node["status"] == "SUCCEEDED", node
    await asyncio.wait_for(listener, 10)
    assert events[-1]["kind"] == "done"
    expected = run_backtest(parse_strategy(SMA), BIG)
    assert await trade_rows(workers_db, run_id) == len(expected.trades)  # exactly once
    result = (await celery_api.gql(RESULT, {"id": run_id}, token=token))["data"]["backtest"]
    assert result["summary"]["finalEquity"] == expected.final_equity


CANCEL_BACKTEST = """mutation($id: ID!) { cancelBacktest(id: $id) {
  __typename ... on Backtest { id status } } }"""
CANCEL_SWEEP = """mutation($id: ID!) { cancelSweep(id: $id) {
  __typename ... on Sweep { id status } } }"""


async def test_cancel_a_running_backtest_and_sweep(workers: LocalWorkers, celery_api: Api,
                                                   workers_db: str) -> None:
    workers.start("one")
    workers.start("two")
    token, strategy_id = await seed(celery_api, BIG, "DEMO/USDT")
    run_id = await run(celery_api, token, strategy_id, BIG, "DEMO/USDT")
    await wait_running(workers_db, run_id)
    asked = time.monotonic()
    result = await celery_api.gql(CANCEL_BACKTEST, {"id": run_id}, token=token)
    assert result["data"]["cancelBacktest"]["__typename"] == "Backtest", result
    node = await wait_for(celery_api, token, "backtest", run_id, timeout=30)
    assert node["status"] == "CANCELLED", node
    assert time.monotonic() - asked < 5
    assert await trade_rows(workers_db, run_id) == 0

    grid = {"fast": {"start": 5, "stop": 60, "step": 1}, "slow": {"start": 70, "stop": 120,
                                                                  "step": 1}}
    sweep = await celery_api.gql(SWEEP, {"input": {**market(strategy_id, BIG, "DEMO/USDT"),
                                                   "grid": grid}}, token=token)
    sweep_id = sweep["data"]["runSweep"]["id"]
    await wait_for(celery_api, token, "sweep", sweep_id, statuses=("RUNNING",), timeout=60)
    await asyncio.sleep(0.5)  # the chunks are computing
    asked = time.monotonic()
    result = await celery_api.gql(CANCEL_SWEEP, {"id": sweep_id}, token=token)
    assert result["data"]["cancelSweep"]["__typename"] == "Sweep", result
    node = await wait_for(celery_api, token, "sweep", sweep_id, timeout=30)
    assert node["status"] == "CANCELLED", node
    assert time.monotonic() - asked < 5
    conn = await asyncpg.connect(workers_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM sweep_chunks") == 0
        assert await conn.fetchval("SELECT result FROM sweep_runs WHERE id = $1",
                                   decode_id(sweep_id)[1]) is None
    finally:
        await conn.close()


SWEEP_RESULT = """query($id: ID!) { sweep(id: $id) { status nCombinations
  rows(first: 100) { edges { node { rank params metrics { sharpe } } } } } }"""


async def test_a_ten_thousand_set_sweep_on_two_workers_is_correct(
        workers: LocalWorkers, celery_api: Api) -> None:
    workers.start("one")
    workers.start("two")
    token, strategy_id = await seed(celery_api, SMALL, "DEMO/USDT")
    grid = {"fast": {"start": 2, "stop": 101, "step": 1},
            "slow": {"start": 110, "stop": 209, "step": 1}}  # 100 x 100
    sweep = await celery_api.gql(SWEEP, {"input": {**market(strategy_id, SMALL, "DEMO/USDT"),
                                                   "grid": grid}}, token=token)
    assert sweep["data"]["runSweep"]["__typename"] == "Sweep", sweep
    sweep_id = sweep["data"]["runSweep"]["id"]
    node = await wait_for(celery_api, token, "sweep", sweep_id, timeout=120)
    assert node["status"] == "SUCCEEDED", node
    table = (await celery_api.gql(SWEEP_RESULT, {"id": sweep_id}, token=token))["data"]["sweep"]
    assert table["nCombinations"] == 10_000
    values = {"fast": [float(x) for x in range(2, 102)],
              "slow": [float(x) for x in range(110, 210)]}
    expected = compute_sweep(SweepTask(SMA, values, SMALL, "sharpe"), lambda _: None,
                             lambda: False)
    got = [e["node"] for e in table["rows"]["edges"]]
    assert [r["rank"] for r in got] == list(range(1, 101))
    assert [r["params"] for r in got] == [
        {k: int(v) for k, v in r["params"].items()} for r in expected.rows[:100]]
    assert [r["metrics"]["sharpe"] for r in got] == [
        r["metrics"]["sharpe"] for r in expected.rows[:100]]


async def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A redis-server of the test's own on a random port (never the machine's shared one)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (Debian package redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_redis_restarted_during_a_run(workers_db: str, own_redis: OwnRedis,
                                            tmp_path: Path) -> None:
    await _truncate(workers_db)
    pool = LocalWorkers(worker_env(workers_db, own_redis.url), tmp_path / "logs")
    pool.start("one")
    app = create_app(settings_for(workers_db, own_redis.url, tmp_path))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                api = Api(app, client)
                token, strategy_id = await seed(api, BIG, "DEMO/USDT")
                run_id = await run(api, token, strategy_id, BIG, "DEMO/USDT")
                await wait_running(workers_db, run_id)
                own_redis.stop()
                await asyncio.sleep(1.0)
                own_redis.start()
                node = await wait_for(api, token, "backtest", run_id, timeout=90)
                result = (await api.gql(RESULT, {"id": run_id}, token=token))["data"]["backtest"]
    finally:
        pool.stop_all()
    trades = await trade_rows(workers_db, run_id)
    if node["status"] == "SUCCEEDED":
        expected = run_backtest(parse_strategy(SMA), BIG)
        assert trades == len(expected.trades)
        assert result["summary"]["finalEquity"] == expected.final_equity
    else:  # a clear reason, and nothing partial
        assert node["status"] == "FAILED" and node["error"], node
        assert trades == 0 and result["summary"] is None


async def test_worker_without_redis_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env["DATABASE_URL"] = f"sqlite://{tmp_path / 'x.sqlite3'}"
    done = subprocess.run([sys.executable, "-m", "cli.main", "worker"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done
    assert "REDIS_URL" in done.stderr and "Traceback" not in done.stderr



SWEEP_PROGRESS = """subscription($id: ID!) { sweepProgress(id: $id) {
  seq kind status progress done total top { rank } } }"""


async def test_subscribers_of_any_api_process_see_worker_events_in_order(
        workers: LocalWorkers, workers_db: str, redis_url: str, tmp_path: Path) -> None:
    """Two API processes on one Redis: a sweep started through the first, cut in chunks run by
    two workers at once, is followed through the second's subscription: every event in order,
    progress never going back, ending with done; a late subscriber of the first gets the end."""
    from gql import Client, GraphQLRequest
    from gql.transport.websockets import WebsocketsTransport

    from tests.serving import serve_app

    workers.start("one")
    workers.start("two")
    first = create_app(settings_for(workers_db, redis_url, tmp_path, sweep_chunk_size=500))
    port_two = free_port()  # the second API process: `backtest serve` in a subprocess
    env = {**worker_env(workers_db, redis_url), "JWT_SECRET": JWT_SECRET,
           "DATA_DIR": str(tmp_path)}
    second = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port",
                               str(port_two)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)

    async def subscribe(port: int, token: str, sweep_id: str) -> list[dict[str, Any]]:
        ws = WebsocketsTransport(url=f"ws://127.0.0.1:{port}/graphql",
                                 subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                 init_payload={"Authorization": f"Bearer {token}"})
        events: list[dict[str, Any]] = []
        async with Client(transport=ws) as session:
            async for result in session.subscribe(GraphQLRequest(
                    SWEEP_PROGRESS, variable_values={"id": sweep_id})):
                events.append(result["sweepProgress"])
        return events

    await init_db(settings_for(workers_db, redis_url, tmp_path))
    try:
        user = await create_user("subs@x.io", None)
        strategy = await create_strategy(user.id, "sma", SMA)
        await write_candles(EXCHANGE, "DEMO/USDT", TIMEFRAME, SMALL)
        token = first.state.services.tokens.issue(user).access_token
    finally:
        await close_db()
    grid = {"fast": {"start": 2, "stop": 101, "step": 1},
            "slow": {"start": 110, "stop": 169, "step": 1}}  # 6,000 sets
    body = {"query": SWEEP, "variables": {"input": {**market(strategy.id, SMALL, "DEMO/USDT"),
                                                    "grid": grid}}}
    try:
        await wait_http(f"http://127.0.0.1:{port_two}/readyz")
        with serve_app(first) as port_one:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(f"http://127.0.0.1:{port_one}/graphql", json=body,
                                             headers={"Authorization": f"Bearer {token}"})
            sweep_id = response.json()["data"]["runSweep"]["id"]
            events = await asyncio.wait_for(subscribe(port_two, token, sweep_id), 120)
            late = await asyncio.wait_for(subscribe(port_one, token, sweep_id), 30)
    finally:
        second.terminate()
        second.wait(30)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), seqs
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert events[-1]["kind"] == "done" and events[-1]["top"][0]["rank"] == 1
    parts = [e for e in events if e["kind"] == "progress"]
    assert len(parts) >= 2 and all(e["total"] == 6_000 for e in parts)
    assert [e["done"] for e in parts] == sorted(e["done"] for e in parts)
    assert len(late) == 1 and late[0]["kind"] == "done"


async def test_a_database_outage_is_retried_with_backoff(
        workers_db: str, redis_url: str, celery_api: Api, tmp_path: Path) -> None:
    """The worker's link to PostgreSQL is cut (a proxy closes its connections and refuses new
    ones) when a backtest arrives: the task is retried with backoff and succeeds once the
    database is back; the API, on its own connections, never noticed."""
    from tests.tcp_proxy import TcpProxy

    await _truncate(workers_db)
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    proxied = workers_db.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    assert proxied != workers_db
    env = {**worker_env(proxied, redis_url), "JOB_MAX_RETRIES": "5"}
    pool = LocalWorkers(env, tmp_path / "logs")
    try:
        worker = await asyncio.to_thread(pool.start, "one")
        token, strategy_id = await seed(celery_api, SMALL, "DEMO/USDT")
        proxy.cut()
        run_id = await run(celery_api, token, strategy_id, SMALL, "DEMO/USDT")
        deadline = time.monotonic() + 30
        while "transient error, retry 2" not in worker.log():
            assert time.monotonic() < deadline, worker.log()[-3000:]
            await asyncio.sleep(0.1)
        proxy.restore()
        node = await wait_for(celery_api, token, "backtest", run_id, timeout=60)
        assert node["status"] == "SUCCEEDED", (node, worker.log()[-3000:])
        expected = run_backtest(parse_strategy(SMA), SMALL)
        assert await trade_rows(workers_db, run_id) == len(expected.trades)
    finally:
        await asyncio.to_thread(pool.stop_all)
        await proxy.close()
