"""The integrator examples of docs/graphql.md (``examples/graphql/``), run as a user would run
them against a real ``backtest serve`` on 127.0.0.1 (a free port, a temporary SQLite database
with the demo candles, the in-process executor): the Python ones with this venv's python, the
shell ones with bash, curl and jq. Each example's output is checked.

The server is started once for the module (``backtest db migrate --seed-demo``, ``backtest users
create``, ``backtest serve``) and stopped afterwards; the token every example uses is the one
``create_token.sh`` printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "graphql"
BACKTEST = ROOT / ".venv" / "bin" / "backtest"
PYTHON = sys.executable
EMAIL = "integrator@example.com"
PASSWORD = "an-integrator-password-42"
TIMEOUT_S = 120

needs_shell_tools = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")),
    reason="the shell examples need bash, curl and jq")


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CORS_ORIGINS",
                        "JWT_SECRET", "WATCH_LIST", "BACKTEST_TOKEN")}
    env.update(DATA_DIR=str(data_dir), EXECUTOR="inprocess", MAX_CONCURRENT_JOBS="1",
               GRAPHQL_IDE="1")
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``backtest serve`` on a free port, with the demo candles and one account."""
    data_dir = tmp_path_factory.mktemp("graphql-examples")
    env = _base_env(data_dir)
    for args, stdin in ((["db", "migrate", "--seed-demo"], None),
                        (["users", "create", EMAIL, "--password-stdin"], PASSWORD + "\n")):
        done = subprocess.run([str(BACKTEST), *args], input=stdin, env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
        assert done.returncode == 0, f"backtest {' '.join(args)}: {done.stdout}{done.stderr}"
    port = _free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BACKTEST), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, log)
        yield Server(url=url, env=env)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    import time
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"backtest serve exited:\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"backtest serve was not ready within {TIMEOUT_S} s:\n{log.read_text()}")


