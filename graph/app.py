"""The Starlette application: ``/graphql`` (HTTP, websocket), ``/healthz``, ``/readyz``, the
GraphQL playground at ``/playground`` and the web client's files at ``/``.

``create_app(settings)`` builds it; its lifespan connects the database (shared across tasks),
opens the progress channel and starts the executor, and undoes all three on shutdown.
``backtest serve`` runs it with uvicorn.

- ``/healthz``: 200 ``{"status": "ok"}`` while the process serves requests.
- ``/readyz``: 200 when the database answers ``SELECT 1`` and, with ``REDIS_URL`` set, Redis
  answers ``PING``, each within :data:`READY_TIMEOUT_S`; else 503, with ``checks`` saying which
  dependency failed and how (never a password or a traceback).
- ``/``: the web client built into ``client/dist`` (``make run`` builds it; served by
  ``graph.client_files``), with a fallback to
  its ``index.html`` for any other path that does not name a file (``/backtests/12`` is a page
  of the app; ``/assets/missing.js`` stays a 404). Hashed ``/assets/*`` are cached for good,
  ``index.html`` is revalidated on every load. Without a build, ``/`` says how to make one.
- ``/playground``: GraphiQL, bundled by the client's build and served from this origin (no
  CDN); a browser opening ``/graphql`` is redirected there. ``GRAPHIQL=0`` turns both off
  (``INTROSPECTION=0`` turns off introspection; ``ENV=production`` makes both default to off).
- Every HTTP response carries security headers (``graph.security_headers``); mutations are
  rate-limited per user and per IP address (``graph.rate_limits``).
- ``/graphql``: a body that is not a JSON object is a 400 saying what to send. Queries made
  only of backtest fields are answered from ``graph.response_cache`` while the caller's
  backtests have not changed (``RESPONSE_CACHE_MB``, default 32 MB per process; it needs the
  triggers ``backtest db migrate`` installs, and stays off, saying so, without them).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.execution import ExecutionResult

from graph import client_files
from graph.auth import Tokens, bearer_of, load_secret, recheck, viewer_of
from graph.client_files import client_routes
from graph.context import Context, Services
from graph.errors import TOO_MANY_SUBSCRIPTIONS, ApiError
from graph.http import (
    BodyLimit,
    RequestIds,
    configure_logging,
    error_body,
    error_response,
    media_type,
    wants_graphql_response,
)
from graph.login_throttle import throttle_for
from graph.metrics import metrics_routes, timed_operation, track_subscription
from graph.rate_limits import RateLimits
from graph.response_cache import ResponseCache
from graph.schema import MAX_TOKENS, build_schema
from graph.security_headers import SecurityHeaders, content_security_policy, inline_script_hashes
from graph.shutdown import DrainableTransportWSHandler, drain_on_stop_signal
from graph.subscription_quota import SubscriptionQuota, quota_for
from graph.ws_messages import WellFormedMessages, json_size, short_reason
from store import owner_versions
from store.db import close_db, connection, init_db
from store.settings import Settings, get_settings
from tasks.cache.candles import cache_from_settings
from tasks.imports.transactions import MAX_FILE_BYTES
from tasks.market.live_candles import LiveCandles
from tasks.messaging.broadcast import make_broadcaster

log = logging.getLogger("graph.app")

READY_TIMEOUT_S = 2.0  # how long /readyz waits for each dependency
CALLER_RECHECK_S = 30.0  # how often an open websocket's caller is checked again
FORBIDDEN_CLOSE = 4403  # graphql-transport-ws: Forbidden (graphql-ws clients reconnect)


class SubscriptionCaps(WellFormedMessages, DrainableTransportWSHandler):
    """The websocket protocol with this API's limits on each ``subscribe``: a payload above
    ``MAX_REQUEST_BYTES`` and a user's subscription over ``MAX_SUBSCRIPTIONS_PER_USER`` (open
    at once, every connection counted: in every API process sharing ``REDIS_URL`` when it is
    set, ``graph.subscription_quota``) are refused with an ``error`` message carrying a
    code.

    The signed-in caller of an open connection is checked again every
    :data:`CALLER_RECHECK_S` (``graph.auth.recheck``): once its account is disabled, its
    session ended (logout, password change, a reused refresh token) or its personal access
    token revoked, the connection closes with 4403 saying why, and its subscriptions end; a
    role change applies to its next subscriptions."""

    async def handle(self) -> None:
        watcher = asyncio.get_running_loop().create_task(self._watch_caller())
        try:
            await super().handle()
        finally:
            watcher.cancel()

    async def _watch_caller(self) -> None:
        context: Context = self.context
        while True:
            await asyncio.sleep(CALLER_RECHECK_S)
            viewer = context.viewer
            if viewer is None:
                continue
            params = context.connection_params or {}
            header = params.get("Authorization") or params.get("authorization")
            token = (bearer_of(header) if isinstance(header, str)
                     else params.get("token") if isinstance(params.get("token"), str) else None)
            try:
                context.set_viewer(await recheck(viewer, token))
            except ApiError as err:
                log.info("closing a websocket: its caller (user %s) %s", viewer.user_id,
                         err.message)
                with contextlib.suppress(Exception):
                    await self.websocket.close(FORBIDDEN_CLOSE, short_reason(err.message))
                return
            except Exception:  # the database down for a moment: try again next time
                log.warning("could not check a websocket's caller again", exc_info=True)

    async def _refuse(self, message: Any, text: str, code: str) -> None:
        await self.send_message({"id": message["id"], "type": "error",
                                 "payload": error_body(text, code)["errors"]})

    async def handle_subscribe(self, message: Any) -> None:
        context: Context = self.context
        services = context.services
        settings = services.settings
        payload = message.get("payload")
        if (self.connection_acknowledged and isinstance(payload, dict)
                and json_size(payload) > settings.max_request_bytes):
            await self._refuse(message, "The subscription's payload is larger than this "
                               f"server accepts ({settings.max_request_bytes} bytes, "
                               "MAX_REQUEST_BYTES)", "PAYLOAD_TOO_LARGE")
            return
        viewer = context.viewer
        cap = settings.max_subscriptions_per_user
        user = viewer.user_id if viewer is not None else None
        quota = services.subscriptions
        place: object | None = None
        if (self.connection_acknowledged and user is not None and cap
                and message.get("id") not in self.operations):
            place = await quota.acquire(user, cap)
            if place is None:
                await self._refuse(message, f"You have {cap} subscriptions open, the most one "
                                   "user may have at once (MAX_SUBSCRIPTIONS_PER_USER): complete "
                                   "some first", TOO_MANY_SUBSCRIPTIONS)
                return
        try:
            await super().handle_subscribe(message)
        finally:
            operation = self.operations.get(message.get("id"))
            track_subscription(operation.task if operation is not None else None)  # /metrics
            if place is not None and user is not None:
                if operation is None or operation.task is None:
                    await quota.release(user, place)  # it did not start
                else:
                    operation.task.add_done_callback(_releaser(quota, user, place))


_RELEASES: set[asyncio.Task[None]] = set()  # releases in flight (a task needs a reference)


def _releaser(quota: SubscriptionQuota, user: int, place: object) -> Callable[[object], None]:
    def release(_: object) -> None:
        task = asyncio.get_running_loop().create_task(quota.release(user, place))
        _RELEASES.add(task)
        task.add_done_callback(_RELEASES.discard)
    return release


class BacktestGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context: the caller from the ``Authorization`` header
    (HTTP) or from the ``connection_init`` payload (websocket: ``{"Authorization": "Bearer
    ..."}`` or ``{"token": "..."}``)."""

    graphql_transport_ws_handler_class = SubscriptionCaps

    def __init__(self, services: Services, *, playground: bool = False, **kwargs: Any) -> None:
        self.services = services
        self.playground = playground
        super().__init__(**kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's view, except that a request refused before GraphQL runs gets a
        GraphQL error with a code (``graph.http.error_response``) instead of plain text, and a
        preflight ``OPTIONS`` (without CORS set up, or from an origin not allowed) a 204."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        if self.playground and self.should_render_graphql_ide(request):  # type: ignore[arg-type]
            # a browser opening /graphql: our bundled GraphiQL, not strawberry's CDN page
            await RedirectResponse("/playground", status_code=302)(scope, receive, send)
            return
        if request.method == "OPTIONS":
            response: Response = Response(status_code=204,
                                          headers={"Allow": "GET, POST, OPTIONS"})
        else:
            try:
                response = await self.run(request)
            except HTTPException as err:
                response = self._refusal(request, err.status_code, err.reason)
            finally:  # uploaded files, read or not (a request refused before its resolver)
                await request.close()
        await response(scope, receive, send)

    @staticmethod
    def _refusal(request: Request, status: int, reason: str) -> Response:
        accept = request.headers.get("accept")
        headers: dict[str, str] = {}
        if status == 405:
            headers["Allow"] = "GET, POST, OPTIONS"
        if "not allowed when using GET" in reason and wants_graphql_response(accept):
            status, headers = 405, {"Allow": "POST"}  # GraphQL over HTTP: a GET mutation
        if reason.startswith("Batching is not enabled"):
            reason = "Batching is not enabled: send one operation per request, as a JSON object"
        return error_response(status, reason, accept=accept, headers=headers)

    def encode_json(self, data: object) -> str:
        """Responses encoded by orjson (several times faster than json on chart series), as
        text: websocket messages must go out as text frames, which GraphQL clients expect."""
        return orjson.dumps(data).decode()

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """An HTTP answer: orjson's bytes as they are (no round trip through text), in the
        media type the client accepts; a request error under
        ``application/graphql-response+json`` (status set by ``graph.errors``) has no
        ``data``."""
        accept = sub_response.headers.get("x-accept")
        if accept is not None:
            del sub_response.headers["x-accept"]
        if (sub_response.status_code and sub_response.status_code >= 400
                and wants_graphql_response(accept) and isinstance(response_data, dict)
                and response_data.get("data") is None):
            response_data = {k: v for k, v in response_data.items() if k != "data"}
        response = Response(orjson.dumps(response_data), media_type=media_type(accept))
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        accept = request.headers.get("accept")
        if accept:  # for create_response (removed there): the media type to answer in
            sub_response.headers["x-accept"] = accept
        return sub_response

    @timed_operation  # its duration by operation, for /metrics
    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any,
                             context: Context, root_value: Any,
                             request_data: GraphQLRequestData) -> ExecutionResult:
        """One operation, answered from the response cache when it may be
        (``graph.response_cache``: a non-admin caller, a query of backtest fields only)."""
        run = functools.partial(super().execute_single, request, request_adapter, sub_response,
                                context, root_value, request_data)
        cache: ResponseCache | None = self.services.responses
        viewer = context.viewer
        if (cache is None or viewer is None or viewer.is_admin
                or (request_adapter.method == "GET" and not self.allow_queries_via_get)):
            return await run()
        key = cache.key(viewer.user_id, request_data.query, request_data.operation_name,
                        request_data.variables)
        if key is None:
            return await run()
        return await cache.answer(key, run)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(self.services, request, response)
        if isinstance(request, Request):
            await self._authenticate(context, request.headers.get("authorization"))
        return context

    def parse_json(self, data: str | bytes) -> Any:
        """The decoded body, which must be a JSON object (a list is refused further on, as
        batching is off); anything else is a 400 saying what to send, never a 500."""
        try:
            value = self.decode_json(data)
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
            raise HTTPException(400, "Unable to parse the request's JSON (the body, or the "
                                     "variables of a GET): send "
                                     '{"query": "...", "variables": {...}}') from None
        if not isinstance(value, (dict, list)):
            raise HTTPException(400, "The request's JSON must be an object: "
                                     '{"query": "...", "variables": {...}}')
        return value

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if header is None and params.get("token"):
            header = f"Bearer {params['token']}"
        await self._authenticate(context, header if isinstance(header, str) else None)
        return await super().on_ws_connect(context)

    async def _authenticate(self, context: Context, header: str | None) -> None:
        try:
            viewer = await viewer_of(bearer_of(header), self.services.tokens)
        except ApiError as err:
            context.set_viewer(None, err)
        else:
            context.set_viewer(viewer)


