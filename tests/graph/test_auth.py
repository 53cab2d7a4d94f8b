"""Who may call what: JWT validity (expired, forged, wrong kind), personal access tokens (scope,
revocation, expiry, never exposed), and token ownership between users and admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from graph.auth import Tokens
from graph.errors import Unauthenticated
from graph.ids import encode_id
from store import tokens as store_tokens
from store.models import Role, TokenScope
from store.sessions import start_session
from store.users import get_user, set_active
from tests.graph.conftest import JWT_SECRET, Api, SignedIn, errors_of

pytestmark = pytest.mark.asyncio

ME = "{ me { id email } }"
TOKEN_FIELDS = "id ownerId name scope prefix createdAt lastUsedAt expiresAt revokedAt"
CREATE = f"""
mutation($input: CreateAccessTokenInput!) {{
  createAccessToken(input: $input) {{
    __typename
    ... on CreatedAccessToken {{ token accessToken {{ {TOKEN_FIELDS} }} }}
    ... on ValidationError {{ problems {{ path message }} }}
  }}
}}"""
LIST = f"{{ accessTokens {{ edges {{ node {{ {TOKEN_FIELDS} }} }} }} }}"
REVOKE = (f"mutation($id: ID!) {{ revokeAccessToken(id: $id) {{ __typename "
          f"... on AccessToken {{ {TOKEN_FIELDS} }} ... on NotFoundError {{ message }} }} }}")


def listed_tokens(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The tokens of a LIST answer (a connection's nodes)."""
    return [e["node"] for e in result["data"]["accessTokens"]["edges"]]


def only_error(result: dict[str, Any]) -> tuple[str, str]:
    assert result["data"] is None, result
    [error] = errors_of(result)
    return error


async def create_pat(api: Api, who: SignedIn, name: str = "ci", scope: str = "READ",
                     days: int | None = None) -> dict[str, Any]:
    result = await api.gql(CREATE, {"input": {"name": name, "scope": scope,
                                              "expiresInDays": days}}, token=who.token)
    assert "errors" not in result, result
    created: dict[str, Any] = result["data"]["createAccessToken"]
    return created


async def test_expired_access_token(api: Api) -> None:
    user = await get_user((await api.user("a@example.com")).id)
    assert user is not None
    expired = Tokens(JWT_SECRET, access_ttl_s=-1).issue(user).access_token
    code, message = only_error(await api.gql(ME, token=expired))
    assert code == "UNAUTHENTICATED"
    assert "expired" in message and "refreshToken" in message


