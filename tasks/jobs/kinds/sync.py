"""The market data sync job: fetch an exchange's closed candles of one market over
``[since, until)`` into the store (``tasks.market.sync``), page by page.

Its row is ``store.models.SyncJob`` (created by ``graph.sync_jobs`` after
``tasks.jobs.sync_submit.check_sync_request``). It does not wait for a CPU slot. Every event
carries ``job_id`` and ``stored`` (candles written so far); progress events also ``pages``;
``done`` adds ``unfilled`` (ranges the exchange had no candles for). A failure says why for a
person (unknown symbol, unsupported timeframe, exchange unreachable...). A cancelled sync keeps
the candles it wrote, and says so in its ``error``.
"""

from __future__ import annotations

from typing import Any

from domain.jobs import Stage
from store import sync_jobs
from store.db import active_settings
from store.scope import ALL_OWNERS
from tasks.cache.candles import cache_from_settings
from tasks.jobs.lifecycle import JobRun
from tasks.jobs.registry import JobKind, register
from tasks.market.store import StoreSink, exchange_from_settings
from tasks.market.sync import SyncProgress, sync

CANCELLED_ERROR = ("cancelled before it finished (the candles written so far are kept); start "
                   "it again to fetch the rest")


async def run(job: JobRun) -> dict[str, Any] | None:
    rec = await sync_jobs.get_sync_job(job.job_id, owner=ALL_OWNERS)
    if rec is None:
        return None
    job.sticky.update(job_id=job.job_id, stored=0)
    job.columns["stored"] = 0

    def on_progress(p: SyncProgress) -> None:
        job.sticky["stored"] = job.columns["stored"] = p.candles
        job.report(p.percent / 100.0, pages=p.pages)
        job.check()

    settings = job.settings or active_settings()
    cache = cache_from_settings(settings)  # new candles invalidate the cached ranges
    client = exchange_from_settings(rec.exchange, settings)
    try:
        job.stage(Stage.COMPUTING)
        report = await job.interruptible(sync(
            client, rec.symbol, rec.timeframe, rec.since_ms, rec.until_ms,
            sink=StoreSink(cache), progress=on_progress))
        job.stage(Stage.SAVING)
        job.sticky["stored"] = report.candles_written
        if not await sync_jobs.mark_succeeded(job.job_id, report.candles_written,
                                              lease=job.lease):
            return None
        return {"pages": report.pages, "unfilled": [list(r) for r in report.unfilled]}
    finally:
        await cache.close()
        await client.close()


async def state_fields(job_id: int) -> dict[str, Any]:
    rec = await sync_jobs.get_sync_job(job_id, owner=ALL_OWNERS)
    return {} if rec is None else {"job_id": job_id, "stored": rec.stored}


KIND = register(JobKind(
    name="sync", queue="sync", body=run, state_fields=state_fields,
    stages={Stage.COMPUTING: 0.98, Stage.SAVING: 0.02}, uses_slot=False,
    cancelled_error=CANCELLED_ERROR,
    description="An exchange's candles of one market fetched into the store."))
