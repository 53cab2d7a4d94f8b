"""Market syncs and live candles over the API, against the fake Binance: syncMarketData runs a
job that only its owner (and admins) can see, marketDataSyncProgress follows it, candleUpdates
streams closed bars; both subscriptions also over a real graphql-transport-ws websocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from graph.app import create_app
from graph.auth import Viewer
from graph.context import Context
from graph.ids import encode_id
from graph.live_candles import FeedFailed
from graph.schema import schema
from store import candles as store_candles
from store.models import Role, TokenScope
from tasks.market.live_candles import error_event
from tests.graph.conftest import Api, SignedIn, api_settings, errors_of
from tests.tasks.fake_binance import FakeBinance
from tests.tasks.fake_market import START_MS

MIN = 60_000
SYNC = """
mutation($input: SyncMarketDataInput!) {
  syncMarketData(input: $input) {
    __typename
    ... on SyncJob { id exchange symbol timeframe since until status progress stored error }
    ... on ValidationError { problems { path message } }
  }
}"""
JOB = "query($id: ID!) { syncJob(id: $id) { id status progress stored error finishedAt } }"
PROGRESS = """subscription($id: ID!) {
  marketDataSyncProgress(id: $id) { jobId seq kind status progress stored error } }"""
LIVE = """subscription { candleUpdates(exchange: "binance", symbol: "BTC/USDT", timeframe: "1m") {
  exchange symbol timeframe time timeMs open high low close volume closed } }"""


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    # the clock on a minute boundary, so the kline stream closes a 1m bar every third tick
    server = FakeBinance(seed=3, now_ms=START_MS + 3_000 * MIN, ws_max_ticks=600).start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def api(backend_url: str, tmp_path: Path, fake: FakeBinance) -> AsyncIterator[Api]:
    """The app with the exchange's URLs pointing at the fake."""
    app = create_app(api_settings(backend_url, tmp_path, binance_rest_url=fake.rest_url,
                                  binance_ws_url=fake.ws_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


def sync_input(symbol: str = "BTC/USDT", bars: int = 1_500, **extra: Any) -> dict[str, Any]:
    return {"input": {"symbol": symbol, "timeframe": "1m", "since": "2024-01-01T00:00:00Z",
                      "until": iso(START_MS + bars * MIN), **extra}}


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


async def start_sync(api: Api, who: SignedIn, **kw: Any) -> dict[str, Any]:
    result = await api.gql(SYNC, sync_input(**kw), token=who.token)
    assert "errors" not in result, result
    job: dict[str, Any] = result["data"]["syncMarketData"]
    assert job["__typename"] == "SyncJob", job
    return job


async def wait_finished(api: Api, who: SignedIn, ident: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        job: dict[str, Any] = (await api.gql(JOB, {"id": ident}, token=who.token))["data"]["syncJob"]
        if job["finishedAt"] is not None:
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.05)


def context_of(api: Api, who: SignedIn, role: Role = Role.TRADER) -> Context:
    context = Context(api.services)
    context.set_viewer(Viewer(who.id, role, TokenScope.READ_WRITE, "jwt"))
    return context


async def follow_job(api: Api, context: Context, ident: str) -> list[Any]:
    stream = await schema.subscribe(PROGRESS, variable_values={"id": ident},
                                    context_value=context)
    assert isinstance(stream, AsyncIterator)
    return [r async for r in stream]


@pytest.mark.asyncio
async def test_sync_runs_a_job_only_its_owner_and_admins_see(api: Api, fake: FakeBinance) -> None:
    a, b = await api.user("a@example.com"), await api.user("b@example.com")
    admin = await api.user("root@example.com", Role.ADMIN)
    job = await start_sync(api, a)
    assert (job["exchange"], job["symbol"], job["timeframe"]) == ("binance", "BTC/USDT", "1m")
    assert job["status"] == "QUEUED" and job["since"] == "2024-01-01T00:00:00+00:00"
    done = await wait_finished(api, a, job["id"])
    assert (done["status"], done["stored"], done["progress"], done["error"]) == (
        "SUCCEEDED", 1_500, 1.0, None)
    stored = await store_candles.read_candles("binance", "BTC/USDT", "1m")
    assert len(stored) == 1_500
    assert stored.close.tolist() == fake.expected("BTCUSDT", "1m", START_MS,
                                                  START_MS + 1_500 * MIN).close.tolist()
    result = await api.gql(JOB, {"id": job["id"]}, token=b.token)
    assert errors_of(result) == [("NOT_FOUND", f"sync job {job['id']} not found")]
    seen = (await api.gql(JOB, {"id": job["id"]}, token=admin.token))["data"]["syncJob"]
    assert seen["status"] == "SUCCEEDED"
    # a late subscriber gets the final state, then the stream ends
    [final] = await follow_job(api, context_of(api, a), job["id"])
    assert final.errors is None
    event = final.data["marketDataSyncProgress"]
    assert (event["kind"], event["status"], event["stored"]) == ("done", "SUCCEEDED", 1_500)
    [refused] = await follow_job(api, context_of(api, b), job["id"])
    assert refused.errors and refused.errors[0].extensions == {"code": "NOT_FOUND"}
    [admitted] = await follow_job(api, context_of(api, admin, Role.ADMIN), job["id"])
    assert admitted.data["marketDataSyncProgress"]["kind"] == "done"


@pytest.mark.asyncio
async def test_progress_subscription_follows_a_running_job(api: Api, fake: FakeBinance) -> None:
    a = await api.user("a@example.com")
    fake.delay_next(0.5)  # the first page waits: the subscription starts while the job runs
    job = await start_sync(api, a, bars=2_500)
    results = await follow_job(api, context_of(api, a), job["id"])
    assert all(r.errors is None for r in results)
    events = [r.data["marketDataSyncProgress"] for r in results]
    kinds = [e["kind"] for e in events]
    assert kinds[-1] == "done" and kinds.count("progress") >= 3, kinds
    assert all(e["jobId"] == job["id"] for e in events)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert events[-1]["status"] == "SUCCEEDED" and events[-1]["stored"] == 2_500


CANCEL = """mutation($id: ID!) { cancelSyncJob(id: $id) {
  __typename ... on SyncJob { id status error stored } ... on NotFoundError { message } } }"""


@pytest.mark.asyncio
async def test_cancel_a_running_job_and_an_orphaned_one(api: Api, fake: FakeBinance) -> None:
    from store.sync_jobs import create_sync_job

    a, b = await api.user("a@example.com"), await api.user("b@example.com")
    fake.delay_next(3.0)  # the first page hangs: the job is running when cancelled
    job = await start_sync(api, a, bars=2_500)
    await asyncio.sleep(0.3)
    refused = (await api.gql(CANCEL, {"id": job["id"]}, token=b.token))["data"]["cancelSyncJob"]
    assert refused == {"__typename": "NotFoundError", "message": f"sync job {job['id']} not found"}
    # the cancel answers at once (no waiting): the running job is asked to stop, and ends
    # cancelled at its next page, which its events show
    asked = (await api.gql(CANCEL, {"id": job["id"]}, token=a.token))["data"]["cancelSyncJob"]
    assert (asked["__typename"], asked["id"]) == ("SyncJob", job["id"])
    assert asked["status"] in ("RUNNING", "CANCELLED")
    *_, last = await follow_job(api, context_of(api, a), job["id"])
    event = last.data["marketDataSyncProgress"]
    assert (event["kind"], event["status"]) == ("cancelled", "CANCELLED")
    assert event["error"].startswith("cancelled before it finished")
    done = (await api.gql(CANCEL, {"id": job["id"]}, token=a.token))["data"]["cancelSyncJob"]
    assert (done["__typename"], done["status"]) == ("SyncJob", "CANCELLED")
    assert done["error"].startswith("cancelled before it finished")
    again = (await api.gql(CANCEL, {"id": job["id"]}, token=a.token))["data"]["cancelSyncJob"]
    assert again == done  # already ended: nothing changes
    # a job no executor runs (its server stopped) is ended by the cancel itself
    orphan = await create_sync_job(a.id, "binance", "BTC/USDT", "1m", START_MS, None)
    ended = (await api.gql(CANCEL, {"id": str(orphan.id)}, token=a.token))["data"]["cancelSyncJob"]
    assert ended["status"] == "CANCELLED"
    [final] = await follow_job(api, context_of(api, a), str(orphan.id))
    assert final.data["marketDataSyncProgress"]["kind"] == "cancelled"
    missing = (await api.gql(CANCEL, {"id": encode_id("SyncJob", 424242)},
                             token=a.token))["data"]["cancelSyncJob"]
    assert missing["__typename"] == "NotFoundError"
    malformed = await api.gql(CANCEL, {"id": "nope"}, token=a.token)
    assert [c for c, _ in errors_of(malformed)] == ["BAD_USER_INPUT"]


@pytest.mark.asyncio
async def test_bad_requests_and_unknown_symbols(api: Api) -> None:
    a = await api.user("a@example.com")
    result = await api.gql(SYNC, sync_input(timeframe="1H", exchange="nowhere"), token=a.token)
    payload = result["data"]["syncMarketData"]
    assert payload["__typename"] == "ValidationError"
    assert {p["path"] for p in payload["problems"]} == {"input.timeframe", "input.exchange"}
    job = await start_sync(api, a, symbol="NOPE/USDT")
    failed = await wait_finished(api, a, job["id"])
    assert failed["status"] == "FAILED" and "unknown symbol 'NOPE/USDT'" in failed["error"]
    assert [c for c, _ in errors_of(await api.gql(SYNC, sync_input()))] == ["UNAUTHENTICATED"]
    for ident in ("424242", encode_id("SyncJob", 424242)):
        result = await api.gql(JOB, {"id": ident}, token=a.token)
        assert [c for c, _ in errors_of(result)] == ["NOT_FOUND"]
    for ident in ("abc", "0", "²", "3000000000", encode_id("Backtest", 1)):
        result = await api.gql(JOB, {"id": ident}, token=a.token)
        assert [c for c, _ in errors_of(result)] == ["BAD_USER_INPUT"], ident


@pytest.mark.asyncio
async def test_candle_updates_stream_closed_bars(api: Api, fake: FakeBinance) -> None:
    a = await api.user("a@example.com")
    stream = await schema.subscribe(LIVE, context_value=context_of(api, a))
    assert isinstance(stream, AsyncIterator)
    bars = []
    async for result in stream:
        assert result.errors is None, result.errors
        bars.append(result.data["candleUpdates"])
        if len(bars) == 3:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert all(bar["closed"] for bar in bars)
    times = [bar["timeMs"] for bar in bars]
    assert times == sorted(set(times)) and all(t % MIN == 0 for t in times)
    # time is the same instant as a DateTime
    assert [datetime.fromisoformat(bar["time"]).timestamp() * 1000 for bar in bars] == times
    for bar in bars:
        o, h, lo, c, v = (float(x) for x in fake.bar("BTCUSDT", "1m", int(bar["timeMs"])))
        assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"]) == (
            o, h, lo, c, v)
    await asyncio.sleep(0.1)  # the watcher stops in the background once nobody listens
    assert api.services.live_candles.active() == {}
    unauthenticated = await schema.subscribe(LIVE, context_value=Context(api.services))
    assert isinstance(unauthenticated, AsyncIterator)
    [refused] = [r async for r in unauthenticated]
    assert refused.errors and refused.errors[0].extensions == {"code": "UNAUTHENTICATED"}



@pytest.mark.asyncio
async def test_candle_updates_of_an_unknown_symbol_are_bad_user_input(api: Api) -> None:
    a = await api.user("a@example.com")
    stream = await schema.subscribe(LIVE.replace("BTC/USDT", "NOPE/USDT"),
                                    context_value=context_of(api, a))
    assert isinstance(stream, AsyncIterator)
    [failed] = [r async for r in stream]
    assert failed.errors and failed.errors[0].extensions == {"code": "BAD_USER_INPUT"}
    assert "unknown symbol 'NOPE/USDT'" in failed.errors[0].message


def test_feed_failures_get_their_code_from_the_expected_flag() -> None:
    assert FeedFailed.from_event(error_event("bad", expected=True)).code == "BAD_USER_INPUT"
    assert FeedFailed.from_event(error_event("broke", expected=False)).code == "INTERNAL"
    assert FeedFailed.from_event({"kind": "error", "error": "?"}).code == "INTERNAL"


@contextlib.asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 with a free port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           ws="websockets-sansio", lifespan="on"))
    task = asyncio.ensure_future(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 20))
    return message


