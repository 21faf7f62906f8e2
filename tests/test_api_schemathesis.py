"""Schemathesis against the served `/api/openapi.json`, with a real key, on the in-process app.

Every request it generates from the document's request schema is sent with a
real Stats API key for a real site (the one generated field set by hand is
`site_id`: a random domain would only ever get the 404 the document promises).
Each answer goes through Schemathesis's checks: no server error, a documented
status, content type and headers, a body that validates against the response
schema, and `positive_data_acceptance`: a schema-valid request is not rejected.

A few rules cannot be said in JSON Schema because they compare one value with
another; the document states them in prose. `follow_prose` makes a generated
request keep them, each change naming its rule, and the result is checked to
still validate against the schema; `test_prose_rules_are_the_apis` shows the
API answers 400 for breaking each of them.

Bounded and repeatable: MAX_EXAMPLES requests from a fixed seed, no shrinking, about
ten seconds; ANALYTICS_SCHEMATHESIS_EXAMPLES asks for more (other requests, same seed).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_support import NOW, SITE, api_user, ingest, running_app, schema_validator
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.python import asgi

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings
from analytics.stats import parse, patterns

# More for a longer local hunt: ANALYTICS_SCHEMATHESIS_EXAMPLES=2000.
MAX_EXAMPLES = int(os.environ.get("ANALYTICS_SCHEMATHESIS_EXAMPLES", "150"))
REQUEST = schema_validator("QueryRequest")


def follow_prose(body: Any) -> Any:
    """`body` changed only as far as the document's prose rules require (see the module docstring)."""
    if not isinstance(body, dict):
        return body
    body = json.loads(json.dumps(body))
    spec = body.get("date_range")
    if isinstance(spec, list) and len(spec) == 2:
        first, last = sorted(date.fromisoformat(d) for d in spec)  # "The last day is not before the first"
        if last - first > timedelta(days=20 * 365):  # "and the range spans at most 20 years"
            last = first
        body["date_range"] = [first.isoformat(), last.isoformat()]
    named = set(body.get("metrics", [])) | set(body.get("dimensions", []))
    if "order_by" in body:  # "name is one of the query's own metrics or dimensions"
        body["order_by"] = [pair for pair in body["order_by"] if pair[0] in named]
    if "filters" in body:
        body["filters"] = [_valid_patterns(f) for f in body["filters"]]
        # "at most 10 levels of and, or, not; 200 conditions and 100 matches patterns in one query"
        body["filters"] = [f for f in body["filters"] if _depth(f) <= parse.MAX_FILTER_DEPTH]
        while body["filters"] and (_count(body["filters"], False) > parse.MAX_FILTER_CLAUSES
                                   or _count(body["filters"], True) > parse.MAX_PATTERNS):  # fmt: skip
            body["filters"].pop()
    return body


def _depth(f: list[Any]) -> int:
    if f[0] in ("and", "or"):
        return 1 + max(_depth(i) for i in f[1])
    return 1 + _depth(f[1]) if f[0] == "not" else 0


def _count(filters: list[Any], patterns_only: bool) -> int:
    """Conditions (each clause of a contains or matches counts), or only matches patterns."""
    total = 0
    for f in filters:
        if f[0] in ("and", "or", "not"):
            total += _count(f[1] if f[0] != "not" else [f[1]], patterns_only)
        elif not patterns_only:
            total += len(f[2]) if f[0] in ("contains", "contains_not", "matches", "matches_not") else 1
        elif f[0] in ("matches", "matches_not"):
            total += len(f[2])
    return total