def _run(server: Server, name: str, *args: str, token: str | None = None,
         extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs examples/graphql/<name> as its header says (python or bash), from another folder."""
    path = EXAMPLES / name
    command = [PYTHON, str(path)] if name.endswith(".py") else ["bash", str(path)]
    env = dict(server.env, BACKTEST_URL=server.url, **(extra or {}))
    if token:
        env["BACKTEST_TOKEN"] = token
    done = subprocess.run([*command, *args], env=env, cwd=EXAMPLES.parent.parent / "tests",
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    """A READ_WRITE personal access token, made by create_token.sh (or the .py without curl)."""
    name = "create_token.sh" if shutil.which("curl") and shutil.which("jq") else "create_token.py"
    out = _run(server, name, extra={"BACKTEST_EMAIL": EMAIL, "BACKTEST_PASSWORD": PASSWORD})
    value = out.stdout.strip()
    assert value.startswith("bt_pat_"), out.stdout
    return value


def _me(server: Server, token: str) -> dict:
    body = httpx.post(f"{server.url}/graphql", json={"query": "{ me { email } accessTokens { "
                                                     "totalCount edges { node { name scope } } } }"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert not body.get("errors"), body
    return body["data"]


@needs_shell_tools
def test_create_token_sh_gives_a_working_token(server: Server, token: str) -> None:
    data = _me(server, token)
    assert data["me"]["email"] == EMAIL
    assert {"name": "my script", "scope": "READ_WRITE"} in [e["node"] for e in data["accessTokens"]["edges"]]


def test_create_token_py_gives_a_working_token(server: Server) -> None:
    out = _run(server, "create_token.py", extra={"BACKTEST_EMAIL": EMAIL, "BACKTEST_PASSWORD": PASSWORD})
    value = out.stdout.strip()
    assert value.startswith("bt_pat_")
    assert _me(server, value)["me"]["email"] == EMAIL


def _check_summary(result: dict) -> None:
    assert result["status"] == "SUCCEEDED", result
    assert result["error"] is None
    summary = result["summary"]
    assert summary["nTrades"] >= 1
    assert summary["finalEquity"] == pytest.approx(10_000 * (1 + summary["totalReturn"]))
    assert 0 <= summary["maxDrawdown"] < 1


@needs_shell_tools
def test_run_backtest_sh(server: Server, token: str) -> None:
    out = _run(server, "run_backtest.sh", token=token)
    assert "queued" in out.stderr
    _check_summary(_last_json(out.stdout))


def test_run_backtest_py(server: Server, token: str) -> None:
    out = _run(server, "run_backtest.py", token=token)
    result = _last_json(out.stdout)
    _check_summary(result)
    # the same inputs give the same result as the API's own stored summary
    body = httpx.post(f"{server.url}/graphql", json={
        "query": "query($id: ID!) { backtest(id: $id) { params summary { totalReturn } } }",
        "variables": {"id": result["id"]}}, headers={"Authorization": f"Bearer {token}"},
        timeout=30).json()
    assert body["data"]["backtest"]["params"] == {"fast": 20, "slow": 100}
    assert body["data"]["backtest"]["summary"]["totalReturn"] == result["summary"]["totalReturn"]


def test_follow_job_py_prints_events_in_order_to_done(server: Server, token: str) -> None:
    out = _run(server, "follow_job.py", token=token)
    events = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert events, out.stderr
    seqs = [e["jobSeq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert events[-1]["kind"] == "done" and events[-1]["status"] == "SUCCEEDED"
    assert events[-1]["progress"] == 1
    assert isinstance(events[-1]["totalReturn"], float)
    assert all(e["kind"] != "done" for e in events[:-1])


@needs_shell_tools
def test_follow_job_sh_polls_until_the_job_ends(server: Server, token: str) -> None:
    started = _last_json(_run(server, "run_backtest.py", token=token).stdout)  # ended already
    out = _run(server, "follow_job.sh", started["id"], token=token)
    lines = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert lines[-1]["status"] == "SUCCEEDED" and lines[-1]["kind"] == "BACKTEST"
    assert lines[-1]["progress"] == 1


def _backtest_count(server: Server, token: str) -> int:
    body = httpx.post(f"{server.url}/graphql", json={"query": "{ backtests(first: 1) { totalCount } }"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    return int(body["data"]["backtests"]["totalCount"])


def _ensure_backtests(server: Server, token: str, n: int) -> int:
    while _backtest_count(server, token) < n:
        _run(server, "run_backtest.py", token=token)
    return _backtest_count(server, token)


def test_paginate_py_reads_every_backtest_once(server: Server, token: str) -> None:
    total = _ensure_backtests(server, token, 3)
    out = _run(server, "paginate.py", "2", token=token)
    summary = _last_json(out.stdout)
    assert summary == {"pages": -(-total // 2), "read": total, "totalCount": total}
    ids = [json.loads(line)["id"] for line in out.stderr.strip().splitlines()]
    assert len(ids) == len(set(ids)) == total


@needs_shell_tools
def test_paginate_sh_reads_every_backtest_once(server: Server, token: str) -> None:
    total = _ensure_backtests(server, token, 3)
    out = _run(server, "paginate.sh", "2", token=token)
    assert _last_json(out.stdout) == {"pages": -(-total // 2), "read": total, "totalCount": total}
    ids = [json.loads(line)["id"] for line in out.stderr.strip().splitlines()]
    assert len(ids) == len(set(ids)) == total


def test_errors_py_shows_each_kind_of_failure(server: Server, token: str) -> None:
    out = _run(server, "errors.py", token=token)
    cases = {c["case"]: c for c in map(json.loads, out.stdout.strip().splitlines())}
    assert cases["typed result"]["typename"] == "ValidationError"
    assert "input.timeframe" in cases["typed result"]["paths"]
    assert cases["not found"]["codes"] == ["NOT_FOUND"]
    assert cases["bad token"]["codes"] == ["UNAUTHENTICATED"]
    limited = cases["rate limited"]
    assert limited["codes"] == ["RATE_LIMITED"]
    assert limited["retryAfterHeader"] >= 1
    assert limited["retryAfter"] >= 1


@needs_shell_tools
def test_rate_limited_sh_shows_retry_after(server: Server) -> None:
    out = _run(server, "rate_limited.sh")
    lines = out.stdout.strip().splitlines()
    assert "RATE_LIMITED, Retry-After:" in lines[-2]
    assert int(lines[-2].rsplit(":", 1)[1].split()[0]) >= 1
    error = json.loads(lines[-1])
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] >= 1
