"""Every error path of `POST /api/v2/query`, each with its exact status and message.

Order of checks: key (401), rate limit (429), body (413 / 400), site (404),
then the query itself (400). Every error is JSON `{"error": "..."}`, which the
OpenAPI document's Error schema describes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from api_support import NOW, PASSWORD, SITE, ApiUser, api_user, post_query, running_app, schema_validator
from conftest import Instance, cli

from analytics.accounts import ratelimit
from analytics.api.v2 import MAX_BODY

pytestmark = pytest.mark.asyncio(loop_scope="module")

OTHER_SITE = "other.example.net"
OK = {"site_id": SITE, "metrics": ["visitors"], "date_range": "day"}
METRIC_LIST = "visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, events, scroll_depth, time_on_page, percentage, conversion_rate, reads, read_rate, readers, time_on_page_median"  # noqa: E501


@dataclasses.dataclass
class World:
    instance: Instance
    owner: ApiUser


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """blog.example.org owned by owner@; other.example.net owned by someone else."""
    data_dir: Path = tmp_path_factory.mktemp("api-errors") / "data"
    async with running_app(data_dir, api_rate_limit=0) as instance:
        await instance.accounts.sites.add(SITE, "Europe/Zurich")
        owner = await api_user(instance)  # first user: owns blog.example.org
        other = await api_user(instance, "other@example.org")
        other_id = (await instance.accounts.users.get(other.email)).id
        await instance.accounts.sites.add(OTHER_SITE, "UTC", owner=other_id)
        yield World(instance, owner)


def assert_error(r: httpx.Response, status: int, message: str) -> None:
    assert (r.status_code, r.json()) == (status, {"error": message})
    assert r.headers["content-type"] == "application/json"
    schema_validator("Error").validate(r.json())


# -- 401: the key ------------------------------------------------------------------------

MISSING = "Missing API key: send the header Authorization: Bearer <key>"
MALFORMED = "Malformed Authorization header: expected Authorization: Bearer <key>"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        pytest.param(None, MISSING, id="no-header"),
        pytest.param("", MISSING, id="empty"),
        pytest.param("Basic dXNlcjpwYXNz", MALFORMED, id="basic-scheme"),
        pytest.param("Bearer", MALFORMED, id="no-token"),
        pytest.param("Bearer  ", MALFORMED, id="blank-token"),
        pytest.param("Bearer two words", MALFORMED, id="two-tokens"),
        pytest.param("Bearer " + "x" * 201, MALFORMED, id="too-long"),
        pytest.param("ak_nobearer", MALFORMED, id="bare-key"),
        pytest.param("Bearer ak_0000000000000000000000000000000000000000000", "Invalid API key", id="unknown-key"),
    ],
)
async def test_unauthorized(world: World, header: str | None, message: str) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with world.instance.client() as c:
        r = await c.post("/api/v2/query", json=OK, headers=headers)
    assert_error(r, 401, message)
    assert r.headers["www-authenticate"] == "Bearer"


async def test_scheme_is_case_insensitive(world: World) -> None:
    async with world.instance.client() as c:
        r = await c.post("/api/v2/query", json=OK, headers={"Authorization": "bearer " + world.owner.key})
    assert r.status_code == 200


async def test_key_is_checked_before_the_body(world: World) -> None:
    """Without a valid key nothing else is looked at: not even a broken body."""
    async with world.instance.client() as c:
        r = await c.post("/api/v2/query", content=b"{", headers={"Authorization": "Bearer nope"})
    assert_error(r, 401, "Invalid API key")


async def test_deleted_key_stops_working(world: World) -> None:
    user = await api_user(world.instance, "leaver@example.org")
    assert (await post_query(world.instance, user, OK)).status_code == 404  # no role on the site, but a valid key

    async def delete(conn: Any) -> None:
        await conn.execute("DELETE FROM api_keys WHERE user_id = (SELECT id FROM users WHERE email = ?)", (user.email,))

    await world.instance.accounts.db.write(delete)
    assert_error(await post_query(world.instance, user, OK), 401, "Invalid API key")


# -- 404: the site -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site_id", "message"),
    [
        pytest.param(OTHER_SITE, f'Site "{OTHER_SITE}" not found', id="another-users-site"),
        pytest.param("unknown.example.com", 'Site "unknown.example.com" not found', id="unknown-site"),
        pytest.param("not a domain!", 'Site "not a domain!" not found', id="not-a-domain"),
        pytest.param("x" * 100, 'Site "' + "x" * 76 + "... not found", id="long-name-is-cut"),
    ],
)
async def test_site_not_found(world: World, site_id: str, message: str) -> None:
    r = await post_query(world.instance, world.owner, {**OK, "site_id": site_id})
    assert_error(r, 404, message)


async def test_other_users_site_is_indistinguishable_from_unknown(world: World) -> None:
    """Same status, same message shape: a key cannot learn which domains exist."""
    a = await post_query(world.instance, world.owner, {**OK, "site_id": OTHER_SITE})
    b = await post_query(world.instance, world.owner, {**OK, "site_id": "nope.example.net"})
    assert (a.status_code, a.json()["error"].replace(OTHER_SITE, "X")) == (
        b.status_code,
        b.json()["error"].replace("nope.example.net", "X"),
    )


# -- 413 and 400: the body ---------------------------------------------------------------

TOO_LARGE = f"Request body is larger than {MAX_BODY} bytes"


async def test_body_too_large(world: World) -> None:
    body = json.dumps({**OK, "filters": [["is", "event:page", ["x" * MAX_BODY]]]})
    assert_error(await post_query(world.instance, world.owner, body), 413, TOO_LARGE)


async def test_body_too_large_without_content_length(world: World) -> None:
    """A chunked body is counted as it streams in."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY // 1024 + 1):
            yield b" " * 1024

    async with world.instance.client() as c:
        r = await c.post("/api/v2/query", content=chunks(), headers=world.owner.headers)
    assert "content-length" not in r.request.headers
    assert_error(r, 413, TOO_LARGE)


