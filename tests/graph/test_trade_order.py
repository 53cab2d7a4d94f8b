"""Backtest.trades in an order and filtered, on SQLite and PostgreSQL: every order, direction
and filter paged forward and backward against a plain sort of the trades, totalCount counting
the filtered set, keyset cursors (kept when the filter changes, refused for another order)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.engine.rules import EXIT_REASONS
from tests.graph.conftest import Api, errors_of
from tests.graph.runs import pk
from tests.graph.stored_runs import hand_run

pytestmark = pytest.mark.asyncio

TRADES = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
      $order: TradeOrder, $filter: TradeFilter) {
  backtest(id: $id) {
    trades(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
           filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { seq side exitReason pnl return entryTime exitTime } }
    }
  }
}"""

FIELDS = {"ENTRY_TIME": "entryTime", "EXIT_TIME": "exitTime", "PNL": "pnl", "RETURN": "return"}
FILTERS: list[dict[str, Any] | None] = [
    None, {}, {"side": "SHORT"}, {"side": "LONG", "outcome": "WINNERS"}, {"outcome": "LOSERS"},
    {"exitReason": ["STOP_LOSS", "END_OF_DATA"]}, {"exitReason": []},
    {"side": "SHORT", "exitReason": ["TAKE_PROFIT"]},  # nothing
]


async def page(api: Api, token: str, run_id: str, **variables: Any) -> dict[str, Any]:
    result = await api.gql(TRADES, {"id": run_id, **variables}, token=token)
    assert "errors" not in result, result
    conn: dict[str, Any] = result["data"]["backtest"]["trades"]
    return conn


