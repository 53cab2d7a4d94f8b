"""Celery workers benchmark: throughput with one and two worker processes against the
in-process executor, and the queueing overhead per task, in one run.

Run with ``.venv/bin/python bench/workers.py [--backtests 200] [--bars 50000]``. It creates a
temporary PostgreSQL database on ``--server`` (default ``postgres://postgres@127.0.0.1:5432``),
migrates and seeds it (a user, the SMA crossover strategy, 3,000 1h candles for the small
backtests, ``--bars`` 1m candles for the sweep), uses the Redis database ``--redis`` (default
``redis://127.0.0.1:6379/12``, flushed before and after), starts ``backtest worker`` processes
(``--pool solo``, one engine thread each: ``tests.support.local_workers``), and drops the database at
the end.

Figures (targets from issue 5):

* throughput of ``--backtests`` small backtests (3,000 bars each) submitted at once, and the
  time of one 10,000-combination sweep (100 x 100 grid, chunks of 1,000 sets), with the
  in-process executor (its process pool, one slot per CPU; the sweep in one piece on every
  CPU), one worker and two workers; ratios against one worker (target: two workers at least
  1.7x one worker on the sweep);
* queueing overhead per task: from ``submit_backtest`` to the row's ``started_at`` (the claim
  by a worker), tasks sent one at a time to idle workers: p50/p99 (target: p99 under 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import asyncpg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cli  # noqa: E402, F401  (keys numba's cache by the engine's sources)
from domain.demo import demo_candles  # noqa: E402
from domain.strategy import parameter_grid, parse_strategy  # noqa: E402
from store import backtests as store_backtests  # noqa: E402
from store import sweeps as store_sweeps  # noqa: E402
from store.backtests import NewBacktest  # noqa: E402
from store.candles import write_candles  # noqa: E402
from store.db import close_db, init_db, migrate  # noqa: E402
from store.models import Backtest, RunStatus, SweepRun  # noqa: E402
from store.settings import Settings  # noqa: E402
from store.strategies import create_strategy  # noqa: E402
from store.sweeps import NewSweep  # noqa: E402
from store.users import create_user  # noqa: E402
from tasks.execution.celery.executor import CeleryExecutor  # noqa: E402
from tasks.execution.compute import warm_up  # noqa: E402
from tasks.execution.executor import Executor, InProcessExecutor  # noqa: E402
from tasks.messaging.broadcast import make_broadcaster  # noqa: E402
from tests.support.local_workers import LocalWorkers  # noqa: E402

SMA = json.loads((ROOT / "examples" / "sma_crossover.json").read_text())
SMALL = demo_candles(3_000, "1h")
GRID = {"fast": [float(x) for x in range(2, 102)], "slow": [float(x) for x in range(110, 210)]}
TERMINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(f"{server.rstrip('/')}/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Bench:
    def __init__(self, settings: Settings, owner: int, big_end: int) -> None:
        self.settings = settings
        self.owner = owner
        self.big_end = big_end

    async def new_backtest(self, i: int) -> int:
        params = {"fast": float(5 + i % 40), "slow": float(60 + i % 100)}
        record = await store_backtests.create_backtest(NewBacktest(
            self.owner, None, SMA, params, "small", "DEMO/USDT", "1h", int(SMALL.ts[0]),
            int(SMALL.ts[-1]) + 3_600_000, 10_000.0))
        return record.id

    async def new_sweep(self) -> int:
        n = len(parameter_grid(parse_strategy(SMA), GRID))
        record = await store_sweeps.create_sweep(NewSweep(
            self.owner, None, SMA, GRID, "sharpe", "big", "DEMO/USDT", "1m", 0, self.big_end, n))
        return record.id


async def wait_all(model: Any, ids: list[int], timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = await model.filter(id__in=ids).values_list("status", flat=True)
        if all(RunStatus(s) in TERMINAL for s in rows):
            bad = [s for s in rows if RunStatus(s) != RunStatus.SUCCEEDED]
            if bad:
                raise RuntimeError(f"{len(bad)} runs did not succeed: {bad[:3]}")
            return
        if time.monotonic() > deadline:
            raise RuntimeError("runs did not finish in time")
        await asyncio.sleep(0.02)


async def throughput(bench: Bench, executor: Executor, n: int) -> float:
    """Runs per second of ``n`` small backtests submitted at once."""
    ids = [await bench.new_backtest(i) for i in range(n)]
    start = time.perf_counter()
    for job_id in ids:
        await executor.submit("backtest", job_id)
    await wait_all(Backtest, ids)
    return n / (time.perf_counter() - start)


async def sweep_time(bench: Bench, executor: Executor) -> float:
    sweep_id = await bench.new_sweep()
    start = time.perf_counter()
    await executor.submit("sweep", sweep_id)
    await wait_all(SweepRun, [sweep_id])
    return time.perf_counter() - start


async def overhead(bench: Bench, executor: Executor, n: int) -> list[float]:
    """Seconds from submit to the claim, one task at a time on idle workers."""
    out = []
    for i in range(n):
        job_id = await bench.new_backtest(i)
        sent = time.time()
        await executor.submit("backtest", job_id)
        await wait_all(Backtest, [job_id])
        started = (await Backtest.get(id=job_id)).started_at
        assert started is not None
        out.append(started.astimezone(UTC).timestamp() - sent)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(executor: Executor, run: Callable[[Executor], Awaitable[Any]]) -> Any:
    await executor.start()
    try:
        return await run(executor)
    finally:
        await executor.stop()


async def bench(args: argparse.Namespace, database_url: str, data_dir: str) -> None:
    settings = Settings(database_url=database_url, data_dir=Path(data_dir), redis_url=args.redis,
                        executor="celery", sweep_chunk_size=args.chunk)
    await migrate(settings)
    await init_db(settings, share_across_tasks=True)
    user = await create_user("bench@x.io", None)
    await create_strategy(user.id, "sma", SMA)
    await write_candles("small", "DEMO/USDT", "1h", SMALL)
    big = demo_candles(args.bars, "1m")
    await write_candles("big", "DEMO/USDT", "1m", big)
    b = Bench(settings, user.id, int(big.ts[-1]) + 60_000)
    warm_up()  # numba's cache filled once, before any process loads the kernels
    broadcaster = make_broadcaster(args.redis)
    results: dict[str, dict[str, Any]] = {}

    inproc = InProcessExecutor(Settings(database_url=database_url, data_dir=Path(data_dir)),
                               broadcaster, warm=True)

    async def all_in(executor: Executor) -> dict[str, Any]:
        await asyncio.sleep(3)  # the pool warms up
        return {"bt": await throughput(b, executor, args.backtests),
                "sweep": await sweep_time(b, executor)}

    results["in-process"] = await measure(inproc, all_in)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOB_", "CELERY_"))}
    env.update(DATABASE_URL=database_url, REDIS_URL=args.redis, EXECUTOR="celery",
               SWEEP_CHUNK_SIZE=str(args.chunk), ENGINE_THREADS="1")
    for n_workers in (1, 2):
        workers = LocalWorkers(env, Path(data_dir) / f"logs{n_workers}")
        try:
            for k in range(n_workers):
                workers.start(f"bench{k}")

            async def on_workers(executor: Executor) -> dict[str, Any]:
                return {"bt": await throughput(b, executor, args.backtests),
                        "sweep": await sweep_time(b, executor),
                        "overhead": await overhead(b, executor, args.overhead)}

            results[f"{n_workers} worker{'s' if n_workers > 1 else ''}"] = await measure(
                CeleryExecutor(settings, broadcaster), on_workers)
        finally:
            workers.stop_all()
    await broadcaster.close()
    await close_db()

    one = results["1 worker"]
    print(f"{args.backtests} backtests of {len(SMALL):,} bars; one sweep of "
          f"{len(parameter_grid(parse_strategy(SMA), GRID)):,} sets on {args.bars:,} bars "
          f"(chunks of {args.chunk:,}); {os.cpu_count()} CPUs")
    print(f"{'executor':<12} {'backtests/s':>12} {'x 1 worker':>11} {'sweep s':>9} "
          f"{'x 1 worker':>11}")
    for name, r in results.items():
        print(f"{name:<12} {r['bt']:>12.1f} {r['bt'] / one['bt']:>10.2f}x {r['sweep']:>9.2f} "
              f"{one['sweep'] / r['sweep']:>10.2f}x")
    for name in ("1 worker", "2 workers"):
        ms = [x * 1000 for x in results[name]["overhead"]]
        print(f"queueing overhead, {name}: p50 {pct(ms, 0.5):.1f} ms, p99 {pct(ms, 0.99):.1f} ms "
              f"over {len(ms)} tasks (target p99 < 50 ms)")
    speedup = one["sweep"] / results["2 workers"]["sweep"]
    print(f"sweep: two workers {speedup:.2f}x one worker (target >= 1.7x)")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backtests", type=int, default=200, help="small backtests (200)")
    parser.add_argument("--bars", type=int, default=50_000, help="1m bars of the sweep (50,000)")
    parser.add_argument("--chunk", type=int, default=1000,
                        help="parameter sets per sweep chunk (SWEEP_CHUNK_SIZE, 1,000)")
    parser.add_argument("--overhead", type=int, default=100,
                        help="tasks sent one at a time for the overhead (100)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server for the temporary database")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12",
                        help="a Redis database the benchmark may flush")
    args = parser.parse_args()
    redis.Redis.from_url(args.redis).flushdb()
    temp_db = f"bt_bench_workers_{secrets.token_hex(4)}"
    await _admin(args.server, f'CREATE DATABASE "{temp_db}"')
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            await bench(args, f"{args.server.rstrip('/')}/{temp_db}", data_dir)
    finally:
        await _admin(args.server, f'DROP DATABASE IF EXISTS "{temp_db}" WITH (FORCE)')
        redis.Redis.from_url(args.redis).flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