async def healthz(_: Request) -> Response:
    """The process is alive (no dependency checked)."""
    return JSONResponse({"status": "ok"})


async def _check(probe: Awaitable[Any]) -> str:
    """``"ok"``, or why the dependency ``probe`` touches is not usable (for ``/readyz``)."""
    try:
        await asyncio.wait_for(probe, READY_TIMEOUT_S)
    except TimeoutError:
        return f"unreachable: no answer within {READY_TIMEOUT_S:g} s"
    except Exception as err:  # any failure means not ready; say which kind
        return f"unreachable: {type(err).__name__}"
    return "ok"


def _freeze_startup_objects() -> None:
    """Keep what start-up created (modules, the schema, numba's and ccxt's tables: about
    300,000 objects) out of the garbage collector's full passes: a full pass over them stops
    the process for about 100 ms, and one comes whenever the long-lived objects have grown by
    a quarter (the response cache's answers count). Frozen, they are never collected: they
    live as long as the process anyway."""
    gc.collect()
    gc.freeze()


async def _response_cache(settings: Settings, view: BacktestGraphQL) -> ResponseCache | None:
    """The process's response cache: None when ``RESPONSE_CACHE_MB=0``, or when the database
    lacks the triggers that keep its counters (said in the log: migrating adds them)."""
    if settings.response_cache_mb <= 0:
        return None
    if not await owner_versions.installed():
        log.warning("response cache off: the database has no change counters yet; run "
                    "'backtest db migrate' to add them")
        return None
    return ResponseCache(view.schema._schema,  # type: ignore[attr-defined]  # graphql-core's
                         max_bytes=settings.response_cache_mb << 20, max_tokens=MAX_TOKENS)


