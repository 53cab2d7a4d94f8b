"""The routes beside ``/graphql``: ``/healthz``, ``/readyz`` (database, and Redis when
configured: the machine's Redis and an unreachable port), the placeholder page at ``/``, the
built client with its SPA fallback and cache headers, and the playground at ``/playground``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from graph import app as app_module
from graph import client_files
from graph.app import create_app
from tests.graph.conftest import Api, api_settings

pytestmark = pytest.mark.asyncio

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@asynccontextmanager
async def client_for(backend_url: str, tmp_path: Path, redis_url: str | None = None,
                     graphql_ide: bool = True
                     ) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(api_settings(backend_url, tmp_path, redis_url=redis_url,
                                  graphql_ide=graphql_ide))
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
    monkeypatch.setattr(client_files, "CLIENT_DIST", tmp_path / "no-client")
    async with client_for(backend_url, tmp_path) as (_, client):
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/graphql"' in response.text and "/healthz" in response.text
    assert "make run" in response.text and "npm run build" in response.text


async def test_built_client_is_served_at_root(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<html>the client</html>")
    monkeypatch.setattr(client_files, "CLIENT_DIST", dist)
    async with client_for(backend_url, tmp_path) as (_, client):
        root = await client.get("/")
        api = await client.post("/graphql", json={"query": "{ __typename }"})
    assert root.status_code == 200 and root.text == "<html>the client</html>"
    assert api.json() == {"data": {"__typename": "Query"}}


def built_client(tmp_path: Path) -> Path:
    """A stand-in for ``client/dist``: the two pages, a hashed asset, a favicon."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>the client</html>")
    (dist / "playground.html").write_text("<html>the playground</html>")
    (dist / "assets" / "app-abc123.js").write_text("console.log('app')")
    (dist / "favicon.svg").write_text("<svg/>")
    return dist


async def test_client_deep_links_fall_back_to_index_html(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_files, "CLIENT_DIST", built_client(tmp_path))
    async with client_for(backend_url, tmp_path) as (_, client):
        for path in ("/backtests/12", "/strategies/new", "/sign-in?redirect=%2Fsettings",
                     "/settings/"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert page.text == "<html>the client</html>"
            assert page.headers["cache-control"] == "no-cache"
        for path in ("/assets/missing.js", "/missing.png", "/assets/deep/missing"):
            assert (await client.get(path)).status_code == 404, path
        health = await client.get("/healthz")
        api = await client.post("/graphql", json={"query": "{ __typename }"})
    assert health.json() == {"status": "ok"}  # the API's routes come first
    assert api.json() == {"data": {"__typename": "Query"}}


async def test_client_cache_headers(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_files, "CLIENT_DIST", built_client(tmp_path))
    async with client_for(backend_url, tmp_path) as (_, client):
        root = await client.get("/")
        index = await client.get("/index.html")
        asset = await client.get("/assets/app-abc123.js")
        icon = await client.get("/favicon.svg")
        again = await client.get("/assets/app-abc123.js",
                                 headers={"if-none-match": asset.headers["etag"]})
    assert root.headers["cache-control"] == "no-cache" and root.text == "<html>the client</html>"
    assert index.headers["cache-control"] == "no-cache"
    assert asset.status_code == 200 and asset.text == "console.log('app')"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert again.status_code == 304
    assert icon.status_code == 200 and icon.headers["cache-control"] == "no-cache"


async def test_playground_is_served_and_graphql_redirects_browsers(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_files, "CLIENT_DIST", built_client(tmp_path))
    async with client_for(backend_url, tmp_path) as (_, client):
        page = await client.get("/playground")
        browser = await client.get("/graphql", headers={"accept": "text/html,*/*;q=0.8"})
        query = await client.get("/graphql", params={"query": "{ __typename }"},
                                 headers={"accept": "application/json"})
        query_in_browser = await client.get("/graphql", params={"query": "{ __typename }"},
                                            headers={"accept": "text/html"})
    assert page.status_code == 200 and page.text == "<html>the playground</html>"
    assert page.headers["cache-control"] == "no-cache"
    assert browser.status_code == 302 and browser.headers["location"] == "/playground"
    assert "unpkg" not in browser.text and "cdn" not in browser.text.lower()
    assert query.json() == {"data": {"__typename": "Query"}}
    assert query_in_browser.json() == {"data": {"__typename": "Query"}}


async def test_no_playground_with_the_ide_off(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_files, "CLIENT_DIST", built_client(tmp_path))
    async with client_for(backend_url, tmp_path, graphql_ide=False) as (_, client):
        page = await client.get("/playground")
        file = await client.get("/playground.html")
        browser = await client.get("/graphql", headers={"accept": "text/html"})
        root = await client.get("/")
    assert page.status_code == 200 and page.text == "<html>the client</html>"  # the app's 404
    assert file.status_code == 404
    assert browser.status_code == 404 and "graphiql" not in browser.text.lower()
    assert root.status_code == 200


async def test_playground_before_the_client_is_built(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_files, "CLIENT_DIST", tmp_path / "no-client")
    async with client_for(backend_url, tmp_path) as (_, client):
        page = await client.get("/playground")
        browser = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404 and "npm run build" in page.text
    assert browser.status_code == 302 and browser.headers["location"] == "/playground"
