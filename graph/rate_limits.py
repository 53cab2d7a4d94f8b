"""Rate limits on mutations, per user and per IP address, and the ``QUOTA_EXCEEDED`` error.

Every mutation spends from two budgets: its caller's (``RATE_LIMIT_USER_PER_MIN``, default 120
a minute; signed-out callers have none) and its IP address's (``RATE_LIMIT_IP_PER_MIN``,
default 600; the address as in ``graph.context.Context.client_ip``). A mutation that starts
work (a root field named ``run*``, ``sync*`` or ``import*``: backtests, sweeps, replays, market
syncs, file imports) costs ``RATE_LIMIT_JOB_COST`` (default 10), any other 1; an operation of
several root fields costs their sum. Queries and subscriptions are not counted.

A budget refills continuously (the generic cell rate algorithm, GCRA): ``n`` a minute means one
unit every ``60 / n`` seconds, and a burst may spend a whole minute's budget at once. A
mutation either spends from both budgets or from neither: refused, it runs no resolver and is
answered with one error, code ``RATE_LIMITED``, ``extensions.retryAfter`` (whole seconds until
it would pass) and the HTTP header ``Retry-After`` (the status stays 200 for
``application/json``, as for every GraphQL error; 429 under
``application/graphql-response+json``).

* :class:`LocalLimiter` keeps the budgets in this process (the embedded set-up).
* :class:`RedisLimiter` keeps them in Redis, shared by every API process (``REDIS_URL``): one
  key per budget (``rate:user:<id>``, ``rate:ip:<address>``) holding its theoretical arrival
  time, checked and spent for both keys by one Lua script, expiring when the budget is full
  again. When Redis cannot be reached it counts locally (logged once per outage), as
  ``graph.login_throttle`` does: mutations must not stop because Redis blinked.

Time comes from ``clock`` (default ``time.time``; tests pass their own).

:class:`QuotaExceeded` (code ``QUOTA_EXCEEDED``, with ``extensions.limit``) is the error of a
per-user quota on things a user keeps (personal access tokens, ``MAX_ACCESS_TOKENS_PER_USER``);
its message says the limit, the setting and what to do.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext
from strawberry.types.graphql import OperationType

from graph.errors import RATE_LIMITED, ApiError
from store.settings import Settings

log = logging.getLogger("graph.rate_limits")

QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
KEY_PREFIX = "rate:"
WINDOW_S = 60.0  # budgets are per minute
JOB_PREFIXES = ("run", "sync", "import")
"""Root mutation fields whose names start so start work (a job or a file import)."""
GRAPHQL_RESPONSE = "application/graphql-response+json"


class QuotaExceeded(ApiError):
    """A per-user quota is full: ``extensions.limit`` is the quota."""

    code = QUOTA_EXCEEDED

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message, limit=limit)
        self.limit = limit


@dataclass(frozen=True)
class Budget:
    """One budget to spend from: its key and how many units it holds per minute."""

    scope: str  # "user" or "ip"
    key: str
    per_minute: int


@dataclass(frozen=True)
class Refusal:
    """Why a mutation may not run now."""

    scope: str
    per_minute: int
    retry_after_s: int  # whole seconds, at least 1

    @property
    def message(self) -> str:
        who, setting = (("you", "RATE_LIMIT_USER_PER_MIN") if self.scope == "user"
                        else ("your network address", "RATE_LIMIT_IP_PER_MIN"))
        return (f"Too many changes: {who} may send {self.per_minute} mutations a minute "
                f"({setting}; starting a job or an import counts as several). Try again in "
                f"{self.retry_after_s} s.")


def _refusal(budgets: Sequence[Budget], waits: Sequence[float]) -> Refusal | None:
    """The refusal for the budget that waits longest, or None when none waits."""
    worst = max(range(len(budgets)), key=lambda i: waits[i], default=None)
    if worst is None or waits[worst] <= 0:
        return None
    budget = budgets[worst]
    return Refusal(budget.scope, budget.per_minute, max(1, math.ceil(waits[worst])))


class Limiter(Protocol):
    async def take(self, budgets: Sequence[Budget], cost: int) -> Refusal | None:
        """Spend ``cost`` from every budget and return None, or return why not (spending
        nothing)."""

    async def close(self) -> None: ...


class LocalLimiter:
    """Budgets in this process: each key's theoretical arrival time (GCRA)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.tats: dict[str, float] = {}

    def _prune(self, now: float) -> None:
        if len(self.tats) >= 10_000:  # full budgets need no entry
            for key in [k for k, tat in self.tats.items() if tat <= now]:
                del self.tats[key]

    async def take(self, budgets: Sequence[Budget], cost: int) -> Refusal | None:
        now = self.clock()
        self._prune(now)
        news: list[float] = []
        waits: list[float] = []
        for b in budgets:
            interval = WINDOW_S / b.per_minute
            new = max(self.tats.get(b.key, now), now) + min(cost, b.per_minute) * interval
            news.append(new)
            waits.append(new - WINDOW_S - now)
        refusal = _refusal(budgets, waits)
        if refusal is None:
            for b, new in zip(budgets, news, strict=True):
                self.tats[b.key] = new
        return refusal

    async def close(self) -> None:
        self.tats.clear()


