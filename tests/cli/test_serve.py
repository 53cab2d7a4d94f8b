"""``backtest serve`` (arguments, banner, and a real server in a subprocess) and
``backtest users ...`` on both backends."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.main import main
from store.settings import get_settings
from tests.serving import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 40


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment for ``store.settings`` (read once, so its cache is cleared)."""
    for name in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "GRAPHQL_IDE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_serve_defaults_and_banner(env: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    env.setattr("uvicorn.run", lambda *a, **k: calls.append((a, k)))
    code, out, err = run_cli(capsys, "serve")
    assert code == 0, err
    [(args, kwargs)] = calls
    assert args == ("graph.app:create_served_app",)
    assert kwargs["factory"] is True and kwargs["reload"] is False
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 8000)
    for url in ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/graphql",
                "http://127.0.0.1:8000/playground", "http://127.0.0.1:8000/healthz",
                "http://127.0.0.1:8000/readyz"):
        assert url in out
    assert "playground" in out


def test_serve_options(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[dict[str, Any]] = []
    env.setattr("uvicorn.run", lambda *a, **k: calls.append(k))
    env.setenv("GRAPHQL_IDE", "0")
    code, out, _ = run_cli(capsys, "serve", "--host", "0.0.0.0", "--port", "9123", "--reload")
    assert code == 0
    assert (calls[0]["host"], calls[0]["port"], calls[0]["reload"]) == ("0.0.0.0", 9123, True)
    assert "http://127.0.0.1:9123/graphql" in out and "playground   off (GRAPHIQL=1 turns it on)" in out


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_serve_rejects_bad_ports(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                 port: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", port])
    assert exit_info.value.code == 2
    assert "port number" in capsys.readouterr().err


def test_serve_workers(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[dict[str, Any]] = []
    env.setattr("uvicorn.run", lambda *a, **k: calls.append(k))
    env.setattr("os.cpu_count", lambda: 4)
    env.setenv("MAX_CONCURRENT_JOBS", "")  # unset (restored after the test)
    code, _, err = run_cli(capsys, "serve", "--workers", "2")
    assert code == 2 and "PostgreSQL" in err and "REDIS_URL" in err and not calls  # SQLite
    env.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
    env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    get_settings.cache_clear()
    code, _, err = run_cli(capsys, "serve", "--workers", "2", "--reload")
    assert code == 2 and "--reload" in err and not calls
    code, out, err = run_cli(capsys, "serve", "--workers", "2")
    assert code == 0, err
    assert calls[-1]["workers"] == 2 and "2 processes" in out
    assert os.environ["MAX_CONCURRENT_JOBS"] == "2"  # 4 CPUs shared by 2 executors
    code, _, _ = run_cli(capsys, "serve")
    assert code == 0 and calls[-1]["workers"] is None  # one process: uvicorn's own loop
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "0"])
    assert "at least 1" in capsys.readouterr().err


def test_serve_rejects_a_short_jwt_secret(env: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    env.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must not start"))
    env.setenv("JWT_SECRET", "short")
    code, _, err = run_cli(capsys, "serve")
    assert code == 2 and "JWT_SECRET must be at least 32 characters" in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_runs_a_real_server(tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "serve.sqlite3"
    shutil.copyfile(sqlite_template, db)
    port = free_port()
    environ = {**os.environ, "DATABASE_URL": f"sqlite://{db}", "DATA_DIR": str(tmp_path),
               "JWT_SECRET": SECRET}
    environ.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                            cwd=ROOT, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base)
        assert httpx.get(f"{base}/readyz", timeout=5).json()["status"] == "ok"
        register = httpx.post(f"{base}/graphql", timeout=10, json={
            "query": 'mutation { register(input: {email: "e2e@example.com", password: '
                     '"long enough"}) { __typename } }'})
        assert register.json() == {"data": {"register": {"__typename": "Registered"}}}
        login = httpx.post(f"{base}/graphql", timeout=10, json={
            "query": 'mutation { login(input: {email: "e2e@example.com", password: '
                     '"long enough"}) { __typename } }'})
        assert login.json() == {"data": {"login": {"__typename": "AuthPayload"}}}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}/graphql" in output
    assert "Traceback" not in output


def test_serve_runs_several_processes(tmp_path: Path, pg_migrated: str, redis_url: str) -> None:
    """--workers 2: each process runs the whole app (lifespan, executor); both answer."""
    port = free_port()
    environ = {**os.environ, "DATABASE_URL": pg_migrated, "DATA_DIR": str(tmp_path),
               "JWT_SECRET": SECRET, "REDIS_URL": redis_url}
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                                 "--workers", "2"], cwd=ROOT, env=environ, stdout=sink,
                                stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while log.read_text().count("Application startup complete") < 2:  # both processes
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        for _ in range(20):  # new connections each time: the kernel spreads them
            result = httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=5,
                                json={"query": "{ __typename }"})
            assert result.json() == {"data": {"__typename": "Query"}}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert proc.returncode == 0, output
    assert "2 processes" in output and "Traceback" not in output, output
    assert len(set(re.findall(r"Started server process \[(\d+)\]", output))) == 2, output
    assert output.count("Application shutdown complete") == 2, output