async def test_a_verified_token_still_expires(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens keeps the viewers of tokens it verified, never past the token's expiry."""
    import graph.auth

    user = await get_user((await api.user("a@example.com")).id)
    assert user is not None
    tokens = Tokens(JWT_SECRET, access_ttl_s=60)
    token = tokens.issue(user).access_token
    assert tokens.viewer_of_access_token(token).user_id == user.id
    monkeypatch.setattr(graph.auth.jwt, "decode", None)  # kept: not decoded again
    assert tokens.viewer_of_access_token(token).user_id == user.id
    monkeypatch.undo()
    now = graph.auth.time.time()
    monkeypatch.setattr(graph.auth.time, "time", lambda: now + 61)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.viewer_of_access_token(token)


async def test_forged_token_signed_with_another_secret(api: Api) -> None:
    user = await get_user((await api.user("a@example.com")).id)
    assert user is not None
    forged = Tokens("another-secret-" + "y" * 40).issue(user)
    code, message = only_error(await api.gql(ME, token=forged.access_token))
    assert code == "UNAUTHENTICATED" and "not signed by this server" in message
    refresh = await api.gql("mutation($t: String!) { refreshToken(refreshToken: $t) "
                            "{ accessToken } }", {"t": forged.refresh_token})
    assert only_error(refresh)[0] == "UNAUTHENTICATED"
    for garbage in ("abc", "a.b.c", "Zm9v.YmFy.YmF6"):
        assert only_error(await api.gql(ME, token=garbage))[0] == "UNAUTHENTICATED"


async def test_refresh_token_is_not_an_access_token(api: Api) -> None:
    user = await get_user((await api.user("a@example.com")).id)
    assert user is not None
    pair = api.services.tokens.issue(user)
    code, message = only_error(await api.gql(ME, token=pair.refresh_token))
    assert code == "UNAUTHENTICATED"
    assert message == "a refresh token cannot be used here: send an access token"


async def test_malformed_authorization_header(api: Api) -> None:
    response = await api.client.post("/graphql", json={"query": ME},
                                     headers={"Authorization": "Token abc"})
    assert response.status_code == 200
    code, message = only_error(response.json())
    assert code == "UNAUTHENTICATED" and "Bearer <token>" in message


async def test_refresh_refused_for_disabled_account(api: Api) -> None:
    signed = await api.user("gone@example.com")
    user = await get_user(signed.id)
    assert user is not None
    pair = api.services.tokens.issue(user, *await start_session(user.id))
    assert "errors" not in await api.gql(ME, token=pair.access_token)
    await set_active(user.email, False)
    result = await api.gql("mutation($t: String!) { refreshToken(refreshToken: $t) "
                           "{ accessToken } }", {"t": pair.refresh_token})
    code, message = only_error(result)
    assert code == "UNAUTHENTICATED" and "disabled" in message
    # the access token too, at once (not when it expires)
    code, message = only_error(await api.gql(ME, token=pair.access_token))
    assert code == "UNAUTHENTICATED" and "disabled" in message


async def test_pat_is_shown_once_and_works_as_bearer(api: Api) -> None:
    alice = await api.user("alice@example.com")
    created = await create_pat(api, alice, "ci bot", "READ_WRITE", days=30)
    assert created["__typename"] == "CreatedAccessToken"
    secret = created["token"]
    meta = created["accessToken"]
    assert secret.startswith("bt_pat_") and secret.startswith(meta["prefix"])
    assert meta["scope"] == "READ_WRITE" and meta["name"] == "ci bot"
    assert meta["ownerId"] == encode_id("User", alice.id) and meta["expiresAt"] and not meta["revokedAt"]

    me = await api.gql(ME, token=secret)
    assert me["data"]["me"]["email"] == "alice@example.com"
    listed = listed_tokens(await api.gql(LIST, token=alice.token))
    assert [t["id"] for t in listed] == [meta["id"]]
    assert listed[0]["lastUsedAt"]  # recorded by the call above
    # The schema has no field that could hold the secret or its hash.
    fields = await api.gql('{ __type(name: "AccessToken") { fields { name } } }')
    names = {f["name"] for f in fields["data"]["__type"]["fields"]}
    assert not names & {"token", "tokenHash", "hash", "secret"}
    assert secret not in str(listed)


async def test_read_pat_cannot_change_anything(api: Api) -> None:
    alice = await api.user("alice@example.com")
    read = (await create_pat(api, alice, "reader", "READ"))["token"]
    other = (await create_pat(api, alice, "other", "READ"))["accessToken"]
    assert (await api.gql(ME, token=read))["data"]["me"]["email"] == "alice@example.com"
    assert len(listed_tokens(await api.gql(LIST, token=read))) == 2

    for query, variables in ((CREATE, {"input": {"name": "x"}}), (REVOKE, {"id": other["id"]})):
        code, message = only_error(await api.gql(query, variables, token=read))
        assert code == "FORBIDDEN" and "read-only" in message
    listed = listed_tokens(await api.gql(LIST, token=alice.token))
    assert all(t["revokedAt"] is None for t in listed)


async def test_read_write_pat_may_revoke_but_not_create_tokens(api: Api) -> None:
    alice = await api.user("alice@example.com")
    writer = (await create_pat(api, alice, "writer", "READ_WRITE"))["token"]
    victim = (await create_pat(api, alice, "victim"))["accessToken"]
    code, message = only_error(await api.gql(CREATE, {"input": {"name": "more"}}, token=writer))
    assert code == "FORBIDDEN" and "cannot create tokens" in message
    revoked = await api.gql(REVOKE, {"id": victim["id"]}, token=writer)
    assert revoked["data"]["revokeAccessToken"]["revokedAt"]


async def test_revoked_and_expired_pats_are_rejected(api: Api) -> None:
    alice = await api.user("alice@example.com")
    created = await create_pat(api, alice, "soon revoked", "READ_WRITE")
    assert (await api.gql(ME, token=created["token"]))["data"]["me"]
    revoked = await api.gql(REVOKE, {"id": created["accessToken"]["id"]}, token=alice.token)
    assert revoked["data"]["revokeAccessToken"]["revokedAt"]
    code, message = only_error(await api.gql(ME, token=created["token"]))
    assert code == "UNAUTHENTICATED" and "revoked" in message

    _, expired = await store_tokens.create_token(
        alice.id, "old", TokenScope.READ, datetime.now(UTC) - timedelta(seconds=1))
    assert only_error(await api.gql(ME, token=expired))[0] == "UNAUTHENTICATED"
    unknown = "bt_pat_" + "x" * 43
    assert only_error(await api.gql(ME, token=unknown))[0] == "UNAUTHENTICATED"


async def test_pat_of_disabled_account_is_rejected(api: Api) -> None:
    alice = await api.user("alice@example.com")
    secret = (await create_pat(api, alice))["token"]
    await set_active(alice.email, False)
    assert only_error(await api.gql(ME, token=secret))[0] == "UNAUTHENTICATED"


async def test_token_validation_problems(api: Api) -> None:
    alice = await api.user("alice@example.com")
    result = await create_pat(api, alice, "   ", days=0)
    assert result["__typename"] == "ValidationError"
    assert {p["path"] for p in result["problems"]} == {"input.name", "input.expiresInDays"}
    long = await create_pat(api, alice, "n" * 101, days=100_000)
    assert {p["path"] for p in long["problems"]} == {"input.name", "input.expiresInDays"}


async def test_tokens_are_private_and_admin_sees_all(api: Api) -> None:
    alice = await api.user("alice@example.com")
    bob = await api.user("bob@example.com")
    admin = await api.user("root@example.com", role=Role.ADMIN)
    a_tok = (await create_pat(api, alice, "alice's"))["accessToken"]
    b_tok = (await create_pat(api, bob, "bob's"))["accessToken"]

    bob_sees = listed_tokens(await api.gql(LIST, token=bob.token))
    assert [t["id"] for t in bob_sees] == [b_tok["id"]]
    refused = (await api.gql(REVOKE, {"id": a_tok["id"]}, token=bob.token))["data"]
    assert refused["revokeAccessToken"] == {"__typename": "NotFoundError",
                                            "message": f"access token {a_tok['id']} not found"}
    alice_sees = listed_tokens(await api.gql(LIST, token=alice.token))
    assert alice_sees[0]["revokedAt"] is None

    admin_sees = listed_tokens(await api.gql(LIST, token=admin.token))
    assert {t["id"] for t in admin_sees} == {a_tok["id"], b_tok["id"]}
    assert {t["ownerId"] for t in admin_sees} == {encode_id("User", alice.id), encode_id("User", bob.id)}
    revoked = await api.gql(REVOKE, {"id": a_tok["id"]}, token=admin.token)
    assert revoked["data"]["revokeAccessToken"]["revokedAt"]


async def test_unauthenticated_token_calls(api: Api) -> None:
    for query, variables in ((LIST, None), (CREATE, {"input": {"name": "x"}}),
                             (REVOKE, {"id": encode_id("AccessToken", 1)})):
        assert only_error(await api.gql(query, variables))[0] == "UNAUTHENTICATED"
