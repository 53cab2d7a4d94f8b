"""Sessions over the API, on SQLite and PostgreSQL: refresh tokens rotate and work once, a
reuse ends the whole sign-in, concurrent double use by one client is not taken for theft,
logout and password changes end sessions (access tokens included) and a password change
revokes personal access tokens, and a disabled account is refused on its next request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import store.sessions
from store.users import set_active
from tests.graph.conftest import Api, errors_of
from tests.graph.test_accounts import CHANGE, LOGOUT, REFRESH, login, signup
from tests.graph.test_auth import CREATE

pytestmark = pytest.mark.asyncio

ME = "{ me { id email role } }"


async def me(api: Api, token: str) -> tuple[str, str] | None:
    """None when ``token`` is accepted, else the (code, message) of the refusal."""
    result = await api.gql(ME, token=token)
    if "errors" not in result:
        return None
    [error] = errors_of(result)
    return error


async def refresh(api: Api, token: str) -> dict[str, Any]:
    result = await api.gql(REFRESH, {"t": token})
    if result.get("errors"):
        [(code, message)] = errors_of(result)
        return {"code": code, "message": message}
    pair: dict[str, Any] = result["data"]["refreshToken"]
    return pair


async def test_rotation_and_reuse_revokes_the_family(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store.sessions, "REUSE_GRACE_S", 0.0)  # any second use is a reuse
    first = await signup(api, "ann@example.com")
    other = await login(api, "ann@example.com", "correct horse")  # another sign-in
    second = await refresh(api, first["refreshToken"])
    third = await refresh(api, second["refreshToken"])
    assert third["accessToken"] and await me(api, third["accessToken"]) is None

    stolen = await refresh(api, first["refreshToken"])  # an old one comes back
    assert stolen["code"] == "UNAUTHENTICATED"
    assert "already used" in stolen["message"] and "revoked" in stolen["message"]
    # every token of that sign-in is dead: the newest refresh token and the access tokens
    after = await refresh(api, third["refreshToken"])
    assert after["code"] == "UNAUTHENTICATED" and "used twice" in after["message"]
    for access in (first["accessToken"], third["accessToken"]):
        refused = await me(api, access)
        assert refused is not None and refused[0] == "UNAUTHENTICATED"
        assert "session has ended" in refused[1]
    # the other sign-in goes on
    assert await me(api, other["accessToken"]) is None
    assert (await refresh(api, other["refreshToken"]))["accessToken"]


async def test_a_second_use_within_the_grace_window_ends_nothing(api: Api) -> None:
    first = await signup(api, "ben@example.com")
    second = await refresh(api, first["refreshToken"])
    again = await refresh(api, first["refreshToken"])  # at once: a race, not a theft
    assert again["code"] == "UNAUTHENTICATED" and "moments ago" in again["message"]
    assert (await refresh(api, second["refreshToken"]))["accessToken"]


async def test_concurrent_double_use_one_wins(api: Api) -> None:
    first = await signup(api, "cat@example.com")
    answers = await asyncio.gather(*(refresh(api, first["refreshToken"]) for _ in range(4)))
    won = [a for a in answers if "accessToken" in a]
    lost = [a for a in answers if "code" in a]
    assert len(won) == 1 and len(lost) == 3
    assert all("moments ago" in a["message"] for a in lost)
    assert (await refresh(api, won[0]["refreshToken"]))["accessToken"]  # the session lives


async def test_logout_ends_refresh_and_access_tokens_at_once(api: Api) -> None:
    session = await signup(api, "dee@example.com")
    other = await login(api, "dee@example.com", "correct horse")
    assert await me(api, session["accessToken"]) is None
    out = await api.gql(LOGOUT, {"t": session["refreshToken"]})
    assert out["data"]["logout"]["__typename"] == "LoggedOut"
    refused = await me(api, session["accessToken"])
    assert refused is not None and refused[0] == "UNAUTHENTICATED"
    assert (await refresh(api, session["refreshToken"]))["code"] == "UNAUTHENTICATED"
    assert await me(api, other["accessToken"]) is None


async def test_password_change_ends_other_sessions_and_tokens(api: Api) -> None:
    mine = await signup(api, "eli@example.com")
    elsewhere = await login(api, "eli@example.com", "correct horse")
    created = await api.gql(CREATE, {"input": {"name": "ci", "scope": "READ"}},
                            token=mine["accessToken"])
    pat = created["data"]["createAccessToken"]["token"]
    assert await me(api, pat) is None

    done = await api.gql(CHANGE, {"i": {"currentPassword": "correct horse",
                                        "newPassword": "a brand new secret"}},
                         token=mine["accessToken"])
    fresh = done["data"]["changePassword"]
    assert fresh["__typename"] == "AuthPayload"
    # every earlier session, the caller's included, and every personal access token: refused
    for token in (elsewhere["accessToken"], mine["accessToken"], pat):
        refused = await me(api, token)
        assert refused is not None and refused[0] == "UNAUTHENTICATED", token
    for token in (elsewhere["refreshToken"], mine["refreshToken"]):
        assert "password changed" in (await refresh(api, token))["message"]
    # the answer is the session to go on with
    assert await me(api, fresh["accessToken"]) is None
    assert (await refresh(api, fresh["refreshToken"]))["accessToken"]


async def test_a_disabled_account_is_refused_on_the_next_request(api: Api) -> None:
    session = await signup(api, "fin@example.com")
    created = await api.gql(CREATE, {"input": {"name": "ci", "scope": "READ"}},
                            token=session["accessToken"])
    pat = created["data"]["createAccessToken"]["token"]
    assert await me(api, session["accessToken"]) is None and await me(api, pat) is None

    await set_active("fin@example.com", False)
    for token in (session["accessToken"], pat):
        refused = await me(api, token)
        assert refused is not None and refused[0] == "UNAUTHENTICATED"
        assert "disabled" in refused[1]
    assert "disabled" in (await refresh(api, session["refreshToken"]))["message"]

    # enabled again: personal access tokens work again; the ended sessions stay ended
    await set_active("fin@example.com", True)
    assert await me(api, pat) is None
    assert await me(api, session["accessToken"]) is not None
    assert (await refresh(api, session["refreshToken"]))["code"] == "UNAUTHENTICATED"


async def test_a_role_change_applies_on_the_next_request(api: Api) -> None:
    """The role is read per request, not taken from the access token."""
    from store.models import Role, User

    owner = await signup(api, "gus@example.com")
    await api.gql(CREATE, {"input": {"name": "ci", "scope": "READ"}}, token=owner["accessToken"])
    other = await signup(api, "hal@example.com")
    count = "{ accessTokens { totalCount } }"
    assert (await api.gql(count, token=other["accessToken"]))["data"]["accessTokens"] == {
        "totalCount": 0}
    await User.filter(email="hal@example.com").update(role=Role.ADMIN)
    assert (await api.gql(count, token=other["accessToken"]))["data"]["accessTokens"] == {
        "totalCount": 1}  # an admin sees everyone's
    await User.filter(email="hal@example.com").update(role=Role.TRADER)
    assert (await api.gql(count, token=other["accessToken"]))["data"]["accessTokens"] == {
        "totalCount": 0}