@pytest.mark.asyncio
async def test_subscriptions_over_a_websocket(backend_url: str, tmp_path: Path,
                                              fake: FakeBinance) -> None:
    app = create_app(api_settings(backend_url, tmp_path, binance_rest_url=fake.rest_url,
                                  binance_ws_url=fake.ws_url))
    async with served(app) as host, httpx.AsyncClient(base_url=f"http://{host}") as http:
        await http.post("/graphql", json={"query": """mutation {
            register(input: {email: "ws@example.com", password: "correct horse"}) {
              __typename } }"""})
        signed_in = (await http.post("/graphql", json={"query": """mutation {
            login(input: {email: "ws@example.com", password: "correct horse"}) {
              ... on AuthPayload { accessToken } } }"""})).json()
        token = signed_in["data"]["login"]["accessToken"]
        job = (await http.post("/graphql", json={"query": SYNC, "variables": sync_input(
            bars=3_000)}, headers={"Authorization": f"Bearer {token}"})).json()
        job_id = job["data"]["syncMarketData"]["id"]
        async with connect(f"ws://{host}/graphql", subprotocols=[Subprotocol(
                "graphql-transport-ws")]) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {token}"}}))
            assert await receive(ws) == {"type": "connection_ack"}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": PROGRESS, "variables": {"id": job_id}}}))
            events = []
            while (message := await receive(ws))["type"] == "next":
                assert message["id"] == "1" and "errors" not in message["payload"], message
                events.append(message["payload"]["data"]["marketDataSyncProgress"])
            assert message == {"id": "1", "type": "complete"}
            assert events[-1]["kind"] == "done" and events[-1]["stored"] == 3_000
            seqs = [e["seq"] for e in events]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

            await ws.send(json.dumps({"id": "2", "type": "subscribe",
                                      "payload": {"query": LIVE}}))
            closed = []
            while len(closed) < 2:
                message = await receive(ws)
                assert message["type"] == "next" and message["id"] == "2", message
                closed.append(message["payload"]["data"]["candleUpdates"])
            await ws.send(json.dumps({"id": "2", "type": "complete"}))
    assert all(bar["closed"] and bar["symbol"] == "BTC/USDT" for bar in closed)
    assert closed[1]["timeMs"] - closed[0]["timeMs"] == MIN
