"""``backtest serve`` stops on time: SIGTERM ends it within seconds, open subscriptions first
get their ``complete``; SIGKILL takes its engine processes (forkserver, workers) with it."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

from tests.cli.test_serve import ROOT, SECRET, free_port
from tests.serving import wait_healthy


def start_server(tmp_path: Path, sqlite_template: Path) -> tuple[subprocess.Popen[str], str, Path]:
    db = tmp_path / "serve.sqlite3"
    shutil.copyfile(sqlite_template, db)
    port = free_port()
    environ = {**os.environ, "DATABASE_URL": f"sqlite://{db}", "DATA_DIR": str(tmp_path),
               "JWT_SECRET": SECRET}
    environ.pop("REDIS_URL", None)
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                                cwd=ROOT, env=environ, stdout=sink, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)  # its own process group
    base = f"127.0.0.1:{port}"
    wait_healthy(proc, f"http://{base}", log.read_text)
    return proc, base, log


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def test_sigterm_stops_within_seconds_and_completes_subscriptions(
        tmp_path: Path, sqlite_template: Path) -> None:
    proc, base, log = start_server(tmp_path, sqlite_template)
    try:
        httpx.post(f"http://{base}/graphql", timeout=10, json={
            "query": 'mutation { register(input: {email: "stop@example.com", password: '
                     '"long enough"}) { __typename } }'})
        token = httpx.post(f"http://{base}/graphql", timeout=10, json={
            "query": 'mutation { login(input: {email: "stop@example.com", password: '
                     '"long enough"}) { ... on AuthPayload { accessToken } } }'}
        ).json()["data"]["login"]["accessToken"]

        async def subscribe_then_stop() -> tuple[list[dict[str, object]], float, int | None]:
            async with websockets.connect(f"ws://{base}/graphql",
                                          subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send(json.dumps({"type": "connection_init",
                                          "payload": {"Authorization": f"Bearer {token}"}}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": "subscription { jobEvents { jobId } }"}}))
                await asyncio.sleep(0.5)  # the subscription is open
                sent = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                messages = []
                try:
                    async for raw in ws:
                        messages.append(json.loads(raw))
                except websockets.ConnectionClosed:
                    pass
                return messages, sent, ws.close_code

        messages, sent, close_code = asyncio.run(subscribe_then_stop())
        proc.wait(timeout=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    print(f"\nSIGTERM to exit: {took:.2f} s (close code {close_code})")
    assert messages == [{"id": "1", "type": "complete"}], (messages, output)
    assert close_code == 1001, output
    assert took < 5, output  # loosely: the bound is 5 s
    assert "Traceback" not in output, output


def test_sigkill_takes_the_engine_processes_along(tmp_path: Path,
                                                  sqlite_template: Path) -> None:
    proc, _, log = start_server(tmp_path, sqlite_template)
    try:
        deadline = time.monotonic() + 60  # the served app starts its engine pool at once
        while len(group_members(proc.pid)) < 3:  # the API, the forkserver, a worker
            assert time.monotonic() < deadline, (group_members(proc.pid), log.read_text())
            time.sleep(0.2)
        members = group_members(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while left := group_members(proc.pid):
        assert time.monotonic() < deadline, f"still there: {left} (of {members})"
        time.sleep(0.1)
    print(f"\nafter SIGKILL, {len(members) - 1} engine process(es) exited within "
          f"{10 - (deadline - time.monotonic()):.2f} s")
