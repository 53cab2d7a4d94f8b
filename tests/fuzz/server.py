"""A real ``backtest serve`` for the fuzzers: its own process on 127.0.0.1 (a free port), a
throw-away data folder and database (a SQLite file, or a PostgreSQL database created for it),
migrated with the demo candles, and stored data for the resolvers to reach deep.

Seeding goes through the command line and the API (as a user would): ``backtest db migrate
--seed-demo``, three accounts (a trader, another trader, an admin; stored from this process),
then, signed in over the API, a strategy, a finished backtest, a finished sweep, a replay of
that backtest, an import of trades, a failed market sync, a personal access token and (when the
API has them) an exchange key. A second user (``other``) owns a strategy whose name
(:data:`OTHER_SECRET`) must never appear in an answer to the first one.

The server gets no Redis (in-memory channels), runs jobs in-process one at a time with small
caps (:data:`SERVER_ENV`), and talks to no exchange: Binance's URLs point at a closed port.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from graph.schema import schema
from store.db import close_db, init_db
from store.models import Role
from store.settings import Settings
from store.users import create_user
from tests.serving import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
SMA: dict[str, Any] = json.loads((ROOT / "examples" / "sma_crossover.json").read_text())
PASSWORD = "fuzz-Password-8c1e5d"
USER, OTHER, ADMIN = "fuzz@example.com", "other@example.com", "admin@example.com"
OTHER_SECRET = "OTHER-USERS-STRATEGY-7f3a9c"  # the other user's strategy name
EXCHANGE, SYMBOL, TIMEFRAME = "demo", "DEMO/USDT", "1h"
CLOSED_PORT = "127.0.0.1:9"  # refused at once: the fuzzers never reach an exchange
SERVER_ENV = {
    "EXECUTOR": "inprocess",
    "MAX_CONCURRENT_JOBS": "1",
    "MAX_SWEEP_SETS": "50",  # a fuzzed sweep stays small
    "JOB_TIME_LIMIT": "120",
    "JOB_MAX_RETRIES": "0",
    "BINANCE_REST_URL": f"http://{CLOSED_PORT}",
    "BINANCE_WS_URL": f"ws://{CLOSED_PORT}",
    "GRAPHQL_IDE": "1",
    # the fuzzers send hundreds of mutations a minute: past the rate limits they would only
    # meet RATE_LIMITED (tested on its own), never the resolvers
    "RATE_LIMIT_USER_PER_MIN": "1000000",
    "RATE_LIMIT_IP_PER_MIN": "1000000",
}
UNSET = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CORS_ORIGINS", "WATCH_LIST")
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
RUN_BARS = 2_000  # the seeded runs' length (of the demo market's 20,000 hours)


@dataclass
class Served:
    """A running server and what was stored in it."""

    backend: str
    base: str  # http://127.0.0.1:<port>
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)  # "user", "other", "admin", "pat"
    refresh: str = ""  # the user's refresh token
    ids: dict[str, str] = field(default_factory=dict)  # kind -> global id (the user's)
    other_ids: dict[str, str] = field(default_factory=dict)  # the other user's
    cursors: list[str] = field(default_factory=list)
    instants: list[str] = field(default_factory=list)  # inside the demo market, and its ends

    @property
    def graphql(self) -> str:
        return f"{self.base}/graphql"

    @property
    def ws(self) -> str:
        return self.graphql.replace("http://", "ws://", 1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def gql(self, query: str, variables: dict[str, Any] | None = None,
            token: str | None = None) -> dict[str, Any]:
        """POST one operation; its ``data``, after checking it has no errors."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(self.graphql, json={"query": query, "variables": variables or {}},
                              headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=10).status_code == 200
        except httpx.TransportError:
            return False


PROBLEM = re.compile(r"Traceback|internal error|Exception in|ERROR|CRITICAL")


def server_problems(log: str) -> str:
    """The places of the server's log that say something broke (a masked INTERNAL logs its
    traceback through ``graph.errors``), each with the lines after it; empty if none."""
    lines = log.splitlines()
    found = [i for i, line in enumerate(lines) if PROBLEM.search(line)]
    return "\n...\n".join("\n".join(lines[i:i + 25]) for i in found[:5])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"backtest {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


