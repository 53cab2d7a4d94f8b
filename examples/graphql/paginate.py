"""Read every one of your backtests, a page at a time: a Relay connection paged forward with
`first`/`after` (the previous page's `pageInfo.endCursor`) until `hasNextPage` is false.
Needs httpx (pip install httpx) and a personal access token (READ is enough):

    BACKTEST_URL=http://127.0.0.1:8000 BACKTEST_TOKEN=bt_pat_... python paginate.py [PAGE_SIZE]
"""

import json
import os
import sys

import httpx

URL = os.environ.get("BACKTEST_URL", "http://127.0.0.1:8000") + "/graphql"
HEADERS = {"Authorization": f"Bearer {os.environ['BACKTEST_TOKEN']}"}
PAGE = int(sys.argv[1]) if len(sys.argv) > 1 else 100  # at most 100 a page

QUERY = """query($first: Int!, $after: String) {
  backtests(first: $first, after: $after, sort: {field: CREATED, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status symbol timeframe summary { totalReturn } } } } }"""

after = None
seen = []
pages = 0
while True:
    body = httpx.post(URL, json={"query": QUERY, "variables": {"first": PAGE, "after": after}},
                      headers=HEADERS, timeout=30).json()
    if body.get("errors"):
        sys.exit(f"GraphQL error: {body['errors']}")
    connection = body["data"]["backtests"]
    pages += 1
    for edge in connection["edges"]:
        seen.append(edge["node"]["id"])
        print(json.dumps(edge["node"]), file=sys.stderr)
    if not connection["pageInfo"]["hasNextPage"]:
        break
    after = connection["pageInfo"]["endCursor"]
print(json.dumps({"pages": pages, "read": len(seen), "totalCount": connection["totalCount"]}))
