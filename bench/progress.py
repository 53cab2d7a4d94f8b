"""Progress benchmark: how often a running job tells its watchers where it is, and what that
costs.

Run with ``.venv/bin/python bench/progress.py [--bars 1000000] [--sets 10000]``. It stores
``--bars`` 1m demo candles (``domain.demo``, SYNTHETIC) in a fresh SQLite database under a
temporary folder (removed at the end), then runs through the in-process executor
(``tasks.execution.executor.InProcessExecutor``, its process pool, an in-memory broadcaster):

* one backtest of the SMA crossover (``examples/sma_crossover.json``) on every bar;
* one sweep of ``--sets`` parameter sets (a fast x slow grid, 100 x 100 for 10,000) on the
  first ``--sweep-bars`` bars (default 100,000);

each queued with ``tasks.jobs.submit.queue_backtest`` / ``queue_sweep``, its events followed
from the moment it is queued (the owner's feed, subscribed before queueing, filtered to the
job: the same events as the job's channel ``tasks.messaging.events.channel``).

For each it prints: the number of ``progress`` events; the largest gap between two
consecutive events from the ``running`` status to the terminal event (ms), also counting the
first and the last; the stages seen and when each began; the total time from queueing to the
terminal event; and the engine-only time of the same work measured in the same run
(``domain.engine.run.run_backtest`` / ``domain.engine.sweep.run_sweep`` called directly, after
a warm-up, on candles in memory), with the ratio total / engine. For the backtest it also
measures the engine with the progress reporting of ``tasks.execution.compute.compute_backtest``
(a report with a partial equity curve every 2 % of the bars) against the engine without.

Targets (the progress issue): a progress event at least every 0.5 s or every 2 %; at least 10
progress events on the 1M-bar backtest; partial equity in the backtest's progress events.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cli  # noqa: E402, F401  (keys numba's cache by the engine's sources)
from domain.candles import Candles  # noqa: E402
from domain.demo import demo_candles  # noqa: E402
from domain.engine.run import Progress, run_backtest  # noqa: E402
from domain.engine.sweep import run_sweep  # noqa: E402
from domain.progress import GrowingMinMax  # noqa: E402
from domain.strategy import parameter_grid, parse_strategy  # noqa: E402
from store.candles import read_candles, write_candles  # noqa: E402
from store.db import close_db, init_db, migrate  # noqa: E402
from store.settings import Settings  # noqa: E402
from store.strategies import create_strategy  # noqa: E402
from store.users import create_user  # noqa: E402
from tasks.execution.compute import (  # noqa: E402
    EVENT_POINTS,
    chunk_bars,
    chunk_sets,
    warm_up,
)
from tasks.execution.executor import InProcessExecutor  # noqa: E402
from tasks.jobs.submit import BacktestRequest, Market, SweepRequest, queue_backtest, queue_sweep  # noqa: E402
from tasks.messaging.broadcast import Broadcaster, MemoryBroadcaster  # noqa: E402
from tasks.messaging.events import channel, feed_channel, is_terminal  # noqa: E402

SMA = json.loads((ROOT / "examples" / "sma_crossover.json").read_text())
EXCHANGE, SYMBOL, TF = "bench", "DEMO/USDT", "1m"


def grid_of(n_sets: int) -> dict[str, list[float]]:
    """A fast x slow grid of about ``n_sets`` sets (100 x 100 for 10,000), fast < slow."""
    k = max(1, math.isqrt(n_sets))
    rows = max(1, -(-n_sets // k))
    return {"fast": [float(x) for x in range(2, 2 + k)],
            "slow": [float(x) for x in range(110, 110 + rows)]}


class Watch:
    """The events of one job, with the monotonic time each arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.done = asyncio.Event()


async def follow_feed(broadcaster: Broadcaster, owner_id: int, watches: dict[str, Watch],
                      ready: asyncio.Event) -> None:
    """Route the owner's feed to the watch of each job (``"backtest:2"``...), as it arrives."""
    async with broadcaster.subscribe(feed_channel(owner_id)) as events:
        ready.set()
        async for event in events:
            name = channel(str(event.get("job_kind")), str(event.get("job_id")))
            watch = watches.setdefault(name, Watch())
            watch.events.append((time.monotonic(), event))
            if is_terminal(event):
                watch.done.set()


