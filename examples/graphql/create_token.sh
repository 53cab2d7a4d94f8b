#!/usr/bin/env bash
# Sign in with an email and password, then create a personal access token (bt_pat_...) for
# scripts. Prints the token (shown once: store it). Needs curl and jq.
#   BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_EMAIL=demo@example.com BACKTEST_PASSWORD=... \
#     ./create_token.sh
set -euo pipefail
URL="${BACKTEST_URL:-http://127.0.0.1:8000}/graphql"

gql() {  # gql TOKEN QUERY [VARIABLES_JSON]: one POST, the JSON answer on stdout
  local auth=()
  [ -n "$1" ] && auth=(-H "Authorization: Bearer $1")
  jq -n --arg q "$2" --argjson v "${3:-{\}}" '{query: $q, variables: $v}' |
    curl -sS --fail-with-body "$URL" -H 'Content-Type: application/json' "${auth[@]}" --data-binary @-
}

login=$(gql "" 'mutation($e: String!, $p: String!) {
  login(input: {email: $e, password: $p}) {
    __typename ... on AuthPayload { accessToken } ... on InvalidCredentials { message } } }' \
  "$(jq -n --arg e "$BACKTEST_EMAIL" --arg p "$BACKTEST_PASSWORD" '{e: $e, p: $p}')")
access=$(jq -r '.data.login.accessToken // empty' <<<"$login")
[ -n "$access" ] || { echo "sign-in refused: $login" >&2; exit 1; }

created=$(gql "$access" 'mutation {
  createAccessToken(input: {name: "my script", scope: READ_WRITE, expiresInDays: 90}) {
    __typename ... on CreatedAccessToken { token accessToken { id name scope } }
    ... on ValidationError { problems { path message } } } }')
token=$(jq -r '.data.createAccessToken.token // empty' <<<"$created")
[ -n "$token" ] || { echo "no token: $created" >&2; exit 1; }
echo "$token"
