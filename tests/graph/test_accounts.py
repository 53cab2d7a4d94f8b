"""Accounts over the API: register, login, refresh, ``me``; validation problems as typed
results; the same answer for a wrong password and an unknown email, and for a free and a
taken email at registration."""

from __future__ import annotations

from typing import Any

import pytest

from store.models import Role
from store.users import ensure_demo_user
from tests.graph.conftest import Api, errors_of

pytestmark = pytest.mark.asyncio

AUTH_FIELDS = "accessToken refreshToken expiresIn user { id email displayName role isActive }"

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) {
    __typename
    ... on Registered { message }
    ... on ValidationError { problems { path message } }
  }
}"""

LOGIN = f"""
mutation($input: LoginInput!) {{
  login(input: $input) {{
    __typename
    ... on AuthPayload {{ {AUTH_FIELDS} }}
    ... on InvalidCredentials {{ message }}
  }}
}}"""

REFRESH = f"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {AUTH_FIELDS} }} }}"
ME = "{ me { id email displayName role isActive createdAt } }"


async def register(api: Api, email: str, password: str = "correct horse",
                   display_name: str = "") -> dict[str, Any]:
    result = await api.gql(REGISTER, {"input": {"email": email, "password": password,
                                                "displayName": display_name}})
    assert "errors" not in result, result
    payload: dict[str, Any] = result["data"]["register"]
    return payload


async def login(api: Api, email: str, password: str) -> dict[str, Any]:
    result = await api.gql(LOGIN, {"input": {"email": email, "password": password}})
    assert "errors" not in result, result
    payload: dict[str, Any] = result["data"]["login"]
    return payload


async def signup(api: Api, email: str, password: str = "correct horse",
                 display_name: str = "") -> dict[str, Any]:
    """Register, then sign in: the new session's AuthPayload."""
    assert (await register(api, email, password, display_name))["__typename"] == "Registered"
    session = await login(api, email, password)
    assert session["__typename"] == "AuthPayload", session
    return session


async def test_register_login_refresh_me(api: Api) -> None:
    reg = await signup(api, "  Ada@Example.COM ", display_name=" Ada ")
    assert reg["user"]["email"] == "ada@example.com"
    assert reg["user"]["displayName"] == "Ada"
    assert reg["user"]["role"] == "TRADER" and reg["user"]["isActive"] is True
    assert reg["expiresIn"] == api.services.tokens.access_ttl_s

    me = await api.gql(ME, token=reg["accessToken"])
    assert me["data"]["me"]["id"] == reg["user"]["id"]
    assert me["data"]["me"]["email"] == "ada@example.com"
    assert me["data"]["me"]["createdAt"]

    logged = await login(api, "ADA@example.com", "correct horse")
    assert logged["__typename"] == "AuthPayload"
    assert logged["user"]["id"] == reg["user"]["id"]
    me = await api.gql(ME, token=logged["accessToken"])
    assert me["data"]["me"]["id"] == reg["user"]["id"]

    refreshed = await api.gql(REFRESH, {"t": logged["refreshToken"]})
    pair = refreshed["data"]["refreshToken"]
    assert pair["user"]["id"] == reg["user"]["id"]
    assert pair["refreshToken"] != logged["refreshToken"]  # rotated: a new token each time
    me = await api.gql(ME, token=pair["accessToken"])
    assert me["data"]["me"]["email"] == "ada@example.com"


async def test_wrong_password_and_unknown_email_get_the_same_answer(api: Api) -> None:
    await signup(api, "bob@example.com", "right password")
    wrong = await login(api, "bob@example.com", "wrong password")
    unknown = await login(api, "nobody@example.com", "right password")
    assert wrong == unknown == {"__typename": "InvalidCredentials",
                                "message": "wrong email or password"}


async def test_passwordless_account_cannot_log_in(api: Api) -> None:
    user = await api.user("nopass@example.com")  # created without a password
    result = await login(api, user.email, "anything at all")
    assert result["__typename"] == "InvalidCredentials"


async def test_register_validation_problems(api: Api) -> None:
    result = await register(api, "not-an-email", "short", "x" * 101)
    assert result["__typename"] == "ValidationError"
    problems = {p["path"]: p["message"] for p in result["problems"]}
    assert set(problems) == {"input.email", "input.password", "input.displayName"}
    assert "at least 8 characters" in problems["input.password"]
    assert "name@example.com" in problems["input.email"]

    no_dot = await register(api, "a@localhost")
    assert [p["path"] for p in no_dot["problems"]] == ["input.email"]
    assert "dot" in no_dot["problems"][0]["message"]
    two_ats = await register(api, "a@b@example.com")
    assert [p["path"] for p in two_ats["problems"]] == ["input.email"]


