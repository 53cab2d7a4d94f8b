"""The audit log over the API, on SQLite and PostgreSQL: one test per family of events
(sign-in, failed sign-in, refresh reuse, logout, password change; tokens; roles and account
states; strategy delete; job start and cancel; imports), each checking the entry's actor, IP,
request id, target and outcome, and that no secret is in it; then the admin API: ``users``
with filters and pages, ``setUserRole``/``setUserActive`` and their rules, ``auditLog`` with
filters and keyset pages."""

from __future__ import annotations

import json
from typing import Any

import pytest

import store.sessions
from graph.ids import encode_id
from store import audit as store_audit
from store.models import AuditLog, Role
from store.strategies import create_strategy
from tests.domain.transactions.helpers import fixture
from tests.graph import runs
from tests.graph.conftest import Api, errors_of
from tests.graph.runs import pool, run_api

__all__ = ["pool", "run_api"]  # fixtures
from tests.graph.test_accounts import CHANGE, LOGOUT, REFRESH, login, signup
from tests.graph.test_auth import CREATE, REVOKE
from tests.graph.test_market_files import T0, kline_rows
from tests.graph.test_market_files import upload as upload_candles
from tests.graph.test_transactions_api import markets, upload

pytestmark = pytest.mark.asyncio

PASSWORD = "correct horse"
ROLE = """mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) {
  __typename ... on User { id role } ... on ValidationError { problems { path message } }
  ... on NotFoundError { message } } }"""
ACTIVE = """mutation($id: ID!, $active: Boolean!) { setUserActive(userId: $id, active: $active) {
  __typename ... on User { id isActive } ... on ValidationError { problems { path message } }
  ... on NotFoundError { message } } }"""
USERS = """query($filter: UserFilter, $first: Int, $after: String) {
  users(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { email role isActive } } } }"""
LOG = """query($filter: AuditFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { node { id action outcome userId actorEmail targetType targetId ipAddress
                   requestId createdAt details } } } }"""


async def entries(action: str) -> list[AuditLog]:
    return list(await AuditLog.filter(action=action).order_by("id"))


def no_secret(entry: AuditLog, *secrets: str) -> None:
    text = json.dumps(entry.details) + entry.actor_email + (entry.entity_id or "")
    for secret in secrets:
        assert secret not in text, (entry.action, secret)


def well_formed(entry: AuditLog) -> None:
    """Every entry of a request names where it came from and its request."""
    assert entry.ip_address and entry.request_id and entry.created_at is not None


async def test_sign_in_events(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store.sessions, "REUSE_GRACE_S", 0.0)
    first = await signup(api, "ann@example.com", PASSWORD)
    [ok] = await entries("auth.login")
    well_formed(ok)
    assert (ok.actor_email, ok.outcome, ok.entity_type) == ("ann@example.com", "ok", "User")
    assert ok.user_id is not None and ok.entity_id == str(ok.user_id)
    no_secret(ok, PASSWORD, first["accessToken"], first["refreshToken"])

    wrong = await login(api, "Ann@Example.com", "not the password")
    assert wrong["__typename"] == "InvalidCredentials"
    await login(api, "nobody@example.com", "whatever pw")
    failed = await entries("auth.login_failed")
    assert [(e.actor_email, e.outcome, e.user_id) for e in failed] == [
        ("Ann@Example.com", "failed", None), ("nobody@example.com", "failed", None)]
    for e in failed:
        well_formed(e)
        no_secret(e, "not the password", "whatever pw")

    second = await api.gql(REFRESH, {"t": first["refreshToken"]})
    assert "errors" not in second
    reused = await api.gql(REFRESH, {"t": first["refreshToken"]})
    assert errors_of(reused)[0][0] == "UNAUTHENTICATED"
    [reuse] = await entries("auth.refresh_reuse")
    well_formed(reuse)
    assert (reuse.user_id, reuse.outcome, reuse.entity_type) == (ok.user_id, "denied", "Session")
    assert reuse.actor_email == "ann@example.com" and reuse.entity_id
    no_secret(reuse, first["refreshToken"])

    other = await login(api, "ann@example.com", PASSWORD)
    out = await api.gql(LOGOUT, {"t": other["refreshToken"]})
    assert out["data"]["logout"]["__typename"] == "LoggedOut", out
    [logout] = await entries("auth.logout")
    well_formed(logout)
    assert (logout.user_id, logout.outcome, logout.entity_type) == (ok.user_id, "ok", "Session")