async def test_body_at_the_limit_is_read(world: World) -> None:
    body = json.dumps(OK).encode()
    body += b" " * (MAX_BODY - len(body))
    r = await post_query(world.instance, world.owner, body)
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", "Request body is empty; send a JSON query object", id="empty"),
        pytest.param(b"  \n", "Request body is empty; send a JSON query object", id="blank"),
        pytest.param(b"{", "Request body is not valid JSON", id="truncated"),
        pytest.param(b"site_id=blog.example.org", "Request body is not valid JSON", id="form-encoded"),
        pytest.param(b'{"site_id": "\xff"}', "Request body is not valid JSON", id="bad-utf8"),
        pytest.param(b"[" * 20000 + b"]" * 20000, "Request body is nested too deeply", id="deep-nesting"),
        pytest.param(b"[]", "Request body must be a JSON object", id="array"),
        pytest.param(b'"query"', "Request body must be a JSON object", id="string"),
        pytest.param(b"null", "Request body must be a JSON object", id="null"),
    ],
)
async def test_bad_body(world: World, body: bytes, message: str) -> None:
    assert_error(await post_query(world.instance, world.owner, body), 400, message)


async def test_wrong_method(world: World) -> None:
    async with world.instance.client() as c:
        r = await c.get("/api/v2/query", headers=world.owner.headers)
    assert (r.status_code, r.json(), r.headers["allow"]) == (405, {"error": "Method GET not allowed; use POST"}, "POST")


# -- 400: each part of the query ---------------------------------------------------------


def deep_not(levels: int) -> list[Any]:
    f: list[Any] = ["is", "event:page", ["/"]]
    for _ in range(levels):
        f = ["not", f]
    return f