async def test_register_does_not_reveal_taken_emails(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A taken email gets exactly the answer of a free one, after the same password hashing,
    and the existing account is left as it was."""
    import store.users

    hashed: list[str] = []
    real_hash = store.users.hash_password

    async def counting_hash(password: str) -> str:
        hashed.append(password)
        return await real_hash(password)

    monkeypatch.setattr(store.users, "hash_password", counting_hash)
    new = await register(api, "carol@example.com", "carols password")
    taken = await register(api, "CAROL@example.com ", "an attackers guess", "Mallory")
    assert new == taken
    assert new["__typename"] == "Registered" and "sign in" in new["message"]
    assert hashed == ["carols password", "an attackers guess"]  # hashed in both cases
    # the account is unchanged: its password still works, the other one does not
    assert (await login(api, "carol@example.com", "carols password"))["__typename"] == \
        "AuthPayload"
    assert (await login(api, "carol@example.com", "an attackers guess"))["__typename"] == \
        "InvalidCredentials"


async def test_register_password_policy(api: Api) -> None:
    """Each broken rule of the password policy is a problem at input.password."""
    cases = {
        "short": "at least 8 characters",
        " " * 12: "only spaces",
        "Zoe@Example.com": "email address",
        "ZOE": "at least 8",  # short first
        "zoe.long.name": "email address",  # the local part
        "Password123": "most common passwords",
        "qwertyuiop": "most common passwords",
    }
    for password, message in cases.items():
        email = "zoe.long.name@example.com" if password == "zoe.long.name" else "zoe@example.com"
        result = await register(api, email, password)
        assert result["__typename"] == "ValidationError", password
        assert [p["path"] for p in result["problems"]] == ["input.password"], password
        assert message in result["problems"][0]["message"], (password, result)
    assert (await register(api, "zoe@example.com", "a perfectly fine one"))["__typename"] == \
        "Registered"


async def test_me_without_token_is_unauthenticated(api: Api) -> None:
    result = await api.gql(ME)
    assert result["data"] is None
    [(code, message)] = errors_of(result)
    assert code == "UNAUTHENTICATED"
    assert "Authorization: Bearer" in message


async def test_refresh_rejects_garbage_and_access_tokens(api: Api) -> None:
    reg = await signup(api, "dan@example.com")
    for bad in ("garbage", reg["accessToken"]):
        result = await api.gql(REFRESH, {"t": bad})
        assert result["data"] is None
        [(code, _)] = errors_of(result)
        assert code == "UNAUTHENTICATED"
    result = await api.gql(REFRESH, {"t": reg["accessToken"]})
    assert "an access token cannot be used here: send a refresh token" in errors_of(result)[0][1]


async def test_admin_role_travels_in_the_payload(api: Api) -> None:
    admin = await api.user("root@example.com", role=Role.ADMIN)
    me = await api.gql(ME, token=admin.token)
    assert me["data"]["me"]["role"] == "ADMIN"


async def test_demo_user_is_created_once_with_a_working_password(api: Api) -> None:
    user, password = await ensure_demo_user()
    assert password is not None and len(password) >= 8
    again, none = await ensure_demo_user()
    assert again.id == user.id and none is None
    logged = await login(api, user.email, password)
    assert logged["__typename"] == "AuthPayload"


CHANGE = """mutation($i: ChangePasswordInput!) { changePassword(input: $i) {
  __typename ... on AuthPayload { accessToken refreshToken }
  ... on InvalidCredentials { message } ... on ValidationError { problems { path message } } } }"""
LOGOUT = """mutation($t: String!) { logout(refreshToken: $t) {
  __typename ... on LoggedOut { message } ... on InvalidToken { message } } }"""


async def test_change_password(api: Api) -> None:
    reg = await signup(api, "eve@example.com")
    old_refresh = reg["refreshToken"]
    token = reg["accessToken"]
    wrong = await api.gql(CHANGE, {"i": {"currentPassword": "nope nope",
                                         "newPassword": "a new password"}}, token=token)
    assert wrong["data"]["changePassword"]["__typename"] == "InvalidCredentials"
    weak = await api.gql(CHANGE, {"i": {"currentPassword": "correct horse",
                                        "newPassword": "short"}}, token=token)
    assert weak["data"]["changePassword"]["__typename"] == "ValidationError"
    assert weak["data"]["changePassword"]["problems"][0]["path"] == "input.newPassword"
    for bad in ("EVE@example.com", "iloveyou1", "        "):  # the email, common, blank
        weak = await api.gql(CHANGE, {"i": {"currentPassword": "correct horse",
                                            "newPassword": bad}}, token=token)
        assert weak["data"]["changePassword"]["__typename"] == "ValidationError", bad
        assert weak["data"]["changePassword"]["problems"][0]["path"] == "input.newPassword"
    done = await api.gql(CHANGE, {"i": {"currentPassword": "correct horse",
                                        "newPassword": "a new password"}}, token=token)
    assert done["data"]["changePassword"]["__typename"] == "AuthPayload"
    assert (await login(api, "eve@example.com", "correct horse"))["__typename"] == \
        "InvalidCredentials"
    assert (await login(api, "eve@example.com", "a new password"))["__typename"] == \
        "AuthPayload"
    # sessions of the old password end; the new one's refresh works
    [(code, message)] = errors_of(await api.gql(REFRESH, {"t": old_refresh}))
    assert code == "UNAUTHENTICATED" and "password changed" in message
    fresh = await api.gql(REFRESH, {"t": done["data"]["changePassword"]["refreshToken"]})
    assert fresh["data"]["refreshToken"]["accessToken"]
    anonymous = await api.gql(CHANGE, {"i": {"currentPassword": "a", "newPassword": "b" * 9}})
    assert [c for c, _ in errors_of(anonymous)] == ["UNAUTHENTICATED"]


async def test_logout_ends_the_session(api: Api) -> None:
    reg = await signup(api, "fay@example.com")
    other = await login(api, "fay@example.com", "correct horse")
    result = await api.gql(LOGOUT, {"t": reg["refreshToken"]})
    assert result["data"]["logout"]["__typename"] == "LoggedOut"
    [(code, message)] = errors_of(await api.gql(REFRESH, {"t": reg["refreshToken"]}))
    assert code == "UNAUTHENTICATED" and "logout" in message
    again = await api.gql(LOGOUT, {"t": reg["refreshToken"]})
    assert again["data"]["logout"]["__typename"] == "InvalidToken"
    garbage = await api.gql(LOGOUT, {"t": "garbage"})
    assert garbage["data"]["logout"]["__typename"] == "InvalidToken"
    # another session of the same user is untouched
    assert (await api.gql(REFRESH, {"t": other["refreshToken"]}))["data"]["refreshToken"]