async def test_password_change(api: Api) -> None:
    session = await signup(api, "bob@example.com", PASSWORD)
    token = session["accessToken"]
    bad = await api.gql(CHANGE, {"i": {"currentPassword": "nope nope",
                                           "newPassword": "battery staple"}}, token=token)
    assert bad["data"]["changePassword"]["__typename"] == "InvalidCredentials"
    good = await api.gql(CHANGE, {"i": {"currentPassword": PASSWORD,
                                            "newPassword": "battery staple 9"}}, token=token)
    assert good["data"]["changePassword"]["__typename"] == "AuthPayload", good
    failed, done = await entries("auth.password_change")
    for e in (failed, done):
        well_formed(e)
        assert e.actor_email == "bob@example.com" and e.entity_type == "User"
        no_secret(e, PASSWORD, "nope nope", "battery staple")
    assert (failed.outcome, done.outcome) == ("failed", "ok")


async def test_token_create_and_revoke(api: Api) -> None:
    session = await signup(api, "cat@example.com", PASSWORD)
    made = await api.gql(CREATE, {"input": {"name": "ci", "scope": "READ_WRITE"}},
                         token=session["accessToken"])
    created = made["data"]["createAccessToken"]
    secret, token_id = created["token"], created["accessToken"]["id"]
    gone = await api.gql(REVOKE, {"id": token_id}, token=session["accessToken"])
    assert gone["data"]["revokeAccessToken"]["__typename"] == "AccessToken"
    [create] = await entries("token.create")
    [revoke] = await entries("token.revoke")
    for e in (create, revoke):
        well_formed(e)
        assert (e.actor_email, e.outcome, e.entity_type) == ("cat@example.com", "ok",
                                                             "AccessToken")
        assert encode_id("AccessToken", int(e.entity_id or 0)) == token_id
        no_secret(e, secret)
    assert create.details["scope"] == "read_write" and create.details["name"] == "ci"


async def test_role_and_active_changes(api: Api) -> None:
    admin = await api.user("root@example.com", Role.ADMIN)
    bob = await api.user("bob@example.com", Role.TRADER)
    bob_id = encode_id("User", bob.id)
    result = await api.gql(ROLE, {"id": bob_id, "role": "VIEWER"}, token=admin.token)
    assert result["data"]["setUserRole"] == {"__typename": "User", "id": bob_id,
                                             "role": "VIEWER"}
    # applies from bob's next request
    denied = await api.gql("mutation { deleteStrategy(id: \"1\") { __typename } }",
                           token=bob.token)
    assert errors_of(denied)[0][0] == "FORBIDDEN"
    [change] = await entries("user.role_change")
    well_formed(change)
    assert (change.actor_email, change.entity_type, change.entity_id, change.outcome) == (
        "root@example.com", "User", str(bob.id), "ok")
    assert change.details == {"email": "bob@example.com", "from": "trader", "to": "viewer"}
    # the same role again changes nothing and writes nothing
    await api.gql(ROLE, {"id": bob_id, "role": "VIEWER"}, token=admin.token)
    assert len(await entries("user.role_change")) == 1

    off = await api.gql(ACTIVE, {"id": bob_id, "active": False}, token=admin.token)
    assert off["data"]["setUserActive"]["isActive"] is False
    gone = await api.gql("{ me { id } }", token=bob.token)
    assert errors_of(gone)[0][0] == "UNAUTHENTICATED"
    on = await api.gql(ACTIVE, {"id": bob_id, "active": True}, token=admin.token)
    assert on["data"]["setUserActive"]["isActive"] is True
    assert [(e.details["active"], e.outcome) for e in await entries("user.active_change")] == [
        (False, "ok"), (True, "ok")]


