"""A replay on a real Celery worker (``EXECUTOR=celery``, task ``replay.run`` on the
``replays`` queue), through the API: the result equals the domain's, progress reaches the API
over Redis. Uses the worker fixtures of ``tests.tasks.execution.celery.test_workers``."""

from __future__ import annotations

import numpy as np
import pytest

from domain.replay import ReplayModel, what_if
from domain.transactions.model import Transaction
from store.candles import write_candles
from store.transaction_imports import NewImport, save_import
from tests.graph.conftest import Api
from tests.graph.runs import wait_for
from tests.support.local_workers import LocalWorkers
from tests.tasks.execution.celery import test_workers as celery

pytestmark = pytest.mark.asyncio
workers_db, workers, celery_api = celery.workers_db, celery.workers, celery.celery_api
CANDLES = celery.SMALL
SYMBOL = "DEMO/USDT"
RUN = """mutation($input: RunReplayInput!) { runReplay(input: $input) {
  __typename ... on Replay { id } ... on ValidationError { problems { path message } } } }"""
RESULT = """query($id: ID!) { replay(id: $id) { status error summary { finalEquity }
  totals { nFills slippage feeAttribution } fills(first: 3) { totalCount } } }"""


async def test_a_replay_runs_on_a_worker(workers: LocalWorkers, celery_api: Api) -> None:
    workers.start("solo")
    user = await celery_api.user("replay@x.io")
    await write_candles(celery.EXCHANGE, SYMBOL, celery.TIMEFRAME, CANDLES)
    rng = np.random.default_rng(2)
    bars = np.sort(rng.choice(np.arange(len(CANDLES) - 5), 300, replace=False))
    txs = [Transaction(int(CANDLES.ts[j]) + 1_000, SYMBOL, "buy" if i % 2 else "sell",
                       float(CANDLES.close[j]), 1.0 + i % 3, 0.05, "USDT", str(i), i + 2)
           for i, j in enumerate(bars.tolist())]
    await save_import(NewImport(user.id, "h", "plain_csv", celery.EXCHANGE, None, txs))
    result = await celery_api.gql(RUN, {"input": {
        "symbol": SYMBOL, "timeframe": celery.TIMEFRAME, "exchange": celery.EXCHANGE,
        "fill": "CLOSE", "feeBps": 10}}, token=user.token)
    created = result["data"]["runReplay"]
    assert created["__typename"] == "Replay", result
    node = await wait_for(celery_api, user.token, "replay", created["id"], timeout=120)
    assert node["status"] == "SUCCEEDED", (node, workers.procs[0].log()[-3000:])
    got = (await celery_api.gql(RESULT, {"id": created["id"]},
                                token=user.token))["data"]["replay"]
    start = int(CANDLES.ts[int(bars[0])])
    end = int(CANDLES.ts[int(bars[-1])]) + 60_000
    want = what_if(txs, CANDLES.slice_time(start, end), 10_000.0, ReplayModel("close", 0.001))
    assert got["summary"]["finalEquity"] == pytest.approx(want.replayed.final_equity, abs=1e-6)
    assert got["totals"]["slippage"] == pytest.approx(want.slippage, abs=1e-6)
    assert got["fills"]["totalCount"] == got["totals"]["nFills"] == len(txs)