async def _accounts(database_url: str) -> None:
    """The three accounts (in this process: a ``backtest users create`` each costs seconds)."""
    await init_db(Settings(database_url=database_url))
    try:
        for email, role in ((USER, Role.TRADER), (OTHER, Role.TRADER), (ADMIN, Role.ADMIN)):
            await create_user(email, PASSWORD, role=role)
    finally:
        await close_db()


def server_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(SERVER_ENV, DATABASE_URL=database_url, DATA_DIR=str(data_dir),
               JWT_SECRET=secrets.token_urlsafe(48))
    return env


@contextmanager
def serve(backend: str, database_url: str, data_dir: Path) -> Iterator[Served]:
    """Migrate and seed ``database_url``, run ``backtest serve`` on it; stop it afterwards
    (SIGINT, then SIGKILL after 30 s)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url, data_dir)
    _cli(env, "db", "migrate", "--seed-demo")
    asyncio.run(_accounts(database_url))
    port = free_port()
    log_path = data_dir / "server.log"
    with log_path.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host",
                                 "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=sink, stderr=subprocess.STDOUT, text=True)
    served = Served(backend, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_healthy(proc, served.base, served.log, timeout_s=120)
        seed(served)
        yield served
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  __typename ... on AuthPayload { accessToken refreshToken } } }"""
CREATE_STRATEGY = """mutation($input: CreateStrategyInput!) { createStrategy(input: $input) {
  __typename ... on Strategy { id } } }"""
RUN_BACKTEST = """mutation($input: RunBacktestInput!) { runBacktest(input: $input) {
  __typename ... on Backtest { id } } }"""
RUN_SWEEP = """mutation($input: RunSweepInput!) { runSweep(input: $input) {
  __typename ... on Sweep { id } } }"""
RUN_REPLAY = """mutation($input: RunReplayInput!) { runReplay(input: $input) {
  __typename ... on Replay { id } } }"""
CREATE_TOKEN = """mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) {
  __typename ... on CreatedAccessToken { token accessToken { id } } } }"""
IMPORT = """mutation($file: Upload!) {
  importTransactions(file: $file, format: PLAIN_CSV, name: "fuzz", exchange: "demo") {
    __typename ... on TransactionImport { id } } }"""
SYNC = """mutation($input: SyncMarketDataInput!) { syncMarketData(input: $input) {
  __typename ... on SyncJob { id } } }"""
ADD_KEY = """mutation($input: AddExchangeKeyInput!) { addExchangeKey(input: $input) {
  __typename ... on ExchangeKey { id } } }"""
COVERAGE = """query { marketDataCoverage(symbol: "DEMO/USDT", timeframe: "1h", exchange: "demo") {
  first last } }"""
CURSORS = """query { backtests(first: 1) { pageInfo { endCursor } }
  strategies(first: 1) { pageInfo { endCursor } }
  transactions(first: 1) { pageInfo { endCursor } } }"""


def _login(s: Served, email: str) -> dict[str, Any]:
    data = s.gql(LOGIN, {"input": {"email": email, "password": PASSWORD}})["login"]
    assert data["__typename"] == "AuthPayload", data
    return data


def _payload(data: dict[str, Any], field_name: str, typename: str) -> dict[str, Any]:
    payload: dict[str, Any] = data[field_name]
    assert payload["__typename"] == typename, data
    return payload


def _wait(s: Served, kind: str, ident: str, ending: str = "SUCCEEDED",
          timeout_s: float = 180.0) -> None:
    """Poll the job until it ends; it must end ``ending``."""
    deadline = time.monotonic() + timeout_s
    query = f"query($id: ID!) {{ {kind}(id: $id) {{ status }} }}"
    while True:
        node = s.gql(query, {"id": ident}, s.tokens["user"])[kind]
        if node["status"] in TERMINAL:
            assert node["status"] == ending, (kind, node, s.log()[-3000:])
            return
        assert time.monotonic() < deadline, f"{kind} {ident} still {node['status']}"
        time.sleep(0.1)


