"""The job contract, for every kind of job and on both executors, through a real server.

One test drives each kind of the job registry (``tasks.jobs.registry.job_kinds``) the same way,
on a real uvicorn server (``tests.serving``) over HTTP and a graphql-transport-ws websocket
(gql): subscribe to ``jobEvents(kinds: [KIND])``, submit a quick job and a long one, cancel the
long one with ``cancelJob`` once it runs, then read the feed until both have ended: the quick
one ``done``/SUCCEEDED, the cancelled one ``cancelled``/CANCELLED. Every event must be of the
kind and of one of the two jobs, each job's ``jobSeq`` must increase, its progress never go
back, its stage match its status; ``jobs(filter: {kinds: [KIND]})`` must then list both,
ended, the finished one at progress 1.

It holds no per-kind code except :data:`INPUTS` (a mutation and the variables of a quick and a
long job, per kind); a kind without an entry there fails :func:`test_every_kind_has_an_input`.

The executors: in-process (the default, its engine pool in the server's process, the in-memory
broadcaster) and Celery (two solo worker processes, ``tests.support.local_workers``; Redis).
Both run on one PostgreSQL database of this module, whose demo candles (a long series of 1m
bars: the long jobs' input, whose reading the cancel interrupts) are written once; the other
tables are emptied before each executor. Syncs fetch from a fake Binance
(``tests.tasks.fake_binance``) whose clock is far enough ahead for a long sync of many pages.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from domain.demo import demo_candles
from domain.jobs import RunStatus, Stage
from domain.transactions.model import Transaction
from graph.app import create_app
from graph.auth import Tokens, load_secret
from graph.ids import encode_id
from store.candles import write_candles
from store.db import close_db, init_db
from store.exchange_keys import create_key
from store.key_vault import vault_for
from store.models import ALL_MODELS, MarketData, User
from store.settings import Settings
from store.strategies import create_strategy
from store.transaction_imports import NewImport, save_import
from store.users import create_user
from tasks.execution.compute import warm_up
from tasks.jobs.registry import job_kinds
from tasks.messaging.broadcast import MemoryBroadcaster, RedisBroadcaster
from tasks.messaging.events import feed_channel
from tests.dbfixtures import PgServer, _migrate_once, require_pg
from tests.graph.conftest import JWT_SECRET
from tests.graph.runs import SMA, iso
from tests.redisfixtures import RedisDbs
from tests.serving import serve_app
from tests.support.local_workers import LocalWorkers
from tests.tasks.fake_binance import FakeBinance
from tests.tasks.fake_binance_account import make_trades
from tests.tasks.fake_market import START_MS as FAKE_START_MS

MIN = 60_000
EXCHANGE, SYMBOL, TIMEFRAME = "demo", "DEMO/USDT", "1m"
LONG_BARS = 1_000_000  # about two seconds of reading for a long job: the cancel lands in it
QUICK_BARS = 3_000
CANDLES = demo_candles(LONG_BARS, TIMEFRAME)
FIRST_MS = int(CANDLES.ts[0])
QUICK_END_MS = int(CANDLES.ts[QUICK_BARS - 1]) + MIN
LONG_END_MS = int(CANDLES.ts[-1]) + MIN
SYNC_QUICK_BARS, SYNC_LONG_BARS = 1_500, 400_000  # 2 pages; 400 pages of the fake Binance

DAY_MS = 86_400_000
API_KEY, API_SECRET = "contract" * 8, "secret" * 10  # the fake Binance account's
MASTER_KEY = base64.b64encode(b"k" * 32).decode()  # the same in the server and the workers
SWEEP_CHUNK = 100  # sets per chunk of a sweep on Celery: the long sweep runs in 4 parts
EXECUTORS = ("inprocess", "celery")
TIMEOUT_S = 90.0  # for one kind's events, on either executor
EVENT_KINDS = {"status", "progress", "done", "error", "cancelled"}
TERMINAL_KINDS = {"done", "error", "cancelled"}
STAGES = {s.value.upper() for s in Stage}
RUNNING_STAGES = {Stage.LOADING.value.upper(), Stage.COMPUTING.value.upper(),
                  Stage.SAVING.value.upper()}
STATUSES = {s.value.upper() for s in RunStatus}


# --- the only per-kind code: what to submit ------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """What the inputs refer to: the user's strategy and transaction import."""

    strategy_id: int
    import_id: int
    exchange_key_id: str = ""


