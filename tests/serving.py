"""An ASGI app under a real uvicorn server on 127.0.0.1 (a free port), in a thread, for the
end-to-end tests; stopped and joined on exit."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn


@contextmanager
def serve_app(app: Any) -> Iterator[int]:
    """Serve ``app``; yields its port."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    for _ in range(300):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    port = int(server.servers[0].sockets[0].getsockname()[1])
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "uvicorn did not stop"


def wait_healthy(proc: subprocess.Popen[Any], base_url: str, log: Any = None,
                 timeout_s: float = 60.0) -> None:
    """Wait until the server ``proc`` answers ``/healthz`` at ``base_url``; fail (with
    ``log()`` when given) if it exits or takes longer than ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        detail = log() if log is not None else ""
        assert proc.poll() is None, f"the server exited early {detail}"
        assert time.monotonic() < deadline, f"the server did not start within {timeout_s:g} s {detail}"
        time.sleep(0.1)