class LoopLag:
    """The longest the event loop was held (a 10 ms sleep that woke late), while it runs."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.at = 0.0
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.01)
            lag = time.monotonic() - t - 0.01
            if lag > self.worst:
                self.worst, self.at = lag, t

    async def stop(self) -> float:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.worst


def report(title: str, queued_at: float, watch: Watch, engine_s: float,
           lag: float | None = None) -> dict[str, Any]:
    events = watch.events
    end_t, end = events[-1]
    if end.get("kind") != "done":
        raise SystemExit(f"{title}: the job did not succeed: {end}")
    progress = [(t, e) for t, e in events if e.get("kind") == "progress"]
    running = next((i for i, (_, e) in enumerate(events) if e.get("status") == "running"), 0)
    times = [t for t, _ in events[running:]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    worst = max(gaps, default=0.0)
    at = gaps.index(worst) if gaps else 0
    around = events[running:][at:at + 2]
    where = " -> ".join(f"{e.get('kind')}/{e.get('stage')} {float(e.get('progress', 0)):.2f}"
                        for _, e in around)
    fractions = [float(e.get("progress", 0.0)) for _, e in progress]
    steps = [b - a for a, b in itertools.pairwise([0.0, *fractions, 1.0])]
    stages: dict[str, float] = {}
    for t, e in events:
        stage = e.get("stage")
        if isinstance(stage, str) and stage not in stages:
            stages[stage] = t - queued_at
    with_equity = sum(1 for _, e in progress if e.get("equity"))
    etas = [e.get("eta") for _, e in progress if e.get("eta") is not None]
    total = end_t - queued_at
    print(f"\n{title}")
    print(f"  progress events          {len(progress):>10}   ({with_equity} with partial equity,"
          f" {len(etas)} with an ETA)")
    print(f"  largest gap              {worst * 1e3:>10.1f} ms  (running -> done, "
          f"{len(times)} events; between {where})")
    print(f"  largest fraction step    {max(steps, default=1.0) * 100:>10.1f} %")
    print(f"  total (queued -> done)   {total:>10.3f} s")
    print(f"  engine only              {engine_s:>10.3f} s   ratio {total / engine_s:.2f}x")
    print("  stages began at          " + ", ".join(f"{k} {v:.3f} s" for k, v in stages.items()))
    if lag is not None:
        print(f"  event loop held at most  {lag * 1e3:>10.1f} ms")
    return {"events": len(progress), "gap_ms": worst * 1e3, "total_s": total,
            "engine_s": engine_s}


def best_of(n: int, fn: Callable[[], object]) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def reporting_cost(candles: Candles, reps: int) -> tuple[float, float, int]:
    """Engine time of the backtest without progress, and with ``compute_backtest``'s
    reporting (partial equity outline every chunk of ``chunk_bars``); reports per run."""
    strategy = parse_strategy(SMA)
    counted = [0]

    def with_reports() -> None:
        outline = GrowingMinMax(EVENT_POINTS)

        def on_progress(p: Progress) -> None:
            idx = outline.indices(p.equity[:p.bars_done])
            counted[0] += 1
            _ = {"progress": p.fraction, "at": time.time(),
                 "equity": {"times": candles.ts[idx].astype(float).tolist(),
                            "values": p.equity[idx].tolist()}}

        run_backtest(strategy, candles, progress=on_progress, cancel=lambda: False,
                     chunk_bars=chunk_bars(len(candles)), min_step=0.02)

    bare, reported = math.inf, math.inf
    for _ in range(reps):  # interleaved, best of each: the machine's noise hits both alike
        bare = min(bare, best_of(1, lambda: run_backtest(strategy, candles)))
        counted[0] = 0
        reported = min(reported, best_of(1, with_reports))
    return bare, reported, counted[0]


async def bench(args: argparse.Namespace, folder: Path) -> None:
    url = f"sqlite://{folder / 'bench.sqlite3'}"
    settings = Settings(database_url=url, data_dir=folder)
    await migrate(settings)
    await init_db(settings, share_across_tasks=True)
    try:
        await _bench(args, folder, url)
    finally:
        await close_db()


async def _bench(args: argparse.Namespace, folder: Path, url: str) -> None:
    user = await create_user("bench@x.io", None)
    strategy = await create_strategy(user.id, "sma", SMA)
    candles = demo_candles(args.bars, TF)
    t = time.perf_counter()
    await write_candles(EXCHANGE, SYMBOL, TF, candles)
    print(f"stored {len(candles):,} {TF} candles in SQLite in {time.perf_counter() - t:.1f} s")
    start_ms, end_ms = int(candles.ts[0]), int(candles.ts[-1]) + 60_000
    t = time.perf_counter()
    loaded = await read_candles(EXCHANGE, SYMBOL, TF, start_ms, end_ms)
    read_s = time.perf_counter() - t
    assert len(loaded) == len(candles)
    print(f"one read of them: {read_s:.2f} s")

    warm_up()  # numba's cache filled once, before the pool's processes load the kernels
    parsed = parse_strategy(SMA)
    grid = grid_of(args.sets)
    sets = parameter_grid(parsed, grid)
    reps = max(1, args.reps)

    # the engine alone, on candles in memory (a warm-up run first)
    run_backtest(parsed, candles)
    bt_engine = best_of(reps, lambda: run_backtest(parsed, candles))
    bare, reported, n_reports = reporting_cost(candles, reps)
    run_sweep(parsed, candles.take(0, min(len(candles), 5_000)), sets[:64])
    t = time.perf_counter()
    sweep_candles = candles.take(0, min(len(candles), args.sweep_bars))
    run_sweep(parsed, sweep_candles, sets, rank_by="sharpe", chunk_sets=chunk_sets(len(sets)))
    sweep_engine = time.perf_counter() - t
    print(f"engine only: backtest {bt_engine * 1e3:.1f} ms (best of {reps}), "
          f"sweep of {len(sets):,} sets {sweep_engine:.1f} s")

    broadcaster = MemoryBroadcaster()
    executor = InProcessExecutor(Settings(database_url=url, data_dir=folder), broadcaster,
                                 warm=True)
    await executor.start()
    watches: dict[str, Watch] = {}
    ready = asyncio.Event()
    feed = asyncio.create_task(follow_feed(broadcaster, user.id, watches, ready))
    await ready.wait()
    try:
        market = Market(EXCHANGE, SYMBOL, TF, start_ms, end_ms)
        # warm the pool's processes: a small backtest through the executor
        small = Market(EXCHANGE, SYMBOL, TF, start_ms, start_ms + 5_000 * 60_000)
        rec = await queue_backtest(user.id, user.id, BacktestRequest(strategy.id, small),
                                   executor, broadcaster)
        await asyncio.wait_for(watches.setdefault(channel("backtest", rec.id),
                                                  Watch()).done.wait(), 120)

        queued_at = time.monotonic()
        lag = LoopLag()
        rec = await queue_backtest(user.id, user.id, BacktestRequest(strategy.id, market),
                                   executor, broadcaster)
        watch = watches.setdefault(channel("backtest", rec.id), Watch())
        await asyncio.wait_for(watch.done.wait(), 600)
        bt = report(f"backtest, {len(candles):,} bars", queued_at, watch, bt_engine,
                    await lag.stop())
        print(f"  (the loop was held {lag.at - queued_at:.3f} s after queueing)")

        sweep_market = Market(EXCHANGE, SYMBOL, TF, start_ms,
                              int(sweep_candles.ts[-1]) + 60_000)
        queued_at = time.monotonic()
        srec = await queue_sweep(user.id, user.id,
                                 SweepRequest(strategy.id, sweep_market, grid, "sharpe"),
                                 executor, broadcaster)
        watch = watches.setdefault(channel("sweep", srec.id), Watch())
        await asyncio.wait_for(watch.done.wait(), 3_600)
        sw = report(f"sweep, {len(sets):,} sets x {len(sweep_candles):,} bars", queued_at, watch,
                    sweep_engine)
    finally:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        await executor.stop()
        await broadcaster.close()

    print(f"\nreporting cost in the engine ({len(candles):,}-bar backtest, best of {reps}):")
    print(f"  engine without progress  {bare * 1e3:>10.1f} ms")
    print(f"  with compute_backtest's  {reported * 1e3:>10.1f} ms   (+{(reported / bare - 1) * 100:.0f} %,"
          f" {n_reports} reports with a partial equity of <= {EVENT_POINTS} points)")
    print("\nsummary: "
          + f"backtest {bt['events']} events, gap {bt['gap_ms']:.0f} ms, "
          + f"{bt['total_s'] / bt['engine_s']:.1f}x engine; "
          + f"sweep {sw['events']} events, gap {sw['gap_ms']:.0f} ms, "
          + f"{sw['total_s'] / sw['engine_s']:.2f}x engine")
    if args.json:
        print(json.dumps({"backtest": bt, "sweep": sw, "engine_bare_ms": bare * 1e3,
                          "engine_reported_ms": reported * 1e3, "read_s": read_s}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="1m candles (default 1M)")
    parser.add_argument("--sweep-bars", type=int, default=100_000,
                        help="the sweep's first N of them (default 100,000)")
    parser.add_argument("--sets", type=int, default=10_000, help="sweep sets (default 10,000)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of the engine timings")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-progress-") as folder:
        asyncio.run(bench(args, Path(folder)))


if __name__ == "__main__":
    main()
