"""Plausible's Stats API v1 realtime endpoint: `GET /api/v1/stats/realtime/visitors?site_id=…`.

Existing integrations (status bars, TV dashboards, home-automation widgets)
poll it for the number of current visitors. The answer is Plausible's: a bare
JSON integer such as `3`, the same number the dashboard and the live view
show at that instant (`stats.realtime`). Authentication, the key's rate limit,
the site lookup and the JSON errors are those of the v2 API.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics.accounts import Accounts, ratelimit
from analytics.api.v2 import authenticate, bearer_token, resolve_site
from analytics.errors import ApiError, BadRequest
from analytics.stats import realtime

REALTIME_PATH = "/api/v1/stats/realtime/visitors"


async def realtime_visitors(request: Request) -> Response:
    """Current visitors of `site_id`: distinct visitors with an event in the last five minutes."""
    if request.method not in ("GET", "HEAD"):
        raise ApiError(405, f"Method {request.method} not allowed; use GET", {"Allow": "GET"})
    app = request.app.state
    accounts: Accounts = app.accounts
    key_id, user_id = await authenticate(accounts, bearer_token(request))
    await ratelimit.check(accounts.db, key_id, app.settings.api_rate_limit, app.clock.now())
    site_ids = request.query_params.getlist("site_id")
    if not site_ids:
        raise BadRequest("site_id is missing: add ?site_id=<your domain> to the URL")
    if len(site_ids) > 1:
        raise BadRequest("site_id must be given once")
    site = await resolve_site(accounts, user_id, site_ids[0])
    now = datetime.fromtimestamp(app.clock.now(), UTC)
    return JSONResponse(await realtime.current_visitors(app.store, site, now))


def routes() -> list[BaseRoute]:
    return [Route(REALTIME_PATH, realtime_visitors, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