@pytest.fixture
def use_db(env: pytest.MonkeyPatch, backend_url: str) -> pytest.MonkeyPatch:
    env.setenv("DATABASE_URL", backend_url)
    return env


def with_stdin(env: pytest.MonkeyPatch, text: str) -> None:
    env.setattr(sys, "stdin", io.StringIO(text))


def test_users_commands(use_db: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "users", "list")
    assert code == 0 and "no accounts yet" in out

    with_stdin(use_db, "a long password\n")
    code, out, err = run_cli(capsys, "users", "create", "Root@Example.com", "--admin",
                             "--name", "Root", "--password-stdin")
    assert code == 0, err
    assert "created user 1 root@example.com (admin)" in out
    with_stdin(use_db, "another password\n")
    assert run_cli(capsys, "users", "create", "u@example.com", "--password-stdin")[0] == 0

    with_stdin(use_db, "whatever long\n")
    code, _, err = run_cli(capsys, "users", "create", "root@example.com", "--password-stdin")
    assert code == 2 and "exists already" in err
    with_stdin(use_db, "short\n")
    code, _, err = run_cli(capsys, "users", "create", "x@example.com", "--password-stdin")
    assert code == 2 and "password: use at least 8 characters" in err
    code, _, err = run_cli(capsys, "users", "create", "not-an-email", "--password-stdin")
    assert code == 2 and err.startswith("error: email:")
    with_stdin(use_db, "")
    code, _, err = run_cli(capsys, "users", "create", "y@example.com")
    assert code == 2 and "--password-stdin" in err  # no terminal to ask on

    code, out, _ = run_cli(capsys, "users", "list", "--json")
    listed = json.loads(out)
    assert [(u["email"], u["role"], u["is_active"]) for u in listed] == [
        ("root@example.com", "admin", True), ("u@example.com", "trader", True)]
    code, out, _ = run_cli(capsys, "users", "disable", "U@example.com")
    assert code == 0 and "disabled user 2 u@example.com (trader, disabled)" in out
    code, out, _ = run_cli(capsys, "users", "list")
    assert "u@example.com" in out and " no " in out
    assert run_cli(capsys, "users", "enable", "u@example.com")[0] == 0
    code, _, err = run_cli(capsys, "users", "disable", "ghost@example.com")
    assert code == 2 and "no account with email ghost@example.com" in err

    with_stdin(use_db, "brand new password\n")
    code, out, _ = run_cli(capsys, "users", "set-password", "u@example.com", "--password-stdin")
    assert code == 0 and "new password set" in out

    # the password policy, for create and set-password alike
    for command, email in (("create", "z@example.com"), ("set-password", "u@example.com")):
        for weak, message in (("password123", "most common passwords"),
                              (email.upper(), "email address"),
                              ("          ", "only spaces")):
            with_stdin(use_db, weak + "\n")
            code, _, err = run_cli(capsys, "users", command, email, "--password-stdin")
            assert code == 2 and message in err, (command, weak, err)


def test_users_ensure_demo_prints_the_password_once(
        use_db: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "users", "ensure-demo")
    assert code == 0 and "demo account created: demo@example.com  password: " in out
    password = out.split("password: ")[1].split()[0]
    assert len(password) >= 8
    code, out, _ = run_cli(capsys, "users", "ensure-demo")
    assert code == 0 and "exists" in out and password not in out