def create_app(settings: Settings | None = None, *, executor: Any = None,
               warm: bool = False, recover: bool = False, freeze: bool = False,
               drain_on_stop: bool = False) -> Starlette:
    """The ASGI app for ``settings`` (default: from the environment). ``executor`` overrides
    the one ``EXECUTOR`` names (tests); ``warm=True`` starts the in-process executor's engine
    processes (and loads the engine in them) at start-up, in the background, so the first
    backtest does not wait; ``recover=True`` makes it pick up the jobs a previous server left
    (``tasks.jobs.recovery``; the Celery executor always does); ``freeze=True`` (a server process)
    moves what start-up created out of the garbage collector's way
    (:func:`_freeze_startup_objects`)."""
    settings = settings or get_settings()
    broadcaster = make_broadcaster(settings.redis_url)
    cache = cache_from_settings(settings)
    services = Services(settings=settings, tokens=Tokens(load_secret(settings)),
                        broadcaster=broadcaster, executor=executor, cache=cache,
                        subscriptions=quota_for(settings.redis_url),
                        login_throttle=throttle_for(settings.redis_url),
                        live_candles=LiveCandles.for_settings(settings, broadcaster, cache=cache))
    rate_limits = RateLimits.from_settings(settings)
    view = BacktestGraphQL(
        services,
        playground=settings.graphql_ide,
        schema=build_schema(introspection=settings.allows_introspection,
                            rate_limits=rate_limits),
        graphql_ide=None,  # /playground serves our own build of GraphiQL (no CDN)
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        multipart_uploads_enabled=True,
        allowed_origins=settings.cors_origins,
    )

    async def readyz(_: Request) -> Response:
        checks: dict[str, str] = {"database": await _check(
            connection().execute_query("SELECT 1"))}
        if settings.redis_url:
            checks["redis"] = await _check(services.broadcaster.ping())
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await init_db(settings, share_across_tasks=True)
        try:
            services.responses = await _response_cache(settings, view)
            if services.executor is None:
                from tasks.execution.executor import make_executor

                services.executor = make_executor(settings, services.broadcaster, warm=warm,
                                                  recover=recover)
            await services.executor.start()
            if freeze:
                _freeze_startup_objects()
            # SIGTERM/Ctrl-C: subscriptions end with `complete` before uvicorn closes sockets
            restore_signals = drain_on_stop_signal() if drain_on_stop else None
            try:
                yield
            finally:
                if restore_signals is not None:
                    restore_signals()
                await services.live_candles.aclose()
                await services.executor.stop()
        finally:
            await services.subscriptions.close()
            await services.login_throttle.close()
            await rate_limits.limiter.close()
            await services.broadcaster.close()
            await services.cache.close()
            await close_db()

    routes: list[Route | WebSocketRoute | Mount] = [
        Route("/graphql", view),  # any method: the view answers each (405 with a code)
        WebSocketRoute("/graphql", view),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *metrics_routes(settings, services),  # /metrics when METRICS=1
    ]
    routes += client_routes(playground=settings.graphql_ide)
    middleware = [Middleware(RequestIds), Middleware(
        SecurityHeaders, hsts_max_age=settings.hsts_max_age, csp=content_security_policy(
            inline_script_hashes([client_files.CLIENT_DIST / "index.html",
                                  client_files.CLIENT_DIST / "playground.html"])))]
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID"], max_age=600))
    middleware.append(Middleware(BodyLimit, max_bytes=settings.max_request_bytes,
                                 multipart_max_bytes=settings.max_request_bytes
                                 + MAX_FILE_BYTES))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.services = services
    app.state.rate_limits = rate_limits  # (tests set its limiter's clock)
    return app


def create_served_app() -> Starlette:
    """The app ``backtest serve`` runs: settings from the environment, engine pool warmed,
    jobs left by a previous server picked up, start-up objects frozen."""
    configure_logging()
    return create_app(warm=True, recover=True, freeze=True, drain_on_stop=True)