def _later(instant: str, hours: int) -> str:
    at = datetime.fromisoformat(instant.replace("Z", "+00:00")) + timedelta(hours=hours)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _trades_csv(first: str) -> bytes:
    """A few DEMO/USDT fills in the first days of the demo market."""
    rows = ["symbol,timestamp,side,quantity,price,fee_asset,fee,trade_id"]
    for i in range(6):
        at = _later(first, 5 + 7 * i)
        rows.append(f"DEMO/USDT,{at},{'buy' if i % 2 == 0 else 'sell'},0.5,100,USDT,0.05,f{i}")
    return ("\n".join(rows) + "\n").encode()


def seed(s: Served) -> None:
    """Store what the fuzzers reach for (see the module docstring)."""
    user = _login(s, USER)
    s.tokens["user"], s.refresh = user["accessToken"], user["refreshToken"]
    s.tokens["other"] = _login(s, OTHER)["accessToken"]
    s.tokens["admin"] = _login(s, ADMIN)["accessToken"]
    token = s.tokens["user"]

    other = s.gql(CREATE_STRATEGY, {"input": {"document": SMA, "name": OTHER_SECRET}},
                  s.tokens["other"])
    s.other_ids["strategy"] = _payload(other, "createStrategy", "Strategy")["id"]
    created = s.gql(CREATE_STRATEGY, {"input": {"document": SMA, "name": "fuzz sma"}}, token)
    strategy = _payload(created, "createStrategy", "Strategy")["id"]
    s.ids["strategy"] = strategy

    coverage = s.gql(COVERAGE, token=token)["marketDataCoverage"]
    s.instants = [coverage["first"], coverage["last"],
                  *(_later(coverage["first"], hours=h) for h in (24, 500, RUN_BARS, 10_000))]
    market = {"strategyId": strategy, "exchange": EXCHANGE, "symbol": SYMBOL,
              "timeframe": TIMEFRAME, "from": coverage["first"],
              "to": _later(coverage["first"], hours=RUN_BARS)}
    backtest = _payload(s.gql(RUN_BACKTEST, {"input": market}, token), "runBacktest",
                        "Backtest")["id"]
    s.ids["backtest"] = backtest
    _wait(s, "backtest", backtest)
    sweep = _payload(s.gql(RUN_SWEEP, {"input": {**market, "grid": {"fast": [5, 10],
                                                                     "slow": [50]}}}, token),
                     "runSweep", "Sweep")["id"]
    s.ids["sweep"] = sweep
    _wait(s, "sweep", sweep)
    replay = _payload(s.gql(RUN_REPLAY, {"input": {"backtestId": backtest}}, token),
                      "runReplay", "Replay")["id"]
    s.ids["replay"] = replay
    _wait(s, "replay", replay)

    response = httpx.post(
        s.graphql, headers={"Authorization": f"Bearer {token}"}, timeout=30,
        data={"operations": json.dumps({"query": IMPORT, "variables": {"file": None}}),
              "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("fuzz.csv", _trades_csv(coverage["first"]), "text/csv")})
    assert response.status_code == 200, response.text
    body = response.json()
    s.ids["transactionImport"] = _payload(body["data"], "importTransactions",
                                          "TransactionImport")["id"]

    sync = s.gql(SYNC, {"input": {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h",
                                  "since": coverage["first"]}}, token)
    s.ids["syncJob"] = _payload(sync, "syncMarketData", "SyncJob")["id"]
    _wait(s, "syncJob", s.ids["syncJob"], ending="FAILED")  # Binance is a closed port here
    if "addExchangeKey" in schema._schema.mutation_type.fields:  # type: ignore[union-attr]
        key = s.gql(ADD_KEY, {"input": {"exchange": "binance", "label": "fuzz",
                                        "apiKey": "k" * 64, "apiSecret": "s" * 64}}, token)
        s.ids["exchangeKey"] = _payload(key, "addExchangeKey", "ExchangeKey")["id"]

    pat = _payload(s.gql(CREATE_TOKEN, {"input": {"name": "fuzz", "scope": "READ_WRITE"}},
                         token), "createAccessToken", "CreatedAccessToken")
    s.tokens["pat"] = pat["token"]
    s.ids["accessToken"] = pat["accessToken"]["id"]

    pages = s.gql(CURSORS, token=token)
    s.cursors = [p["pageInfo"]["endCursor"] for p in pages.values() if p["pageInfo"]["endCursor"]]
