"""Fixtures for the API: the app on a migrated database (SQLite and PostgreSQL in turn), an
httpx client over ASGI with the app's lifespan running, and signed-in users.

``api.gql(query, variables, token=...)`` posts one operation and returns the decoded JSON
response (``data`` and ``errors``); ``await api.user("a@x.io")`` creates an account and returns
a :class:`SignedIn` with its id and an access token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from starlette.applications import Starlette

from graph.app import create_app
from graph.context import Services
from store.models import Role
from store.settings import Settings
from store.users import create_user

JWT_SECRET = "test-secret-" + "x" * 40


@dataclass(frozen=True)
class SignedIn:
    id: int
    email: str
    token: str


class Api:
    def __init__(self, app: Starlette, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    async def post(self, body: Any, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post("/graphql", json=body, headers=headers)

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *,
                  token: str | None = None) -> dict[str, Any]:
        response = await self.post({"query": query, "variables": variables or {}}, token)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def user(self, email: str, role: Role = Role.TRADER) -> SignedIn:
        record = await create_user(email, None, role=role)
        pair = self.services.tokens.issue(record)
        return SignedIn(record.id, record.email, pair.access_token)


def api_settings(database_url: str, data_dir: Path, **extra: Any) -> Settings:
    return Settings(database_url=database_url, data_dir=data_dir, jwt_secret=JWT_SECRET, **extra)


@pytest_asyncio.fixture
async def api(backend_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The app on a migrated, empty database (each backend in turn), lifespan running."""
    app = create_app(api_settings(backend_url, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


def errors_of(result: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(code, message), ...]`` of a response's errors."""
    return [((e.get("extensions") or {}).get("code", ""), e["message"])
            for e in result.get("errors") or []]
