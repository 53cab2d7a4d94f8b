"""``backtest serve``: the API (``graph.app.create_served_app``) under uvicorn.

``backtest serve [--host 127.0.0.1] [--port 8000] [--workers N] [--reload]`` checks the
settings (a ``JWT_SECRET`` that is too short is refused here, not at the first request), prints
the URLs and serves until Ctrl-C. The default host only accepts connections from this machine;
pass ``--host 0.0.0.0`` to listen on every interface (behind a proxy that terminates TLS).
``--reload`` restarts the server when a source file changes (development only).

``--workers N`` (default 1) runs N API processes on the same port (uvicorn's workers: the
kernel spreads connections among them), so one machine's cores all serve requests: one Python
process uses one core. Each process runs the whole app, lifespan included: its own database
pool, response cache, and (``EXECUTOR=inprocess``) its own executor, which runs the jobs
submitted through that process (a cancel that lands on another process marks the run
cancelled, and the job stops at its next heartbeat) and recovers jobs left behind (every
recovery step is a conditional update, so several processes recovering at once do no harm).
So that N executors do not start N times as many engine processes as there are CPUs, each gets
``MAX_CONCURRENT_JOBS`` = CPUs / N (at least 1) unless ``MAX_CONCURRENT_JOBS`` is set. More
than one worker needs PostgreSQL (SQLite takes one writer at a time) and ``REDIS_URL``: a
subscription reaches whichever process its connection landed on, and progress events must
travel between processes. The default stays 1 because ``make run`` has neither; with them, the
number of CPUs is the usual choice (``bench/api.py`` measures 1 and 2 on 2 vCPUs).

The environment is the usual one (``DATABASE_URL``, ``REDIS_URL``, ``JWT_SECRET``,
``GRAPHQL_IDE``...; see ``store.settings``). Run ``backtest db migrate`` first.
"""

from __future__ import annotations

import argparse
import os

from cli.errors import UsageError

APP_FACTORY = "graph.app:create_served_app"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def worker_count(text: str) -> int:
    """An argparse type: a number of processes, 1 or more."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count}: at least 1 worker")
    return count


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
    return {"app": f"{base}/", "graphql": f"{base}/graphql", "playground": f"{base}/playground",
            "healthz": f"{base}/healthz", "readyz": f"{base}/readyz"}


def banner(host: str, port: int, graphql_ide: bool, workers: int = 1) -> str:
    links = urls(host, port)
    processes = f", {workers} processes" if workers > 1 else ""
    playground = (f"  {'playground':<12} {links['playground']}   GraphiQL, bundled (no CDN)"
                  if graphql_ide else "  playground   off (GRAPHIQL=1 turns it on)")
    return "\n".join([
        f"Backtest API on {host}:{port}{processes} (Ctrl-C stops)",
        f"  web app      {links['app']}",
        f"  {'graphql':<12} {links['graphql']}   the GraphQL API (HTTP and websocket)",
        playground,
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
    workers = int(getattr(args, "workers", None) or 1)
    if workers > 1:
        if reload:
            raise UsageError("--reload runs one process: leave out --workers")
        if settings.backend != "postgresql" or not settings.redis_url:
            raise UsageError("--workers above 1 needs PostgreSQL (DATABASE_URL) and REDIS_URL: "
                             "progress events and subscriptions must reach every process")
        if not settings.max_concurrent_jobs:  # share the CPUs among the processes' executors
            os.environ["MAX_CONCURRENT_JOBS"] = str(max(1, (os.cpu_count() or 1) // workers))
    print(banner(host, port, settings.graphql_ide, workers), flush=True)
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, reload=reload,
                workers=workers if workers > 1 else None, log_level="info",
                proxy_headers=True)
    return 0
