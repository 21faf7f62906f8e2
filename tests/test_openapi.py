"""The OpenAPI document at /api/openapi.json is valid and tells the truth.

- it is a valid OpenAPI 3.1 document (openapi-spec-validator);
- its enums are exactly the metrics, dimensions, operators and presets the
  parser accepts (stats.query, stats.dates), and its limits are the parser's;
- every request of the query table validates against the request schema, and
  every invalid request of the error table is rejected by it, except the ones
  whose rule a JSON schema cannot state (listed below, checked by the API);
- responses validate against the response schema (every response of the
  query table is checked in test_api_query.py; error bodies in test_api_errors.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from api_support import SITE, schema_validator
from conftest import Instance
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from openapi_spec_validator import validate
from test_api_errors import BAD_QUERIES, bad_body
from test_api_query import CASES

from analytics.api import v2 as api
from analytics.catalog import EVENT_DIMENSIONS, TIME_DIMENSIONS, VISIT_DIMENSIONS
from analytics.stats import dates, parse
from analytics.stats.metrics import METRICS
from analytics.stats.query import OPERATORS

DOC = api.openapi_document()
SCHEMAS = DOC["components"]["schemas"]
OPERATION = DOC["paths"]["/api/v2/query"]["post"]

# Invalid requests a JSON schema cannot reject: the API answers 400 for them.
# The document states these in prose (tests/test_api_schemathesis.py keeps generated requests to them).
SEMANTIC = {
    "filter-bad-regex",
    "filter-regex-too-long",  # the 500-character cap applies to matches patterns only
    "filter-too-deep",
    "filter-too-many-clauses",
    "date-range-reversed",
    "date-range-too-long",
    "order-by-not-in-query",
}


def test_document_is_valid_openapi_3_1() -> None:
    assert DOC["openapi"].startswith("3.1")
    validate(DOC)


async def test_document_is_served(instance: Instance) -> None:
    async with instance.client() as c:
        r = await c.get("/api/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == DOC


def test_enums_match_the_parser() -> None:
    assert SCHEMAS["Metric"]["enum"] == list(METRICS)
    assert SCHEMAS["EventDimension"]["enum"] == list(EVENT_DIMENSIONS)
    assert SCHEMAS["VisitDimension"]["enum"] == list(VISIT_DIMENSIONS)
    assert SCHEMAS["TimeDimension"]["enum"] == list(TIME_DIMENSIONS)
    assert SCHEMAS["Operator"]["enum"] == list(OPERATORS)
    assert SCHEMAS["DatePreset"]["enum"] == list(dates.PRESETS)
    assert SCHEMAS["PropsDimension"]["pattern"] == "^event:props:[^\\u0000]{1,300}$"  # is_dimension's 1-300 chars, no NUL
    assert SCHEMAS["Pagination"]["properties"]["limit"]["maximum"] == parse.MAX_LIMIT
    assert set(SCHEMAS["Include"]["properties"]) == {"imports", "time_labels", "total_rows"}
    assert str(api.MAX_BODY) in OPERATION["requestBody"]["description"]


def test_every_answer_is_documented() -> None:
    responses = OPERATION["responses"]
    assert set(responses) == {"200", "400", "401", "404", "413", "429", "503"}
    for status, response in responses.items():
        schema = response["content"]["application/json"]["schema"]["$ref"]
        assert schema == "#/components/schemas/" + ("QueryResponse" if status == "200" else "Error")
    assert responses["429"]["headers"]["Retry-After"]["required"] is True
    assert responses["503"]["headers"]["Retry-After"]["required"] is True
    assert OPERATION["security"] == [{"bearerAuth": []}]
    assert DOC["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": DOC["components"]["securitySchemes"]["bearerAuth"]["description"],
    }


@pytest.mark.parametrize("body", [pytest.param({"site_id": SITE, **c[1]}, id=c[0]) for c in CASES])
def test_table_requests_validate(body: dict[str, Any]) -> None:
    schema_validator("QueryRequest").validate(body)


@pytest.mark.parametrize("results", [pytest.param(c[2], id=c[0]) for c in CASES])
def test_table_results_validate(results: list[Any]) -> None:
    for row in results:
        schema_validator("Row").validate(row)


@pytest.mark.parametrize(("name", "example"), list(OPERATION["requestBody"]["content"]["application/json"]["examples"].items()))
def test_document_examples_validate(name: str, example: dict[str, Any]) -> None:
    schema_validator("QueryRequest").validate(example["value"])


@pytest.mark.parametrize(("case", "changes"), [pytest.param(i, c, id=i) for i, c, _ in BAD_QUERIES])
def test_invalid_requests_are_rejected_by_the_schema(case: str, changes: dict[str, Any]) -> None:
    errors = list(schema_validator("QueryRequest").iter_errors(bad_body(changes)))
    if case in SEMANTIC:
        assert errors == []
    else:
        assert errors, f"the schema accepts {case}, which the API rejects"


def test_response_schema_is_strict() -> None:
    """The validators are not vacuous: malformed responses and errors fail."""
    ok = {
        "results": [{"dimensions": ["/"], "metrics": [1, 1.5, None]}],
        "meta": {"total_rows": 1},
        "query": {
            "site_id": SITE, "metrics": ["visitors"], "date_range": ["2026-03-01T00:00:00+01:00", "2026-03-01T23:59:59+01:00"],
            "dimensions": ["event:page"], "filters": [], "order_by": [["visitors", "desc"]], "include": {},
            "pagination": {"limit": 10000, "offset": 0},
        },
    }  # fmt: skip
    schema_validator("QueryResponse").validate(ok)
    for broken in (
        {**ok, "query": {}},
        {**ok, "results": [{"dimensions": [1], "metrics": [1]}]},
        {**ok, "results": [{"dimensions": [], "metrics": ["1"]}]},
        {**ok, "extra": True},
        {**ok, "meta": {"total_rows": -1}},
    ):
        with pytest.raises(ValidationError):
            schema_validator("QueryResponse").validate(broken)
    with pytest.raises(ValidationError):
        schema_validator("Error").validate({"error": "x", "detail": "y"})
