"""The routes beside ``/graphql``: ``/healthz``, ``/readyz`` (database, and Redis when
configured: the machine's Redis and an unreachable port) and the placeholder page at ``/``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from graph import app as app_module
from graph.app import create_app
from tests.graph.conftest import Api, api_settings

pytestmark = pytest.mark.asyncio

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@asynccontextmanager
async def client_for(backend_url: str, tmp_path: Path, redis_url: str | None = None
                     ) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(api_settings(backend_url, tmp_path, redis_url=redis_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


class SilentRedis:
    """A broadcaster whose Redis never answers."""

    async def ping(self) -> None:
        await asyncio.sleep(10)

    async def close(self) -> None:
        return None


async def test_healthz(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_database_only(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readyz_with_redis(backend_url: str, tmp_path: Path, redis_url: str) -> None:
    async with client_for(backend_url, tmp_path, redis_url) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_with_unreachable_redis(backend_url: str, tmp_path: Path) -> None:
    async with client_for(backend_url, tmp_path, DEAD_REDIS) as (_, client):
        response = await client.get("/readyz")
        health = await client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable: ")
    assert "Traceback" not in response.text
    assert health.status_code == 200  # alive, only not ready


async def test_readyz_times_out_on_a_silent_dependency(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        redis_url: str) -> None:
    monkeypatch.setattr(app_module, "READY_TIMEOUT_S", 0.05)
    async with client_for(backend_url, tmp_path, redis_url) as (app, client):
        real = app.state.services.broadcaster
        app.state.services.broadcaster = SilentRedis()
        try:
            response = await client.get("/readyz")
        finally:
            app.state.services.broadcaster = real
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unreachable: no answer within 0.05 s"


async def test_placeholder_page_until_the_client_is_built(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "CLIENT_DIST", tmp_path / "no-client")
    async with client_for(backend_url, tmp_path) as (_, client):
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/graphql"' in response.text and "/healthz" in response.text


async def test_built_client_is_served_at_root(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<html>the client</html>")
    monkeypatch.setattr(app_module, "CLIENT_DIST", dist)
    async with client_for(backend_url, tmp_path) as (_, client):
        root = await client.get("/")
        api = await client.post("/graphql", json={"query": "{ __typename }"})
    assert root.status_code == 200 and root.text == "<html>the client</html>"
    assert api.json() == {"data": {"__typename": "Query"}}
