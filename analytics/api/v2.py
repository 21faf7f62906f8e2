"""Stats API v2: `POST /api/v2/query` (reference §3) and its OpenAPI document.

A request goes through, in order: the Bearer key (401), the key's rate limit
(429), the body (413 / 400), the site (404), then `stats.parse` (400). Every
answer is JSON; errors are `{"error": "<message naming the bad part>"}`,
rendered by the app's one ApiError handler.

The response has Plausible's shape, so existing scripts work unchanged:
`{"results": [{"dimensions": [...], "metrics": [...]}], "meta": {...},
"query": {...}}` where `query` echoes the query as it was run: the date range
resolved to ISO 8601 date-times in the site's time zone, and the order used.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics import catalog
from analytics.accounts import Accounts, ratelimit
from analytics.accounts.validate import AdminError, normalize_domain
from analytics.errors import ApiError, BadRequest
from analytics.model import Site
from analytics.stats import conversions
from analytics.stats import run as stats_run
from analytics.stats.metrics import METRICS
from analytics.stats.parse import parse
from analytics.stats.query import And, Condition, Filter, Not, Or, Query, QueryResult, filter_dimensions
from analytics.store.base import Store

MAX_BODY = 64 * 1024
# The methods of RFC 9110 and PATCH: the endpoints answer each, most with a JSON 405.
HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, message, {"WWW-Authenticate": "Bearer"})


class BodyTooLarge(ApiError):
    def __init__(self) -> None:
        super().__init__(413, f"Request body is larger than {MAX_BODY} bytes")


# -- authentication -------------------------------------------------------------


def bearer_token(request: Request) -> str:
    """The key from `Authorization: Bearer <key>`; 401 when missing or malformed."""
    header = request.headers.get("authorization")
    if header is None or not header.strip():
        raise Unauthorized("Missing API key: send the header Authorization: Bearer <key>")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or len(token) > 200:
        raise Unauthorized("Malformed Authorization header: expected Authorization: Bearer <key>")
    return token


async def authenticate(accounts: Accounts, token: str) -> tuple[int, int]:
    """(key id, user id) for a key; 401 when no such key exists. Only hashes are compared."""
    found = await accounts.keys.find(token)
    if found is None:
        raise Unauthorized("Invalid API key")
    return found


# -- request body and site ---------------------------------------------------------


async def read_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object of at most MAX_BODY bytes, whatever the Content-Type said."""
    length = request.headers.get("content-length")
    if length is not None and (not length.strip().isdigit() or int(length) > MAX_BODY):
        raise BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge()
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadRequest("Request body is empty; send a JSON query object")
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadRequest("Request body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("Request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object")
    return data


async def resolve_site(accounts: Accounts, user_id: int, site_id: Any) -> Site:
    """The site named by `site_id` if the key's user has a role on it.

    Unknown sites and other users' sites get the same 404, so a key cannot
    probe which domains exist.
    """
    if site_id is None:
        raise BadRequest("site_id is missing")
    if not isinstance(site_id, str) or not site_id.strip():
        raise BadRequest("site_id must be the site's domain, e.g. example.com")
    not_found = ApiError(404, f"Site {_show(site_id)} not found")
    try:
        domain = normalize_domain(site_id)
    except AdminError:
        raise not_found from None
    site = await accounts.sites.for_user(user_id, domain)
    if site is None:
        raise not_found
    return site


# -- the endpoint ----------------------------------------------------------------


Order = tuple[tuple[str, Literal["asc", "desc"]], ...]


def default_order(query: Query) -> Order:
    """Plausible's default: the time dimension ascending, then the first metric descending."""
    time_dim = next((d for d in query.dimensions if d.startswith("time")), None)
    first: Order = ((time_dim, "asc"),) if time_dim else ()
    return (*first, (query.metrics[0], "desc"))


def only(request: Request, *methods: str) -> None:
    """405 with a JSON message and a true `Allow` for any method the document does not list (OPTIONS too)."""
    if request.method not in methods:
        allowed = " or ".join(methods)
        raise ApiError(405, f"Method {request.method[:20]} not allowed; use {allowed}", {"Allow": ", ".join(methods)})


async def query_endpoint(request: Request) -> Response:
    only(request, "POST")
    app = request.app.state
    store: Store = app.store
    accounts: Accounts = app.accounts
    key_id, user_id = await authenticate(accounts, bearer_token(request))
    await ratelimit.check(accounts.db, key_id, app.settings.api_rate_limit, app.clock.now())

    body = await read_body(request)
    site = await resolve_site(accounts, user_id, body.get("site_id"))
    if "date" in body:  # stats.parse lets the dashboard pass it; Plausible's v2 API has no such key
        raise BadRequest('Unknown key "date" in query')
    now = datetime.fromtimestamp(app.clock.now(), UTC)
    earliest = None
    if body.get("date_range") == "all":
        include = body.get("include")
        imports = isinstance(include, dict) and include.get("imports") is True
        earliest = await stats_run.first_day(store, site, imports=imports)
    query = parse(body, site, now, earliest)
    if not query.order_by:
        query = dataclasses.replace(query, order_by=default_order(query))
    return JSONResponse(render(query, await _run(store, accounts, query), body.get("include") or {}))


async def _run(store: Store, accounts: Accounts, query: Query) -> QueryResult:
    """Answer a parsed query, with the site's page goals where it names or breaks down by goals."""
    if "event:goal" not in query.dimensions and "event:goal" not in filter_dimensions(query.filters):
        return await stats_run.run(store, query)
    return await conversions.run(store, query, await accounts.goals.for_site(query.site.id))


def render(query: Query, result: QueryResult, include: dict[str, Any]) -> dict[str, Any]:
    """The Plausible-shaped response body."""
    results = [
        {"dimensions": [_dimension_value(v) for v in dims], "metrics": list(metrics)} for dims, metrics in result.rows
    ]
    meta: dict[str, Any] = {}
    if query.include_imports:
        meta.update(result.meta)
        meta.setdefault("imports_included", False)
    if query.time_labels:
        meta["time_labels"] = result.time_labels or []
    if query.total_rows:
        meta["total_rows"] = result.total_rows if result.total_rows is not None else len(results)
    return {"results": results, "meta": meta, "query": echo(query, include)}


def echo(query: Query, include: dict[str, Any]) -> dict[str, Any]:
    """The query as it ran: resolved dates in the site's zone, effective order and paging."""
    tz = zoneinfo.ZoneInfo(query.site.timezone)
    last = query.end - timedelta(seconds=1)  # the range is end-exclusive; show the last second
    return {
        "site_id": query.site.domain,
        "metrics": list(query.metrics),
        "date_range": [
            query.start.astimezone(tz).isoformat(timespec="seconds"),
            last.astimezone(tz).isoformat(timespec="seconds"),
        ],
        "dimensions": list(query.dimensions),
        "filters": _filters_json(query.filters),
        "order_by": [list(pair) for pair in query.order_by],
        "include": dict(include),
        "pagination": {"limit": query.limit, "offset": query.offset},
    }


def _filters_json(f: Filter | None) -> list[Any]:
    if f is None:
        return []
    if isinstance(f, And):
        return [_filter_json(i) for i in f.items]  # the top level is an implicit "and"
    return [_filter_json(f)]


def _filter_json(f: Filter) -> list[Any]:
    if isinstance(f, Condition):
        out: list[Any] = [f.op, f.dimension, list(f.values)]
        if not f.case_sensitive:
            out.append({"case_sensitive": False})
        return out
    if isinstance(f, Not):
        return ["not", _filter_json(f.item)]
    assert isinstance(f, And | Or)
    return ["and" if isinstance(f, And) else "or", [_filter_json(i) for i in f.items]]


def _dimension_value(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _show(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


# -- OpenAPI -----------------------------------------------------------------------


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of this API, shipped as analytics/data/openapi.json."""
    text = importlib.resources.files("analytics.data").joinpath("openapi.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    # The lists come from the catalog and the metric table, so the document cannot drift from the parser.
    schemas = doc["components"]["schemas"]
    schemas["Metric"]["enum"] = list(METRICS)
    schemas["EventDimension"]["enum"] = list(catalog.EVENT_DIMENSIONS)
    schemas["VisitDimension"]["enum"] = list(catalog.VISIT_DIMENSIONS)
    schemas["TimeDimension"]["enum"] = list(catalog.TIME_DIMENSIONS)
    return doc


async def openapi_endpoint(request: Request) -> Response:
    only(request, "GET", "HEAD")
    return JSONResponse(openapi_document())


def routes() -> list[BaseRoute]:
    # Every method reaches the endpoints, which refuse the undocumented ones themselves: Starlette's own
    # 405 is plain text and its Allow header would list methods that are refused too.
    return [
        Route("/api/v2/query", query_endpoint, methods=HTTP_METHODS),
        Route("/api/openapi.json", openapi_endpoint, methods=HTTP_METHODS),
    ]
