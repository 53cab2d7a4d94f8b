"""Save a strategy, run a backtest on the demo market, wait for it and print its summary as JSON.
Needs httpx (pip install httpx) and a personal access token with READ_WRITE scope:

    BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_TOKEN=bt_pat_... python run_backtest.py
"""

import json
import os
import sys
import time
from pathlib import Path

import httpx

URL = os.environ.get("BACKTEST_URL", "http://127.0.0.1:8000") + "/graphql"
HEADERS = {"Authorization": f"Bearer {os.environ['BACKTEST_TOKEN']}"}
STRATEGY = Path(__file__).resolve().parent.parent / "sma_crossover.json"


def gql(query: str, variables: dict | None = None) -> dict:
    """One POST /graphql with the token; the `data` of the answer (exits on a GraphQL error)."""
    body = httpx.post(URL, json={"query": query, "variables": variables or {}},
                      headers=HEADERS, timeout=30).json()
    if body.get("errors"):
        sys.exit(f"GraphQL error: {body['errors']}")
    return body["data"]


# 1. the strategy: yours named "SMA crossover", else examples/sma_crossover.json saved as a new one
document = json.loads(STRATEGY.read_text())
found = gql("""query($name: String!) { strategies(search: $name, first: 10) {
    edges { node { id name version } } } }""", {"name": document["name"]})["strategies"]["edges"]
strategy = next((e["node"] for e in found if e["node"]["name"] == document["name"]), None)
if strategy is None:
    strategy = gql("""mutation($d: JSON!) { createStrategy(input: {document: $d}) {
        __typename ... on Strategy { id name version }
        ... on StrategyValidationError { problems { path message } } } }""",
                   {"d": document})["createStrategy"]
    if strategy["__typename"] != "Strategy":
        sys.exit(f"strategy refused: {strategy['problems']}")

# 2. the run: a result union (Backtest | ValidationError | NotFoundError)
run = gql("""mutation($input: RunBacktestInput!) { runBacktest(input: $input) {
    __typename ... on Backtest { id status }
    ... on ValidationError { problems { path message } } ... on NotFoundError { message } } }""",
          {"input": {"strategyId": strategy["id"], "exchange": "demo", "symbol": "DEMO/USDT",
                     "timeframe": "1h", "from": "2024-01-01T00:00:00Z",
                     "to": "2024-07-01T00:00:00Z", "params": {"fast": 20, "slow": 100}}})
run = run["runBacktest"]
if run["__typename"] != "Backtest":
    sys.exit(f"run refused: {run}")
print(f"backtest {run['id']} queued", file=sys.stderr)

# 3. wait for it (or follow it live: follow_job.py), then read the summary
while True:
    backtest = gql("""query($id: ID!) { backtest(id: $id) { status progress error
        summary { finalEquity totalReturn sharpe maxDrawdown nTrades winRate } } }""",
                   {"id": run["id"]})["backtest"]
    if backtest["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
        break
    time.sleep(0.5)
print(json.dumps({"id": run["id"], "status": backtest["status"], "error": backtest["error"],
                  "summary": backtest["summary"]}))
