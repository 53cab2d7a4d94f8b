"""The API's two kinds of failure, and how to handle each. Needs httpx (pip install httpx) and
a personal access token; prints one JSON line per case:

    BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_TOKEN=bt_pat_... python errors.py

1. An expected failure of a mutation is a member of its result union: ask for `__typename`
   and the error types' fields (`ValidationError.problems` with a `path` per problem).
2. Anything else is a GraphQL error whose `extensions.code` says what it is (`NOT_FOUND`,
   `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT`, `RATE_LIMITED`...). `RATE_LIMITED` comes
   with `extensions.retryAfter` and a `Retry-After` header: the seconds to wait.
"""

import base64
import json
import os
import time

import httpx

URL = os.environ.get("BACKTEST_URL", "http://127.0.0.1:8000") + "/graphql"
TOKEN = os.environ["BACKTEST_TOKEN"]


def post(query: str, variables: dict | None = None, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(URL, json={"query": query, "variables": variables or {}}, headers=headers,
                      timeout=30)


def codes(body: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


# 1. a typed result: a timeframe that does not exist, answered as a ValidationError
answer = post("""mutation($input: RunBacktestInput!) { runBacktest(input: $input) {
    __typename ... on Backtest { id }
    ... on ValidationError { problems { path message } } ... on NotFoundError { message } } }""",
              {"input": {"strategyId": base64.b64encode(b"Strategy:999999").decode(),
                         "symbol": "DEMO/USDT", "timeframe": "7x",
                         "from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}}).json()
result = answer["data"]["runBacktest"]
print(json.dumps({"case": "typed result", "typename": result["__typename"],
                  "paths": [p["path"] for p in result.get("problems", [])]}))

# 2. an error code: a backtest that is not yours (or does not exist) is NOT_FOUND
missing = base64.b64encode(b"Backtest:999999").decode()
answer = post("query($id: ID!) { backtest(id: $id) { id } }", {"id": missing}).json()
print(json.dumps({"case": "not found", "codes": codes(answer)}))

# 3. a token that is wrong, expired or revoked: UNAUTHENTICATED
answer = post("{ me { email } }", token="bt_pat_not-a-real-token").json()
print(json.dumps({"case": "bad token", "codes": codes(answer)}))

# 4. RATE_LIMITED: repeated failed sign-ins to one account are throttled; wait Retry-After
email = f"nobody-{int(time.time())}@example.com"
for attempt in range(1, 11):
    response = post("""mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) {
        __typename } }""", {"e": email, "p": "wrong password"}, token=None)
    body = response.json()
    if "RATE_LIMITED" in codes(body):
        retry_after = response.headers["Retry-After"]
        print(json.dumps({"case": "rate limited", "attempt": attempt, "codes": codes(body),
                          "retryAfterHeader": int(retry_after),
                          "retryAfter": body["errors"][0]["extensions"]["retryAfter"]}))
        break
else:
    raise SystemExit("never rate limited")
