"""API benchmark against a running server on PostgreSQL, one run, figures against a baseline.

Run with ``.venv/bin/python bench/api.py [--requests N] [--server URL]``. It creates a temporary
database on ``--server`` (default ``postgres://postgres@127.0.0.1:5432``), migrates and seeds it
(a user, 200 finished backtests with summaries and trades, 100,000 1m candles, 1,000,000 more
for the progress runs), serves it with uvicorn in a subprocess on 127.0.0.1 (a free port), talks
to it over HTTP (httpx) and websockets (graphql-transport-ws), then stops the server and drops
the database.

Figures (targets from issue 4), each with its ratio to the baseline, ``{ __typename }``, measured
in the same run at the same concurrency:

* the ``backtests`` list query, first page of 50 with their summaries: p50/p99 latency and
  throughput with 1 and with 50 concurrent clients (target: p99 under 50 ms at 50);
* a ``candles`` query returning 100,000 candles with two indicators (SMA 20, RSI 14): its
  latency, end to end including the JSON transfer (target: under 1 s);
* progress-event latency: from the engine's progress callback in a worker process (the event's
  ``at``) to a websocket client receiving it, over backtests on 1,000,000 bars and a sweep
  (target: p99 under 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cli  # noqa: E402, F401  (keys numba's cache by the engine's sources)
from domain.demo import demo_candles  # noqa: E402
from domain.engine.run import run_backtest  # noqa: E402
from domain.strategy import parse_strategy  # noqa: E402
from graph.auth import Tokens  # noqa: E402
from store import backtest_results as results_store  # noqa: E402
from store import backtests as store_backtests  # noqa: E402
from store.candles import write_candles  # noqa: E402
from store.db import close_db, migrate  # noqa: E402
from store.settings import Settings  # noqa: E402
from store.strategies import create_strategy  # noqa: E402
from store.users import create_user  # noqa: E402

SECRET = secrets.token_urlsafe(48)
SMA = json.loads((ROOT / "examples" / "sma_crossover.json").read_text())
LIST = """{ backtests(first: 50) { pageInfo { hasNextPage endCursor } edges { cursor node {
  id status symbol timeframe createdAt finishedAt strategyName
  summary { finalEquity totalReturn sharpe maxDrawdown winRate nTrades } } } } }"""
BASELINE = "{ __typename }"
CANDLES = """query($from: DateTime!) { candles(exchange: "bench", symbol: "BENCH/USDT",
  timeframe: "1m", from: $from, limit: 100000, indicators: [{name: "sma", params: {period: 20}},
  {name: "rsi", params: {period: 14}}]) { count times open high low close volume
  indicators { name values } } }"""
PROGRESS = """subscription($id: ID!) { %s(id: $id) { seq kind status progress at } }"""


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(f"{server.rstrip('/')}/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(settings: Settings, n_backtests: int) -> tuple[str, int, int]:
    """A user (its access token), a strategy, finished backtests, candles for the queries."""
    await migrate(settings)
    try:
        user = await create_user("bench@x.io", None)
        strategy = await create_strategy(user.id, "sma", SMA)
        small = demo_candles(500, "1h")
        result = run_backtest(parse_strategy(SMA), small)
        for i in range(n_backtests):
            record = await store_backtests.create_backtest(store_backtests.NewBacktest(
                user.id, strategy.id, SMA, {"fast": 10, "slow": 50}, "demo", "DEMO/USDT", "1h",
                int(small.ts[0]), int(small.ts[-1]) + 1, 10_000.0))
            await store_backtests.mark_running(record.id)
            metrics = dict(result.metrics, sharpe=result.metrics["sharpe"] + i / 1000)
            await results_store.save_results(record.id, results_store.Results(
                result.trades, small.ts, result.equity, metrics, result.final_equity))
        big = demo_candles(1_100_000, "1m", symbol="BENCH/USDT")
        await write_candles("bench", "BENCH/USDT", "1m", big)
        token = Tokens(SECRET).issue(user).access_token
        return token, strategy.id, int(big.ts[0])
    finally:
        await close_db()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, port: int, data_dir: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=SECRET, DATA_DIR=data_dir,
               GRAPHQL_IDE="0")
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "graph.app:create_app", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env)


async def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError("the server exited while starting")
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the server did not become ready")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


async def load(url: str, token: str, query: str, variables: dict[str, Any], clients: int,
               per_client: int) -> tuple[list[float], float]:
    """Latencies (ms) of ``clients`` concurrent clients each sending ``per_client`` requests
    one after the other, and the throughput (requests/s)."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    body = json.dumps({"query": query, "variables": variables})
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        async def client() -> None:
            for _ in range(per_client):
                t0 = time.perf_counter()
                response = await http.post(url, content=body, headers={
                    **headers, "Content-Type": "application/json"})
                response.raise_for_status()
                latencies.append((time.perf_counter() - t0) * 1000)
                assert "errors" not in response.json(), response.text[:500]

        await asyncio.gather(*(client() for _ in range(min(clients, 4))))  # warm connections
        latencies.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, len(latencies) / wall


async def gql(url: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=120) as http:
        response = await http.post(url, json={"query": query, "variables": variables},
                                   headers={"Authorization": f"Bearer {token}"})
    result: dict[str, Any] = response.json()
    if "errors" in result:
        raise RuntimeError(result["errors"])
    data: dict[str, Any] = result["data"]
    return data