def _valid_patterns(f: list[Any]) -> list[Any]:
    """A `matches` clause is an RE2 pattern of at most MAX_PATTERN_LENGTH characters: others become literal."""
    if f[0] in ("and", "or"):
        return [f[0], [_valid_patterns(i) for i in f[1]]]
    if f[0] == "not":
        return ["not", _valid_patterns(f[1])]
    if f[0] in ("matches", "matches_not"):
        values = [str(v)[:100] for v in f[2]]
        f = [f[0], f[1], [v if patterns.problem(v) is None and len(v) <= 500 else re.escape(v) for v in values], *f[3:]]
    return f


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The app on a data dir with a site and a key; Schemathesis runs its lifespan in its own thread."""
    data_dir: Path = tmp_path_factory.mktemp("schemathesis") / "data"

    async def setup() -> str:
        async with running_app(data_dir) as instance:  # the API tests' fixture events, so rows come back
            await instance.accounts.sites.add(SITE, "Europe/Zurich")
            await ingest(instance)
            return (await api_user(instance)).key

    key = asyncio.run(setup())
    app = create_app(Settings(data_dir=str(data_dir), batch_ms=0.5, api_rate_limit=100_000), FrozenClock(NOW))
    try:
        yield schemathesis.openapi.from_asgi("/api/openapi.json", app), key
    finally:
        asgi.shutdown_lifespans()


def test_generated_queries_are_all_accepted(served: tuple[Any, str]) -> None:
    schema, key = served
    operation = schema["/api/v2/query"]["POST"]
    statuses: dict[int, int] = {}
    rows = 0

    @settings(max_examples=MAX_EXAMPLES, deadline=None, phases=[Phase.generate], derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])  # fmt: skip
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        case.body = follow_prose(case.body)
        case.body["site_id"] = SITE
        errors = [e.message for e in REQUEST.iter_errors(case.body)]
        assert not errors, (errors, case.body)  # still what the schema allows
        headers = {"Authorization": f"Bearer {key}"}
        response = case.call(headers=headers)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code == 200, (response.text, case.body)
        case.validate_response(response, headers=headers)  # every Schemathesis check, on the same answer
        nonlocal rows
        rows += len(response.json()["results"])

    check()
    assert statuses == {200: MAX_EXAMPLES}
    assert rows > 0  # not every answer was empty


@pytest.mark.parametrize(("path", "allowed"), [("/api/v2/query", "POST"), ("/api/openapi.json", "GET, HEAD")])
def test_undocumented_methods_get_a_json_405_with_a_true_allow(served: tuple[Any, str], path: str, allowed: str) -> None:
    """OPTIONS included: Starlette's own 405 was plain text, and its Allow header listed refused methods."""
    schema, key = served
    client = asgi.get_client(schema.app)
    with client:
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"):
            if method in allowed.split(", "):
                continue
            r = client.request(method, path, headers={"Authorization": f"Bearer {key}"})
            assert (r.status_code, r.headers["allow"], r.headers["content-type"]) == (405, allowed, "application/json"), method
            if method != "HEAD":
                assert r.json() == {"error": f"Method {method} not allowed; use {allowed.replace(', ', ' or ')}"}


@pytest.mark.parametrize(
    ("rule", "changes", "error"),
    [
        ("reversed", {"date_range": ["2026-03-02", "2026-03-01"]}, "date_range ends before it starts"),
        ("20 years", {"date_range": ["1990-01-01", "2026-03-01"]}, "date_range spans more than 20 years"),
        ("order_by", {"order_by": [["pageviews", "desc"]]}, 'order_by "pageviews" is not one of the query\'s metrics or dimensions'),
        ("RE2", {"filters": [["matches", "event:page", ["(a"]]]}, "Invalid regular expression \"(a\": missing ): (a"),
        ("pattern length", {"filters": [["matches", "event:page", ["a" * 501]]]}, f"a matches pattern may have at most {parse.MAX_PATTERN_LENGTH} characters"),
        ("depth", {"filters": [functools.reduce(lambda f, _: ["not", f], range(11), ["is", "event:page", ["/"]])]}, "filters are nested too deeply: at most 10 levels of and, or, not"),
        ("patterns", {"filters": [["matches", "event:page", ["a"] * 101]]}, "filters have too many matches patterns: at most 100 in one query"),
    ],
)
def test_prose_rules_are_the_apis(served: tuple[Any, str], rule: str, changes: dict[str, Any], error: str) -> None:
    """Each rule follow_prose keeps is one the schema allows to break and the API answers 400 for."""
    schema, key = served
    body = {"site_id": SITE, "metrics": ["visitors"], "date_range": "7d", **changes}
    assert not list(REQUEST.iter_errors(body))
    case = schema["/api/v2/query"]["POST"].Case(body=body, media_type="application/json")
    response = case.call(headers={"Authorization": f"Bearer {key}"})
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert follow_prose(body) != body