# KEYS: the budgets' keys. ARGV: now (s), cost, then each budget's units per minute. Returns
# {"0"} when spent, else {index of the budget waiting longest (1-based), its wait in seconds}
# (as text: Redis would truncate a Lua number to an integer).
_TAKE = """
local now, cost, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local news, worst, wait = {}, 0, 0
for i, key in ipairs(KEYS) do
  local per = tonumber(ARGV[3 + i])
  local tat = math.max(tonumber(redis.call('GET', key)) or now, now)
  local new = tat + math.min(cost, per) * window / per
  news[i] = new
  if new - window - now > wait then wait, worst = new - window - now, i end
end
if worst > 0 then return {tostring(worst), tostring(wait)} end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tostring(news[i]), 'PX', math.ceil((news[i] - now) * 1000) + 1000)
end
return {"0"}
"""


class RedisLimiter:
    """Budgets in Redis, shared by every API process (see the module docstring)."""

    def __init__(self, redis_url: str, *, clock: Callable[[], float] = time.time,
                 prefix: str = KEY_PREFIX) -> None:
        import redis.asyncio as aioredis

        self.client: Any = aioredis.Redis.from_url(redis_url, socket_timeout=2.0,
                                                   socket_connect_timeout=2.0)
        self.clock, self.prefix = clock, prefix
        self.local = LocalLimiter(clock=clock)
        self._down = False

    async def take(self, budgets: Sequence[Budget], cost: int) -> Refusal | None:
        keys = [self.prefix + b.key for b in budgets]
        args = [repr(self.clock()), cost, WINDOW_S, *(b.per_minute for b in budgets)]
        try:
            answer = await self.client.eval(_TAKE, len(keys), *keys, *args)
        except Exception as err:  # any Redis or network error: count locally
            if not self._down:
                log.warning("rate limits: Redis unreachable (%s); counting in this process "
                            "until it answers", type(err).__name__)
            self._down = True
            return await self.local.take(budgets, cost)
        self._down = False
        worst = int(answer[0])
        if worst == 0:
            return None
        budget = budgets[worst - 1]
        return Refusal(budget.scope, budget.per_minute, max(1, math.ceil(float(answer[1]))))

    async def close(self) -> None:
        await self.local.close()
        try:
            await self.client.aclose()
        except Exception as err:  # closing a broken connection
            log.debug("rate limits: closing Redis: %s", type(err).__name__)


def limiter_for(redis_url: str | None) -> Limiter:
    """Across processes when Redis is configured, else in this process."""
    return RedisLimiter(redis_url) if redis_url else LocalLimiter()


def _root_fields(selections: SelectionSetNode,
                 fragments: dict[str, FragmentDefinitionNode]) -> Iterator[str]:
    for node in selections.selections:
        if isinstance(node, FieldNode):
            yield node.name.value
        elif isinstance(node, InlineFragmentNode):
            yield from _root_fields(node.selection_set, fragments)
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.pop(node.name.value, None)  # each fragment once
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments)


