"""Engine benchmark: every figure with its ratio to a minimal hand-written numba loop.

Run with ``make bench`` (or ``.venv/bin/python bench/engine.py [--bars N]``). One run measures
the baseline and our paths on the same generated data (the synthetic DEMO/USDT generator), so
the ratios hold on any machine. Times are the best of several repeats after a warm-up call; a baseline and what is compared
with it are measured in alternating rounds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.numba_cache import configure  # noqa: E402

configure()  # key numba's cache by the engine's sources, before numba loads

import numba  # noqa: E402
from numba import njit  # noqa: E402

from domain.demo import demo_candles  # noqa: E402
from domain.engine import nb  # noqa: E402
from domain.engine.run import run_backtest  # noqa: E402
from domain.engine.sweep import run_sweep  # noqa: E402
from domain.indicators import INDICATORS, compute_indicator  # noqa: E402
from domain.strategy import compile_signals, parameter_grid, parse_strategy, sim_config  # noqa: E402

SMA_DOC = json.loads((ROOT / "examples" / "sma_crossover.json").read_text())


@njit(cache=True)
def baseline_sma_cross_nb(open_, close, fast, slow, fee):  # type: ignore[no-untyped-def]
    """The practical limit: one rule, rolling sums inline, all equity per trade, fees."""
    n = close.shape[0]
    cash = 10_000.0
    pos = 0.0
    sum_f = 0.0
    sum_s = 0.0
    prev = math.nan
    pending = 0
    trades = 0
    for i in range(n):
        if pending == 1:
            qty = cash / (open_[i] * (1.0 + fee))
            cash -= qty * open_[i] * (1.0 + fee)
            pos = qty
        elif pending == -1:
            cash += pos * open_[i] * (1.0 - fee)
            pos = 0.0
            trades += 1
        pending = 0
        sum_f += close[i]
        sum_s += close[i]
        if i >= fast:
            sum_f -= close[i - fast]
        if i >= slow:
            sum_s -= close[i - slow]
        if i >= slow - 1:
            diff = sum_f / fast - sum_s / slow
            if i < n - 1:
                if pos == 0.0 and prev <= 0.0 and diff > 0.0:
                    pending = 1
                elif pos > 0.0 and prev >= 0.0 and diff < 0.0:
                    pending = -1
            prev = diff
    return cash + pos * close[n - 1], trades


def best_of(fn: Callable[[], Any], repeat: int = 5) -> float:
    fn()  # warm-up (JIT, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Best time of each function, measured in alternating rounds (one call of each per round),
    so that a baseline and what is compared with it see the same machine conditions: on a
    shared machine, load that comes and goes would otherwise bias a ratio either way."""
    for fn in fns.values():
        fn()  # warm-up (JIT, caches)
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for label, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[label] = min(best[label], time.perf_counter() - t0)
    return best


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms" if seconds < 10 else f"{seconds:9.2f} s "


def row(label: str, seconds: float, baseline: float | None, target: str = "") -> None:
    ratio = f"{seconds / baseline:6.2f}x" if baseline else "       "
    print(f"  {label:<58} {fmt_s(seconds)}  {ratio}  {target}")