# (id, changes to OK (None removes the key), message)
BAD_QUERIES: list[tuple[str, dict[str, Any], str]] = [
    # site_id
    ("site-id-missing", {"site_id": None}, "site_id is missing"),
    ("site-id-number", {"site_id": 5}, "site_id must be the site's domain, e.g. example.com"),
    ("site-id-empty", {"site_id": ""}, "site_id must be the site's domain, e.g. example.com"),
    # unknown keys
    ("unknown-key", {"compare": "previous_period"}, 'Unknown key "compare" in query'),
    ("date-key", {"date": "2026-03-01"}, 'Unknown key "date" in query'),
    # metrics
    ("metrics-missing", {"metrics": None}, "metrics must be a non-empty list"),
    ("metrics-empty", {"metrics": []}, "metrics must be a non-empty list"),
    ("metrics-string", {"metrics": "visitors"}, "metrics must be a non-empty list"),
    ("metric-unknown", {"metrics": ["visitors", "visitorz"]}, f'Unknown metric "visitorz"; valid metrics: {METRIC_LIST}'),
    ("metric-not-string", {"metrics": [1]}, f"Unknown metric 1; valid metrics: {METRIC_LIST}"),
    ("metrics-repeat", {"metrics": ["visits", "visits"]}, "metrics must not repeat"),
    ("conversion-rate-without-goal", {"metrics": ["conversion_rate"]},
     "Metric conversion_rate needs the event:goal dimension or an event:goal filter"),
    ("percentage-without-dimension", {"metrics": ["percentage"]}, "Metric percentage needs at least one dimension"),
    ("time-on-page-by-visit", {"metrics": ["time_on_page"], "dimensions": ["visit:source"]},
     "Metrics time_on_page, time_on_page_median and scroll_depth cannot be broken down by a visit: dimension"),
    # dimensions
    ("dimensions-string", {"dimensions": "event:page"}, "dimensions must be a list"),
    ("dimensions-null", {"dimensions": None, "_keep_null": True}, "dimensions must not be null; leave it out instead"),
    ("dimension-unknown", {"dimensions": ["event:pages"]}, 'Unknown dimension "event:pages"'),
    ("dimension-empty-prop", {"dimensions": ["event:props:"]}, 'Unknown dimension "event:props:"'),
    ("dimension-not-string", {"dimensions": [["event:page"]]}, 'Unknown dimension ["event:page"]'),
    ("dimensions-repeat", {"dimensions": ["event:page", "event:page"]}, "dimensions must not repeat"),
    ("two-time-dimensions", {"dimensions": ["time:day", "time:hour"]}, "only one time dimension may be used"),
    # filters
    ("filters-object", {"filters": {"is": "x"}}, "filters must be a list"),
    ("filter-not-list", {"filters": ["event:page==/"]}, 'Invalid filter "event:page==/"'),
    ("filter-unknown-operator", {"filters": [["equals", "event:page", ["/"]]]},
     'Unknown filter operator "equals"; valid: is, is_not, contains, contains_not, matches, matches_not, and, or, not'),
    ("filter-too-short", {"filters": [["is", "event:page"]]},
     'Invalid filter ["is", "event:page"]: expected [operator, dimension, [values]]'),
    ("filter-unknown-dimension", {"filters": [["is", "visit:city", ["Bern"]]]}, 'Invalid filter dimension "visit:city"'),
    ("filter-time-dimension", {"filters": [["is", "time:day", ["2026-03-01"]]]}, 'Invalid filter dimension "time:day"'),
    ("filter-values-empty", {"filters": [["is", "event:page", []]]},
     'Invalid filter ["is", "event:page", []]: values must be a non-empty list'),
    ("filter-values-string", {"filters": [["is", "event:page", "/"]]},
     'Invalid filter ["is", "event:page", "/"]: values must be a non-empty list'),
    ("filter-value-bool", {"filters": [["is", "event:page", [True]]]}, "Invalid filter value true for event:page"),
    ("filter-value-null", {"filters": [["is", "event:page", [None]]]}, "Invalid filter value null for event:page"),
    ("filter-modifier-unknown", {"filters": [["is", "event:page", ["/"], {"ignore_case": True}]]},
     'Invalid filter modifiers {"ignore_case": true}; only "case_sensitive" is known'),
    ("filter-case-sensitive-not-bool", {"filters": [["is", "event:page", ["/"], {"case_sensitive": "no"}]]},
     "case_sensitive must be true or false"),
    ("filter-bad-regex", {"filters": [["matches", "event:page", ["(unclosed"]]]},
     'Invalid regular expression "(unclosed": missing ): (unclosed'),
    ("filter-regex-too-long", {"filters": [["matches", "event:page", ["a" * 501]]]},
     "a matches pattern may have at most 500 characters"),
    ("filter-and-empty", {"filters": [["and", []]]}, 'Invalid filter ["and", []]: "and" takes a non-empty list of filters'),
    ("filter-or-not-list", {"filters": [["or", ["is", "event:page", ["/"]], 1]]},
     'Invalid filter ["or", ["is", "event:page", ["/"]], 1]: "or" takes a non-empty list of filters'),
    ("filter-not-two-args", {"filters": [["not", ["is", "event:page", ["/"]], ["is", "event:page", ["/a"]]]]},
     'Invalid filter ["not", ["is", "event:page", ["/"]], ["is", "event:page", ["/a"]]]: "not" takes one filter'),
    ("filter-nested-error", {"filters": [["and", [["is", "event:page", ["/"]], ["is", "visit:planet", ["x"]]]]]},
     'Invalid filter dimension "visit:planet"'),
    ("filter-too-deep", {"filters": [deep_not(11)]},
     "filters are nested too deeply: at most 10 levels of and, or, not"),
    ("filter-too-many-clauses", {"filters": [["contains", "event:page", [str(i) for i in range(201)]]]},
     "filters are too complex: at most 200 conditions, counting each contains or matches value as one"),
    # date_range
    ("date-range-missing", {"date_range": None}, "date_range is missing"),
    ("date-range-unknown-preset", {"date_range": "yesterday"},
     "date_range 'yesterday' is not one of day, 24h, 7d, 28d, 30d, 91d, month, 6mo, 12mo, year, all or [from, to]"),
    ("date-range-number", {"date_range": 7},
     "date_range 7 is not one of day, 24h, 7d, 28d, 30d, 91d, month, 6mo, 12mo, year, all or [from, to]"),
    ("date-range-one-date", {"date_range": ["2026-03-01"]}, "date_range must be a preset or a list of two ISO dates"),
    ("date-range-not-strings", {"date_range": [20260301, 20260302]}, "date_range must be a preset or a list of two ISO dates"),
    ("date-range-invalid-date", {"date_range": ["2026-02-30", "2026-03-01"]},
     "date_range ['2026-02-30', '2026-03-01'] has an invalid date; use YYYY-MM-DD"),
    ("date-range-date-time", {"date_range": ["2026-03-01T12:00:00+01:00", "2026-03-01T15:00:00+01:00"]},
     "date_range ['2026-03-01T12:00:00+01:00', '2026-03-01T15:00:00+01:00'] has an invalid date; use YYYY-MM-DD"),
    ("date-range-reversed", {"date_range": ["2026-03-02", "2026-03-01"]}, "date_range ends before it starts"),
    ("date-range-too-long", {"date_range": ["2000-01-01", "2026-03-01"]}, "date_range spans more than 20 years"),
    # order_by
    ("order-by-object", {"order_by": {"visitors": "desc"}}, "order_by must be a list of [name, direction] pairs"),
    ("order-by-bad-direction", {"order_by": [["visitors", "down"]]},
     'Invalid order_by entry ["visitors", "down"]: expected [name, "asc" or "desc"]'),
    ("order-by-not-pair", {"order_by": ["visitors"]}, 'Invalid order_by entry "visitors": expected [name, "asc" or "desc"]'),
    ("order-by-not-in-query", {"order_by": [["pageviews", "desc"]]},
     "order_by \"pageviews\" is not one of the query's metrics or dimensions"),
    # include
    ("include-list", {"include": ["total_rows"]}, "include must be an object"),
    ("include-null", {"include": None, "_keep_null": True}, "include must not be null; leave it out instead"),
    ("include-unknown", {"include": {"comparisons": True}}, 'Unknown include option "comparisons"'),
    ("include-not-bool", {"include": {"total_rows": "yes"}}, "include.total_rows must be true or false"),
    ("time-labels-without-time", {"include": {"time_labels": True}}, "include.time_labels needs a time dimension"),
    # pagination
    ("pagination-list", {"pagination": [10, 0]}, "pagination must be an object with limit and offset"),
    ("pagination-unknown-key", {"pagination": {"page": 2}}, "pagination must be an object with limit and offset"),
    ("pagination-limit-zero", {"pagination": {"limit": 0}}, "pagination.limit must be between 1 and 10000"),
    ("pagination-limit-too-big", {"pagination": {"limit": 10001}}, "pagination.limit must be between 1 and 10000"),
    ("pagination-limit-string", {"pagination": {"limit": "10"}}, "pagination.limit must be between 1 and 10000"),
    ("pagination-limit-float", {"pagination": {"limit": 2.5}}, "pagination.limit must be between 1 and 10000"),
    ("pagination-offset-negative", {"pagination": {"offset": -1}}, "pagination.offset must be a non-negative integer"),
    ("pagination-offset-bool", {"pagination": {"offset": True}}, "pagination.offset must be a non-negative integer"),
]  # fmt: skip


