#!/usr/bin/env bash
# Save a strategy, run a backtest on the demo market, wait for it and print its summary as JSON.
# Needs curl and jq, and a personal access token with READ_WRITE scope:
#   BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_TOKEN=bt_pat_... ./run_backtest.sh
set -euo pipefail
URL="${BACKTEST_URL:-http://127.0.0.1:8000}/graphql"
HERE="$(cd "$(dirname "$0")" && pwd)"

gql() {  # gql QUERY [VARIABLES_JSON]: one POST with the token, the JSON answer on stdout
  jq -n --arg q "$1" --argjson v "${2:-{\}}" '{query: $q, variables: $v}' |
    curl -sS --fail-with-body "$URL" -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $BACKTEST_TOKEN" --data-binary @-
}

# 1. the strategy: yours named "SMA crossover", else examples/sma_crossover.json saved as a new one
found=$(gql 'query($name: String!) { strategies(search: $name, first: 10) {
    edges { node { id name version } } } }' '{"name": "SMA crossover"}')
strategy=$(jq -r '[.data.strategies.edges[].node | select(.name == "SMA crossover")][0].id // empty' <<<"$found")
if [ -z "$strategy" ]; then
  saved=$(gql 'mutation($d: JSON!) { createStrategy(input: {document: $d}) {
      __typename ... on Strategy { id name version }
      ... on StrategyValidationError { problems { path message } } } }' \
    "$(jq '{d: .}' "$HERE/../sma_crossover.json")")
  strategy=$(jq -r '.data.createStrategy.id // empty' <<<"$saved")
  [ -n "$strategy" ] || { echo "strategy refused: $saved" >&2; exit 1; }
fi

# 2. the run: a result union (Backtest | ValidationError | NotFoundError)
run=$(gql 'mutation($input: RunBacktestInput!) { runBacktest(input: $input) {
    __typename ... on Backtest { id status }
    ... on ValidationError { problems { path message } } ... on NotFoundError { message } } }' \
  "$(jq -n --arg s "$strategy" '{input: {strategyId: $s, exchange: "demo", symbol: "DEMO/USDT",
      timeframe: "1h", from: "2024-01-01T00:00:00Z", to: "2024-07-01T00:00:00Z",
      params: {fast: 20, slow: 100}}}')")
id=$(jq -r '.data.runBacktest.id // empty' <<<"$run")
[ -n "$id" ] || { echo "run refused: $run" >&2; exit 1; }
echo "backtest $id queued" >&2

# 3. wait for it (or follow it live: follow_job.py), then read the summary
while :; do
  answer=$(gql 'query($id: ID!) { backtest(id: $id) { status progress error
      summary { finalEquity totalReturn sharpe maxDrawdown nTrades winRate } } }' \
    "$(jq -n --arg id "$id" '{id: $id}')")
  status=$(jq -r '.data.backtest.status' <<<"$answer")
  case "$status" in
    SUCCEEDED|FAILED|CANCELLED) break ;;
  esac
  sleep 0.5
done
jq -c --arg id "$id" '.data.backtest | {id: $id, status, error, summary}' <<<"$answer"
