"""The Stats API endpoint's own steps (analytics/api/v2.py): the Bearer key, the site, the default
order and the response's echo. Every status and message is checked end to end in test_api_errors.py
and every result in test_api_query.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import Instance
from starlette.requests import Request

from analytics.api import v2
from analytics.errors import ApiError, BadRequest
from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.query import QueryResult

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def request(authorization: str | None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization is not None else []
    return Request({"type": "http", "method": "POST", "path": "/api/v2/query", "headers": headers})


def test_bearer_token() -> None:
    assert v2.bearer_token(request("Bearer ak_123")) == "ak_123"
    assert v2.bearer_token(request("  bearer   ak_123 ")) == "ak_123"
    for header, message in ((None, "Missing API key"), (" ", "Missing API key"), ("Basic abc", "Malformed"),
                            ("Bearer", "Malformed"), ("Bearer a b", "Malformed"), ("Bearer " + "k" * 201, "Malformed")):  # fmt: skip
        with pytest.raises(ApiError, match=message) as exc:
            v2.bearer_token(request(header))
        assert exc.value.status == 401 and exc.value.headers == {"WWW-Authenticate": "Bearer"}


async def test_resolve_site_answers_unknown_and_foreign_sites_alike(instance: Instance) -> None:
    ann = await instance.accounts.users.add("ann@example.org", "long enough")
    bob = await instance.accounts.users.add("bob@example.org", "long enough")
    site = await instance.accounts.sites.add("blog.example.org", owner=ann.id)
    assert await v2.resolve_site(instance.accounts, ann.id, "https://www.blog.example.org/") == site
    for user, site_id in ((bob.id, "blog.example.org"), (ann.id, "other.example.org"), (ann.id, "not a domain")):
        with pytest.raises(ApiError) as exc:
            await v2.resolve_site(instance.accounts, user, site_id)
        assert (exc.value.status, exc.value.message) == (404, f'Site "{site_id}" not found')
    with pytest.raises(BadRequest, match="site_id is missing"):
        await v2.resolve_site(instance.accounts, ann.id, None)
    with pytest.raises(BadRequest, match="site_id must be the site's domain"):
        await v2.resolve_site(instance.accounts, ann.id, 42)


def test_default_order_is_time_then_the_first_metric() -> None:
    q = parse({"metrics": ["pageviews", "visitors"], "date_range": "7d", "dimensions": ["visit:source", "time:day"]}, SITE, NOW)
    assert v2.default_order(q) == (("time:day", "asc"), ("pageviews", "desc"))
    q = parse({"metrics": ["visitors"], "date_range": "7d"}, SITE, NOW)
    assert v2.default_order(q) == (("visitors", "desc"),)


def test_the_echo_shows_the_query_as_it_ran() -> None:
    body = {"metrics": ["visitors"], "date_range": ["2026-03-01", "2026-03-01"], "dimensions": ["event:page"],
            "filters": [["is", "visit:country", ["CH"]], ["or", [["contains", "event:page", ["a"], {"case_sensitive": False}],
                        ["not", ["is", "event:goal", ["Signup"]]]]]],
            "include": {"total_rows": True}}  # fmt: skip
    q = parse(body, SITE, NOW)
    result = QueryResult(rows=[(("/a",), (3,)), ((7,), (1,))], total_rows=None)
    out = v2.render(q, result, body["include"])
    assert out["results"] == [{"dimensions": ["/a"], "metrics": [3]}, {"dimensions": ["7"], "metrics": [1]}]
    assert out["meta"] == {"total_rows": 2}
    assert out["query"] == {
        "site_id": "blog.example.org", "metrics": ["visitors"],
        "date_range": ["2026-03-01T00:00:00+01:00", "2026-03-01T23:59:59+01:00"],
        "dimensions": ["event:page"],
        "filters": [["is", "visit:country", ["CH"]], ["or", [["contains", "event:page", ["a"], {"case_sensitive": False}],
                    ["not", ["is", "event:goal", ["Signup"]]]]]],
        "order_by": [], "include": {"total_rows": True}, "pagination": {"limit": 10000, "offset": 0},
    }  # fmt: skip


def test_the_openapi_document_takes_its_lists_from_the_code() -> None:
    doc = v2.openapi_document()
    assert doc["components"]["schemas"]["VisitDimension"]["enum"][-1] == "visit:screen"
    assert v2.openapi_document() is doc  # built once
