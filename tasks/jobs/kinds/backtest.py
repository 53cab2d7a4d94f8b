"""The backtest job: load the candles, run the engine, save the trades, equity and metrics.

Its row is ``store.models.Backtest`` (created by ``tasks.jobs.submit.queue_backtest``); its
``done`` event carries ``summary`` (``tasks.jobs.lifecycle.summary_payload``) and the final
``equity`` (downsampled); its progress events the partial ``equity`` while it computes.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import time
from typing import Any

from domain.jobs import Stage
from store import backtest_results as results_store
from store import backtests as store_backtests
from store.backtest_results import Results
from store.db import active_settings
from store.scope import ALL_OWNERS
from tasks.execution.compute import BacktestTask, compute_backtest, series_payload
from tasks.execution.fingerprints import fingerprint_of
from tasks.jobs.lifecycle import JobRun, summary_payload
from tasks.jobs.registry import JobKind, register
from tasks.metrics import record_engine_run

try:
    ENGINE_VERSION = importlib.metadata.version("backtest")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    ENGINE_VERSION = "dev"


async def run(job: JobRun) -> dict[str, Any] | None:
    rec = await store_backtests.get_backtest(job.job_id, owner=ALL_OWNERS)
    if rec is None:
        return None
    candles = await job.load_candles(rec)
    # hashed here while the engine runs there (once per candles kept in memory)
    digest = asyncio.ensure_future(asyncio.to_thread(fingerprint_of, candles))
    task = BacktestTask(rec.strategy_snapshot, rec.parameters, candles, rec.risk_free_rate,
                        with_fingerprint=False)
    started = time.perf_counter()
    out = await job.compute(compute_backtest, task)
    computed_s = time.perf_counter() - started
    data_fingerprint = await digest
    job.stage(Stage.SAVING)
    saved = await results_store.save_results(job.job_id, Results(
        out.trades, None, None, out.metrics, out.final_equity, data_fingerprint,
        ENGINE_VERSION, curve=out.curve), lease=job.lease)
    if not saved:
        return None
    await record_engine_run(len(candles), computed_s, (job.settings or active_settings()).redis_url)
    return {"summary": summary_payload(out.final_equity, out.metrics), "equity": out.preview}


async def state_fields(backtest_id: int) -> dict[str, Any]:
    """A succeeded backtest's results as event fields: its summary and equity curve."""
    fields: dict[str, Any] = {}
    summary = (await results_store.summaries_for([backtest_id]))[0]
    curve = await results_store.equity_curve(backtest_id)
    if summary is not None:
        fields["summary"] = summary_payload(summary.final_equity, summary.metrics)
    if curve is not None:
        fields["equity"] = series_payload(*curve)
    return fields


KIND = register(JobKind(
    name="backtest", queue="backtests", body=run, state_fields=state_fields,
    stages={Stage.LOADING: 0.6, Stage.COMPUTING: 0.15, Stage.SAVING: 0.25},
    description="One strategy on one market's candles."))