def bad_body(changes: dict[str, Any]) -> dict[str, Any]:
    keep_null = changes.get("_keep_null", False)
    body = {**OK}
    for key, value in changes.items():
        if key == "_keep_null":
            continue
        if value is None and not keep_null:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(("changes", "message"), [pytest.param(c, m, id=i) for i, c, m in BAD_QUERIES])
async def test_bad_query(world: World, changes: dict[str, Any], message: str) -> None:
    assert_error(await post_query(world.instance, world.owner, bad_body(changes)), 400, message)


async def test_filter_limits_are_inclusive(world: World) -> None:
    """The deepest and largest filters allowed still run (SQLite accepts them)."""
    at_limit = [
        deep_not(10),
        ["contains", "visit:country", [str(i) for i in range(100)], {"case_sensitive": False}],
        ["matches_not", "event:page", [str(i) for i in range(99)], {"case_sensitive": False}],
    ]
    metrics = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events", "time_on_page", "scroll_depth"]
    r = await post_query(world.instance, world.owner, {**OK, "metrics": metrics, "filters": at_limit})
    assert r.status_code == 200, r.text


async def test_site_is_checked_before_the_query(world: World) -> None:
    """A foreign site answers 404 even when the rest of the query is wrong."""
    r = await post_query(world.instance, world.owner, {"site_id": OTHER_SITE, "metrics": ["nope"]})
    assert_error(r, 404, f'Site "{OTHER_SITE}" not found')


