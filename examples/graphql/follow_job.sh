#!/usr/bin/env bash
# Follow one job (a backtest, sweep, sync or replay) by polling it over HTTP until it ends,
# printing one line per change. curl has no websocket client: for events as they happen,
# subscribe to `jobEvents` (follow_job.py). Needs curl and jq:
#   BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_TOKEN=bt_pat_... ./follow_job.sh JOB_ID
set -euo pipefail
URL="${BACKTEST_URL:-http://127.0.0.1:8000}/graphql"
ID="${1:?usage: follow_job.sh JOB_ID}"

last=""
while :; do
  answer=$(jq -n --arg id "$ID" '{query: "query($id: ID!) { node(id: $id) {
        ... on Job { kind status stage progress eta error } } }", variables: {id: $id}}' |
    curl -sS --fail-with-body "$URL" -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $BACKTEST_TOKEN" --data-binary @-)
  job=$(jq -c '.data.node' <<<"$answer")
  [ "$job" != "null" ] || { echo "no such job: $answer" >&2; exit 1; }
  [ "$job" = "$last" ] || echo "$job"
  last="$job"
  case "$(jq -r .status <<<"$job")" in
    SUCCEEDED|FAILED|CANCELLED) exit 0 ;;
  esac
  sleep 0.25
done
