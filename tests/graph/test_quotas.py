"""Per-user quotas: personal access tokens (``MAX_ACCESS_TOKENS_PER_USER``, refused with
``QUOTA_EXCEEDED`` saying the limit and what to do; revoked and expired tokens do not count)
(queued jobs, ``MAX_QUEUED_JOBS``, are covered by the job tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from graph.app import create_app
from store.models import AccessToken
from tests.graph.conftest import Api, api_settings, errors_of
from tests.graph.test_auth import CREATE, create_pat

pytestmark = pytest.mark.asyncio

REVOKE = """mutation($id: ID!) { revokeAccessToken(id: $id) { __typename } }"""


@pytest_asyncio.fixture
async def capped(backend_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    app = create_app(api_settings(backend_url, tmp_path, max_access_tokens_per_user=2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


async def test_access_tokens_are_capped_per_user(capped: Api) -> None:
    user = await capped.user("a@example.com")
    first = await create_pat(capped, user, "one")
    await create_pat(capped, user, "two", days=30)
    refused = await capped.gql(CREATE, {"input": {"name": "three", "scope": "READ"}},
                               token=user.token)
    assert refused["data"] is None
    [error] = refused["errors"]
    assert error["extensions"] == {"code": "QUOTA_EXCEEDED", "limit": 2}
    assert error["message"].startswith("You have 2 personal access tokens, the most one user")
    assert "MAX_ACCESS_TOKENS_PER_USER" in error["message"]
    assert "revokeAccessToken" in error["message"]
    other = await capped.user("b@example.com")  # per user
    await create_pat(capped, other, "theirs")
    # a revoked token frees its place
    answer = await capped.gql(REVOKE, {"id": first["accessToken"]["id"]}, token=user.token)
    assert errors_of(answer) == []
    await create_pat(capped, user, "three")
    # so does an expired one
    await AccessToken.filter(owner_id=user.id, name="two").update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await create_pat(capped, user, "four")
    again = await capped.gql(CREATE, {"input": {"name": "five", "scope": "READ"}},
                             token=user.token)
    assert [code for code, _ in errors_of(again)] == ["QUOTA_EXCEEDED"]


async def test_no_cap(backend_url: str, tmp_path: Path) -> None:
    app = create_app(api_settings(backend_url, tmp_path, max_access_tokens_per_user=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            api = Api(app, client)
            user = await api.user("a@example.com")
            for n in range(5):
                await create_pat(api, user, f"t{n}")