# -- 429: the rate limit -------------------------------------------------------------------

LIMITED = "Too many API requests: this key may make 3 requests per hour; retry in {} seconds"


@pytest_asyncio.fixture(loop_scope="module")
async def limited(tmp_path: Path) -> AsyncIterator[tuple[Instance, ApiUser]]:
    async with running_app(tmp_path / "data", api_rate_limit=3) as instance:
        await instance.accounts.sites.add(SITE, "Europe/Zurich")
        yield instance, await api_user(instance)


async def test_rate_limit(limited: tuple[Instance, ApiUser]) -> None:
    instance, user = limited
    statuses = [(await post_query(instance, user, OK)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    r = await post_query(instance, user, OK)
    # NOW is 09:00:00: the three requests leave the window at 10:00:00
    assert_error(r, 429, LIMITED.format(3600))
    assert r.headers["retry-after"] == "3600"

    instance.clock.advance(1799.5)
    r = await post_query(instance, user, OK)
    assert_error(r, 429, LIMITED.format(1801))  # 1800.5 s left, rounded up
    assert r.headers["retry-after"] == "1801"

    instance.clock.set(NOW.timestamp() + 3600)
    assert (await post_query(instance, user, OK)).status_code == 200


async def test_rate_limit_window_slides(limited: tuple[Instance, ApiUser]) -> None:
    """Requests leave the budget one hour after they were made, not at a fixed hour."""
    instance, user = limited
    t0 = NOW.timestamp()
    assert (await post_query(instance, user, OK)).status_code == 200  # 09:00
    instance.clock.set(t0 + 1200)
    assert (await post_query(instance, user, OK)).status_code == 200  # 09:20
    assert (await post_query(instance, user, OK)).status_code == 200  # 09:20
    instance.clock.set(t0 + 2700)
    r = await post_query(instance, user, OK)  # 09:45: the 09:00 request frees a slot at 10:00
    assert r.status_code == 429 and r.headers["retry-after"] == "900"
    instance.clock.set(t0 + 3600)
    assert (await post_query(instance, user, OK)).status_code == 200  # 10:00: one slot free again
    r = await post_query(instance, user, OK)  # the 09:20 pair leaves at 10:20
    assert r.status_code == 429 and r.headers["retry-after"] == "1200"


async def test_rate_limit_counts_bad_requests_and_spares_bad_keys(limited: tuple[Instance, ApiUser]) -> None:
    """Every authenticated request counts, whatever its outcome; unauthenticated ones cannot
    spend someone's budget. Once limited, even a broken body gets 429 (no work is done)."""
    instance, user = limited
    for _ in range(5):
        assert (await post_query(instance, ApiUser("x", "not-a-key"), OK)).status_code == 401
    assert (await post_query(instance, user, b"{")).status_code == 400
    assert (await post_query(instance, user, {**OK, "site_id": OTHER_SITE})).status_code == 404
    assert (await post_query(instance, user, OK)).status_code == 200
    r = await post_query(instance, user, b"{")
    assert_error(r, 429, LIMITED.format(3600))


async def test_rate_limit_is_per_key(limited: tuple[Instance, ApiUser]) -> None:
    instance, user = limited
    second = ApiUser(user.email, await instance.accounts.keys.add(user.email, "second"))
    for _ in range(3):
        assert (await post_query(instance, user, OK)).status_code == 200
    assert (await post_query(instance, user, OK)).status_code == 429
    assert (await post_query(instance, second, OK)).status_code == 200


async def test_rate_limit_holds_across_processes(tmp_path: Path) -> None:
    """Two app instances on one database file (as uvicorn workers are) share each key's budget."""
    data_dir = tmp_path / "data"
    async with running_app(data_dir, api_rate_limit=3) as first:
        await first.accounts.sites.add(SITE, "Europe/Zurich")
        user = await api_user(first)
        async with running_app(data_dir, api_rate_limit=3) as second:
            statuses = [(await post_query(app, user, OK)).status_code for app in (first, second, first, second)]
            assert statuses == [200, 200, 200, 429]
            key_id = (await first.accounts.db.fetchall("SELECT id FROM api_keys"))[0][0]
            assert await ratelimit.usage(second.accounts.db, key_id, NOW.timestamp()) == 3


async def test_rate_limit_forgets_old_usage(limited: tuple[Instance, ApiUser]) -> None:
    """Expired slots are deleted, so the table stays at most an hour deep."""
    instance, user = limited
    assert (await post_query(instance, user, OK)).status_code == 200
    instance.clock.advance(7200)
    assert (await post_query(instance, user, OK)).status_code == 200
    rows = await instance.accounts.db.fetchall("SELECT slot, hits FROM api_usage")
    assert rows == [(int(NOW.timestamp() + 7200) // 60, 1)]


@pytest.mark.server
# conftest.start_server leaves its log file object to the garbage collector
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_rate_limit_holds_across_uvicorn_workers(tmp_path: Path, live_server_factory: Any) -> None:
    """A real `analytics serve --workers 2`: the budget is one, whichever worker answers."""
    data_dir = tmp_path / "data"
    cli("sites", "add", SITE, "--timezone", "Europe/Zurich", data_dir=data_dir)
    cli("users", "add", "owner@example.org", "--password-stdin", input=PASSWORD + "\n", data_dir=data_dir)
    key = cli("keys", "add", "owner@example.org", data_dir=data_dir).stdout.strip()
    server = live_server_factory("--workers", "2", "--api-rate-limit", "3", data_dir=data_dir)
    statuses = []
    for _ in range(6):
        # a new connection each time, so the kernel may hand it to either worker
        async with httpx.AsyncClient(base_url=server.url) as c:
            r = await c.post("/api/v2/query", json=OK, headers={"Authorization": f"Bearer {key}"})
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert 3500 <= int(r.headers["retry-after"]) <= 3600
    assert statuses == [200, 200, 200, 429, 429, 429]