SUBPROCESS_RUN = r"""
import json, sys, time
t0 = time.perf_counter()
from domain.demo import demo_candles
from domain.engine.run import run_backtest
from domain.strategy import parse_strategy
doc = json.loads(open(sys.argv[1]).read())
c = demo_candles(n_bars=int(sys.argv[2]), timeframe="1m", seed=7)
t1 = time.perf_counter()
r = run_backtest(parse_strategy(doc), c)
t2 = time.perf_counter()
import resource
print(json.dumps({"total": t2 - t0, "run": t2 - t1, "imports_data": t1 - t0,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

SUBPROCESS_MEM = r"""
import json, sys
from domain.demo import demo_candles
from domain.engine.run import run_backtest
from domain.strategy import parse_strategy
doc = json.loads(open(sys.argv[1]).read())
s = parse_strategy(doc)
run_backtest(s, demo_candles(n_bars=5_000, timeframe="1m", seed=1))  # load the kernels
c = demo_candles(n_bars=int(sys.argv[2]), timeframe="1m", seed=7)
def status_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
import ctypes
ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back, or the run reuses it unseen
before = status_kb("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak resident set (VmHWM) to the current one (Linux)
r = run_backtest(s, c)
peak = status_kb("VmHWM")
inputs = sum(a.nbytes for a in (c.ts, c.open, c.high, c.low, c.close, c.volume)) // 1024
print(json.dumps({"before_kb": before, "peak_after_kb": peak, "inputs_kb": inputs}))
"""


def run_child(code: str, args: list[str], cache_dir: str) -> dict[str, Any]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - t0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--sweep-bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    n = args.bars
    print(f"engine benchmark: {n:,} bars (1m synthetic), {os.cpu_count()} cores, "
          f"numba threads {numba.get_num_threads()}")
    c = demo_candles(n_bars=n, timeframe="1m", seed=7)
    strategy = parse_strategy(SMA_DOC)
    params = {"fast": 10, "slow": 50}
    fee = sim_config(strategy, params).fee_rate

    entries, exits = compile_signals(strategy, c, params)
    cfg = sim_config(strategy, params)

    def kernel() -> None:  # as the engine runs it: per-bar cash and position not recorded
        nb.simulate_nb(c.open, c.high, c.low, c.close, entries, exits, cfg.initial_capital,
                       cfg.direction, cfg.fee_rate, cfg.slippage_rate, cfg.stop_loss,
                       cfg.take_profit, cfg.trailing_stop, cfg.sizing_mode, cfg.sizing_value,
                       False)

    t = interleaved({
        "base": lambda: baseline_sma_cross_nb(c.open, c.close, 10, 50, fee),
        "kernel": kernel,
        "whole": lambda: run_backtest(parse_strategy(SMA_DOC), c, params),
    }, args.repeat)
    base = t["base"]
    print("\nsingle SMA-crossover backtest (fast 10, slow 50)")
    row("baseline: hand-written numba loop", base, base)
    row("kernel alone (signals given)", t["kernel"], base, "target <= 1.5x")
    row("whole path: document -> signals -> trades -> metrics", t["whole"], base, "target <= 3x")
    # sanity: both agree on the final equity (same rules for this simple strategy)
    base_eq, _ = baseline_sma_cross_nb(c.open, c.close, 10, 50, fee)
    ours = run_backtest(strategy, c, params).final_equity
    print(f"  (final equity: baseline {base_eq:.6g}, engine {ours:.6g}: the same fills)")

    sb = args.sweep_bars
    cs = demo_candles(n_bars=sb, timeframe="1m", seed=11)
    grid = parameter_grid(strategy, {"fast": list(range(5, 51, 5)),
                                     "slow": list(range(20, 201, 20))})
    print(f"\nsweep of {len(grid)} combinations on {sb:,} bars")

    def base_sweep() -> None:
        for p in grid:
            baseline_sma_cross_nb(cs.open, cs.close, int(p["fast"]), int(p["slow"]), fee)

    t = interleaved({"base": base_sweep, "sweep": lambda: run_sweep(strategy, cs, grid)},
                    args.repeat)
    bsw = t["base"]
    row("baseline: hand-written loop once per combination", bsw, bsw)
    row("run_sweep (signals + parallel kernel + metrics)", t["sweep"], bsw, "target <= 2x")

    print(f"\nindicator throughput on {n:,} bars")
    for name in INDICATORS:
        secs = best_of(partial(compute_indicator, name, c, {}), args.repeat)
        print(f"  {name:<10} {n / secs / 1e6:9.1f} M bars/s  ({fmt_s(secs).strip()})")

    print("\nJIT and numba cache (fresh processes, 100,000 bars)")
    with tempfile.TemporaryDirectory() as cache:
        doc_path = str(ROOT / "examples" / "sma_crossover.json")
        cold = run_child(SUBPROCESS_RUN, [doc_path, "100000"], cache)
        warm = run_child(SUBPROCESS_RUN, [doc_path, "100000"], cache)
        print(f"  cold: first backtest in a new process, empty cache   {cold['run']:7.2f} s "
              f"(process total {cold['wall']:.2f} s)")
        print(f"  warm: first backtest in a second process, cache warm {warm['run']:7.2f} s "
              f"(process total {warm['wall']:.2f} s)  target < 2 s")
        mem = run_child(SUBPROCESS_MEM, [doc_path, str(n)], cache)
    growth = (mem["peak_after_kb"] - mem["before_kb"]) / 1024
    print(f"\npeak memory of the {n:,}-bar run beyond its inputs, results included "
          f"({mem['inputs_kb'] / 1024:.0f} MB of input arrays): {growth:.0f} MB  target < 300 MB")


if __name__ == "__main__":
    main()
