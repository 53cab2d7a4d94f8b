"""``LOG_FORMAT=json`` end to end: a real ``backtest serve`` (and, with ``EXECUTOR=celery``, a
real ``backtest worker``) write one JSON object per log line, and the lines of a request and
of the job it started carry the same ``request_id``. The Celery run also shows that a worker's
engine throughput reaches the API's ``/metrics`` (through Redis).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from domain.demo import demo_candles
from graph.auth import Tokens
from graph.ids import encode_id
from store.candles import write_candles
from store.db import close_db, init_db
from store.settings import Settings
from store.strategies import create_strategy
from store.users import create_user
from tasks.request_ids import JsonFormatter, make_formatter
from tests.dbfixtures import _truncate
from tests.graph.runs import SMA, iso
from tests.serving import wait_healthy
from tests.support.local_workers import LocalWorkers

ROOT = Path(__file__).resolve().parents[2]
SECRET = "j" * 40
CANDLES = demo_candles(2_000, "1h")
RUN = """mutation($input: RunBacktestInput!) { runBacktest(input: $input) {
  __typename ... on Backtest { id } } }"""
STATUS = "query($id: ID!) { backtest(id: $id) { status error } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_the_json_formatter() -> None:
    formatter = make_formatter("json")
    assert isinstance(formatter, JsonFormatter)
    assert not isinstance(make_formatter("text"), JsonFormatter)
    record = logging.LogRecord("tasks.jobs", logging.INFO, __file__, 1, "job %s: %s", (7, "é\n"),
                               None)
    record.request_id = "req-1"
    entry = json.loads(formatter.format(record))
    assert entry["message"] == "job 7: é\n" and entry["request_id"] == "req-1"
    assert entry["level"] == "INFO" and entry["logger"] == "tasks.jobs"
    assert entry["time"].endswith("Z") and "T" in entry["time"]
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    failed.request_id = "-"
    entry = json.loads(formatter.format(failed))
    assert entry["request_id"] is None and "ValueError: boom" in entry["exception"]


async def _seed(database_url: str, data_dir: Path) -> tuple[str, int]:
    """A user (its access token) with a strategy, and the candles stored."""
    settings = Settings(database_url=database_url, data_dir=data_dir, jwt_secret=SECRET)
    await init_db(settings)
    try:
        user = await create_user("json@x.io", None)
        strategy = await create_strategy(user.id, "sma", SMA)
        await write_candles("demo", "DEMO/USDT", "1h", CANDLES)
    finally:
        await close_db()
    return Tokens(SECRET).issue(user).access_token, strategy.id


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _run_and_check(environ: dict[str, str], tmp_path: Path, token: str, strategy_id: int,
                   workers: LocalWorkers | None) -> tuple[list[dict[str, Any]], str]:
    """Serve, run one backtest under a known request id, wait for it; the server's JSON log
    lines, and the scrape of /metrics."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                                cwd=ROOT, env=environ, stdout=sink, stderr=subprocess.STDOUT,
                                text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, log.read_text, timeout_s=120)
        market = {"strategyId": encode_id("Strategy", strategy_id), "exchange": "demo",
                  "symbol": "DEMO/USDT", "timeframe": "1h", "from": iso(int(CANDLES.ts[0])),
                  "to": iso(int(CANDLES.ts[-1]) + 3_600_000)}
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "json-logs-1"}
        started = httpx.post(f"{base}/graphql", headers=headers, timeout=30,
                             json={"query": RUN, "variables": {"input": market}}).json()
        backtest = started["data"]["runBacktest"]["id"]
        deadline = time.monotonic() + 120
        while True:
            node = httpx.post(f"{base}/graphql", timeout=10,
                              headers={"Authorization": f"Bearer {token}"},
                              json={"query": STATUS, "variables": {"id": backtest}}
                              ).json()["data"]["backtest"]
            if node["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            detail = "" if workers is None else workers.procs[0].log()[-3000:]
            assert time.monotonic() < deadline, f"{node}\n{log.read_text()}\n{detail}"
            time.sleep(0.1)
        assert node["status"] == "SUCCEEDED", node
        scraped = httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert "Traceback" not in output, output
    lines = _json_lines(output)
    for line in output.splitlines():  # after the banner, every line is JSON
        if line.startswith(("Backtest API", "  ")) or not line.strip():
            continue
        assert line.startswith("{"), line
    return lines, scraped


def _request_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in lines if e.get("request_id") == "json-logs-1"]


def test_in_process_request_and_job_lines_share_the_request_id(
        tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "json.sqlite3"
    shutil.copyfile(sqlite_template, db)
    url = f"sqlite://{db}"
    token, strategy_id = asyncio.run(_seed(url, tmp_path))
    environ = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path),
               "JWT_SECRET": SECRET, "LOG_FORMAT": "json", "METRICS": "1",
               "MAX_CONCURRENT_JOBS": "1"}
    for name in ("REDIS_URL", "EXECUTOR"):
        environ.pop(name, None)
    lines, scraped = _run_and_check(environ, tmp_path, token, strategy_id, None)
    mine = _request_lines(lines)
    loggers = {e["logger"] for e in mine}
    assert "uvicorn.access" in loggers, lines  # the request's own line
    assert any(e["logger"] == "tasks.jobs" and "running" in e["message"] for e in mine), lines
    assert all(set(e) >= {"time", "level", "logger", "message", "request_id", "process"}
               for e in lines)
    assert f"backtest_engine_bars_total {float(len(CANDLES))}" in scraped


def test_celery_worker_lines_share_the_request_id(tmp_path: Path, pg_migrated: str,
                                                  redis_url: str) -> None:
    asyncio.run(_truncate(pg_migrated))
    token, strategy_id = asyncio.run(_seed(pg_migrated, tmp_path))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JOB_", "CELERY_"))}
    environ.update(DATABASE_URL=pg_migrated, REDIS_URL=redis_url, EXECUTOR="celery",
                   DATA_DIR=str(tmp_path), JWT_SECRET=SECRET, LOG_FORMAT="json", METRICS="1")
    workers = LocalWorkers(environ, tmp_path / "logs")
    try:
        worker = workers.start("jsonw")
        lines, scraped = _run_and_check(environ, tmp_path, token, strategy_id, workers)
        worker_output = worker.log()
    finally:
        workers.stop_all()
    assert any(e["logger"] == "uvicorn.access" for e in _request_lines(lines)), lines
    worker_lines = _json_lines(worker_output)
    assert worker_lines, worker_output
    mine = _request_lines(worker_lines)
    assert any(e["logger"] == "tasks.jobs" and "running" in e["message"] for e in mine), \
        worker_output
    # what the worker computed, in the API's /metrics (through Redis)
    assert f"backtest_engine_cluster_bars_total {float(len(CANDLES))}" in scraped, scraped
    assert 'backtest_job_queue_depth{queue="backtests"} 0.0' in scraped, scraped
    assert 'backtest_jobs{kind="backtest",status="succeeded"} 1.0' in scraped, scraped