def run_mutation(field: str, input_type: str) -> str:
    return (f"mutation($input: {input_type}!) {{ {field}(input: $input) {{ __typename "
            "... on Job { id kind status } ... on ValidationError { problems { path message } } "
            "} }")


@dataclass(frozen=True)
class KindInput:
    """A kind's mutation, the payload's field name in its answer, and the variables of a job
    that finishes quickly and of one that runs long enough to be cancelled."""

    mutation: str
    field: str
    quick: Callable[[Seeded], dict[str, Any]]
    long: Callable[[Seeded], dict[str, Any]]


def market(s: Seeded, end_ms: int, **extra: Any) -> dict[str, Any]:
    return {"input": {"strategyId": str(s.strategy_id), "exchange": EXCHANGE, "symbol": SYMBOL,
                      "timeframe": TIMEFRAME, "from": iso(FIRST_MS), "to": iso(end_ms),
                      **extra}}


def replayed(s: Seeded, end_ms: int) -> dict[str, Any]:
    return {"input": {"exchange": EXCHANGE, "symbol": SYMBOL, "timeframe": TIMEFRAME,
                      "importIds": [str(s.import_id)], "from": iso(FIRST_MS), "to": iso(end_ms)}}


def synced(symbol: str, bars: int) -> dict[str, Any]:
    return {"input": {"symbol": symbol, "timeframe": "1m", "since": iso(FAKE_START_MS),
                      "until": iso(FAKE_START_MS + bars * MIN)}}


INPUTS: dict[str, KindInput] = {
    "backtest": KindInput(
        run_mutation("runBacktest", "RunBacktestInput"), "runBacktest",
        quick=lambda s: market(s, QUICK_END_MS), long=lambda s: market(s, LONG_END_MS)),
    "sweep": KindInput(
        run_mutation("runSweep", "RunSweepInput"), "runSweep",
        quick=lambda s: market(s, QUICK_END_MS, grid={"fast": [5, 10], "slow": [50, 100]}),
        long=lambda s: market(s, LONG_END_MS, grid={  # 400 sets
            "fast": {"start": 5, "stop": 50, "step": 5},
            "slow": {"start": 60, "stop": 450, "step": 10}})),
    "replay": KindInput(
        run_mutation("runReplay", "RunReplayInput"), "runReplay",
        quick=lambda s: replayed(s, QUICK_END_MS), long=lambda s: replayed(s, LONG_END_MS)),
    "sync": KindInput(
        run_mutation("syncMarketData", "SyncMarketDataInput"), "syncMarketData",
        quick=lambda s: synced("BTC/USDT", SYNC_QUICK_BARS),
        long=lambda s: synced("ETH/USDT", SYNC_LONG_BARS)),
    "exchange_import": KindInput(
        run_mutation("importExchangeTrades", "ImportExchangeTradesInput"),
        "importExchangeTrades", quick=lambda s: fills(s, 2), long=lambda s: fills(s, 1_000)),
}


def fills(s: Seeded, days: int) -> dict[str, Any]:
    """The account's fills over ``days`` (a request per day: 1,000 run long)."""
    return {"input": {"keyId": s.exchange_key_id, "symbols": ["BTC/USDT"],
                      "start": iso(FAKE_START_MS), "end": iso(FAKE_START_MS + days * DAY_MS)}}


# --- the database, the fake exchange, the server ----------------------------------------------


def transactions() -> list[Transaction]:
    """Round trips inside the quick range, and more over the whole long one."""
    picks = [*range(20, QUICK_BARS - 20, 150), *range(QUICK_BARS, LONG_BARS - 20, 5_000)]
    return [Transaction(int(CANDLES.ts[j]) + 30_000, SYMBOL, "buy" if i % 2 == 0 else "sell",
                        float(CANDLES.close[j]), 0.1, 0.01, "USDT", str(i), i + 2)
            for i, j in enumerate(picks)]


