"""Sign in with an email and password, then create a personal access token (bt_pat_...) for
scripts. Prints the token (shown once: store it). Needs httpx (pip install httpx).

    BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_EMAIL=demo@example.com BACKTEST_PASSWORD=... \
        python create_token.py
"""

import os
import sys

import httpx

URL = os.environ.get("BACKTEST_URL", "http://127.0.0.1:8000") + "/graphql"


def gql(query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """One POST /graphql; the `data` of the answer (exits on a GraphQL error)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx.post(URL, json={"query": query, "variables": variables or {}},
                      headers=headers, timeout=30).json()
    if body.get("errors"):
        sys.exit(f"GraphQL error: {body['errors']}")
    return body["data"]


login = gql("""mutation($e: String!, $p: String!) {
  login(input: {email: $e, password: $p}) {
    __typename ... on AuthPayload { accessToken } ... on InvalidCredentials { message } } }""",
            {"e": os.environ["BACKTEST_EMAIL"], "p": os.environ["BACKTEST_PASSWORD"]})["login"]
if login["__typename"] != "AuthPayload":
    sys.exit(f"sign-in refused: {login}")

created = gql("""mutation {
  createAccessToken(input: {name: "my script", scope: READ_WRITE, expiresInDays: 90}) {
    __typename ... on CreatedAccessToken { token accessToken { id name scope } }
    ... on ValidationError { problems { path message } } } }""",
              token=login["accessToken"])["createAccessToken"]
if created["__typename"] != "CreatedAccessToken":
    sys.exit(f"no token: {created}")
print(created["token"])
