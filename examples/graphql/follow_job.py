"""Follow your jobs live: subscribe to `jobEvents` over a websocket (the graphql-transport-ws
protocol), start a backtest, and print its events until it ends. Needs httpx and websockets
(pip install httpx websockets) and a personal access token with READ_WRITE scope:

    BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_TOKEN=bt_pat_... python follow_job.py
"""

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import websockets

BASE = os.environ.get("BACKTEST_URL", "http://127.0.0.1:8000")
TOKEN = os.environ["BACKTEST_TOKEN"]
STRATEGY = Path(__file__).resolve().parent.parent / "sma_crossover.json"
ENDED = {"done", "error", "cancelled"}

EVENTS = """subscription { jobEvents(kinds: [BACKTEST]) {
  seq jobKind jobId jobSeq kind status stage progress eta error data } }"""


def gql(query: str, variables: dict | None = None) -> dict:
    """One POST /graphql with the token; the `data` of the answer (exits on a GraphQL error)."""
    body = httpx.post(BASE + "/graphql", json={"query": query, "variables": variables or {}},
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
    if body.get("errors"):
        sys.exit(f"GraphQL error: {body['errors']}")
    return body["data"]


def start_backtest() -> str:
    """Runs your "SMA crossover" (saved from examples/sma_crossover.json if missing) on the demo market: the backtest's id."""
    document = json.loads(STRATEGY.read_text())
    found = gql("""query($name: String!) { strategies(search: $name, first: 10) {
        edges { node { id name } } } }""", {"name": document["name"]})["strategies"]["edges"]
    strategy = next((e["node"] for e in found if e["node"]["name"] == document["name"]), None)
    if strategy is None:
        strategy = gql("""mutation($d: JSON!) { createStrategy(input: {document: $d}) {
            __typename ... on Strategy { id } ... on StrategyValidationError { problems { path message } } } }""",
                       {"d": document})["createStrategy"]
        if strategy["__typename"] != "Strategy":
            sys.exit(f"strategy refused: {strategy['problems']}")
    run = gql("""mutation($input: RunBacktestInput!) { runBacktest(input: $input) {
        __typename ... on Backtest { id } ... on ValidationError { problems { path message } } } }""",
              {"input": {"strategyId": strategy["id"], "exchange": "demo", "symbol": "DEMO/USDT",
                         "timeframe": "1h", "from": "2023-01-01T00:00:00Z",
                         "to": "2025-01-01T00:00:00Z"}})["runBacktest"]
    if run["__typename"] != "Backtest":
        sys.exit(f"run refused: {run}")
    return run["id"]


async def main() -> None:
    ws_url = BASE.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        # the token goes in connection_init's payload (browsers cannot set websocket headers)
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {TOKEN}"}}))
        ack = json.loads(await ws.recv())
        if ack["type"] != "connection_ack":
            sys.exit(f"not acknowledged: {ack}")
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}))
        # subscribed first, then started: no event of the job can be missed
        job_id = await asyncio.to_thread(start_backtest)
        print(f"started backtest {job_id}", file=sys.stderr)
        last = None
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif message["type"] == "next":
                if message["payload"].get("errors"):
                    sys.exit(f"subscription error: {message['payload']['errors']}")
                event = message["payload"]["data"]["jobEvents"]
                if event["jobId"] != job_id:
                    continue  # another of your jobs
                line = {k: event[k] for k in ("jobSeq", "kind", "status", "stage", "progress")}
                shown = (line["kind"], line["stage"], round(line["progress"], 2))
                if shown == last:
                    continue  # a progress event with more of the equity curve in `data`
                last = shown
                if event["kind"] == "done":
                    line["totalReturn"] = (event["data"] or {}).get("summary", {}).get("total_return")
                print(json.dumps(line), flush=True)
                if event["kind"] in ENDED:
                    await ws.send(json.dumps({"id": "1", "type": "complete"}))
                    return
            elif message["type"] in ("error", "complete"):
                sys.exit(f"subscription ended: {message}")


asyncio.run(main())
