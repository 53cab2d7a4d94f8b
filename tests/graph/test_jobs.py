"""Jobs of every kind through one API (SQLite and PostgreSQL): ``jobs`` lists backtests,
sweeps, syncs and replays newest first, filtered and a page at a time, each node its kind's
type through the ``Job`` interface, only the caller's (an admin's: all); ``cancelJob`` ends a
queued job of any kind and hides another user's; ``jobEvents`` streams the events of the
caller's jobs of every kind, and only those.

The jobs here are created in the store and never submitted, so they stay queued until
cancelled (a job no executor runs is ended by the cancel itself).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.jobs import RunStatus
from graph.auth import Viewer
from graph.context import Context
from graph.ids import decode_id, encode_id
from graph.schema import schema
from store import jobs as store_jobs
from store.backtests import NewBacktest, create_backtest
from store.models import Role, TokenScope
from store.replays import NewReplay, create_replay
from store.sweeps import NewSweep, create_sweep
from store.sync_jobs import create_sync_job
from tasks.messaging.events import feed_channel
from tests.graph.conftest import Api, SignedIn, errors_of

pytestmark = pytest.mark.asyncio

START_MS, END_MS = 1_700_000_000_000, 1_700_360_000_000
DOCUMENT: dict[str, Any] = {"name": "doc", "initial_capital": 1_000}

JOBS = """
query($filter: JobFilter, $first: Int, $after: String) {
  jobs(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        __typename id kind status stage progress eta error createdAt startedAt finishedAt
        ... on Backtest { symbol initialCapital }
        ... on Sweep { nCombinations }
        ... on SyncJob { stored since }
        ... on Replay { source }
      }
    }
  }
}"""

CANCEL = """
mutation($id: ID!) {
  cancelJob(id: $id) {
    __typename
    ... on Job { id kind status stage progress eta error finishedAt }
    ... on NotFoundError { message }
  }
}"""
# a bare numeric id (accepted during the transition to global ids) needs the kind
CANCEL_BARE = """
mutation($kind: JobKind!, $id: ID!) {
  cancelJob(kind: $kind, id: $id) { __typename ... on NotFoundError { message } }
}"""

EVENTS = """
subscription($kinds: [JobKind!]) {
  jobEvents(kinds: $kinds) {
    jobKind jobId seq jobSeq kind status stage progress eta at error data
  }
}"""


async def make_job(kind: str, owner_id: int) -> int:
    """A queued job of ``kind`` of ``owner_id`` (never submitted); its id."""
    if kind == "backtest":
        return (await create_backtest(NewBacktest(
            owner_id, None, DOCUMENT, {"fast": 10.0}, "demo", "DEMO/USDT", "1h", START_MS,
            END_MS, 1_000.0))).id
    if kind == "sweep":
        return (await create_sweep(NewSweep(
            owner_id, None, DOCUMENT, {"fast": [5.0, 10.0]}, "sharpe", "demo", "DEMO/USDT",
            "1h", START_MS, END_MS, 2))).id
    if kind == "sync":
        return (await create_sync_job(owner_id, "binance", "BTC/USDT", "1m", START_MS,
                                      END_MS)).id
    assert kind == "replay"
    return (await create_replay(NewReplay(
        owner_id, "transactions", None, "demo", "DEMO/USDT", "1h", START_MS, END_MS, 1_000.0,
        {"fill": "actual"}))).id


KINDS = ("backtest", "sweep", "sync", "replay")
TYPENAMES = {"backtest": "Backtest", "sweep": "Sweep", "sync": "SyncJob", "replay": "Replay"}


def gid(kind: str, pk: int) -> str:
    """The global id of job ``kind``/``pk``."""
    return encode_id(TYPENAMES[kind], pk)


async def make_jobs(owner: SignedIn, rounds: int = 2) -> list[tuple[str, str]]:
    """``rounds`` jobs of every kind, one kind after the other: ``[(KIND, id), ...]`` oldest
    first."""
    made = []
    for _ in range(rounds):
        for kind in KINDS:
            made.append((kind.upper(), gid(kind, await make_job(kind, owner.id))))
    return made


async def list_jobs(api: Api, who: SignedIn, **variables: Any) -> dict[str, Any]:
    result = await api.gql(JOBS, variables, token=who.token)
    assert "errors" not in result, result
    found: dict[str, Any] = result["data"]["jobs"]
    return found


def keys(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["kind"], e["node"]["id"]) for e in page["edges"]]


async def every_page(api: Api, who: SignedIn, first: int, **variables: Any
                     ) -> list[dict[str, Any]]:
    pages, after = [], None
    while True:
        page = await list_jobs(api, who, first=first, after=after, **variables)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
        assert len(pages) < 20


async def test_jobs_lists_every_kind_newest_first_with_filters_and_pages(api: Api) -> None:
    a, b = await api.user("a@x.io"), await api.user("b@x.io")
    admin = await api.user("root@x.io", Role.ADMIN)
    mine = await make_jobs(a)
    theirs = await make_jobs(b, rounds=1)

    page = await list_jobs(api, a, first=100)
    assert keys(page) == mine[::-1]  # newest first, every kind
    assert page["totalCount"] == 8 and page["pageInfo"]["hasNextPage"] is False
    for edge in page["edges"]:
        node = edge["node"]
        assert node["__typename"] == TYPENAMES[node["kind"].lower()]
        assert (node["status"], node["stage"], node["progress"], node["eta"], node["error"]) == (
            "QUEUED", "QUEUED", 0.0, None, None)
        assert node["createdAt"] and node["startedAt"] is None and node["finishedAt"] is None
    by_type = {e["node"]["__typename"]: e["node"] for e in page["edges"]}
    assert by_type["Backtest"]["symbol"] == "DEMO/USDT"
    assert by_type["Backtest"]["initialCapital"] == 1_000.0
    assert by_type["Sweep"]["nCombinations"] == 2
    assert by_type["SyncJob"]["stored"] == 0
    assert by_type["Replay"]["source"] == "TRANSACTIONS"

    # pages of 3: every job once, in the same order; the total on every page
    pages = await every_page(api, a, 3)
    assert [len(p["edges"]) for p in pages] == [3, 3, 2]
    assert [k for p in pages for k in keys(p)] == mine[::-1]
    assert {p["totalCount"] for p in pages} == {8}
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]

    # filters: kinds, statuses, both; paging keeps them
    for kind, job_id in mine[:3]:  # the first backtest, sweep and sync
        await store_jobs.finish(kind.lower(), decode_id(job_id)[1], RunStatus.CANCELLED)
    some = await every_page(api, a, 1, filter={"kinds": ["SWEEP", "SYNC"]})
    assert [k for p in some for k in keys(p)] == [k for k in mine[::-1]
                                                   if k[0] in ("SWEEP", "SYNC")]
    assert some[0]["totalCount"] == 4
    cancelled = await list_jobs(api, a, filter={"statuses": ["CANCELLED"]})
    assert keys(cancelled) == mine[:3][::-1] and cancelled["totalCount"] == 3
    assert {e["node"]["stage"] for e in cancelled["edges"]} == {"DONE"}
    assert {e["node"]["status"] for e in cancelled["edges"]} == {"CANCELLED"}
    both = await list_jobs(api, a, filter={"kinds": ["SYNC", "REPLAY"],
                                           "statuses": ["QUEUED", "RUNNING"]})
    assert keys(both) == [mine[7], mine[6], mine[3]] and both["totalCount"] == 3
    none = await list_jobs(api, a, filter={"kinds": []})
    assert (keys(none), none["totalCount"]) == ([], 0)

    # another user's jobs are not listed; an admin's list holds everyone's
    assert keys(await list_jobs(api, b)) == theirs[::-1]
    everyone = await list_jobs(api, admin, first=100)
    assert sorted(keys(everyone)) == sorted(mine + theirs) and everyone["totalCount"] == 12

    bad = await api.gql(JOBS, {"after": "not-a-cursor"}, token=a.token)
    assert [code for code, _ in errors_of(bad)] == ["BAD_USER_INPUT"]
    unauthenticated = await api.gql(JOBS, {})
    assert [code for code, _ in errors_of(unauthenticated)] == ["UNAUTHENTICATED"]


async def test_cancel_job_ends_a_queued_job_of_any_kind(api: Api) -> None:
    a, b = await api.user("a@x.io"), await api.user("b@x.io")
    backtest = gid("backtest", await make_job("backtest", a.id))
    refused = await api.gql(CANCEL, {"kind": "BACKTEST", "id": backtest}, token=b.token)
    assert refused["data"]["cancelJob"] == {"__typename": "NotFoundError",
                                            "message": f"backtest {backtest} not found"}
    result = await api.gql(CANCEL, {"kind": "BACKTEST", "id": backtest}, token=a.token)
    done = result["data"]["cancelJob"]
    assert (done["__typename"], done["id"], done["kind"], done["status"], done["stage"]) == (
        "Backtest", backtest, "BACKTEST", "CANCELLED", "DONE")
    assert done["finishedAt"] is not None and done["eta"] is None
    again = await api.gql(CANCEL, {"kind": "BACKTEST", "id": backtest}, token=a.token)
    assert again["data"]["cancelJob"] == done  # ended: returned unchanged
    # another user's job stays not found once ended
    hidden = await api.gql(CANCEL, {"kind": "BACKTEST", "id": backtest}, token=b.token)
    assert hidden["data"]["cancelJob"]["__typename"] == "NotFoundError"

    sync = gid("sync", await make_job("sync", a.id))
    ended = (await api.gql(CANCEL, {"kind": "SYNC", "id": sync}, token=a.token))["data"]
    assert (ended["cancelJob"]["__typename"], ended["cancelJob"]["status"]) == (
        "SyncJob", "CANCELLED")
    assert ended["cancelJob"]["error"].startswith("cancelled before it finished")
    # a global id names its kind: one that no job of the kind has is not found
    assert (await api.gql(CANCEL, {"id": gid("sweep", 999)}, token=a.token))["data"][
        "cancelJob"] == {"__typename": "NotFoundError",
                         "message": f"sweep {gid('sweep', 999)} not found"}
    assert (await api.gql(CANCEL_BARE, {"kind": "SWEEP", "id": "999"}, token=a.token))[
        "data"]["cancelJob"] == {"__typename": "NotFoundError", "message": "sweep 999 not found"}
    # a malformed id, or a bare one without its kind, is refused
    for bad in ("nope", "²", "3000000000", "999", encode_id("Strategy", 1)):
        missing = await api.gql(CANCEL, {"id": bad}, token=a.token)
        assert [code for code, _ in errors_of(missing)] == ["BAD_USER_INPUT"], (bad, missing)


def context_of(api: Api, who: SignedIn, role: Role = Role.TRADER) -> Context:
    context = Context(api.services)
    context.set_viewer(Viewer(who.id, role, TokenScope.READ_WRITE, "jwt"))
    return context


async def collect(stream: AsyncIterator[Any], n: int) -> list[Any]:
    found = []
    async for result in stream:
        found.append(result)
        if len(found) == n:
            break
    return found


async def until_subscribed(api: Api, channel: str, listeners: int) -> None:
    """Wait until ``channel`` has ``listeners`` subscribers (the in-memory broadcaster)."""
    deadline = time.monotonic() + 10
    while len(getattr(api.services.broadcaster, "_subscribers", {}).get(channel, ())) < listeners:
        assert time.monotonic() < deadline, "the subscriptions never started"
        await asyncio.sleep(0.01)


async def test_job_events_streams_the_viewers_jobs_of_every_kind(api: Api) -> None:
    a, b = await api.user("a@x.io"), await api.user("b@x.io")
    every = await schema.subscribe(EVENTS, context_value=context_of(api, a))
    syncs = await schema.subscribe(EVENTS, variable_values={"kinds": ["SYNC"]},
                                   context_value=context_of(api, a))
    assert isinstance(every, AsyncIterator) and isinstance(syncs, AsyncIterator)
    every_task = asyncio.ensure_future(collect(every, 2))
    syncs_task = asyncio.ensure_future(collect(syncs, 1))
    await until_subscribed(api, feed_channel(a.id), 2)

    theirs = gid("backtest", await make_job("backtest", b.id))
    backtest = gid("backtest", await make_job("backtest", a.id))
    sync = gid("sync", await make_job("sync", a.id))
    for token, kind, job_id in ((b.token, "BACKTEST", theirs), (a.token, "BACKTEST", backtest),
                                (a.token, "SYNC", sync)):
        result = await api.gql(CANCEL, {"kind": kind, "id": job_id}, token=token)
        assert result["data"]["cancelJob"]["status"] == "CANCELLED", result

    got = await asyncio.wait_for(every_task, 10)
    assert all(r.errors is None for r in got), got
    events = [r.data["jobEvents"] for r in got]
    assert [(e["jobKind"], e["jobId"]) for e in events] == [("BACKTEST", backtest),
                                                             ("SYNC", sync)]
    assert [e["seq"] for e in events] == [1, 2]  # b's event is on b's feed only
    for e in events:
        assert (e["kind"], e["status"], e["stage"], e["jobSeq"]) == (
            "cancelled", "CANCELLED", "DONE", 1)
        assert e["at"] > "2000" and e["eta"] is None  # a DateTime (ISO 8601)
    assert events[0]["error"] is None and events[0]["data"] == {}
    assert events[1]["error"].startswith("cancelled before it finished")
    [only] = await asyncio.wait_for(syncs_task, 10)
    assert only.errors is None
    assert (only.data["jobEvents"]["jobKind"], only.data["jobEvents"]["jobId"]) == ("SYNC", sync)

    unauthenticated = await schema.subscribe(EVENTS, context_value=Context(api.services))
    assert isinstance(unauthenticated, AsyncIterator)
    [refused] = [r async for r in unauthenticated]
    assert refused.errors and refused.errors[0].extensions == {"code": "UNAUTHENTICATED"}


PROGRESS = {
    "backtest": "subscription($id: ID!) { backtestProgress(id: $id) { kind status stage eta } }",
    "sweep": "subscription($id: ID!) { sweepProgress(id: $id) { kind status stage eta } }",
    "sync": "subscription($id: ID!) { marketDataSyncProgress(id: $id) { kind status stage "
            "eta } }",
    "replay": "subscription($id: ID!) { replayProgress(id: $id) { kind status stage eta } }",
}
PROGRESS_FIELD = {"backtest": "backtestProgress", "sweep": "sweepProgress",
                  "sync": "marketDataSyncProgress", "replay": "replayProgress"}


async def test_each_kinds_progress_follows_its_jobs(api: Api) -> None:
    a, b = await api.user("a@x.io"), await api.user("b@x.io")
    for kind in KINDS:
        job_id = gid(kind, await make_job(kind, a.id))
        result = await api.gql(CANCEL, {"kind": kind.upper(), "id": job_id}, token=a.token)
        assert result["data"]["cancelJob"]["status"] == "CANCELLED", result
        stream = await schema.subscribe(PROGRESS[kind], variable_values={"id": job_id},
                                        context_value=context_of(api, a))
        assert isinstance(stream, AsyncIterator)
        [final] = [r async for r in stream]  # an ended job: its final state, then the end
        assert final.errors is None, final.errors
        assert final.data[PROGRESS_FIELD[kind]] == {"kind": "cancelled", "status": "CANCELLED",
                                                    "stage": "DONE", "eta": None}
        refused = await schema.subscribe(PROGRESS[kind], variable_values={"id": job_id},
                                         context_value=context_of(api, b))
        assert isinstance(refused, AsyncIterator)
        [error] = [r async for r in refused]
        assert error.errors and error.errors[0].extensions == {"code": "NOT_FOUND"}
