#!/usr/bin/env bash
# Error codes over curl: repeated failed sign-ins to one account get the code RATE_LIMITED,
# with `extensions.retryAfter` and a `Retry-After` header (seconds to wait). Needs curl and jq:
#   BACKTEST_URL=http://127.0.0.1:8000 ./rate_limited.sh
set -euo pipefail
URL="${BACKTEST_URL:-http://127.0.0.1:8000}/graphql"
BODY=$(jq -n --arg e "nobody-$$-$(date +%s)@example.com" '{
  query: "mutation($e: String!) { login(input: {email: $e, password: \"wrong\"}) { __typename } }",
  variables: {e: $e}}')
HEADERS=$(mktemp)
trap 'rm -f "$HEADERS"' EXIT

for attempt in $(seq 1 10); do
  answer=$(curl -sS "$URL" -D "$HEADERS" -H 'Content-Type: application/json' --data-binary "$BODY")
  code=$(jq -r '.errors[0].extensions.code // empty' <<<"$answer")
  if [ "$code" = RATE_LIMITED ]; then
    retry=$(grep -i '^retry-after:' "$HEADERS" | tr -d '\r' | awk '{print $2}')
    echo "attempt $attempt: $code, Retry-After: $retry s"
    jq -c '.errors[0] | {message, extensions}' <<<"$answer"
    exit 0
  fi
  echo "attempt $attempt: $(jq -c '.data.login // .errors' <<<"$answer")"
done
echo "never rate limited" >&2
exit 1