async def test_admin_cannot_lock_themselves_or_the_last_admin_out(api: Api) -> None:
    admin = await api.user("root@example.com", Role.ADMIN)
    me = encode_id("User", admin.id)
    for document, variables, field in (
            (ROLE, {"id": me, "role": "TRADER"}, "setUserRole"),
            (ACTIVE, {"id": me, "active": False}, "setUserActive")):
        result = await api.gql(document, variables, token=admin.token)
        payload = result["data"][field]
        assert payload["__typename"] == "ValidationError", result
        assert payload["problems"][0]["path"] == "userId"
        assert "your own" in payload["problems"][0]["message"]
    refused = await AuditLog.filter(outcome="denied", action__startswith="user.").count()
    assert refused == 2
    # another admin may demote this one, but not the last one left
    second = await api.user("two@example.com", Role.ADMIN)
    demoted = await api.gql(ROLE, {"id": me, "role": "TRADER"}, token=second.token)
    assert demoted["data"]["setUserRole"]["role"] == "TRADER"
    from store import user_admin
    with pytest.raises(user_admin.ChangeRefused, match="last active admin"):
        await user_admin.set_role(second.id, Role.VIEWER)  # the command line has no caller
    with pytest.raises(user_admin.ChangeRefused, match="last active admin"):
        await user_admin.set_active(second.id, False)
    missing = await api.gql(ROLE, {"id": encode_id("User", 99999), "role": "VIEWER"},
                            token=second.token)
    assert missing["data"]["setUserRole"]["__typename"] == "NotFoundError"


async def test_strategy_delete(api: Api) -> None:
    user = await api.user("dee@example.com")
    record = await create_strategy(user.id, "doomed", runs.SMA)
    result = await api.gql("mutation($id: ID!) { deleteStrategy(id: $id) { __typename } }",
                           {"id": encode_id("Strategy", record.id)}, token=user.token)
    assert result["data"]["deleteStrategy"]["__typename"] == "DeletedStrategy", result
    [e] = await entries("strategy.delete")
    well_formed(e)
    assert (e.actor_email, e.entity_type, e.entity_id, e.outcome) == (
        "dee@example.com", "Strategy", str(record.id), "ok")
    assert e.details["name"] == "doomed"


async def test_job_start_and_cancel(run_api: Api) -> None:
    api = run_api
    user, strategy_id = await runs.seed(api, "eve@example.com")
    run_id = await runs.start(api, user.token, strategy_id)
    cancel = await api.gql("mutation($id: ID!) { cancelJob(id: $id) { __typename } }",
                           {"id": run_id}, token=user.token)
    assert cancel["data"]["cancelJob"]["__typename"] == "Backtest", cancel
    await runs.wait_for(api, user.token, "backtest", run_id)
    [start] = await entries("job.start")
    [stop] = await entries("job.cancel")
    for e in (start, stop):
        well_formed(e)
        assert (e.actor_email, e.entity_type, e.entity_id, e.outcome) == (
            "eve@example.com", "Backtest", str(runs.pk(run_id)), "ok")
        assert e.details["kind"] == "backtest"
    missing = await api.gql("mutation($id: ID!) { cancelBacktest(id: $id) { __typename } }",
                            {"id": encode_id("Backtest", 99999)}, token=user.token)
    assert missing["data"]["cancelBacktest"]["__typename"] == "NotFoundError"
    assert (await entries("job.cancel"))[-1].outcome == "failed"


async def test_imports(api: Api) -> None:
    await markets("BTC/USDT", "ETH/USDT", "ETH/BTC")
    user = await api.user("fay@example.com")
    result = await upload(api, user.token, fixture("plain.csv"), "PLAIN_CSV", "mine.csv")
    node = result["data"]["importTransactions"]
    assert node["__typename"] == "TransactionImport", result
    [e] = await entries("import.create")
    well_formed(e)
    assert (e.actor_email, e.entity_type, e.outcome) == ("fay@example.com",
                                                         "TransactionImport", "ok")
    assert e.details == {"kind": "transactions", "filename": "mine.csv"}

    opens = [T0 + i * 60_000 for i in range(3)]
    done = await upload_candles(api, user.token, kline_rows(opens).encode())
    assert done["data"]["importCandles"]["__typename"] == "CandleImport", done
    bad = await upload_candles(api, user.token, b"not,a,kline\n")
    assert bad["data"]["importCandles"]["__typename"] == "CandleFileProblems", bad
    _, candles, refused = await entries("import.create")
    for c in (candles, refused):
        well_formed(c)
        assert (c.actor_email, c.entity_type) == ("fay@example.com", "Candles")
        assert c.details["kind"] == "candles" and c.details["filename"] == "SOLUSDT-1m.csv"
    assert (candles.outcome, candles.entity_id) == ("ok", "binance:SOL/USDT:1m")
    assert (candles.details["count"], candles.details["new"]) == (3, 3)
    assert refused.outcome == "failed"