@pytest.fixture(scope="module")
def contract_db(pg_server: PgServer) -> Iterator[str]:
    """This module's migrated PostgreSQL database, with the demo candles written once."""
    require_pg(pg_server)
    warm_up()  # the engine's kernels in numba's cache before any worker loads them
    url = pg_server.create("_contract")
    try:
        _migrate_once(url)

        async def write() -> None:
            await init_db(Settings(database_url=url))
            try:
                await write_candles(EXCHANGE, SYMBOL, TIMEFRAME, CANDLES)
            finally:
                await close_db()

        asyncio.run(write())
        yield url
    finally:
        pg_server.drop(url)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBinance]:
    """A fake Binance whose clock leaves room for the long sync."""
    server = FakeBinance(seed=7, now_ms=FAKE_START_MS + (SYNC_LONG_BARS + 10) * MIN).start()
    server.accounts.add(API_KEY, API_SECRET,
                        trades=make_trades("BTCUSDT", FAKE_START_MS, 50, 60_000))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_redis(redis_dbs: RedisDbs) -> Iterator[str]:
    n = redis_dbs.lease()
    try:
        yield redis_dbs.url(n)
    finally:
        redis_dbs.release(n)


async def reset(url: str) -> None:
    """Empty every table but the candles, and drop the synced (non-demo) candles."""
    tables = ", ".join(f'"{m._meta.db_table}"' for m in ALL_MODELS if m is not MarketData)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        await conn.execute(f'DELETE FROM "{MarketData._meta.db_table}" WHERE exchange <> $1',
                           EXCHANGE)
        # Redis pub/sub ignores database numbers: a user id of its own keeps this user's feed
        # (jobs:<id>) apart from other test runs' on the same server
        await conn.execute("SELECT setval(pg_get_serial_sequence($1, 'id'), $2)",
                           User._meta.db_table, secrets.randbelow(10**9) + 10**6)
    finally:
        await conn.close()


async def seed(settings: Settings, email: str) -> tuple[int, str, Seeded]:
    await init_db(settings)
    try:
        user = await create_user(email, None)
        strategy = await create_strategy(user.id, "sma", SMA)
        batch = await save_import(NewImport(user.id, "history", "plain_csv", EXCHANGE, None,
                                            transactions()))
        token = Tokens(load_secret(settings)).issue(user).access_token
        key = await create_key(user.id, "binance", "main", API_KEY, API_SECRET,
                               vault_for(settings))
        return user.id, token, Seeded(strategy.id, batch.id, encode_id("ExchangeKey", key.id))
    finally:
        await close_db()


@dataclass(frozen=True)
class Served:
    executor: str
    http: str
    ws: str
    token: str
    user_id: int
    seeded: Seeded
    broadcaster: Any
    redis_url: str | None


