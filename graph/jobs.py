"""Jobs of every kind (backtests, sweeps, market syncs, replays...) through one API: the ``Job``
interface, the ``RunStatus``, ``JobStage`` and ``JobKind`` enums, the ``jobs`` list,
``cancelJob`` and the ``jobEvents`` feed; and the one implementation the kinds' own
``cancel*`` mutations and ``*Progress`` subscriptions go through (:func:`cancel`,
:func:`follow_job`).

Each kind's GraphQL type implements ``Job`` (its common fields: :func:`job_fields`) and is
registered by its feature module with :func:`register_job_type`, with a batch loader of its
objects; the registry maps a kind to its type wherever a job of any kind is returned (the
``jobs`` nodes, the ``cancelJob`` result union built by :func:`job_mutations`), so a new kind
needs no edit here. ``JobKind`` is generated from the job registry
(``tasks.jobs.registry.job_kinds``), ``RunStatus`` and ``JobStage`` from ``domain.jobs``.

Job ids are Relay global ids (``graph.ids``): they name their kind's type, so ``cancelJob(id:)``
needs no ``kind`` (it is still accepted, and needed only for a bare numeric id). Every job type
implements ``Node`` too; ``node(id:)`` and ``nodes(ids:)`` (:class:`NodeQueries`, here for
want of a better home) fetch any object with a global id. Another user's job is NOT_FOUND
everywhere (null from ``node``); an admin sees every job (``Context.scope``), but
``jobEvents`` streams the caller's own jobs only.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar, Union, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.jobs import RunStatus as DomainRunStatus
from domain.jobs import Stage
from graph.accounts import User
from graph.audit import audit
from graph.context import Context
from graph.errors import BadUserInput, NotFound
from graph.ids import decode_id, encode_id
from graph.owners import owner_field
from graph.types_common import (
    Node,
    NotFoundError,
    PageInfo,
    Window,
    cursor_id,
    cursor_time,
    decode_cursor,
    encode_cursor,
    load_nodes,
    register_node,
)
from store import jobs as store_jobs
from store.jobs import JobCursor, JobState
from store.scope import OwnerScope
from tasks.jobs.control import cancel_job as cancel_stored_job
from tasks.jobs.registry import job_kind, job_kinds
from tasks.jobs.state import stored_state
from tasks.messaging.broadcast import Event
from tasks.messaging.events import channel, feed_channel, follow


def _enum(name: str, values: Sequence[str], description: str) -> type[Enum]:
    """A GraphQL enum ``name`` with one member per value (``QUEUED = "queued"``...)."""
    members = cast(type[Enum], Enum(name, [(v.upper(), v) for v in values]))
    return strawberry.enum(members, description=description)


if TYPE_CHECKING:
    RunStatus = DomainRunStatus
    JobStage = Stage

    class JobKind(StrEnum):
        """Generated from the job registry at runtime."""
else:
    RunStatus = _enum("RunStatus", [s.value for s in DomainRunStatus],
                      "Where a job is in its life cycle: queued, running, then succeeded, "
                      "failed or cancelled (nothing leaves an ended status).")
    JobStage = _enum("JobStage", [s.value for s in Stage],
                     "What a job is doing: waiting (queued), loading its inputs, computing, "
                     "saving its results; done once it has ended, whatever the outcome.")
    JobKind = _enum("JobKind", sorted(job_kinds()),
                    "A kind of job (each has its own type implementing Job, and its own ids).")


@strawberry.interface(description="A unit of background work (a backtest, a sweep, a market "
                                  "data sync, a replay...) and its life cycle.")
class Job(Node):
    id: strawberry.ID = strawberry.field(description="Its global id (names its kind's type).")
    kind: JobKind
    status: RunStatus
    stage: JobStage
    progress: float = strawberry.field(description="Fraction done, 0 to 1.")
    eta: float | None = strawberry.field(
        description="Seconds left, extrapolated from the progress so far (null unless it is "
                    "running and has made progress).")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    owner_pk: strawberry.Private[int]
    owner: User | None = owner_field()


class JobRecord(Protocol):
    """What every kind's store record has (``store.backtests.BacktestRecord``...)."""

    @property
    def id(self) -> int: ...
    @property
    def owner_id(self) -> int: ...
    @property
    def status(self) -> DomainRunStatus: ...
    @property
    def stage(self) -> Stage: ...
    @property
    def progress(self) -> float: ...
    @property
    def error(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...


def job_fields(kind: str, r: JobRecord) -> dict[str, Any]:
    """The ``Job`` fields of a record of ``kind``, as keyword arguments of its type."""
    state = JobState(kind, r.id, r.owner_id, r.status, r.stage, r.progress, r.error,
                     r.created_at, r.started_at, r.finished_at)
    return {"id": job_id(kind, r.id), "kind": JobKind(kind),
            "status": RunStatus(r.status.value), "stage": JobStage(r.stage.value),
            "progress": r.progress, "eta": state.eta_s(), "error": r.error,
            "created_at": r.created_at, "started_at": r.started_at,
            "finished_at": r.finished_at, "owner_pk": r.owner_id}


def event_stage(e: Event) -> Stage | None:
    """An event's stage (None for one that does not say)."""
    found = e.get("stage")
    return None if found is None else JobStage(str(found))


def event_at(e: Event) -> datetime:
    """When an event happened (its ``at``, epoch seconds) as a DateTime."""
    return datetime.fromtimestamp(float(e.get("at", 0.0)), UTC)


def event_eta(e: Event) -> float | None:
    found = e.get("eta")
    return None if found is None else float(found)


# --- the registry of the kinds' GraphQL types -------------------------------------------------

LoadMany = Callable[[Sequence[int], OwnerScope], Awaitable[Sequence[Job]]]


@dataclass(frozen=True)
class JobType:
    """A kind's GraphQL type: ``load_many(ids, owner)`` returns the objects of those ids that
    ``owner`` may see (any order; the missing left out); ``label`` names the kind in
    messages (``sync job 3 not found``)."""

    kind: str
    graphql_type: type[Job]
    load_many: LoadMany
    label: str

    @property
    def type_name(self) -> str:
        """The GraphQL name of its type (``Backtest``), which its global ids hold."""
        return str(self.graphql_type.__strawberry_definition__.name)  # type: ignore[attr-defined]


_TYPES: dict[str, JobType] = {}


def register_job_type(kind: str, graphql_type: type[Job], load_many: LoadMany, *,
                      label: str | None = None) -> None:
    """Make ``graphql_type`` the type of the jobs of ``kind`` (a name of the job registry)."""
    job_kind(kind)  # ValueError for an unknown kind
    found = _TYPES.get(kind)
    if found is not None and found.graphql_type is not graphql_type:
        raise ValueError(f"job kind {kind!r} already has the GraphQL type "
                         f"{found.graphql_type.__name__}")
    registered = _TYPES[kind] = JobType(kind, graphql_type, load_many, label or kind)

    async def load_nodes_of(info: Info, pks: Sequence[int]) -> Sequence[Node]:
        return await load_many(pks, info.context.scope())

    register_node(registered.type_name, load_nodes_of)


def job_type(kind: str) -> JobType:
    try:
        return _TYPES[kind]
    except KeyError:
        raise ValueError(f"job kind {kind!r} has no GraphQL type: its feature module must call "
                         "graph.jobs.register_job_type") from None


def job_types() -> list[JobType]:
    """Every kind's type, by kind name; ``ValueError`` when a kind of the job registry has
    none (its feature module was not imported, or does not register it)."""
    return [job_type(kind) for kind in sorted(job_kinds())]


def label_of(kind: str) -> str:
    return job_type(kind).label


def job_id(kind: str, pk: int) -> strawberry.ID:
    """The global id of job ``kind``/``pk``."""
    return strawberry.ID(encode_id(job_type(kind).type_name, pk))


def parse_id(value: str | int, kind: str) -> int:
    """The row id of a global id of job ``kind`` (or a bare numeric one); ``BAD_USER_INPUT``
    when it is malformed or names another type."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return decode_id(value, job_type(kind).type_name)[1]


def parse_job_id(value: str, kind: str | None = None) -> tuple[str, int]:
    """``(kind, row id)`` of the global id of a job of any kind (``kind`` needed only for a bare
    numeric id); ``BAD_USER_INPUT`` when it is malformed or names no job type."""
    by_name = {t.type_name: t.kind for t in job_types()}
    names = (job_type(kind).type_name,) if kind is not None else tuple(sorted(by_name))
    type_name, pk = decode_id(value, *names)
    return by_name[type_name], pk


async def load_jobs(keys: Sequence[tuple[str, int]], owner: OwnerScope
                    ) -> dict[tuple[str, int], Job]:
    """The GraphQL objects of jobs ``(kind, id)`` that ``owner`` may see: one batch per kind."""
    by_kind: dict[str, list[int]] = {}
    for kind, job_id in keys:
        by_kind.setdefault(kind, []).append(job_id)
    found: dict[tuple[str, int], Job] = {}
    for kind, ids in by_kind.items():
        for obj in await job_type(kind).load_many(ids, owner):
            found[kind, decode_id(obj.id)[1]] = obj
    return found


# --- cancel and follow, for every kind ---------------------------------------------------------

J = TypeVar("J", bound=Job)


async def cancel(info: Info[Context, None], kind: str, ident: strawberry.ID | str | int
                 ) -> Job | None:
    """Cancel the caller's job ``kind``/``ident`` (``tasks.jobs.control.cancel_job``) and
    return it as it is then: a queued one ended cancelled, a running one still running
    (asked to stop, it ends cancelled shortly: follow its events), an ended one unchanged.
    None when it does not exist or is not the caller's."""
    ctx = info.context
    ctx.require_write()
    key = parse_id(ident, kind)
    scope = ctx.scope()
    state = await cancel_stored_job(kind, key, owner=scope, executor=ctx.services.executor,
                                    broadcaster=ctx.services.broadcaster)
    target = job_type(kind).graphql_type.__name__
    if state is None:
        await audit(ctx, "job.cancel", target_type=target, target_id=key, outcome="failed",
                    details={"kind": kind, "reason": "not found"})
        return None
    await audit(ctx, "job.cancel", target_type=target, target_id=key, details={"kind": kind})
    return (await load_jobs([(kind, key)], scope)).get((kind, key))


async def cancel_as(info: Info[Context, None], kind: str, ident: strawberry.ID,
                    graphql_type: type[J]) -> J | NotFoundError:
    """:func:`cancel` for a kind's own mutation: its object, or a ``NotFoundError``."""
    found = await cancel(info, kind, ident)
    if found is None:
        return NotFoundError(message=f"{label_of(kind)} {ident} not found")
    assert isinstance(found, graphql_type), found
    return found


async def follow_job(info: Info[Context, None], kind: str, ident: strawberry.ID | int
                     ) -> AsyncGenerator[Event, None]:
    """The events of the caller's job ``kind``/``ident``: its current state first, then each
    change, ending after the terminal one (``tasks.messaging.events.follow``); NOT_FOUND when
    the caller may not see it."""
    key = parse_id(ident, kind)
    if await store_jobs.get_state(kind, key, owner=info.context.scope()) is None:
        raise NotFound(label_of(kind), ident if isinstance(ident, str) else job_id(kind, key))
    events = follow(info.context.services.broadcaster, channel(kind, key),
                    lambda: stored_state(kind, key))
    async for event in events:
        yield event


# --- jobs -----------------------------------------------------------------------------------


@strawberry.input(description="Conditions on listed jobs (all must hold).")
class JobFilter:
    kinds: list[JobKind] | None = strawberry.field(default=None,
                                                   description="Only these kinds (default all).")
    statuses: list[RunStatus] | None = None


@strawberry.type
class JobEdge:
    cursor: str
    node: Job


@strawberry.type(description="A page of jobs, newest first.")
class JobConnection:
    edges: list[JobEdge]
    page_info: PageInfo
    owner: strawberry.Private[OwnerScope]
    kinds: strawberry.Private[list[str] | None]
    statuses: strawberry.Private[list[DomainRunStatus] | None]

    @strawberry.field(description="How many jobs match, on every page.")
    async def total_count(self) -> int:
        return await store_jobs.count_jobs(owner=self.owner, kinds=self.kinds,
                                           statuses=self.statuses)


def _cursor(state: JobState) -> str:
    return encode_cursor((state.created_at.isoformat(), state.kind, state.id))


def _after(cursor: str | None) -> JobCursor | None:
    if cursor is None:
        return None
    created, kind, pk = decode_cursor(cursor, 3)
    if not isinstance(kind, str) or kind not in job_kinds():
        raise BadUserInput("invalid cursor: pass a cursor returned by jobs")
    return JobCursor(cursor_time(created, cursor), kind, cursor_id(pk, cursor))


async def jobs(info: Info[Context, None], filter: JobFilter | None = None,
               first: int | None = None, after: str | None = None,
               last: int | None = None, before: str | None = None) -> JobConnection:
    scope = info.context.scope()
    window = Window(first, after, last, before)
    flt = filter or JobFilter()
    kinds = None if flt.kinds is None else sorted({JobKind(k).value for k in flt.kinds})
    statuses = None if flt.statuses is None else [DomainRunStatus(s.value)
                                                  for s in flt.statuses]
    states, more = await store_jobs.list_jobs(owner=scope, kinds=kinds, statuses=statuses,
                                              after=_after(after), before=_after(before),
                                              limit=window.size, backward=window.backward)
    nodes = await load_jobs([(s.kind, s.id) for s in states], scope)
    edges = [JobEdge(cursor=_cursor(s), node=nodes[s.kind, s.id]) for s in states
             if (s.kind, s.id) in nodes]  # (one deleted meanwhile is left out)
    return JobConnection(
        edges=edges, page_info=window.page_info([e.cursor for e in edges], more),
        owner=scope, kinds=kinds, statuses=statuses)


async def node(info: Info[Context, None], id: strawberry.ID) -> Node | None:
    info.context.require_viewer()
    return (await load_nodes(info, [id]))[0]


MAX_NODES = 100


async def nodes(info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
    info.context.require_viewer()
    if len(ids) > MAX_NODES:
        raise BadUserInput(f"'ids' may hold at most {MAX_NODES} ids (got {len(ids)})")
    return await load_nodes(info, ids)


@strawberry.type
class NodeQueries:
    node: Node | None = strawberry.field(
        resolver=node, description="Any object by its global id: null when it does not exist "
                                   "or is not yours (BAD_USER_INPUT when the id is malformed).")
    nodes: list[Node | None] = strawberry.field(
        resolver=nodes, description=f"Objects by global ids (at most {MAX_NODES}), in the "
                                    "order of 'ids': null for each that does not exist or is "
                                    "not yours.")


@strawberry.type
class JobQueries(NodeQueries):
    jobs: JobConnection = strawberry.field(
        resolver=jobs, description="Your jobs of every kind (or of some), newest first "
                                   "(Relay connection).")


# --- cancelJob --------------------------------------------------------------------------------


async def cancel_job(info: Info[Context, None], id: strawberry.ID,
                     kind: Annotated[JobKind | None, strawberry.argument(
                         description="Only needed with a bare numeric id.",
                         deprecation_reason="A global id names its kind: pass the id alone.")
                     ] = None
                     ) -> Any:
    job_kind_name, key = parse_job_id(id, None if kind is None else JobKind(kind).value)
    found = await cancel(info, job_kind_name, key)
    if found is None:
        return NotFoundError(message=f"{label_of(job_kind_name)} {id} not found")
    return found


def job_mutations() -> type:
    """The class of ``cancelJob``, whose result is a union of every kind's type and
    ``NotFoundError``: call it once every feature module has registered its type."""
    members = (*(t.graphql_type for t in job_types()), NotFoundError)
    result = Annotated[Union[members], strawberry.union(  # type: ignore[valid-type]  # noqa: UP007
        "CancelJobResult", description="The job as it is after the cancel, or NotFoundError.")]

    @strawberry.type
    class JobMutations:
        cancel_job: Any = strawberry.mutation(
            resolver=cancel_job, graphql_type=result,
            description="Cancel a job of any kind: a queued one at once, a running one at its "
                        "next chunk, page or request (it is returned still running; its status "
                        "turns cancelled shortly: follow it with jobEvents or its kind's "
                        "progress subscription). An ended one is returned unchanged.")

    return JobMutations


# --- jobEvents --------------------------------------------------------------------------------

_EVENT_FIELDS = frozenset({"job_kind", "job_id", "seq", "job_seq", "kind", "status", "stage",
                           "progress", "eta", "at", "error"})


@strawberry.type(description="One event of one of your jobs, from the feed of all of them.")
class JobEvent:
    job_kind: JobKind
    job_id: strawberry.ID
    seq: int = strawberry.field(description="1, 2, 3... in your feed.")
    job_seq: int = strawberry.field(description="1, 2, 3... among the events of this job (as "
                                                "in its kind's progress subscription).")
    kind: str = strawberry.field(description="status, progress, done, error or cancelled.")
    status: RunStatus
    stage: JobStage | None
    progress: float
    eta: float | None = strawberry.field(description="Seconds left (estimated).")
    at: datetime = strawberry.field(description="When it happened.")
    error: str | None
    data: JSON | None = strawberry.field(description="The event's other fields, which depend "
                                                     "on its kind (equity, summary, stored...).")

    @classmethod
    def from_event(cls, e: Event) -> JobEvent:
        return cls(job_kind=JobKind(str(e["job_kind"])),
                   job_id=job_id(str(e["job_kind"]), int(e["job_id"])), seq=int(e.get("seq", 0)),
                   job_seq=int(e.get("job_seq", 0)), kind=str(e.get("kind", "status")),
                   status=RunStatus(str(e["status"])), stage=event_stage(e),
                   progress=float(e.get("progress", 0.0)), eta=event_eta(e),
                   at=event_at(e), error=e.get("error"),
                   data=JSON({k: v for k, v in e.items() if k not in _EVENT_FIELDS}))


async def job_events(info: Info[Context, None], kinds: list[JobKind] | None = None
                     ) -> AsyncGenerator[JobEvent, None]:
    viewer = info.context.require_viewer()
    wanted = None if kinds is None else {JobKind(k).value for k in kinds}
    async with info.context.services.broadcaster.subscribe(feed_channel(viewer.user_id)) as feed:
        async for event in feed:
            if wanted is None or event.get("job_kind") in wanted:
                yield JobEvent.from_event(event)


@strawberry.type
class JobSubscriptions:
    job_events: AsyncGenerator[JobEvent, None] = strawberry.subscription(
        resolver=job_events,
        description="Every event of your jobs (of every kind, or of kinds) from now on, as "
                    "they happen; it never ends by itself.")
