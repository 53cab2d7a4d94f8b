"""The replay job: load -> compute -> save, like the backtest job (``tasks.jobs.kinds.backtest``).

The life cycle (``tasks.jobs.lifecycle.run_job``) claims a ``queued`` replay execution under a
lease; :func:`run` loads what it replays:

* source ``transactions``: the owner's stored fills of the replay's symbol in its range (of
  the chosen imports only, when ``parameters.import_ids`` is set: ``store.transactions``);
* source ``backtest``: the finished backtest's round trips as fills
  (``domain.replay.transactions_from_trades``, each paying the strategy's fee rate), in the
  replay's range, replayed against the candles of the replay's exchange and timeframe, which
  may be other than the backtest's (a robustness check);

then the candles of ``exchange``/``symbol``/``timeframe`` over the range, and, when fees were
paid in a third asset (BNB...), that asset's closes in the symbol's quote (``BNB/USDT``, or the
inverse of ``USDT/BNB``) aligned to the candles (``domain.replay.align_prices``). The
computation runs through the ``runner`` (``tasks.execution.replay_compute``); the results are saved in
one transaction (``store.replay_results``). Events on ``replay:<id>`` have the backtests' shape:
``status``, ``progress`` (with ``equity`` once replayed), then ``done`` with ``summary``,
``equity`` and ``totals`` (``tasks.execution.replay_compute.totals_of``), ``error`` or ``cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import numpy as np

from domain.candles import Candles
from domain.errors import DataError
from domain.jobs import Stage
from domain.replay import Fills, ReplayModel, align_prices, transactions_from_trades
from domain.replay.fills import split_symbol
from domain.replay.rules import FEE_OTHER
from domain.strategy import parse_strategy, sim_config
from store import replay_results
from store import replays as store_replays
from store import transactions as store_transactions
from store.markets import read_closes
from store.replay_results import ReplayResults
from store.replays import ReplayRecord, backtest_trades
from store.scope import ALL_OWNERS
from tasks.execution.compute import series_payload
from tasks.execution.replay_compute import ReplayOutput, ReplayTask, compute_replay
from tasks.jobs.lifecycle import CandleReader, JobRun, summary_payload
from tasks.jobs.registry import JobKind, register


def model_of(parameters: dict[str, Any]) -> ReplayModel:
    """The what-if model stored in a replay's ``parameters``."""
    fee = parameters.get("fee_rate")
    return ReplayModel(str(parameters.get("fill", "actual")),
                       None if fee is None else float(fee),
                       float(parameters.get("slippage_rate", 0.0)),
                       int(parameters.get("delay_bars", 0)))


async def load_fills(rec: ReplayRecord) -> Fills:
    """What ``rec`` replays, as fills of its symbol in its range (see the module docstring)."""
    if rec.source == "backtest":
        if rec.backtest_id is None:
            raise DataError("the backtest this replay was made from has been deleted")
        found = await backtest_trades(rec.backtest_id)
        if found is None:
            raise DataError(f"backtest {rec.backtest_id} has no stored trades to replay")
        trades, snapshot, params = found
        fee_rate = sim_config(parse_strategy(snapshot), params).fee_rate
        txs = [t for t in transactions_from_trades(trades, rec.symbol, fee_rate)
               if rec.start_ms <= t.time_ms < rec.end_ms]
        if not txs:
            raise DataError(f"backtest {rec.backtest_id} has no trades between the replay's "
                            "from and to: widen the range")
        return Fills.from_transactions(txs, rec.symbol)
    fills = await store_transactions.read_fills(rec.symbol, rec.import_ids, rec.start_ms,
                                                rec.end_ms, owner=rec.owner_id)
    if len(fills) == 0:
        raise DataError(f"no {rec.symbol} transactions are stored between the replay's from and "
                        "to (or they were deleted): import them first (importTransactions, or "
                        "`backtest replay import`)")
    return fills


