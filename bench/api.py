"""API benchmark against a running server on PostgreSQL, one run, figures against a baseline.

Run with ``.venv/bin/python bench/api.py [--requests N] [--workers N] [--server URL]``. It creates
a temporary database on ``--server`` (default ``postgres://postgres@127.0.0.1:5432``), migrates
and seeds it (a user, 200 finished backtests with summaries and trades, 100,000 1m candles,
1,000,000 more for the progress runs), serves it with uvicorn in a subprocess on 127.0.0.1 (the
app ``backtest serve`` runs, ``graph.app:create_served_app``, without access log), then stops the
server and drops the database.

The HTTP load comes from ``bench/loadgen.py`` in a separate process: raw asyncio sockets,
keep-alive connections, closed loop (each client sends its next request when the previous
answer has arrived). It shares the machine with the server and PostgreSQL, so each figure also
says how busy the CPUs were and how much of that was the load generator.

Figures (targets from issue 4), each with its ratio to the baseline, ``{ __typename }``, measured
in the same run at the same concurrency:

* the ``backtests`` list query, first page of 50 with their summaries: p50/p99 latency and
  throughput with 1 and with 50 concurrent clients (target: p99 under 50 ms at 50), with one
  server process and with ``--workers`` processes (default: one per CPU; ``REDIS_URL`` from
  ``--redis-url``, as ``backtest serve --workers`` requires), answered from the response cache
  (``graph.response_cache``: the owner's backtests do not change meanwhile); then the same
  while one of the owner's backtests changes 10 times a second (most answers recomputed), and
  with the cache off (``RESPONSE_CACHE_MB=0``: every answer computed);
* extra: the list at a fixed arrival rate (open loop), latency counted from when each request
  was due;
* a ``candles`` query returning 100,000 candles with two indicators (SMA 20, RSI 14): its
  latency, end to end including the JSON transfer (target: under 1 s);
* progress-event latency: from the engine's progress callback in a worker process (the event's
  ``at``) to a websocket client receiving it, over backtests on 1,000,000 bars and a sweep
  (target: p99 under 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api_harness import Load, Server, line, load, pct  # noqa: E402  (bench/, the script's folder)

import cli  # noqa: E402, F401  (keys numba's cache by the engine's sources)
from domain.demo import demo_candles  # noqa: E402
from domain.engine.run import run_backtest  # noqa: E402
from domain.strategy import parse_strategy  # noqa: E402
from graph.auth import Tokens  # noqa: E402
from store import backtest_results as results_store  # noqa: E402
from store import backtests as store_backtests  # noqa: E402
from store import leases as store_leases  # noqa: E402
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


async def seed(settings: Settings, n_backtests: int) -> tuple[str, int, int, int]:
    """A user (its access token), a strategy, finished backtests (the id of one), candles for
    the queries."""
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
            await store_leases.claim("backtest", record.id, "bench", 60.0)
            metrics = dict(result.metrics, sharpe=result.metrics["sharpe"] + i / 1000)
            await results_store.save_results(record.id, results_store.Results(
                result.trades, small.ts, result.equity, metrics, result.final_equity))
        big = demo_candles(1_100_000, "1m", symbol="BENCH/USDT")
        await write_candles("bench", "BENCH/USDT", "1m", big)
        token = Tokens(SECRET).issue(user).access_token
        return token, strategy.id, int(big.ts[0]), record.id
    finally:
        await close_db()


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


async def list_figures(server: Server, token: str, label: str, requests: int,
                       clients: tuple[int, ...] = (1, 50)) -> dict[int, Load]:
    """Closed loop: baseline then the list, at each concurrency; the list's runs by clients."""
    out: dict[int, Load] = {}
    for n in clients:
        total = requests if n > 1 else max(200, requests // 5)
        base = await load(server.url, token, BASELINE, {}, n, total)
        out[n] = await load(server.url, token, LIST, {}, n, total)
        print(f"{label}, {n} concurrent client(s), {total} requests per query:")
        print(line("baseline { __typename }", base, None))
        print(line("backtests(first: 50) + summaries", out[n], base))
    return out


async def changing(database_url: str, backtest_id: int, per_second: float,
                   stop: asyncio.Event) -> int:
    """Change one backtest of the bench user ``per_second`` times a second until ``stop``
    (as a running job recording its progress would); how many changes were made."""
    conn = await asyncpg.connect(database_url)
    made = 0
    try:
        while not stop.is_set():
            await conn.execute("UPDATE backtests SET progress = $1 WHERE id = $2",
                               (made % 100) / 100, backtest_id)
            made += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1 / per_second)
    finally:
        await conn.close()
    return made


