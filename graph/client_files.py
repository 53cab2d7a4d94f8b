"""The web client's files: ``client/dist`` at ``/`` with a fallback to its ``index.html`` for
any path that does not name a file (``/backtests/12`` is a page of the app; ``/assets/missing.js``
stays a 404), and the bundled GraphiQL at ``/playground``. Hashed ``/assets/*`` are cached for
good, the pages are revalidated on every load. Without a build, ``/`` says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CLIENT_DIST = Path(__file__).resolve().parent.parent / "client" / "dist"

PLACEHOLDER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Backtest</h1>
<p>The API is running. The web client is not built yet: <code>make run</code> builds it, or
<code>cd client &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.</p>
<ul><li><a href="/graphql">GraphQL API</a> (its playground comes with the web client's build)</li>
<li><a href="/healthz">/healthz</a> and <a href="/readyz">/readyz</a></li></ul>
</body></html>
"""
IMMUTABLE = "public, max-age=31536000, immutable"  # hashed file names change with their content
REVALIDATE = "no-cache"  # index.html and the playground page: always asks for the latest build


def _looks_like_file(path: str) -> bool:
    """``assets/x.js``, ``favicon.svg``: a path whose last segment has an extension is a file,
    missing or not (a 404), never a page of the app."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return "." in last or path.startswith("assets/")


class ClientFiles(StaticFiles):
    """The built client (``client/dist``): its files, and ``index.html`` for any other path
    that does not look like a file (the app's router shows the page, or its own not-found
    page). ``playground.html`` only when the playground is on (it is served at
    ``/playground``)."""

    def __init__(self, *, directory: Path, playground: bool) -> None:
        super().__init__(directory=directory, html=True)
        self.playground = playground

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.lstrip("/").startswith("playground.html") and not self.playground:
            raise StarletteHTTPException(404)
        try:
            response = await super().get_response(path, scope)
            name = path
        except StarletteHTTPException as err:
            if err.status_code != 404 or _looks_like_file(path.lstrip("/")):
                raise
            response = await super().get_response("index.html", scope)
            name = "index.html"
        name = name.lstrip("/")
        if name.startswith("assets/"):
            response.headers["Cache-Control"] = IMMUTABLE
        else:  # index.html (also as the answer for "/"), favicon.svg and the like
            response.headers["Cache-Control"] = REVALIDATE
        return response


def _page(_: Request) -> Response:
    return HTMLResponse(PLACEHOLDER_PAGE)


async def playground_page(_: Request) -> Response:
    """GraphiQL from the client's build (``client/dist/playground.html``), or how to build it."""
    page = CLIENT_DIST / "playground.html"
    if not page.exists():
        return HTMLResponse(PLACEHOLDER_PAGE, status_code=404)
    return FileResponse(page, headers={"Cache-Control": REVALIDATE})


def client_routes(*, playground: bool) -> list[Route | Mount]:
    """``/playground`` (when ``playground``) and ``/``: the built client, or a page saying how
    to build it."""
    routes: list[Route | Mount] = []
    if playground:
        routes.append(Route("/playground", playground_page, methods=["GET", "HEAD"]))
    if (CLIENT_DIST / "index.html").exists():
        routes.append(Mount("/", ClientFiles(directory=CLIENT_DIST, playground=playground),
                            name="client"))
    else:
        routes.append(Route("/", _page))
    return routes