async def conversion_series(rec: ReplayRecord, fills: Fills) -> dict[str, tuple[Candles, bool]]:
    """For each other asset fees were paid in: its closes in the symbol's quote
    (``store.markets.read_closes``), and whether they are the inverse pair's (``USDT/BNB``)."""
    _, quote = split_symbol(rec.symbol)
    out: dict[str, tuple[Candles, bool]] = {}
    for k, asset in enumerate(fills.other_assets):
        paid = (fills.fee_asset == FEE_OTHER + k) & (fills.fee > 0.0)
        if not paid.any():
            continue
        for pair, invert in ((f"{asset}/{quote}", False), (f"{quote}/{asset}", True)):
            closes = await read_closes(rec.exchange, pair, rec.timeframe, rec.start_ms,
                                       rec.end_ms)
            if len(closes):
                out[asset] = (closes, invert)
                break
        else:
            raise DataError(
                f"{int(paid.sum())} transaction(s) pay their fee in {asset}: store "
                f"{rec.exchange} {asset}/{quote} {rec.timeframe} candles over the replay's range "
                f"to convert it (syncMarketData, or `backtest data sync {asset}/{quote} "
                f"{rec.timeframe} --since ...`)")
    return out


async def load_inputs(rec: ReplayRecord, read: CandleReader
                      ) -> tuple[Fills, Candles, dict[str, np.ndarray]]:
    """The fills, the candles and the fee conversion prices of ``rec``; the candles are read
    while the fills and the conversion closes are (on PostgreSQL, in parallel)."""
    candles_read = asyncio.ensure_future(read(rec.exchange, rec.symbol, rec.timeframe,
                                              rec.start_ms, rec.end_ms))
    try:
        fills = await load_fills(rec)
        series = await conversion_series(rec, fills)
        candles = await candles_read
    finally:  # when something above failed: stop the read, and collect its outcome
        if not candles_read.done():
            candles_read.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await candles_read
    conversions = {}
    for asset, (other, invert) in series.items():
        prices = align_prices(candles, other)
        conversions[asset] = 1.0 / prices if invert else prices
    return fills, candles, conversions


def result_json(out: ReplayOutput) -> dict[str, Any]:
    """A replay's ``result`` column: both summaries and the totals."""
    return {"summary": summary_payload(out.final_equity, out.metrics),
            "actual_summary": summary_payload(out.actual_final_equity, out.actual_metrics),
            "totals": out.totals}


async def run(job: JobRun) -> dict[str, Any] | None:
    rec = await store_replays.get_replay(job.job_id, owner=ALL_OWNERS)
    if rec is None:
        return None
    job.stage(Stage.LOADING)
    fills, candles, conversions = await load_inputs(rec, job.read)
    task = ReplayTask(fills, candles, rec.initial_capital, model_of(rec.parameters),
                      conversions, rec.risk_free_rate)
    out = await job.compute(compute_replay, task)
    job.stage(Stage.SAVING)
    result = result_json(out)
    saved = await replay_results.save_replay(job.job_id, ReplayResults(
        out.times, out.curves, out.fills, out.trades, result), lease=job.lease)
    if not saved:
        return None
    return {"summary": result["summary"], "totals": out.totals,
            "equity": series_payload(out.times, out.curves["equity"])}


async def state_fields(replay_id: int) -> dict[str, Any]:
    """A replay's results as event fields: summary, totals and equity."""
    record = await store_replays.get_replay(replay_id, owner=ALL_OWNERS)
    fields: dict[str, Any] = {}
    if record is not None and record.result is not None:
        fields.update(summary=record.result.get("summary"), totals=record.result.get("totals"))
        curves = await replay_results.replay_curves(replay_id)
        if curves is not None:
            fields["equity"] = series_payload(curves[0], curves[1]["equity"])
    return fields


KIND = register(JobKind(
    name="replay", queue="replays", body=run, state_fields=state_fields,
    stages={Stage.LOADING: 0.4, Stage.COMPUTING: 0.4, Stage.SAVING: 0.2},
    description="A user's transactions, or a backtest's trades, replayed against candles."))
