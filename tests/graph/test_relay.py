"""Relay conventions: global ids and ``node``, every list a connection with ``totalCount`` and
full ``pageInfo``, ids and cursors that never answer INTERNAL (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType

from graph.errors import BadUserInput
from graph.ids import MAX_PK, decode_id, encode_id
from graph.schema import schema
from graph.types_common import offset_window
from store.strategies import create_strategy
from tests.graph.conftest import Api, errors_of
from tests.graph.runs import SMA

# Plain lists that stay plain, and why (checked: each must still exist as a list).
NOT_CONNECTIONS = {
    # a mutation's or an event's bounded payload, not a list a client pages through
    ("ValidationError", "problems"), ("StrategyValidationError", "problems"),
    ("TransactionFileProblems", "problems"),  # the first 1,000; totalCount beside it
    ("CandleFileProblems", "problems"),  # a refused candle file's problems (one per file)
    ("ExchangeMarkets", "symbols"),  # search results, at most `first` (100); totalCount beside
    ("DeletedStrategy", "deletedIds"),
    ("SweepEvent", "top"),  # the best rows, in a progress event
    # small value lists inside one object
    ("Strategy", "parameters"), ("TransactionImport", "symbols"), ("Replay", "importIds"),
    ("ReplayTotals", "droppedRows"),  # capped at 1,000 in the stored result
    ("MarketDataCoverage", "missing"),  # the gaps of one series
    ("CandleSeries", "indicators"),  # the indicators asked for, in request order
    ("ExchangeImport", "symbols"),  # the symbols asked for (at most 20)
    ("Query", "exchangeKeys"),  # at most 20 per account (graph.exchange_keys)
    ("Query", "auditActions"),  # the fixed list of action names (store.audit.ACTIONS)
    # a backtest's analysis: small tables of one run, and a histogram's columns
    ("BacktestAnalysis", "monthlyReturns"), ("BacktestAnalysis", "yearlyReturns"),  # per period
    ("BacktestAnalysis", "drawdownPeriods"),  # at most `top` (50)
    ("BacktestAnalysis", "byExitReason"), ("BacktestAnalysis", "bySide"),  # one per enum value
    ("PnlHistogram", "counts"),  # beside its edges, at most `bins` (100)
    ("TradeColumns", "exitReasons"),  # a column beside the trades' other columns
    # node(ids:) answers in the order of its argument
    ("Query", "nodes"),
    # the few example documents shipped in examples/ (public documentation, like strategySchema)
    ("Query", "strategyTemplates"),
}


def _unwrap(t: Any) -> Any:
    while isinstance(t, GraphQLNonNull):
        t = t.of_type
    return t


def _is_series(t: GraphQLList) -> bool:
    """A columnar chart array: a list of floats (``Series``, candles, indicator values)."""
    inner = _unwrap(t.of_type)
    return isinstance(inner, GraphQLScalarType) and inner.name == "Float"


def test_every_list_field_is_a_connection() -> None:
    gql = schema._schema
    lists, bad = set(), []
    for name, t in gql.type_map.items():
        if name.startswith("__") or not isinstance(t, GraphQLObjectType) or name == "Subscription":
            continue
        if name.endswith("Connection"):
            assert {"edges", "pageInfo", "totalCount"} <= set(t.fields), name
        if name.endswith("Edge"):
            continue  # (a connection's own edges)
        for field_name, field in t.fields.items():
            ft = _unwrap(field.type)
            if isinstance(ft, GraphQLList) and not (name.endswith("Connection")
                                                    and field_name == "edges"):
                if _is_series(ft):
                    continue
                lists.add((name, field_name))
                if (name, field_name) not in NOT_CONNECTIONS:
                    bad.append(f"{name}.{field_name}")
            if isinstance(ft, GraphQLObjectType) and ft.name.endswith("Connection"):
                assert {"first", "after", "last", "before"} <= set(field.args), \
                    f"{name}.{field_name}"
    assert not bad, f"plain lists (make them connections, or justify them here): {bad}"
    assert lists >= NOT_CONNECTIONS, NOT_CONNECTIONS - lists  # stale exceptions
    page_info = gql.type_map["PageInfo"]
    assert isinstance(page_info, GraphQLObjectType)
    assert set(page_info.fields) == {"hasNextPage", "hasPreviousPage", "startCursor",
                                     "endCursor"}


def test_node_interface_is_implemented_by_every_object_with_an_id() -> None:
    gql = schema._schema
    missing = [name for name, t in gql.type_map.items()
               if isinstance(t, GraphQLObjectType) and not name.startswith("__")
               and "id" in t.fields and not name.endswith("Event")
               and name != "StrategyVersion"
               and name != "AuditEntry"  # a line of the append-only log, read via auditLog
               and "Node" not in {i.name for i in t.interfaces}]
    assert not missing, missing


# --- ids --------------------------------------------------------------------------------------


def test_decode_id_round_trip_and_bare_ids() -> None:
    assert decode_id(encode_id("Backtest", 12), "Backtest") == ("Backtest", 12)
    assert decode_id(encode_id("Backtest", 12)) == ("Backtest", 12)
    assert decode_id("12", "Backtest") == ("Backtest", 12)  # transition: a bare id
    assert decode_id(str(MAX_PK), "Strategy") == ("Strategy", MAX_PK)


@pytest.mark.parametrize("value", [
    "²", "1²", "٣", "3000000000", str(MAX_PK + 1), "", " 1", "1 ", "-1", "+1", "0", "01x",
    "x" * 10_000, "12" * 200, encode_id("Backtest", 2**63), encode_id("Backtest", 0),
    base64.b64encode(b"Backtest:-1").decode(), base64.b64encode(b"Backtest:\xb2").decode(),
    base64.b64encode(b"nocolon").decode(), base64.b64encode(b":1").decode(), "%%%",
    encode_id("Strategy", 1),  # another type
])
def test_decode_id_refuses_malformed_ids(value: str) -> None:
    with pytest.raises(BadUserInput) as err:
        decode_id(value, "Backtest")
    assert "id" in err.value.message


def test_bare_id_needs_one_type() -> None:
    with pytest.raises(BadUserInput):
        decode_id("12", "Backtest", "Sweep")


def test_offset_window() -> None:
    assert offset_window(5, 2)[:2] == (0, 2)
    start, end, info = offset_window(5, last=2)
    assert (start, end, info.has_previous_page, info.has_next_page) == (3, 5, True, False)
    cursor = base64.urlsafe_b64encode(b"[3]").decode().rstrip("=")
    start, end, info = offset_window(5, last=2, before=cursor)
    assert (start, end, info.has_previous_page, info.has_next_page) == (1, 3, True, True)
    with pytest.raises(BadUserInput):
        offset_window(5, first=1, last=1)
    with pytest.raises(BadUserInput):
        offset_window(5, first=101)


# --- through the API, on each backend ---------------------------------------------------------

BAD_IDS = ["²", "3000000000", "", "9" * 400, encode_id("Backtest", 2**63),
           encode_id("Sweep", 3_000_000_000)]


def _forged(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


FORGED = [_forged(2**63), _forged(3_000_000_000), _forged("x"), _forged(None),
          _forged(1.5), _forged(True), _forged([1]), _forged({"a": 1})]


@pytest.mark.asyncio
async def test_node_fetches_any_own_object_and_hides_others(api: Api) -> None:
    alice, bob = await api.user("alice@x.io"), await api.user("bob@x.io")
    record = await create_strategy(alice.id, "sma", SMA)
    sid = encode_id("Strategy", record.id)
    query = "query($id: ID!) { node(id: $id) { __typename id ... on Strategy { name } } }"
    mine = await api.gql(query, {"id": sid}, token=alice.token)
    assert mine["data"]["node"] == {"__typename": "Strategy", "id": sid, "name": "sma"}
    theirs = await api.gql(query, {"id": sid}, token=bob.token)
    assert "errors" not in theirs and theirs["data"]["node"] is None
    me = await api.gql("{ me { id } }", token=alice.token)
    assert me["data"]["me"]["id"] == encode_id("User", alice.id)
    again = await api.gql(query, {"id": me["data"]["me"]["id"]}, token=alice.token)
    assert again["data"]["node"]["__typename"] == "User"
    many = await api.gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                         {"ids": [sid, encode_id("Strategy", record.id + 99)]},
                         token=alice.token)
    assert many["data"]["nodes"] == [{"id": sid}, None]
    strategy = await api.gql("query($id: ID!) { strategy(id: $id) { id } }", {"id": sid},
                             token=alice.token)
    assert strategy["data"]["strategy"]["id"] == sid


@pytest.mark.parametrize("field", ["node", "backtest", "strategy", "sweep", "replay",
                                   "syncJob", "transactionImport"])
@pytest.mark.asyncio
async def test_malformed_ids_are_bad_user_input(api: Api, field: str) -> None:
    alice = await api.user("alice@x.io")
    for value in BAD_IDS:
        result = await api.gql(f"query($id: ID!) {{ {field}(id: $id) {{ id }} }}",
                               {"id": value}, token=alice.token)
        codes = [code for code, _ in errors_of(result)]
        assert codes == ["BAD_USER_INPUT"], (field, value, result)


@pytest.mark.parametrize("mutation", ["cancelBacktest", "cancelSweep", "cancelReplay",
                                      "cancelSyncJob", "cancelJob", "deleteTransactionImport",
                                      "deleteStrategy"])
@pytest.mark.asyncio
async def test_malformed_ids_in_mutations_are_bad_user_input(api: Api, mutation: str) -> None:
    alice = await api.user("alice@x.io")
    for value in BAD_IDS:
        result = await api.gql(f"mutation($id: ID!) {{ {mutation}(id: $id) {{ __typename }} }}",
                               {"id": value}, token=alice.token)
        codes = [code for code, _ in errors_of(result)]
        assert codes == ["BAD_USER_INPUT"], (mutation, value, result)


LISTS = {
    "jobs": "jobs(after: $c) { totalCount }",
    "backtests": "backtests(after: $c) { totalCount }",
    "strategies": "strategies(after: $c) { totalCount }",
    "sweeps": "sweeps(after: $c) { totalCount }",
    "replays": "replays(after: $c) { totalCount }",
    "syncJobs": "syncJobs(after: $c) { totalCount }",
    "transactions": "transactions(after: $c) { totalCount }",
    "transactionImports": "transactionImports(after: $c) { totalCount }",
    "symbols": "symbols(after: $c) { totalCount }",
    "accessTokens": "accessTokens(after: $c) { totalCount }",
}


@pytest.mark.parametrize("name", sorted(LISTS))
@pytest.mark.asyncio
async def test_forged_cursors_are_bad_user_input(api: Api, name: str) -> None:
    alice = await api.user("alice@x.io")
    for cursor in [*FORGED, _forged("2020-01-01T00:00:00", "backtest", 2**63),
                   _forged("created", True, None, 2**63), _forged(2**63, 2**63),
                   # well-formed keys with hostile times: naive, at the ends of the calendar
                   _forged("2020-01-01T00:00:00", "backtest", 1),
                   _forged("2020-01-01T00:00:00", 1),
                   _forged("9999-12-31T23:59:59-14:00", "sweep", 1),
                   _forged("9999-12-31T23:59:59-14:00", 1),
                   _forged("0001-01-01T00:00:00+14:00", "sync", 1),
                   _forged("0001-01-01T00:00:00+14:00", 1),
                   _forged("created", True, None, 1), _forged("sharpe", True, 1e308, 1),
                   _forged(-(2**53), 1), _forged(2**53, 1), _forged(1e308, 1)]:
        result = await api.gql(f"query($c: String) {{ {LISTS[name]} }}", {"c": cursor},
                               token=alice.token)
        codes = {code for code, _ in errors_of(result)}
        assert codes <= {"BAD_USER_INPUT"}, (name, cursor, result)


@pytest.mark.asyncio
async def test_connections_page_both_ways(api: Api) -> None:
    alice = await api.user("alice@x.io")
    for i in range(3):
        await create_strategy(alice.id, f"s{i}", SMA)
    page = await api.gql("{ strategies(first: 2) { totalCount edges { cursor node { name } } "
                         "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
                         token=alice.token)
    conn = page["data"]["strategies"]
    assert conn["totalCount"] == 3 and len(conn["edges"]) == 2
    info = conn["pageInfo"]
    assert info["hasNextPage"] and not info["hasPreviousPage"]
    assert info["startCursor"] == conn["edges"][0]["cursor"]
    assert info["endCursor"] == conn["edges"][-1]["cursor"]
    rest = await api.gql("query($c: String) { strategies(after: $c) { edges { node { name } } "
                         "pageInfo { hasNextPage hasPreviousPage } } }",
                         {"c": info["endCursor"]}, token=alice.token)
    assert len(rest["data"]["strategies"]["edges"]) == 1
    assert rest["data"]["strategies"]["pageInfo"] == {"hasNextPage": False,
                                                     "hasPreviousPage": True}
    versions = await api.gql("{ strategies(first: 1) { edges { node { versions(last: 1) { "
                             "totalCount edges { node { version } } } } } } }",
                             token=alice.token)
    node = versions["data"]["strategies"]["edges"][0]["node"]
    assert node["versions"]["totalCount"] == 1


@pytest.mark.asyncio
async def test_sync_jobs_list_and_progress_argument(api: Api) -> None:
    alice = await api.user("alice@x.io")
    result = await api.gql("{ syncJobs(first: 5) { totalCount edges { node { id } } "
                           "pageInfo { hasNextPage } } }", token=alice.token)
    assert result["data"]["syncJobs"] == {"totalCount": 0, "edges": [],
                                          "pageInfo": {"hasNextPage": False}}
    assert "marketDataSyncProgress(id: ID!)" in schema.as_str()


@pytest.mark.asyncio
async def test_page_size_is_capped_everywhere(api: Api) -> None:
    alice = await api.user("alice@x.io")
    for query in ("{ accessTokens(first: 100000) { totalCount } }",
                  "{ symbols(first: 100000) { totalCount } }",
                  "{ syncJobs(first: 100000) { totalCount } }",
                  "{ strategies(first: 100000) { totalCount } }"):
        result = await api.gql(query, token=alice.token)
        assert [code for code, _ in errors_of(result)] == ["BAD_USER_INPUT"], query


# --- last/before: walking back gives the same list as walking forward ------------------------


async def walk(api: Api, token: str, field: str, args: str = "", size: int = 2,
               backward: bool = False) -> list[str]:
    """Every node id of the list ``field``, page by page of ``size``, forward (first/after)
    or backward (last/before, then reversed to the list order)."""
    extra = f", {args}" if args else ""
    direction = "last: $n, before: $c" if backward else "first: $n, after: $c"
    query = (f"query($n: Int, $c: String) {{ {field}({direction}{extra}) {{ totalCount "
             "edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor "
             "endCursor } } }")
    pages: list[list[str]] = []
    cursor = None
    while True:
        result = await api.gql(query, {"n": size, "c": cursor}, token=token)
        assert "errors" not in result, result
        conn = result["data"][field]
        ids = [e["node"]["id"] for e in conn["edges"]]
        info = conn["pageInfo"]
        assert info["startCursor"] == (conn["edges"][0]["cursor"] if ids else None)
        assert info["endCursor"] == (conn["edges"][-1]["cursor"] if ids else None)
        pages.append(ids)
        if backward:
            assert info["hasNextPage"] == (cursor is not None), info
            if not info["hasPreviousPage"]:
                break
            cursor = info["startCursor"]
        else:
            assert info["hasPreviousPage"] == (cursor is not None), info
            if not info["hasNextPage"]:
                break
            cursor = info["endCursor"]
        assert len(pages) < 50
    if backward:
        pages.reverse()
    found = [i for page in pages for i in page]
    assert len(found) == conn["totalCount"], (field, found)
    return found


@pytest.mark.asyncio
async def test_every_list_pages_backward_like_forward(api: Api) -> None:
    from store.backtest_results import save_results
    from store.leases import claim
    from store.transaction_imports import NewImport, save_import
    from tests.graph.test_jobs import KINDS, make_job
    from tests.graph.test_replays import EXCHANGE, history
    from tests.store.test_backtests import new as new_backtest
    from tests.store.test_backtests import results as stored_results

    alice = await api.user("alice@x.io")
    for i in range(5):
        await create_strategy(alice.id, f"s{i}", SMA)
    for _ in range(2):
        for kind in KINDS:
            await make_job(kind, alice.id)
    from store.backtests import create_backtest
    for sharpe in (0.3, None, 1.2, 0.3, None):
        record = await create_backtest(new_backtest(alice.id))
        await claim("backtest", record.id, "test", 60.0)
        assert await save_results(record.id, stored_results(sharpe))
    for n in (7, 3, 4):
        await save_import(NewImport(alice.id, f"h{n}", "plain_csv", EXCHANGE, None, history(n)))

    lists = [("strategies", ""), ("jobs", ""), ("sweeps", ""), ("replays", ""),
             ("syncJobs", ""), ("transactionImports", ""), ("transactions", ""),
             ("backtests", ""), ("backtests", "sort: {field: SHARPE, direction: DESC}"),
             ("backtests", "sort: {field: SHARPE, direction: ASC}"),
             ("backtests", "sort: {field: CREATED, direction: ASC}")]
    for field, args in lists:
        for size in (1, 3):
            forward = await walk(api, alice.token, field, args, size)
            backward = await walk(api, alice.token, field, args, size, backward=True)
            assert forward == backward, (field, args, size)
            assert len(forward) == len(set(forward)) > 1, (field, forward)


@pytest.mark.asyncio
async def test_admins_see_the_owner_of_objects(api: Api) -> None:
    from store.models import Role
    from tests.graph.test_jobs import make_job

    alice = await api.user("alice@x.io")
    admin = await api.user("root@x.io", Role.ADMIN)
    record = await create_strategy(alice.id, "sma", SMA)
    sync = await make_job("sync", alice.id)
    query = """query($s: ID!, $j: ID!) {
      strategy(id: $s) { owner { id email } }
      node(id: $j) { ... on Job { owner { email } } } }"""
    ids = {"s": encode_id("Strategy", record.id), "j": encode_id("SyncJob", sync)}
    seen = await api.gql(query, ids, token=admin.token)
    assert seen["data"] == {"strategy": {"owner": {"id": encode_id("User", alice.id),
                                                   "email": "alice@x.io"}},
                            "node": {"owner": {"email": "alice@x.io"}}}
    own = await api.gql(query, ids, token=alice.token)
    assert own["data"] == {"strategy": {"owner": None}, "node": {"owner": None}}
