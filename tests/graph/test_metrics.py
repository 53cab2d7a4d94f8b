"""``/metrics`` (``graph.metrics``): off unless ``METRICS=1``, behind ``METRICS_TOKEN`` when
set, and after a backtest and GraphQL queries its series say what happened: latency by
operation, jobs by kind and status, queue depth, engine bars, candle cache hits, active
subscriptions. Both backends, with Redis (the deployment-wide series)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from graph.app import create_app
from graph.metrics import ACTIVE_SUBSCRIPTIONS, OperationLabels, track_subscription
from tasks.execution.executor import InProcessExecutor
from tasks.execution.pool import ComputePool
from tests.graph.conftest import Api, api_settings
from tests.graph.runs import CANDLES, pool, seed, start, wait_for

__all__ = ["pool"]  # the module's engine processes (a fixture of tests.graph.runs)

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(api: Api, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


@pytest_asyncio.fixture
async def metrics_api(backend_url: str, tmp_path: Path, pool: ComputePool,
                      redis_url: str) -> AsyncIterator[Api]:
    settings = api_settings(backend_url, tmp_path, max_concurrent_jobs=2, metrics=True,
                            redis_url=redis_url)
    app = create_app(settings)
    services = app.state.services
    services.executor = InProcessExecutor(settings, services.broadcaster, pool=pool)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client)


MINE = "query MineForMetrics { backtests(first: 5) { totalCount } }"


@pytest.mark.asyncio
async def test_series_after_a_backtest_and_queries(metrics_api: Api) -> None:
    api = metrics_api
    user, strategy_id = await seed(api)
    before = await scrape(api)
    latency = "backtest_graphql_request_duration_seconds_count"

    first = await start(api, user.token, strategy_id)  # an anonymous mutation
    assert (await wait_for(api, user.token, "backtest", first))["status"] == "SUCCEEDED"
    second = await start(api, user.token, strategy_id)  # the same range: from memory
    assert (await wait_for(api, user.token, "backtest", second))["status"] == "SUCCEEDED"
    result = await api.gql(MINE, token=user.token)
    assert result["data"]["backtests"]["totalCount"] == 2
    await api.gql("query { __typename }")

    after = await scrape(api)
    delta = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    assert value(delta, latency, operation="MineForMetrics", type="query") == 1
    assert value(delta, latency, operation="anonymous", type="mutation") == 2
    assert value(delta, latency, operation="anonymous", type="query") >= 3  # polls, __typename
    assert value(after, "backtest_graphql_request_duration_seconds_bucket",
                 operation="MineForMetrics", type="query", le="+Inf") >= 1

    assert value(after, "backtest_jobs", kind="backtest", status="succeeded") == 2
    assert ("backtest_jobs", frozenset({("kind", "sweep"), ("status", "queued")})) not in after
    assert value(after, "backtest_job_queue_depth", queue="inprocess") == 0

    assert value(delta, "backtest_engine_bars_total") == 2 * len(CANDLES)
    assert value(delta, "backtest_engine_compute_seconds_total") > 0
    assert value(delta, "backtest_engine_bars_per_second_count") == 2
    assert value(after, "backtest_engine_cluster_bars_total") == 2 * len(CANDLES)  # its Redis
    assert value(after, "backtest_engine_cluster_runs_total") == 2
    assert value(after, "backtest_engine_cluster_compute_seconds_total") > 0

    # the first run read its range (a miss everywhere), the second from this process's memory
    assert value(delta, "backtest_candle_cache_requests_total", layer="memory", result="hit") >= 1
    hits = value(after, "backtest_candle_cache_requests_total", layer="cluster", result="hit")
    misses = value(after, "backtest_candle_cache_requests_total", layer="cluster", result="miss")
    assert hits >= 1 and misses >= 1
    assert value(after, "backtest_candle_cache_hit_ratio", layer="cluster") == pytest.approx(
        hits / (hits + misses))
    assert 0 < value(after, "backtest_candle_cache_hit_ratio", layer="memory") <= 1

    assert ("backtest_active_subscriptions", frozenset()) in after
    assert not [k for k in after if k[0] == "backtest_metrics_scrape_errors"]


@pytest.mark.asyncio
async def test_off_unless_enabled_and_behind_its_token(backend_url: str, tmp_path: Path) -> None:
    plain = create_app(api_settings(backend_url, tmp_path))
    locked = create_app(api_settings(backend_url, tmp_path, metrics=True,
                                     metrics_token="m" * 32))
    for app in (plain, locked):
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.get("/metrics")
                if app is plain:  # not served: the web client's fallback page, or a 404
                    assert "backtest_jobs" not in answer.text
                    assert "# HELP" not in answer.text
                    assert "version=" not in answer.headers.get("content-type", "")
                    continue
                assert answer.status_code == 401
                assert answer.headers["www-authenticate"] == "Bearer"
                wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
                assert wrong.status_code == 401
                right = await client.get("/metrics",
                                         headers={"Authorization": f"Bearer {'m' * 32}"})
                assert right.status_code == 200
                assert value(parse(right.text), "backtest_job_queue_depth",
                             queue="inprocess") == 0


def test_operation_labels_are_bounded() -> None:
    labels = OperationLabels(max_names=2)
    assert labels("query A { __typename }", None) == ("A", "query")
    assert labels("mutation B { __typename }", "B") == ("B", "mutation")
    assert labels("query C { __typename }", None) == ("other", "query")  # over the cap
    assert labels("query A { __typename }", None) == ("A", "query")  # known names stay
    assert labels("{ __typename }", None) == ("anonymous", "query")
    assert labels("subscription { jobEvents }", None) == ("anonymous", "subscription")
    assert labels("query {", None) == ("invalid", "unknown")
    assert labels("query A { a } query B { b }", None) == ("invalid", "unknown")  # which one?
    assert labels("query A { a } query B { b }", "B") == ("B", "query")
    assert labels("query A { a }", "Missing") == ("invalid", "unknown")
    assert labels(None, None) == ("invalid", "unknown")
    roomy = OperationLabels()
    long_name = "Q" * 65
    assert roomy(f"query {long_name} {{ a }}", None) == ("other", "query")


@pytest.mark.asyncio
async def test_active_subscriptions_follow_their_tasks() -> None:
    gauge = ACTIVE_SUBSCRIPTIONS._value
    start_count = gauge.get()
    release = asyncio.Event()
    task = asyncio.create_task(release.wait())
    track_subscription(task)
    track_subscription(task)  # the same subscription counted once
    track_subscription(None)  # one that did not start
    assert gauge.get() == start_count + 1
    release.set()
    await task
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert gauge.get() == start_count


def test_multiprocess_mode_adds_up_processes(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, what each process records is in every process's
    scrape (uvicorn's workers)."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    record = ("import asyncio; from tasks.metrics import record_engine_run; "
              "asyncio.run(record_engine_run(1000, 0.5, None))")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], cwd=ROOT, env=env, check=True,
                       timeout=120)
    show = ("import sys; from graph.metrics import Snapshot, multiprocess, render; "
            "assert multiprocess(); sys.stdout.write(render(Snapshot()).decode())")
    out = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    samples = parse(out)
    assert value(samples, "backtest_engine_bars_total") == 2000
    assert value(samples, "backtest_engine_bars_per_second_count") == 2
