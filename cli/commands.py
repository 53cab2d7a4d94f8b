"""The subcommands of ``backtest``: each reads its inputs, calls the core, prints the result."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from cli import output
from cli.errors import UsageError
from cli.inputs import (
    load_candles,
    load_strategy,
    parse_assignments,
    parse_grid_spec,
    parse_number,
    parse_time,
)
from cli.problems import option
from domain.candles import Candles
from domain.csv import write_candles_csv
from domain.demo import demo_candles
from domain.engine.run import Progress, run_backtest
from domain.engine.sweep import run_sweep
from domain.errors import DataError, Problem, StrategyError
from domain.strategy import parameter_grid
from domain.strategy.schema import strategy_json_schema
from domain.timeframes import parse_timeframe


def progress_bar(total: int, unit: str, disabled: bool) -> tqdm:
    """A progress bar on stderr, shown only when stderr is a terminal and not ``disabled``."""
    # disable=None: shown only when stderr is a terminal
    return tqdm(total=total, unit=unit, unit_scale=True, file=sys.stderr, leave=False,
                disable=True if disabled else None, dynamic_ncols=True)




@contextlib.contextmanager
def _status(message: str, disabled: bool) -> Iterator[None]:
    """A one-line status on stderr while something slow runs (terminals only), then erased."""
    shown = not disabled and sys.stderr.isatty()
    if shown:
        print(message, end="", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        if shown:
            print("\r" + " " * len(message) + "\r", end="", file=sys.stderr, flush=True)


def _candles_in_range(args: argparse.Namespace) -> Candles:
    tf = parse_timeframe(args.timeframe) if args.timeframe else None
    start = parse_time(args.date_from, "--from") if args.date_from else None
    end = parse_time(args.date_to, "--to") if args.date_to else None
    if start is not None and end is not None and start >= end:
        raise UsageError("--from must be before --to")
    if args.data:
        with _status(f"reading {args.data} ...", args.no_progress):
            candles = load_candles(args.data, symbol=args.symbol, timeframe=tf)
        if start is not None or end is not None:
            candles = candles.slice_time(start, end)
    else:
        if not args.symbol or tf is None:
            raise UsageError("give --data FILE, or --symbol and --timeframe to use stored candles "
                             "(see `backtest data list`)")
        # lazy: only this path needs the database (and reads it without the ORM)
        from tasks.market.stored import load_stored_candles

        candles = asyncio.run(load_stored_candles(args.exchange, args.symbol, tf, start, end))
    if len(candles) == 0:
        raise DataError("no candles in the chosen range: widen --from/--to")
    return candles


def cmd_run(args: argparse.Namespace) -> int:
    strategy = load_strategy(args.strategy)
    candles = _candles_in_range(args)
    params = {name: parse_number(v, f"--param {name}")
              for name, v in parse_assignments(args.param, "--param").items()}
    unknown = sorted(set(params) - set(strategy.parameters))
    if unknown:
        defined = ", ".join(strategy.parameters) or "none"
        raise UsageError(f"--param {unknown[0]}: the strategy has no such parameter (defined: {defined})")
    bar = progress_bar(len(candles), "bar", args.no_progress or args.json)

    def on_progress(p: Progress) -> None:
        bar.update(p.bars_done - bar.n)

    try:
        result = run_backtest(strategy, candles, params, risk_free_rate=args.risk_free,
                              progress=None if bar.disable else on_progress)
    finally:
        bar.close()
    if args.trades_out:
        path = Path(args.trades_out)
        text = (json.dumps(output.trade_dicts(result.trades), indent=2)
                if path.suffix.lower() == ".json" else output.trades_csv(result.trades))
        try:
            path.write_text(text)
        except OSError as err:
            raise UsageError(f"--trades-out {args.trades_out}: cannot write: {err.strerror}") from None
    print(output.result_json(result, strategy.name) if args.json
          else output.metrics_table(result, strategy.name))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    strategy = load_strategy(args.strategy)
    candles = _candles_in_range(args)
    grid = {name: parse_grid_spec(name, spec)
            for name, spec in parse_assignments(args.grid, "--grid").items()}
    try:
        sets = parameter_grid(strategy, grid)
    except StrategyError as err:  # located by domain paths: grid.fast -> --grid fast
        raise StrategyError([Problem(option(p.path), p.message) for p in err.problems]) from None
    if args.top < 1:
        raise UsageError("--top must be >= 1")
    bar = progress_bar(len(sets), "set", args.no_progress or args.json)

    def on_progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        result = run_sweep(strategy, candles, sets, rank_by=args.rank_by,
                           risk_free_rate=args.risk_free,
                           progress=None if bar.disable else on_progress)
    finally:
        bar.close()
    top = result.top(args.top)
    if args.json:
        print(json.dumps({
            "strategy": strategy.name, "rank_by": result.rank_by, "sets": len(sets),
            "rows": [{"rank": r.rank, "params": r.params,
                      "metrics": {k: output.json_number(v) for k, v in r.metrics.items()}}
                     for r in top],
        }, indent=2))
        return 0
    shown = ["total_return", "sharpe", "max_drawdown", "win_rate", "n_trades"]
    if result.rank_by not in shown:
        shown.insert(0, result.rank_by)
    names = list(sets[0])
    header = ["rank", *names, *shown]
    lines = [header]
    for r in top:
        lines.append([str(r.rank), *(f"{r.params[n]:g}" for n in names),
                      *(output.fmt_value(r.metrics[m], output.METRIC_FORMATS[m][1]) for m in shown)])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    print(f"{strategy.name}: {len(sets)} parameter sets on {len(candles):,} bars, "
          f"ranked by {result.rank_by}")
    for row in lines:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    if args.bars < 1 or args.bars > 50_000_000:
        raise UsageError("--bars must be between 1 and 50,000,000")
    tf = parse_timeframe(args.timeframe)
    candles = demo_candles(n_bars=args.bars, timeframe=tf, seed=args.seed,
                           start_ms=parse_time(args.start, "--start"))
    path = Path(args.out)
    if not path.parent.is_dir():  # a typo in a path must not create directories
        raise UsageError(f"--out {args.out}: no directory {path.parent}: create it first "
                         f"(mkdir -p {path.parent})")
    try:
        path.write_text(write_candles_csv(candles))
    except OSError as err:
        raise UsageError(f"--out {args.out}: cannot write: {err.strerror}") from None
    print(f"wrote {len(candles):,} synthetic {candles.symbol} {tf} candles to {path}",
          file=sys.stderr)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(strategy_json_schema(), indent=2))
    return 0