async def follow(ws_url: str, token: str, field: str, run_id: str) -> list[float]:
    """Latencies (ms) of the progress events of one run, received over graphql-transport-ws."""
    out: list[float] = []
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": PROGRESS % field, "variables": {"id": run_id}}}))
        while True:
            message = json.loads(await ws.recv())
            received = time.time() * 1000
            if message["type"] == "complete":
                return out
            if message["type"] != "next":
                raise RuntimeError(message)
            event = message["payload"]["data"][field]
            if event["kind"] == "progress" and event["seq"] > 0:
                out.append(received - event["at"])


async def event_latency(base: str, token: str, strategy_id: int, first_ms: int,
                        runs: int) -> tuple[list[float], list[float]]:
    url, ws_url = f"{base}/graphql", f"ws://{base.split('://', 1)[1]}/graphql"
    market = {"strategyId": str(strategy_id), "exchange": "bench", "symbol": "BENCH/USDT",
              "timeframe": "1m", "from": _iso(first_ms), "to": _iso(first_ms + 10**6 * 60_000)}
    backtests: list[float] = []
    for i in range(runs):
        data = await gql(url, token, """mutation($input: RunBacktestInput!) { runBacktest(
            input: $input) { ... on Backtest { id } } }""",
                         {"input": {**market, "params": {"fast": 5 + i}}})
        backtests += await follow(ws_url, token, "backtestProgress", data["runBacktest"]["id"])
    data = await gql(url, token, """mutation($input: RunSweepInput!) { runSweep(input: $input) {
        ... on Sweep { id } } }""", {"input": {**market, "to": _iso(first_ms + 20_000 * 60_000),
                                             "grid": {"fast": {"start": 2, "stop": 80, "step": 1},
                                                      "slow": {"start": 10, "stop": 400,
                                                               "step": 2}}}})
    return backtests, await follow(ws_url, token, "sweepProgress", data["runSweep"]["id"])


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def line(name: str, lat: list[float], rps: float | None, base: list[float] | None) -> str:
    text = f"  {name:<34} p50 {pct(lat, 50):8.2f} ms  p99 {pct(lat, 99):8.2f} ms"
    if rps is not None:
        text += f"  {rps:8.1f} req/s"
    if base is not None:
        text += (f"   x{pct(lat, 50) / pct(base, 50):6.1f} / x{pct(lat, 99) / pct(base, 99):6.1f}"
                 " baseline p50/p99")
    return text


async def bench(args: argparse.Namespace, database_url: str, data_dir: str) -> None:
    t0 = time.perf_counter()
    token, strategy_id, first_ms = await seed(Settings(database_url=database_url), 200)
    print(f"seeded in {time.perf_counter() - t0:.1f} s: 200 backtests, 1,100,000 1m candles")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(database_url, port, data_dir)
    try:
        await wait_ready(base, proc)
        url = f"{base}/graphql"
        print(f"server: uvicorn, 1 process, {base}; client: httpx on the same machine "
              f"({os.cpu_count()} CPUs)")
        for clients in (1, 50):
            per = max(1, args.requests // clients)
            base_lat, base_rps = await load(url, token, BASELINE, {}, clients, per)
            lat, rps = await load(url, token, LIST, {}, clients, per)
            print(f"{clients} concurrent client(s), {per * clients} requests each query:")
            print(line("baseline { __typename }", base_lat, base_rps, None))
            print(line("backtests(first: 50) + summaries", lat, rps, base_lat))
        print(f"    target p99 < 50 ms at 50 clients: {pct(lat, 99):.1f} ms")
        base_lat, _ = await load(url, token, BASELINE, {}, 1, 20)
        times = []
        for _ in range(5):
            t1 = time.perf_counter()
            data = await gql(url, token, CANDLES, {"from": _iso(first_ms)})
            times.append((time.perf_counter() - t1) * 1000)
            assert data["candles"]["count"] == 100_000
        print("candles: 100,000 1m candles + SMA 20 + RSI 14, 5 requests:")
        print(line("candles query", times, None, base_lat))
        print(f"    target < 1000 ms: best {min(times):.0f} ms, worst {max(times):.0f} ms")
        backtests, sweep = await event_latency(base, token, strategy_id, first_ms, args.runs)
        latencies = backtests + sweep
        print(f"progress events, engine callback -> websocket client: {len(backtests)} of "
              f"{args.runs} backtests on 1,000,000 bars, {len(sweep)} of a sweep:")
        print(line("backtest events", backtests, None, base_lat))
        print(line("sweep events", sweep, None, base_lat))
        print(line("all events", latencies, None, base_lat))
        print(f"    target p99 < 100 ms: {pct(latencies, 99):.1f} ms")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2_000,
                        help="requests per query and concurrency level (default 2,000)")
    parser.add_argument("--runs", type=int, default=5, help="backtests whose events are timed")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server for the temporary database")
    args = parser.parse_args()
    temp_db = f"bt_bench_api_{secrets.token_hex(4)}"
    await _admin(args.server, f'CREATE DATABASE "{temp_db}"')
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            await bench(args, f"{args.server.rstrip('/')}/{temp_db}", data_dir)
    finally:
        await _admin(args.server, f'DROP DATABASE IF EXISTS "{temp_db}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