def mutation_cost(context: ExecutionContext, job_cost: int) -> int:
    """What the operation of ``context`` costs (see the module docstring); at least 1."""
    document = context.graphql_document
    if document is None:
        return 1
    name = context.operation_name
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                  and (name is None or (d.name is not None and d.name.value == name))]
    if not operations:
        return 1
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    cost = sum(job_cost if f.startswith(JOB_PREFIXES) else 0 if f == "__typename" else 1
               for f in _root_fields(operations[0].selection_set, fragments))
    return max(1, cost)


@dataclass(frozen=True)
class RateLimits:
    """The budgets of :class:`MutationRateLimits` (from :class:`~store.settings.Settings`)."""

    limiter: Limiter
    user_per_minute: int = 120
    ip_per_minute: int = 600
    job_cost: int = 10

    @classmethod
    def from_settings(cls, settings: Settings, limiter: Limiter | None = None) -> RateLimits:
        return cls(limiter if limiter is not None else limiter_for(settings.redis_url),
                   settings.rate_limit_user_per_min, settings.rate_limit_ip_per_min,
                   settings.rate_limit_job_cost)

    @property
    def enabled(self) -> bool:
        return bool(self.user_per_minute or self.ip_per_minute)

    def budgets(self, user_id: int | None, ip: str) -> list[Budget]:
        found = []
        if user_id is not None and self.user_per_minute:
            found.append(Budget("user", f"user:{user_id}", self.user_per_minute))
        if self.ip_per_minute:
            found.append(Budget("ip", f"ip:{ip}", self.ip_per_minute))
        return found


class MutationRateLimits(SchemaExtension):
    """Spends each mutation's cost from its caller's budgets after validation, before any
    resolver runs; a refusal is the operation's only error (see the module docstring). List it
    after the validation cache and before ``graph.errors.RequestChecks`` (whose 400 for a
    request that did not run would otherwise replace the 429)."""

    def __init__(self, limits: RateLimits) -> None:
        super().__init__()
        self.limits = limits
        self.refused = False

    async def on_validate(self) -> Any:  # (an async generator: strawberry awaits its steps)
        context = self.execution_context
        if not context.pre_execution_errors and self._is_mutation(context):
            refusal = await self._take(context)
            if refusal is not None:
                self.refused = True
                context.pre_execution_errors = [GraphQLError(
                    refusal.message, extensions={"code": RATE_LIMITED,
                                                 "retryAfter": refusal.retry_after_s})]
                response = getattr(context.context, "response", None)
                if response is not None:
                    response.headers["Retry-After"] = str(refusal.retry_after_s)
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        if self.refused:  # GraphQL over HTTP: a request that did not run is a 4xx
            request = getattr(self.execution_context.context, "request", None)
            response = getattr(self.execution_context.context, "response", None)
            headers = getattr(request, "headers", None)
            if (response is not None and headers is not None
                    and getattr(request, "scope", {}).get("type") == "http"
                    and GRAPHQL_RESPONSE in (headers.get("accept") or "").lower()):
                response.status_code = 429

    @staticmethod
    def _is_mutation(context: ExecutionContext) -> bool:
        try:
            return context.operation_type == OperationType.MUTATION
        except RuntimeError:  # no such operation: strawberry reports it
            return False

    async def _take(self, context: ExecutionContext) -> Refusal | None:
        limits = self.limits
        viewer = getattr(context.context, "viewer", None)
        ip = getattr(context.context, "client_ip", "unknown")
        budgets = limits.budgets(getattr(viewer, "user_id", None), ip)
        if not budgets:
            return None
        return await limits.limiter.take(budgets, mutation_cost(context, limits.job_cost))


def rate_limit_extension(limits: RateLimits) -> Callable[[], SchemaExtension]:
    """The extension factory for ``graph.schema.build_schema`` (one instance per operation)."""
    return lambda: MutationRateLimits(limits)
