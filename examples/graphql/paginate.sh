#!/usr/bin/env bash
# Read every one of your backtests, a page at a time: a Relay connection paged forward with
# `first`/`after` (the previous page's `pageInfo.endCursor`) until `hasNextPage` is false.
# Needs curl and jq, and a personal access token (READ is enough):
#   BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_TOKEN=bt_pat_... ./paginate.sh [PAGE_SIZE]
set -euo pipefail
URL="${BACKTEST_URL:-http://127.0.0.1:8000}/graphql"
PAGE="${1:-100}"  # at most 100 a page
QUERY='query($first: Int!, $after: String) {
  backtests(first: $first, after: $after, sort: {field: CREATED, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status symbol timeframe } } } }'

after=null
pages=0
read=0
while :; do
  answer=$(jq -n --arg q "$QUERY" --argjson first "$PAGE" --argjson after "$after" \
      '{query: $q, variables: {first: $first, after: $after}}' |
    curl -sS --fail-with-body "$URL" -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $BACKTEST_TOKEN" --data-binary @-)
  if jq -e '.errors' <<<"$answer" >/dev/null; then echo "GraphQL error: $answer" >&2; exit 1; fi
  pages=$((pages + 1))
  read=$((read + $(jq '.data.backtests.edges | length' <<<"$answer")))
  jq -c '.data.backtests.edges[].node' <<<"$answer" >&2
  [ "$(jq -r '.data.backtests.pageInfo.hasNextPage' <<<"$answer")" = true ] || break
  after=$(jq '.data.backtests.pageInfo.endCursor' <<<"$answer")  # a JSON string
done
jq -cn --argjson pages "$pages" --argjson read "$read" \
  --argjson total "$(jq '.data.backtests.totalCount' <<<"$answer")" \
  '{pages: $pages, read: $read, totalCount: $total}'
