"""Production settings: ``ENV=production`` turns GraphiQL and introspection off unless
enabled, each by its own switch; no "Did you mean" suggestions with introspection off;
security headers on every HTTP response (CSP with the client's inline script by hash, HSTS on
HTTPS only); the CORS allow-list (allowed and refused origins, preflights and websocket handshakes included)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph import client_files
from graph.app import create_app
from store.settings import Settings
from tests.graph.conftest import api_settings
from tests.serving import serve_app

pytestmark = pytest.mark.asyncio

THEME_SCRIPT = "document.documentElement.classList.add('dark')"
INTROSPECT = "{ __schema { queryType { name } } }"
TYPO = "{ mee { email } }"


@asynccontextmanager
async def client_for(backend_url: str, tmp_path: Path, base_url: str = "http://test",
                     **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_settings(backend_url, tmp_path, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for ``client/dist`` whose index.html has an inline script."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(f"<html><head><script>{THEME_SCRIPT}</script>"
                                     '<script type="module" src="/assets/app.js"></script>'
                                     "</head></html>")
    (dist / "playground.html").write_text("<html>the playground</html>")
    (dist / "assets" / "app.js").write_text("console.log('app')")
    monkeypatch.setattr(client_files, "CLIENT_DIST", dist)
    return dist


async def test_settings_switches() -> None:
    dev = Settings.from_env({})
    assert (dev.production, dev.graphql_ide, dev.allows_introspection) == (False, True, True)
    prod = Settings.from_env({"ENV": "production"})
    assert (prod.production, prod.graphql_ide, prod.allows_introspection) == (True, False, False)
    ide_only = Settings.from_env({"ENV": "production", "GRAPHIQL": "1"})
    assert (ide_only.graphql_ide, ide_only.allows_introspection) == (True, False)
    schema_only = Settings.from_env({"ENV": "production", "INTROSPECTION": "1"})
    assert (schema_only.graphql_ide, schema_only.allows_introspection) == (False, True)
    legacy = Settings.from_env({"GRAPHQL_IDE": "0"})
    assert (legacy.graphql_ide, legacy.allows_introspection) == (False, False)
    assert Settings.from_env({"GRAPHQL_IDE": "0", "INTROSPECTION": "1"}).allows_introspection
    with pytest.raises(ValueError, match="ENV"):
        Settings.from_env({"ENV": "staging"})
    with pytest.raises(ValueError, match="GRAPHIQL"):
        Settings.from_env({"GRAPHIQL": "maybe"})
    assert Settings.from_env({"HSTS_MAX_AGE": "0"}).hsts_max_age == 0


async def gql(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_production_turns_both_off_and_hides_suggestions(
        backend_url: str, tmp_path: Path, built: Path) -> None:
    async with client_for(backend_url, tmp_path, graphql_ide=False,
                          introspection=False) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 404
        assert (await client.get("/playground.html")).status_code == 404
        assert (await gql(client, INTROSPECT))["data"] is None
        [error] = (await gql(client, TYPO))["errors"]
        assert error["message"] == "Cannot query field 'mee' on type 'Query'."
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        [error] = (await gql(client, "{ strategies(frist: 2) { totalCount } }"))["errors"]
        assert "Did you mean" not in error["message"] and "frist" in error["message"]


async def test_switches_are_separate(backend_url: str, tmp_path: Path, built: Path) -> None:
    async with client_for(backend_url, tmp_path / "a", graphql_ide=True,
                          introspection=False) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 302 and page.headers["location"] == "/playground"
        assert (await client.get("/playground")).text == "<html>the playground</html>"
        assert (await gql(client, INTROSPECT))["data"] is None
    async with client_for(backend_url, tmp_path / "b", graphql_ide=False,
                          introspection=True) as client:
        assert (await client.get("/graphql", headers={"accept": "text/html"})).status_code \
            == 404
        assert (await gql(client, INTROSPECT)) == {"data": {"__schema": {"queryType": {
            "name": "Query"}}}}
        [error] = (await gql(client, TYPO))["errors"]
        assert "Did you mean 'me'?" in error["message"]  # suggestions with introspection on


def _script_source(body: str) -> str:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return f"'sha256-{digest}'"


async def test_security_headers_on_every_response(backend_url: str, tmp_path: Path,
                                                  built: Path) -> None:
    async with client_for(backend_url, tmp_path) as client:
        answers = [await client.get("/healthz"), await client.get("/"),
                   await client.get("/backtests/12"), await client.get("/assets/app.js"),
                   await client.get("/assets/missing.js"),
                   await client.post("/graphql", json={"query": "{ __typename }"}),
                   await client.post("/graphql", content=b"not json"),
                   await client.get("/playground")]
        for answer in answers:
            headers = answer.headers
            csp = headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert f"script-src 'self' {_script_source(THEME_SCRIPT)}" in csp
            assert "unsafe-eval" not in csp and "connect-src 'self'" in csp
            assert "object-src 'none'" in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert headers["x-frame-options"] == "DENY"
            assert "strict-transport-security" not in headers  # plain HTTP
        assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 200, 400, 200]
    async with client_for(backend_url, tmp_path, base_url="https://test") as client:
        answer = await client.get("/healthz")
        assert answer.headers["strict-transport-security"] == \
            "max-age=31536000; includeSubDomains"
    async with client_for(backend_url, tmp_path, base_url="https://test",
                          hsts_max_age=0) as client:
        assert "strict-transport-security" not in (await client.get("/healthz")).headers


async def test_cors_allow_list(backend_url: str, tmp_path: Path) -> None:
    allowed, refused = "https://app.example.com", "https://evil.example.com"
    preflight = {"access-control-request-method": "POST",
                 "access-control-request-headers": "authorization, content-type"}
    async with client_for(backend_url, tmp_path, cors_origins=(allowed,)) as client:
        ok = await client.options("/graphql", headers={"origin": allowed, **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == allowed
        assert "POST" in ok.headers["access-control-allow-methods"]
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        assert "x-content-type-options" in ok.headers  # preflights get the headers too
        no = await client.options("/graphql", headers={"origin": refused, **preflight})
        assert no.status_code == 400 and "access-control-allow-origin" not in no.headers
        post = await client.post("/graphql", json={"query": "{ __typename }"},
                                 headers={"origin": allowed})
        assert post.headers["access-control-allow-origin"] == allowed
        assert post.headers["access-control-expose-headers"].lower() == "x-request-id"
        other = await client.post("/graphql", json={"query": "{ __typename }"},
                                  headers={"origin": refused})
        assert "access-control-allow-origin" not in other.headers
    async with client_for(backend_url, tmp_path / "closed") as client:  # no allow-list
        none = await client.options("/graphql", headers={"origin": allowed, **preflight})
        assert "access-control-allow-origin" not in none.headers
        answer = await client.post("/graphql", json={"query": "{ __typename }"},
                                   headers={"origin": allowed})
        assert "access-control-allow-origin" not in answer.headers


async def test_websocket_handshakes_follow_the_allow_list(backend_url: str,
                                                          tmp_path: Path) -> None:
    import websockets
    from websockets.exceptions import InvalidStatus

    app = create_app(api_settings(backend_url, tmp_path,
                                  cors_origins=("https://app.example.com",)))
    with serve_app(app) as port:
        url = f"ws://127.0.0.1:{port}/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                      origin="https://app.example.com") as ws:  # type: ignore[arg-type]
            await ws.send('{"type": "connection_init"}')
            assert "connection_ack" in str(await ws.recv())
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                          origin="https://evil.example.com"):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
