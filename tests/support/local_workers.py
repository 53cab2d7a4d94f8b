"""Celery workers as local subprocesses, for the tests and ``bench/workers.py``.

:class:`LocalWorkers` starts ``backtest worker`` processes with a given environment (each in a
session of its own, so a kill reaches its prefork children), waits until each says it is ready,
and stops them all (``stop_all``: TERM, then KILL after a grace period). Their output goes to
``<log_dir>/<name>.log``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT_S = 90.0


@dataclass
class WorkerProc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class LocalWorkers:
    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.procs: list[WorkerProc] = []

    def start(self, name: str, *, pool: str = "solo", concurrency: int = 1,
              queues: str | None = None, wait: bool = True) -> WorkerProc:
        argv = [sys.executable, "-m", "cli.main", "worker", "--pool", pool,
                "--concurrency", str(concurrency), "--hostname", f"{name}@%h",
                "--loglevel", "info"]
        if queues:
            argv += ["--queues", queues]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        proc = WorkerProc(name, process, log_path)
        self.procs.append(proc)
        if wait:
            self.wait_ready(proc)
        return proc

    def wait_ready(self, proc: WorkerProc, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in proc.log():
            if proc.process.poll() is not None:
                raise RuntimeError(f"worker {proc.name} exited ({proc.process.returncode}):\n"
                                   f"{proc.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {proc.name} not ready after {timeout:g} s:\n"
                                   f"{proc.log()[-4000:]}")
            time.sleep(0.05)

    def kill(self, proc: WorkerProc, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the worker and its children; wait for the worker to exit."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.process.wait(timeout=30)

    def stop_all(self, grace_s: float = 10.0) -> None:
        for proc in self.procs:
            if proc.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.procs:
            try:
                proc.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.process.wait(timeout=10)
        self.procs.clear()
