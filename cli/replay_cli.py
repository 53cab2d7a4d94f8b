"""The ``backtest replay ...`` commands; their options, and what each does, are declared in
``cli.replay_commands`` (this module is imported only when one of them runs).

Every command acts for ``--user EMAIL`` (default: the demo account of ``make run``) on the
database of ``DATABASE_URL``. ``replay run`` creates the replay like the API does
(``tasks.jobs.replay_submit``), runs it in this process with a progress bar (``tasks.jobs.kinds.replay``)
and prints the actual account next to the replayed one; it is stored like any replay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from cli import replay_output as out
from cli.commands import progress_bar
from cli.db_commands import table, with_db
from cli.errors import UsageError
from cli.inputs import iso, parse_time, read_bytes
from cli.problems import problems_message
from domain.replay.ranges import Source, replay_market
from store import candles as store_candles
from store import replay_results
from store import replays as store_replays
from store import transactions as store_transactions
from store.backtests import get_backtest
from store.db import active_settings
from store.replays import ReplayRecord
from store.scope import ALL_OWNERS
from store.users import DEMO_EMAIL, get_user_by_email, normalize_email
from tasks.imports.transactions import ImportRequest, import_transactions
from tasks.jobs.lifecycle import run_job
from tasks.jobs.replay_submit import ReplayRequest, queue_replay
from tasks.jobs.submit import InvalidRequest
from tasks.messaging.broadcast import MemoryBroadcaster
from tasks.messaging.events import channel


async def _owner(args: argparse.Namespace) -> int:
    email = normalize_email(getattr(args, "user", None) or DEMO_EMAIL)
    user = await get_user_by_email(email)
    if user is None:
        hint = ("create it with `backtest users ensure-demo`, or " if email == DEMO_EMAIL
                else "")
        raise UsageError(f"--user {email}: no such account ({hint}see `backtest users list`)")
    return user.id


def cmd_replay_import(args: argparse.Namespace) -> int:
    data = read_bytes(args.file)

    async def work() -> Any:
        owner = await _owner(args)
        return await import_transactions(ImportRequest(
            owner, data, args.format, args.name, Path(args.file).name, args.exchange),
            active_settings())

    batch = with_db(work)
    print(json.dumps(out.import_dict(batch), indent=2) if args.json else
          f"imported {out.import_line(batch)}")
    return 0


def cmd_replay_imports(args: argparse.Namespace) -> int:
    async def work() -> list[Any]:
        owner = await _owner(args)
        found, after = [], None
        while True:
            page, more = await store_transactions.list_imports(owner=owner, after_id=after,
                                                              limit=100)
            found += page
            if not more:
                return found
            after = page[-1].id

    batches = with_db(work)
    if args.json:
        print(json.dumps([out.import_dict(b) for b in batches], indent=2))
        return 0
    if not batches:
        print("no imports yet: `backtest replay import FILE --format ...`")
        return 0
    rows = [[str(b.id), b.name, b.format, b.exchange, f"{b.n_rows:,}", f"{b.n_stored:,}",
             f"{b.n_duplicates:,}", ", ".join(b.symbols),
             "" if b.first_ts is None else iso(b.first_ts)[:10],
             "" if b.last_ts is None else iso(b.last_ts)[:10]] for b in batches]
    print(table(["id", "name", "format", "exchange", "rows", "new", "duplicates", "symbols",
                  "first", "last"], rows, {0, 4, 5, 6}))
    return 0


def cmd_replay_delete_import(args: argparse.Namespace) -> int:
    async def work() -> Any:
        return await store_transactions.delete_import(args.id, owner=await _owner(args))

    deleted = with_db(work)
    if deleted is None:
        raise UsageError(f"no import {args.id} of yours (see `backtest replay imports`)")
    print(f"deleted import {deleted.id} {deleted.name!r} and its {deleted.n_stored:,} "
          "transaction(s)")
    return 0


class _Here:
    """An executor for one replay run by this command itself."""

    async def submit(self, kind: str, job_id: int) -> None:
        return None

    async def cancel(self, kind: str, job_id: int) -> bool:
        return False


def _request(args: argparse.Namespace) -> ReplayRequest:
    start = parse_time(args.date_from, "--from") if args.date_from else None
    end = parse_time(args.date_to, "--to") if args.date_to else None
    return ReplayRequest(
        symbol=args.symbol, timeframe=args.timeframe, exchange=args.exchange,
        backtest_id=args.backtest, import_ids=tuple(args.imports or ()), start_ms=start,
        end_ms=end, initial_capital=args.capital, fill=args.fill, fee_bps=args.fee_bps,
        slippage_bps=args.slippage_bps, delay_bars=args.delay, risk_free_rate=args.risk_free)


async def _require_candles(owner: int, request: ReplayRequest) -> None:
    """Refuse, before anything is stored, a replay on a market with no stored candles (it
    could only fail). Other problems are left to ``queue_replay``, which lists them all."""
    source = None
    if request.backtest_id is not None:
        backtest = await get_backtest(request.backtest_id, owner=owner)
        if backtest is None:
            return
        source = Source(backtest.exchange, backtest.symbol, backtest.timeframe,
                        backtest.start_ms, backtest.end_ms, backtest.initial_capital)
    market, problems = replay_market(request.symbol, request.exchange, request.timeframe,
                                     source, store_candles.KEY_MAX_LEN)
    if market is None or problems:
        return
    if await store_candles.last_ts(market.exchange, market.symbol, market.timeframe) is None:
        raise UsageError(
            f"no {market.exchange} {market.symbol} {market.timeframe} candles are stored, so "
            "there is nothing to replay on: fetch them with `backtest data sync "
            f"{market.symbol} {market.timeframe} --since ...` (or `backtest data import`); "
            "`backtest data list` shows what is stored")


def cmd_replay_run(args: argparse.Namespace) -> int:
    request = _request(args)
    bar = progress_bar(100, "%", args.no_progress or args.json)

    async def work() -> tuple[ReplayRecord, list[Any]]:
        owner = await _owner(args)
        await _require_candles(owner, request)
        events = MemoryBroadcaster()
        try:
            record = await queue_replay(owner, owner, request, _Here(), events)  # type: ignore[arg-type]
        except InvalidRequest as err:
            raise UsageError(problems_message(err.problems)) from None
        async with events.subscribe(channel("replay", record.id)) as stream:
            job = asyncio.create_task(run_job("replay", record.id, events))
            async for event in stream:
                bar.update(int(100 * float(event.get("progress", 0.0))) - bar.n)
                if event["kind"] in ("done", "error", "cancelled"):
                    break
            await job
        await events.close()
        done = await store_replays.get_replay(record.id, owner=ALL_OWNERS)
        assert done is not None
        fills = (await replay_results.fills_page(record.id, None, 10**9)
                 if args.fills_out else [])
        return done, fills

    try:
        record, fills = with_db(work)
    finally:
        bar.close()
    if record.error:
        raise UsageError(f"replay {record.id} {record.status.value}: {record.error}")
    if args.fills_out:
        try:
            Path(args.fills_out).write_text(out.fills_csv(fills))
        except OSError as err:
            raise UsageError(f"--fills-out {args.fills_out}: cannot write: {err.strerror}") from None
    print(json.dumps(out.replay_dict(record), indent=2) if args.json else out.replay_table(record))
    return 0