async def test_users_list_filters_and_pages(api: Api) -> None:
    admin = await api.user("root@example.com", Role.ADMIN)
    for i in range(5):
        await api.user(f"trader{i}@example.com")
    await api.user("looker@example.com", Role.VIEWER)

    async def page(**variables: Any) -> dict[str, Any]:
        result = await api.gql(USERS, variables, token=admin.token)
        assert "errors" not in result, result
        users: dict[str, Any] = result["data"]["users"]
        return users

    everyone = await page()
    assert everyone["totalCount"] == 7
    assert everyone["edges"][0]["node"]["email"] == "looker@example.com"  # newest first
    viewers = await page(filter={"role": "VIEWER"})
    assert [e["node"]["email"] for e in viewers["edges"]] == ["looker@example.com"]
    found = await page(filter={"search": "TRADER3"})
    assert [e["node"]["email"] for e in found["edges"]] == ["trader3@example.com"]
    first = await page(filter={"search": "trader"}, first=3)
    assert first["pageInfo"]["hasNextPage"] and first["totalCount"] == 5
    rest = await page(filter={"search": "trader"}, first=3, after=first["pageInfo"]["endCursor"])
    names = [e["node"]["email"] for e in first["edges"] + rest["edges"]]
    assert names == [f"trader{i}@example.com" for i in (4, 3, 2, 1, 0)]
    assert not rest["pageInfo"]["hasNextPage"]
    inactive = await page(filter={"active": False})
    assert inactive["totalCount"] == 0


async def test_audit_log_filters_and_pages(api: Api) -> None:
    admin = await api.user("root@example.com", Role.ADMIN)
    await signup(api, "gus@example.com", PASSWORD)
    for _ in range(3):
        await login(api, "gus@example.com", "wrong password")
    await login(api, "gus@example.com", PASSWORD)

    async def log(**variables: Any) -> dict[str, Any]:
        result = await api.gql(LOG, variables, token=admin.token)
        assert "errors" not in result, result
        found: dict[str, Any] = result["data"]["auditLog"]
        return found

    everything = await log()
    actions = [e["node"]["action"] for e in everything["edges"]]
    assert actions == ["auth.login"] + ["auth.login_failed"] * 3 + ["auth.login"]
    failed = await log(filter={"outcome": "failed"})
    assert failed["totalCount"] == 3
    assert {e["node"]["actorEmail"] for e in failed["edges"]} == {"gus@example.com"}
    by_action = await log(filter={"action": "auth.login", "actorEmail": "GUS@"})
    assert by_action["totalCount"] == 2
    gus = by_action["edges"][0]["node"]["userId"]
    assert (await log(filter={"userId": gus}))["totalCount"] == 2  # failures name no account
    newest = everything["edges"][0]["node"]["createdAt"]
    assert (await log(filter={"since": newest}))["totalCount"] >= 1
    assert (await log(filter={"until": "2000-01-01T00:00:00Z"}))["totalCount"] == 0
    first = await log(first=2)
    second = await log(first=2, after=first["pageInfo"]["endCursor"])
    third = await log(first=2, after=second["pageInfo"]["endCursor"])
    ids = [e["node"]["id"] for p in (first, second, third) for e in p["edges"]]
    assert ids == [e["node"]["id"] for e in everything["edges"]]
    assert first["pageInfo"]["hasNextPage"] and not third["pageInfo"]["hasNextPage"]
    assert second["pageInfo"]["hasPreviousPage"]
    bad = await api.gql(LOG, {"filter": {"outcome": "maybe"}}, token=admin.token)
    assert errors_of(bad)[0][0] == "BAD_USER_INPUT" and "outcome" in errors_of(bad)[0][1]
    actions_list = await api.gql("{ auditActions }", token=admin.token)
    assert set(actions_list["data"]["auditActions"]) == set(store_audit.ACTIONS)
