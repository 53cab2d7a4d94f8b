"""The server and load side of ``bench/api.py``: uvicorn in a subprocess on a free port
(:class:`Server`), ``bench/loadgen.py`` runs (:func:`load`) with how busy the machine's CPUs
were meanwhile, and the lines that print them (:func:`line`)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, port: int, data_dir: str, secret: str, workers: int = 1,
                 **env: str) -> subprocess.Popen[bytes]:
    environ = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=secret, DATA_DIR=data_dir,
                   GRAPHQL_IDE="0", **env)
    if "REDIS_URL" not in env:
        environ.pop("REDIS_URL", None)
    if workers > 1:  # as backtest serve --workers: the engine's CPUs shared by the processes
        environ.setdefault("MAX_CONCURRENT_JOBS", str(max(1, (os.cpu_count() or 1) // workers)))
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "graph.app:create_served_app", "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"], cwd=ROOT, env=environ)


async def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(1200):
            if proc.poll() is not None:
                raise RuntimeError("the server exited while starting")
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the server did not become ready")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the machine so far (Linux ``/proc/stat``; zeros else)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


async def settle(busy_below: float = 0.25, timeout_s: float = 60.0) -> None:
    """Wait (at most ``timeout_s``) until the machine's CPUs are less than ``busy_below``
    busy over half a second: a server just started is still loading its engine processes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy0, total0 = _busy_jiffies()
        await asyncio.sleep(0.5)
        busy1, total1 = _busy_jiffies()
        if total1 <= total0 or (busy1 - busy0) / (total1 - total0) < busy_below:
            return


@dataclass
class Load:
    latencies: list[float]  # ms
    rps: float
    loadgen_cpu: float  # CPUs the load generator used (1.0: one CPU all the time)
    machine_busy: float  # fraction of the machine's CPUs busy meanwhile (everything)
    dropped: int = 0


async def load(url: str, token: str, query: str, variables: dict[str, Any], clients: int,
               requests: int, *, rate: float | None = None) -> Load:
    """Run ``bench/loadgen.py`` once: ``clients`` closed-loop connections sending ``requests``
    in all (or, with ``rate``, an open loop of that many requests a second)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".json") as body:
        body.write(json.dumps({"query": query, "variables": variables}).encode())
        body.flush()
        command = [sys.executable, str(ROOT / "bench" / "loadgen.py"), "--url", url, "--token",
                   token, "--body", body.name, "--clients", str(clients), "--requests",
                   str(requests), "--warmup", "20"]
        if rate is not None:
            command += ["--mode", "open", "--rate", str(rate)]
        busy0, total0 = _busy_jiffies()
        proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        busy1, total1 = _busy_jiffies()
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator failed ({proc.returncode})")
    result = json.loads(out)
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} answers were errors")
    wall = float(result["wall_s"])
    return Load(result["latencies_ms"], len(result["latencies_ms"]) / wall,
                float(result["cpu_s"]) / wall,
                (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0,
                int(result.get("dropped", 0)))


def line(name: str, run: Load | list[float], base: Load | list[float] | None) -> str:
    lat = run.latencies if isinstance(run, Load) else run
    text = f"  {name:<36} p50 {pct(lat, 50):8.2f} ms  p99 {pct(lat, 99):8.2f} ms"
    if isinstance(run, Load):
        text += f"  {run.rps:7.0f} req/s"
    if base is not None:
        blat = base.latencies if isinstance(base, Load) else base
        text += (f"   x{pct(lat, 50) / pct(blat, 50):5.1f} / x{pct(lat, 99) / pct(blat, 99):5.1f}"
                 " baseline p50/p99")
    if isinstance(run, Load):
        text += (f"  [CPUs busy {run.machine_busy:4.0%}, load generator "
                 f"{run.loadgen_cpu:4.0%} of one]")
        if run.dropped:
            text += f" [{run.dropped} dropped: every connection busy]"
    return text


class Server:
    """One uvicorn server on a free port for the duration of an ``async with``."""

    def __init__(self, database_url: str, data_dir: str, secret: str, workers: int = 1,
                 **env: str):
        self.port = free_port()
        self._secret = secret
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/graphql"
        self._database_url, self._data_dir, self._workers = database_url, data_dir, workers
        self._env = env
        self._proc: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> Server:
        self._proc = start_server(self._database_url, self.port, self._data_dir, self._secret,
                                  self._workers, **self._env)
        await wait_ready(self.base, self._proc)
        await settle()  # the engine processes warm up in the background meanwhile
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None:
            stop_server(self._proc)
