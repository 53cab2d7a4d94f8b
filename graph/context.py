"""The per-request context and the app-wide services it carries.

Resolvers reach everything through ``info.context``: the caller (:meth:`Context.viewer` and the
``require_*`` checks), the services (settings, JWTs, progress channel, executor, cache, live
candle watchers) and the request's DataLoaders (:meth:`Context.loader`, created on first use
and never shared between requests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from graph.auth import Tokens, Viewer
from graph.errors import ApiError, Forbidden, Unauthenticated
from graph.login_throttle import LocalThrottle, LoginThrottle
from graph.subscription_quota import LocalQuota, SubscriptionQuota
from store.scope import ALL_OWNERS, OwnerScope
from store.settings import Settings
from tasks.cache.candles import Cache, NullCache
from tasks.messaging.broadcast import Broadcaster

if TYPE_CHECKING:  # (importing it loads ccxt)
    from tasks.market.live_candles import LiveCandles

L = TypeVar("L", bound=DataLoader[Any, Any])


@dataclass
class Services:
    """What lives as long as the app: built in the app's lifespan."""

    settings: Settings
    tokens: Tokens
    broadcaster: Broadcaster
    executor: Any  # tasks.execution.executor.Executor
    live_candles: LiveCandles  # the shared kline watchers of candleUpdates (closed on shutdown)
    cache: Cache = field(default_factory=NullCache)  # tasks.cache.candles: candle ranges, results
    responses: Any = None  # graph.response_cache.ResponseCache, when on (set by the lifespan)
    # the places of open subscriptions (graph.app.SubscriptionCaps)
    subscriptions: SubscriptionQuota = field(default_factory=LocalQuota)
    # failed sign-ins per account and per IP (graph.login_throttle)
    login_throttle: LoginThrottle = field(default_factory=LocalThrottle)


@dataclass
class Context:
    services: Services
    request: Request | WebSocket | None = None
    response: Any = None
    connection_params: dict[str, Any] | None = None  # websocket connection_init payload
    _viewer: Viewer | None = None
    _auth_error: ApiError | None = None
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)

    def set_viewer(self, viewer: Viewer | None, error: ApiError | None = None) -> None:
        self._viewer = viewer
        self._auth_error = error

    @property
    def viewer(self) -> Viewer | None:
        """The caller, or None when no (valid) credentials were sent."""
        return self._viewer

    def require_viewer(self) -> Viewer:
        """The caller; raises ``UNAUTHENTICATED`` (with the token's problem, if one was sent)."""
        if self._viewer is None:
            raise self._auth_error or Unauthenticated()
        return self._viewer

    def require_write(self) -> Viewer:
        """The caller, who must be allowed to change things (``FORBIDDEN`` for read tokens)."""
        viewer = self.require_viewer()
        if not viewer.can_write:
            raise Forbidden("this personal access token is read-only (scope read); create one "
                            "with scope read_write to make changes")
        return viewer

    def require_admin(self) -> Viewer:
        viewer = self.require_viewer()
        if not viewer.is_admin:
            raise Forbidden("only an admin can do this")
        return viewer

    @property
    def client_ip(self) -> str:
        """The caller's address: the connection's peer (uvicorn rewrites it from
        ``X-Forwarded-For`` only for a proxy listed in ``FORWARDED_ALLOW_IPS``)."""
        client = self.request.client if self.request is not None else None
        return client.host if client is not None else "unknown"

    def scope(self) -> OwnerScope:
        """Whose rows the caller may see (``store.scope``): its own, or all for admins."""
        viewer = self.require_viewer()
        return ALL_OWNERS if viewer.is_admin else viewer.user_id

    def loader(self, name: str, factory: Callable[[], L]) -> L:
        """The request's DataLoader called ``name``, created by ``factory`` on first use."""
        found = self._loaders.get(name)
        if found is None:
            found = self._loaders[name] = factory()
        return found  # type: ignore[return-value]