def verdict(figures: dict[str, Load]) -> None:
    for name, run in figures.items():
        p99 = pct(run.latencies, 99)
        print(f"    target p99 < 50 ms at 50 clients, {name}: {p99:.1f} ms: "
              f"{'met' if p99 < 50 else 'NOT met'}")


async def bench(args: argparse.Namespace, database_url: str, data_dir: str) -> None:
    t0 = time.perf_counter()
    token, strategy_id, first_ms, some_run = await seed(Settings(database_url=database_url), 200)
    print(f"seeded in {time.perf_counter() - t0:.1f} s: 200 backtests, 1,100,000 1m candles")
    print(f"load: bench/loadgen.py (asyncio sockets, another process) on the same machine "
          f"({os.cpu_count()} CPUs), closed loop unless said otherwise")
    cached: dict[str, Load] = {}
    async with Server(database_url, data_dir, SECRET) as server:
        print(f"server: uvicorn, 1 process, response cache on, {server.base}")
        cached["1 process"] = (await list_figures(server, token, "1 process", args.requests))[50]
        stop = asyncio.Event()
        writer = asyncio.create_task(changing(database_url, some_run, 10.0, stop))
        try:
            busy = await load(server.url, token, LIST, {}, 50, 3 * args.requests)
        finally:
            stop.set()
            made = await writer
        print(f"1 process, 50 clients, {3 * args.requests} requests, while a backtest of the "
              f"same owner changes 10 times a second ({made} changes, each making the next "
              "answer a new query):")
        print(line("backtests(first: 50) + summaries", busy, None))
        rate = 0.5 * cached["1 process"].rps
        open_loop = await load(server.url, token, LIST, {}, 200, args.requests, rate=rate)
        print(f"extra, open loop: {rate:.0f} requests/s arriving whatever the answers "
              f"(half the closed-loop throughput), latency from when each was due:")
        print(line("backtests(first: 50) + summaries", open_loop, None))
        base_lat = (await load(server.url, token, BASELINE, {}, 1, 50)).latencies
        times = []
        for _ in range(5):
            t1 = time.perf_counter()
            data = await gql(server.url, token, CANDLES, {"from": _iso(first_ms)})
            times.append((time.perf_counter() - t1) * 1000)
            assert data["candles"]["count"] == 100_000
        print("candles: 100,000 1m candles + SMA 20 + RSI 14, 5 requests:")
        print(line("candles query", times, base_lat))
        print(f"    target < 1000 ms: best {min(times):.0f} ms, worst {max(times):.0f} ms")
        backtests, sweep = await event_latency(server.base, token, strategy_id, first_ms,
                                               args.runs)
        latencies = backtests + sweep
        print(f"progress events, engine callback -> websocket client: {len(backtests)} of "
              f"{args.runs} backtests on 1,000,000 bars, {len(sweep)} of a sweep:")
        print(line("backtest events", backtests, base_lat))
        print(line("sweep events", sweep, base_lat))
        print(line("all events", latencies, base_lat))
        print(f"    target p99 < 100 ms: {pct(latencies, 99):.1f} ms")
    workers = args.workers
    if workers > 1 and args.redis_url:
        async with Server(database_url, data_dir, SECRET, workers,
                          REDIS_URL=args.redis_url) as server:
            print(f"server: uvicorn, {workers} processes (REDIS_URL set), response cache on")
            label = f"{workers} processes"
            cached[label] = (await list_figures(server, token, label, args.requests))[50]
    for n in sorted({1, workers}):
        env = {"RESPONSE_CACHE_MB": "0"}
        if n > 1:
            if not args.redis_url:
                continue
            env["REDIS_URL"] = args.redis_url
        async with Server(database_url, data_dir, SECRET, n, **env) as server:
            print(f"server: uvicorn, {n} process(es), response cache off (RESPONSE_CACHE_MB=0)")
            await list_figures(server, token, f"{n} process(es), uncached",
                               max(200, args.requests // 5))
    print("backtests(first: 50) + summaries, answered from the response cache:")
    verdict(cached)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=10_000,
                        help="requests per query at 50 clients (default 10,000; a fifth of "
                             "that at 1 client and with the cache off)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="server processes of the multi-process figures (default: CPUs)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="REDIS_URL of the multi-process server ('' skips those figures)")
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