@pytest.fixture(scope="module", params=EXECUTORS)
def served(request: pytest.FixtureRequest, contract_db: str, fake: FakeBinance,
           module_redis: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app under uvicorn on 127.0.0.1, on each executor in turn; stopped afterwards."""
    executor: str = request.param
    data_dir = tmp_path_factory.mktemp(executor)
    asyncio.run(reset(contract_db))
    with contextlib.ExitStack() as stack:
        common: dict[str, Any] = {
            "database_url": contract_db, "data_dir": data_dir, "jwt_secret": JWT_SECRET,
            "binance_rest_url": fake.rest_url, "binance_ws_url": fake.ws_url,
            "master_key": MASTER_KEY}
        if executor == "celery":
            settings = Settings(**common, executor="celery", redis_url=module_redis,
                                sweep_chunk_size=SWEEP_CHUNK, job_heartbeat_s=0.5)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("JOB_", "CELERY_"))}
            env.update(DATABASE_URL=contract_db, REDIS_URL=module_redis, EXECUTOR="celery",
                       BINANCE_REST_URL=fake.rest_url, BINANCE_WS_URL=fake.ws_url,
                       SWEEP_CHUNK_SIZE=str(SWEEP_CHUNK), JOB_HEARTBEAT_S="0.5", PYTHONUNBUFFERED="1",
                       MASTER_KEY=MASTER_KEY)
            workers = LocalWorkers(env, data_dir / "logs")
            stack.callback(workers.stop_all)
            for proc in [workers.start(name, wait=False) for name in ("one", "two")]:
                workers.wait_ready(proc)
        else:
            settings = Settings(**common, max_concurrent_jobs=2)
        user_id, token, seeded = asyncio.run(seed(settings, f"{executor}@x.io"))
        app = create_app(settings, warm=True)
        port = stack.enter_context(serve_app(app))
        yield Served(executor, f"http://127.0.0.1:{port}/graphql",
                     f"ws://127.0.0.1:{port}/graphql", token, user_id, seeded,
                     app.state.services.broadcaster, settings.redis_url)


# --- talking to it -----------------------------------------------------------------------------

EVENTS = """subscription($kinds: [JobKind!]) { jobEvents(kinds: $kinds) {
  jobKind jobId seq jobSeq kind status stage progress eta at error } }"""
CANCEL = """mutation($id: ID!) { cancelJob(id: $id) {
  __typename ... on Job { id kind status } ... on NotFoundError { message } } }"""
JOBS = """query($filter: JobFilter) { jobs(filter: $filter, first: 50) {
  totalCount edges { node { __typename id kind status stage progress error finishedAt } } } }"""


async def gql_http(s: Served, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(s.http, json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {s.token}"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert "errors" not in result, result
    data: dict[str, Any] = result["data"]
    return data


async def feed_listeners(s: Served) -> int:
    """How many subscriptions the user's feed has on the server."""
    if isinstance(s.broadcaster, MemoryBroadcaster):
        return await s.broadcaster.subscribers(feed_channel(s.user_id))
    assert s.redis_url is not None
    broadcaster = RedisBroadcaster(s.redis_url)
    try:
        return await broadcaster.subscribers(feed_channel(s.user_id))
    finally:
        await broadcaster.close()


async def until_listeners(s: Served, wanted: Callable[[int], bool], what: str) -> None:
    deadline = time.monotonic() + 15
    while not wanted(await feed_listeners(s)):
        assert time.monotonic() < deadline, f"the feed's subscription never {what}"
        await asyncio.sleep(0.02)  # polling


class Feed:
    """A running ``jobEvents`` subscription: its events (or how it ended) in a queue."""

    def __init__(self, session: Any, kind: str) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        request = GraphQLRequest(EVENTS, variable_values={"kinds": [kind]})
        self.task = asyncio.create_task(self._pump(session, request))

    async def _pump(self, session: Any, request: GraphQLRequest) -> None:
        try:
            async for result in session.subscribe(request):
                self.queue.put_nowait(result["jobEvents"])
        except Exception as err:
            self.queue.put_nowait(err)
            raise
        self.queue.put_nowait(AssertionError("jobEvents ended, though it never does by itself"))

    async def next(self, deadline: float) -> dict[str, Any]:
        try:
            item = await asyncio.wait_for(self.queue.get(), max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            raise AssertionError("no job event came in time") from None
        if isinstance(item, BaseException):
            raise AssertionError(f"jobEvents failed: {item!r}") from item
        return item

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


@contextlib.asynccontextmanager
async def job_feed(s: Served, kind: str) -> AsyncIterator[Feed]:
    """``jobEvents(kinds: [kind])``, active on the server when this yields."""
    await until_listeners(s, lambda n: n == 0, "ended (a previous test's)")
    transport = WebsocketsTransport(url=s.ws, subprotocols=[
        WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"Authorization": f"Bearer {s.token}"})
    async with Client(transport=transport) as session:
        feed = Feed(session, kind)
        try:
            await until_listeners(s, lambda n: n >= 1, "started")
            yield feed
        finally:
            await feed.close()


async def submit(s: Served, spec: KindInput, variables: dict[str, Any], kind: str) -> str:
    payload = (await gql_http(s, spec.mutation, variables))[spec.field]
    assert payload["__typename"] != "ValidationError", payload
    assert payload["kind"] == kind and payload["status"] in ("QUEUED", "RUNNING"), payload
    return str(payload["id"])


# --- the contract ---------------------------------------------------------------------------


def test_every_kind_has_an_input() -> None:
    assert set(INPUTS) == set(job_kinds()), (
        "the contract test needs a quick and a long input for every kind of job (INPUTS)")


def check_events(kind: str, events: list[dict[str, Any]], ids: set[str]) -> dict[str, list[Any]]:
    """The generic checks of a feed's events; each job's events, in order."""
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), f"the feed's seq goes back or repeats: {seqs}"
    per_job: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for e in events:
        assert e["jobKind"] == kind, e
        assert e["jobId"] in ids, e
        assert e["kind"] in EVENT_KINDS and e["status"] in STATUSES, e
        assert e["stage"] is None or e["stage"] in STAGES, e
        assert 0.0 <= e["progress"] <= 1.0 and e["at"] > "2000", e
        terminal = e["kind"] in TERMINAL_KINDS
        if terminal:
            assert e["stage"] == "DONE" and e["status"] in ("SUCCEEDED", "FAILED",
                                                            "CANCELLED"), e
        elif e["status"] == "RUNNING":
            assert e["stage"] in RUNNING_STAGES, e
        else:
            assert (e["status"], e["stage"]) == ("QUEUED", "QUEUED"), e
        per_job[e["jobId"]].append(e)
    for job_id, mine in per_job.items():
        job_seqs = [e["jobSeq"] for e in mine]
        assert all(a < b for a, b in itertools.pairwise(job_seqs)), (
            f"{kind} {job_id}: jobSeq not strictly increasing: {job_seqs}")
        progress = [(e["kind"], e["stage"], e["progress"]) for e in mine]
        assert all(a[2] <= b[2] for a, b in itertools.pairwise(progress)), (
            f"{kind} {job_id}: progress goes back: {progress}")
        ends = [i for i, e in enumerate(mine) if e["kind"] in TERMINAL_KINDS]
        assert ends == [len(mine) - 1], f"{kind} {job_id}: not one terminal event, last: {mine}"
    return per_job


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", sorted(job_kinds()))
async def test_a_job_of_each_kind_finishes_and_another_is_cancelled(
        served: Served, kind: str) -> None:
    s, spec, name = served, INPUTS[kind], kind.upper()
    events: list[dict[str, Any]] = []
    ended: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + TIMEOUT_S

    async def read_one(feed: Feed) -> dict[str, Any]:
        event = await feed.next(deadline)
        events.append(event)
        if event["kind"] in TERMINAL_KINDS:
            ended.setdefault(event["jobId"], event)
        return event

    async with job_feed(s, name) as feed:
        quick = await submit(s, spec, spec.quick(s.seeded), name)
        long = await submit(s, spec, spec.long(s.seeded), name)
        try:
            while not any(e["jobId"] == long and e["status"] == "RUNNING" for e in events):
                assert long not in ended, f"the long {kind} ended before it ran: {events}"
                await read_one(feed)
            asked = (await gql_http(s, CANCEL, {"id": long}))["cancelJob"]  # a global id
            assert asked["__typename"] != "NotFoundError", asked
            assert (asked["id"], asked["kind"]) == (long, name), asked
            assert asked["status"] in ("RUNNING", "CANCELLED"), asked
            while not {quick, long} <= set(ended):
                await read_one(feed)
        except AssertionError as err:
            raise AssertionError(f"{s.executor} {kind}: {err}\nevents: {events}") from None

    per_job = check_events(name, events, {quick, long})
    done, cancelled = ended[quick], ended[long]
    assert (done["kind"], done["status"], done["progress"], done["error"]) == (
        "done", "SUCCEEDED", 1.0, None), per_job[quick]
    assert (cancelled["kind"], cancelled["status"]) == ("cancelled", "CANCELLED"), per_job[long]
    assert any(e["status"] == "RUNNING" for e in per_job[long])

    listed = (await gql_http(s, JOBS, {"filter": {"kinds": [name]}}))["jobs"]
    nodes = {e["node"]["id"]: e["node"] for e in listed["edges"]}
    assert listed["totalCount"] == 2 and set(nodes) == {quick, long}, listed
    assert all(n["kind"] == name and n["finishedAt"] for n in nodes.values()), nodes
    assert (nodes[quick]["status"], nodes[quick]["stage"], nodes[quick]["progress"],
            nodes[quick]["error"]) == ("SUCCEEDED", "DONE", 1.0, None), nodes[quick]
    assert (nodes[long]["status"], nodes[long]["stage"]) == ("CANCELLED", "DONE"), nodes[long]
    assert nodes[long]["error"] == cancelled["error"], (nodes[long], cancelled)
    # the list and the feed agree on where the cancelled job stopped
    assert nodes[long]["progress"] == cancelled["progress"], (nodes[long], cancelled)

