"""``backtest serve``: the API (``graph.app.create_served_app``) under uvicorn.

``backtest serve [--host 127.0.0.1] [--port 8000] [--reload]`` checks the settings (a
``JWT_SECRET`` that is too short is refused here, not at the first request), prints the URLs
and serves until Ctrl-C. The default host only accepts connections from this machine; pass
``--host 0.0.0.0`` to listen on every interface (behind a proxy that terminates TLS).
``--reload`` restarts the server when a source file changes (development only).

The environment is the usual one (``DATABASE_URL``, ``REDIS_URL``, ``JWT_SECRET``,
``GRAPHQL_IDE``...; see ``store.settings``). Run ``backtest db migrate`` first.
"""

from __future__ import annotations

import argparse

from cli.errors import UsageError

APP_FACTORY = "graph.app:create_served_app"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1 to 65535)")
    return port


def urls(host: str, port: int) -> dict[str, str]:
    """What the server offers, by name, for ``host:port`` as a browser would reach it."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    base = f"http://{shown}:{port}"
    return {"app": f"{base}/", "graphql": f"{base}/graphql", "healthz": f"{base}/healthz",
            "readyz": f"{base}/readyz"}


def banner(host: str, port: int, graphql_ide: bool) -> str:
    links = urls(host, port)
    playground = "GraphQL API and playground (GraphiQL)" if graphql_ide else \
        "GraphQL API (playground off: GRAPHQL_IDE=0)"
    return "\n".join([
        f"Backtest API on {host}:{port} (Ctrl-C stops)",
        f"  web app      {links['app']}",
        f"  {'graphql':<12} {links['graphql']}   {playground}",
        f"  {'healthz':<12} {links['healthz']}",
        f"  {'readyz':<12} {links['readyz']}",
    ])


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the API until interrupted."""
    import uvicorn

    from graph.auth import load_secret
    from store.settings import get_settings

    try:
        settings = get_settings()
        load_secret(settings)
    except ValueError as err:
        raise UsageError(str(err)) from None
    host = getattr(args, "host", None) or DEFAULT_HOST
    port = getattr(args, "port", None) or DEFAULT_PORT
    reload = bool(getattr(args, "reload", False))
    print(banner(host, port, settings.graphql_ide), flush=True)
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, reload=reload,
                log_level="info", proxy_headers=True)
    return 0