async def walk(api: Api, token: str, run_id: str, size: int, backward: bool,
               **variables: Any) -> tuple[list[dict[str, Any]], int]:
    """Every trade, page by page in one direction (in list order), and the totalCount."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        args = {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
        conn = await page(api, token, run_id, **args, **variables)
        edges = conn["edges"]
        info = conn["pageInfo"]
        assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
        assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
        pages.append([e["node"] for e in edges])
        more = info["hasPreviousPage"] if backward else info["hasNextPage"]
        assert (info["hasNextPage"] if backward else info["hasPreviousPage"]) == \
            (cursor is not None)
        if not more:
            break
        cursor = info["startCursor"] if backward else info["endCursor"]
        assert len(pages) < 20
    if backward:
        pages.reverse()
    return [t for p in pages for t in p], conn["totalCount"]


def matches(t: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    flt = flt or {}
    outcome = flt.get("outcome")
    return ((flt.get("side") in (None, t["side"]))
            and (not flt.get("exitReason") or t["exitReason"] in flt["exitReason"])
            and (outcome is None or (t["pnl"] > 0 if outcome == "WINNERS" else t["pnl"] < 0)))


async def test_every_order_and_filter_pages_like_a_plain_sort(api: Api) -> None:
    user = await api.user("a@x.io")
    run = await hand_run(user.id)
    everything, total = await walk(api, user.token, run.gid, 100, False)
    assert [t["seq"] for t in everything] == list(range(8)) and total == 8
    assert [t["exitReason"] for t in everything] == [
        EXIT_REASONS[r].upper() for r in run.trades["exit_reason"]]
    orders: list[dict[str, str] | None] = [None, {}] + [
        {"field": f, "direction": d} for f in FIELDS for d in ("ASC", "DESC")]
    for order in orders:
        key = FIELDS[(order or {}).get("field", "ENTRY_TIME")]
        desc = (order or {}).get("direction") == "DESC"
        ordered = sorted(everything, key=lambda t: (t[key], t["seq"]), reverse=desc)
        for flt in FILTERS:
            want = [t["seq"] for t in ordered if matches(t, flt)]
            for size, backward in ((3, False), (3, True), (1, True), (100, False)):
                got, count = await walk(api, user.token, run.gid, size, backward, order=order,
                                        filter=flt)
                assert ([t["seq"] for t in got], count) == (want, len(want)), \
                    (order, flt, size, backward)


async def test_ties_and_cursors(api: Api) -> None:
    user = await api.user("a@x.io")
    run = await hand_run(user.id)
    by_pnl = {"field": "PNL", "direction": "DESC"}
    first = await page(api, user.token, run.gid, first=2, order=by_pnl)
    # 12.0 (seq 5), then the three trades at 5.0 by seq, descending: 6, 2, 0
    assert [e["node"]["seq"] for e in first["edges"]] == [5, 6]
    after = first["pageInfo"]["endCursor"]
    rest = await page(api, user.token, run.gid, first=2, after=after, order=by_pnl)
    assert [e["node"]["seq"] for e in rest["edges"]] == [2, 0]
    # the same cursor under another filter: the page starts after that row all the same
    longs = await page(api, user.token, run.gid, first=5, after=after, order=by_pnl,
                       filter={"side": "LONG"})
    assert [e["node"]["seq"] for e in longs["edges"]] == [2, 0, 7, 4]
    assert longs["totalCount"] == 5
    # in trade order a cursor is the trade's position: the unordered list's cursors still work
    plain = await page(api, user.token, run.gid, first=3)
    assert [e["cursor"] for e in plain["edges"]] == [
        e["cursor"] for e in (await page(api, user.token, run.gid, first=3,
                                         filter={}))["edges"]]
    shorts = await page(api, user.token, run.gid, first=5, after=plain["pageInfo"]["endCursor"],
                        filter={"side": "SHORT"})
    assert [e["node"]["seq"] for e in shorts["edges"]] == [3, 5]


@pytest.mark.parametrize(("order", "cursor_order"), [
    ({"field": "PNL", "direction": "DESC"}, {"field": "PNL", "direction": "ASC"}),
    ({"field": "PNL"}, {"field": "RETURN"}),
    ({"field": "EXIT_TIME"}, None),
    (None, {"field": "ENTRY_TIME"}),
])
async def test_a_cursor_of_another_order_is_refused(api: Api, order: dict[str, str] | None,
                                                    cursor_order: dict[str, str] | None) -> None:
    user = await api.user("a@x.io")
    run = await hand_run(user.id)
    cursor = (await page(api, user.token, run.gid, first=2, order=cursor_order)
              )["pageInfo"]["endCursor"]
    for direction in ("after", "before"):
        result = await api.gql(TRADES, {"id": run.gid, direction: cursor, "order": order},
                               token=user.token)
        ((code, message),) = errors_of(result)
        assert code == "BAD_USER_INPUT" and ("another order" in message
                                             or "invalid cursor" in message), message


@pytest.mark.parametrize("cursor", [
    '["pnl",true,null,1]', '["pnl",true,"x",1]', '["pnl",true,1e400,1]', '["pnl",true,1,-1]',
    '["pnl",true,1,99999999999999999999]', '["entry_time",false,1.5,1]', '[-2]', '["x"]', '{}',
    '["pnl",true,1]',
])
async def test_forged_cursors_are_bad_user_input(api: Api, cursor: str) -> None:
    import base64
    user = await api.user("a@x.io")
    run = await hand_run(user.id)
    forged = base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")
    order = {"field": "ENTRY_TIME"} if "entry_time" in cursor else \
        {"field": "PNL", "direction": "DESC"} if "pnl" in cursor else None
    result = await api.gql(TRADES, {"id": run.gid, "after": forged, "order": order},
                           token=user.token)
    assert [code for code, _ in errors_of(result)] == ["BAD_USER_INPUT"], result


async def test_another_users_trades_are_not_readable(api: Api) -> None:
    alice, bob = await api.user("a@x.io"), await api.user("b@x.io")
    run = await hand_run(alice.id)
    result = await api.gql(TRADES, {"id": run.gid, "filter": {"side": "LONG"}}, token=bob.token)
    assert errors_of(result) == [("NOT_FOUND", f"backtest {run.gid} not found")]
    assert pk(run.gid) == run.id
