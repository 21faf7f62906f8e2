"""The Starlette application: `create_app(settings)` wires accounts, store, collector and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from analytics import config as settingsmod
from analytics import web
from analytics.accounts import Accounts
from analytics.api import v1
from analytics.api import v2 as api
from analytics.clock import Clock
from analytics.config import Settings
from analytics.enrich.geo import GeoLookup
from analytics.enrich.identity import utc_day
from analytics.errors import ApiError
from analytics.ingest import beacon
from analytics.ingest.deadline import BodyDeadline
from analytics.ingest.endpoint import Collector, preflight
from analytics.store.base import Store
from analytics.store.selection import make_store
from analytics.store.sqlite import files
from analytics.web.render import error_page

log = logging.getLogger("analytics")
HOUSEKEEPING_SECONDS = 60.0


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), exc.status, headers=exc.headers)


STORAGE_RETRY_SECONDS = 30
STORAGE_MESSAGE = "The server cannot store data right now (its disk may be full); retry later"


async def _server_error(request: Request, exc: Exception) -> Response:
    # Never echo the exception or the path: either could carry request data (a
    # share token is part of its path). The route's template names the handler.
    route = getattr(request.scope.get("route"), "path", None) or "an unmatched path"
    method = request.method if request.method.isalpha() else "?"
    reason = files.storage_failure(exc)
    if reason is not None:
        # A full disk, a read-only or locked file: every route says 503 and when to retry, as ingest does.
        log.error("storage unavailable (%s) on %s %s", reason, method, route)
        headers = {"Retry-After": str(STORAGE_RETRY_SECONDS)}
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": STORAGE_MESSAGE}, 503, headers=headers)
        return error_page(request, 503, STORAGE_MESSAGE + ".", headers)
    log.error("unhandled %s on %s %s", type(exc).__name__, method, route)
    return JSONResponse({"error": "Internal error"}, 500)


class App(Starlette):
    """Starlette whose server errors end with our handler's 500 and log line.

    Starlette's outermost middleware sends the handler's response and then
    re-raises, so uvicorn would log the traceback, whose message can carry
    request values, and drop the keep-alive connection. The 500 is already sent
    and logged by `_server_error`, so the exception stops here for HTTP.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        except Exception:  # noqa: S110 - reported by _server_error
            pass


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Starlette:
    settings = settings or settingsmod.load()
    clock = clock or Clock()
    accounts = Accounts.in_dir(settings.data_dir, clock)
    store = make_store(settings, clock)
    geo = GeoLookup(settings.geoip_db or None)
    collector = Collector(store, accounts, clock, geo, settings.proxy_networks)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Accounts first: on a release 0.1 data dir they take their rows over
        # before the store's migration drops them from analytics.db.
        await accounts.open()
        try:
            await store.open()
        except BaseException:
            await store.close()  # whatever it opened before failing
            await accounts.close()
            raise
        keeper = asyncio.create_task(_housekeeping(store, accounts, clock, settings.retention_months))
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await store.close()  # commits every accepted event before exit
            await accounts.close()
            geo.close()

    routes: list[BaseRoute] = [
        Route("/api/event", collector.handle, methods=["POST"]),
        Route("/api/event", preflight, methods=["OPTIONS"]),
        Route("/api/health", health),
        *beacon.routes(),
        *api.routes(),
        *v1.routes(),
        *web.routes(),
    ]
    app = App(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, Exception: _server_error},
        middleware=[Middleware(BodyDeadline)],
    )
    app.state.settings = settings
    app.state.store = store
    app.state.accounts = accounts
    app.state.clock = clock
    app.state.collector = collector
    return app


async def housekeep(store: Store, accounts: Accounts, now: float, retention_months: int) -> None:
    """One round: rotate salts (destroying older and future-dated ones), enforce retention, roll up days.

    Each step logs its failure by type only and the next round retries. A clock
    far ahead cannot empty the events: the store counts retention from its newest event.
    """
    try:
        await accounts.salts.destroy_strays(utc_day(now))  # salts older than yesterday or after today, on disk
        accounts.salts.empty_wal_later()  # and, in the background, their copies in the WAL
    except Exception as exc:  # keep serving; the next round retries
        log.warning("salt rotation failed: %s", type(exc).__name__)
    try:
        await store.housekeeping(now, await accounts.sites.all(), retention_months)
    except Exception as exc:
        log.warning("housekeeping failed: %s", type(exc).__name__)


async def _housekeeping(store: Store, accounts: Accounts, clock: Clock, retention_months: int) -> None:
    """Rotate salts at UTC midnight, enforce retention and roll up settled days, once a minute."""
    task = asyncio.current_task()
    while True:
        await housekeep(store, accounts, clock.now(), retention_months)
        if task is not None and task.cancelling():
            # Shutdown asked while a step ran: an error raised on the way out must not keep us looping.
            raise asyncio.CancelledError
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


def app_from_env() -> Starlette:
    """Factory for uvicorn worker processes: settings come from ANALYTICS_* variables."""
    return create_app(settingsmod.load())
