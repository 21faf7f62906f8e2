"""No 500s: inputs that used to raise deep inside get a 4xx with a message, JSON for
the API and an HTML page for the dashboard; a server error logs only its type and route.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from api_support import SITE, ApiUser, api_user, post_query, running_app
from conftest import Instance
from web_support import EMAIL, setup_admin

from analytics.transfer import imports

pytestmark = pytest.mark.asyncio(loop_scope="module")

SHARE = "S" * 32
BOUND = "dates must lie between 1970-01-01 and 9998-12-31"


class World:
    def __init__(self, instance: Instance, user: ApiUser, web: httpx.AsyncClient) -> None:
        self.instance, self.user, self.web = instance, user, web


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("errors") / "data"
    async with running_app(data_dir, api_rate_limit=0) as instance:
        site = await instance.accounts.sites.add(SITE, "Pacific/Kiritimati")  # UTC+14: the edge of every day
        await instance.accounts.sites.set_share(site, SHARE, None)
        async with instance.client() as web:
            await setup_admin(web)
            user = ApiUser(EMAIL, await instance.accounts.keys.add(EMAIL))  # the admin owns every site
            yield World(instance, user, web)


def query(**extra: Any) -> str:
    """A query body as JSON text with ASCII escapes, so a lone surrogate travels as `\\ud800`."""
    return json.dumps({"site_id": SITE, "metrics": ["visitors"], "date_range": "day", **extra})


def assert_json_error(r: httpx.Response, status: int, message: str) -> None:
    assert (r.status_code, r.headers["content-type"], r.json()) == (status, "application/json", {"error": message})


def assert_page_error(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert message in r.text


# -- dates at the ends of the calendar ----------------------------------------------------------


@pytest.mark.parametrize(
    "span", [["0001-01-01", "0001-01-02"], ["9999-12-30", "9999-12-31"], ["1969-12-31", "1970-01-01"]]
)
async def test_api_date_range_beyond_the_calendar(world: World, span: list[str]) -> None:
    r = await post_query(world.instance, world.user, query(date_range=span))
    assert_json_error(r, 400, f"date_range {span!r}: {BOUND}")


async def test_api_date_range_at_the_bounds_answers(world: World) -> None:
    for span in (["1970-01-01", "1970-01-02"], ["9998-12-30", "9998-12-31"]):
        r = await post_query(world.instance, world.user, query(date_range=span, dimensions=["time:day"]))
        assert (r.status_code, r.json()["results"]) == (200, []), span


@pytest.mark.parametrize("base", ["/sites/blog.example.org", f"/share/{SHARE}", "/sites/blog.example.org/export"])
@pytest.mark.parametrize("span", [("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")])
async def test_pages_with_a_custom_range_beyond_the_calendar(world: World, base: str, span: tuple[str, str]) -> None:
    r = await world.web.get(base, params={"period": "custom", "from": span[0], "to": span[1]})
    assert_page_error(r, 400, f"a custom range&#39;s {BOUND}")


async def test_dashboard_at_the_first_day_shows_no_comparison(world: World) -> None:
    """The period before 1970-01-01 is outside the calendar: the range answers, without a comparison."""
    r = await world.web.get(
        "/sites/blog.example.org", params={"period": "custom", "from": "1970-01-01", "to": "1970-01-07"}
    )
    assert r.status_code == 200
    r = await world.web.get(
        "/sites/blog.example.org", params={"period": "custom", "from": "9998-12-01", "to": "9998-12-31"}
    )
    assert r.status_code == 200


# -- property names no database can hold -------------------------------------------------------

BAD_KEYS = ["a\x00b", "a\ud800b"]


@pytest.mark.parametrize("key", BAD_KEYS, ids=["nul", "surrogate"])
async def test_api_prop_key_as_dimension_or_filter(world: World, key: str) -> None:
    name = f"event:props:{key}"
    message = "Invalid dimension name: it holds a NUL or an unpaired surrogate character"
    r = await post_query(world.instance, world.user, query(dimensions=[name]))
    assert_json_error(r, 400, message)
    r = await post_query(world.instance, world.user, query(filters=[["is", name, ["x"]]]))
    assert_json_error(r, 400, message)


async def test_api_filter_value_with_a_lone_surrogate(world: World) -> None:
    r = await post_query(world.instance, world.user, query(filters=[["is", "event:page", ["/\ud800"]]]))
    assert_json_error(r, 400, "Invalid filter value for event:page: it holds an unpaired surrogate character")


@pytest.mark.parametrize("base", ["/sites/blog.example.org", f"/share/{SHARE}"])
async def test_page_prop_filter_with_nul(world: World, base: str) -> None:
    r = await world.web.get(base + "?prop.a%00b=x")
    if base.startswith("/share"):  # a share link takes no filters at all
        assert_page_error(r, 400, "filters are not available on this shared link")
    else:
        assert_page_error(r, 400, "Invalid dimension name: it holds a NUL or an unpaired surrogate character")


# -- imports --------------------------------------------------------------------------------------


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def _encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' flag bit on every member (local header and central directory)."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(sig)
        while at >= 0:
            out[at + offset] |= 1
            at = out.find(sig, at + 4)
    return bytes(out)


VISITORS = "date,visitors,pageviews,bounces,visits,visit_duration\n"


async def test_import_of_an_encrypted_member(world: World) -> None:
    site = await world.instance.accounts.sites.get(SITE)
    data = _encrypted(_zip({"imported_visitors.csv": VISITORS + "2026-01-01,1,1,0,1,0\n"}))
    with pytest.raises(imports.ImportFileError) as caught:
        await imports.import_csv(world.instance.store, site, io.BytesIO(data), label="x.zip")
    assert caught.value.status == 400
    assert caught.value.message == "imported_visitors.csv: is encrypted; export it again without a password"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1969-12-31"])
async def test_import_of_a_row_beyond_the_calendar(world: World, day: str) -> None:
    site = await world.instance.accounts.sites.get(SITE)
    data = _zip({"imported_visitors.csv": VISITORS + "2026-01-01,1,1,0,1,0\n" + f"{day},1,1,0,1,0\n"})
    with pytest.raises(imports.ImportFileError) as caught:
        await imports.import_csv(world.instance.store, site, io.BytesIO(data), label="x.zip")
    assert caught.value.message == f"imported_visitors.csv, line 3: date {day!r} is outside 1970-01-01..9998-12-31"
    assert await imports.list_imports(world.instance.store, site) == []


# -- exports past the zip format's last year -------------------------------------------------------


async def test_web_export_past_2107(world: World) -> None:
    r = await world.web.get(
        "/sites/blog.example.org/export", params={"period": "custom", "from": "2107-12-31", "to": "2108-01-01"}
    )
    assert_page_error(r, 400, "a zip export can only hold days up to 2107-12-31")


# -- the server error handler ----------------------------------------------------------------------


async def test_server_error_logs_type_and_route_only(world: World, caplog: pytest.LogCaptureFixture) -> None:
    from analytics.app import _server_error

    class Boom(Exception):
        pass

    scope = {"type": "http", "method": "GET", "path": "/api/v2/query", "query_string": b"secret=1", "headers": []}
    from starlette.requests import Request

    with caplog.at_level(logging.ERROR, logger="analytics"):
        r = await _server_error(Request(scope), Boom("attacker text 203.0.113.7"))
    assert (r.status_code, bytes(r.body)) == (500, b'{"error":"Internal error"}')
    assert [rec.getMessage() for rec in caplog.records] == ["unhandled Boom on GET an unmatched path"]
    assert all(rec.exc_info is None for rec in caplog.records)


async def test_all_time_with_imports_over_a_stored_row_at_year_one(tmp_path: Path) -> None:
    """Rows stored before the import check existed: `all` starts at FIRST_DAY instead of overflowing."""
    from datetime import date

    from analytics.store.base import ImportPart
    from analytics.transfer.imports import columns
    from analytics.transfer.layout import REPORTS

    visitors = next(r for r in REPORTS if r.name == "visitors")
    async with running_app(tmp_path / "data", api_rate_limit=0) as instance:
        site = await instance.accounts.sites.add(SITE, "Pacific/Kiritimati")
        user = await api_user(instance)
        cols = columns(visitors)
        row = (date(1, 1, 1), *[1 for _ in cols])
        await instance.store.import_rows(site, "old.zip", [ImportPart("visitors", cols, iter([[row]]), None)])
        body = json.dumps({"site_id": SITE, "metrics": ["visitors"], "date_range": "all", "include": {"imports": True}})
        r = await post_query(instance, user, body)
        assert (r.status_code, r.json()["results"]) == (200, [{"metrics": [0], "dimensions": []}])
        await instance.accounts.sites.set_share(site, SHARE, None)
        async with instance.client() as anonymous:
            r = await anonymous.get(f"/share/{SHARE}", params={"period": "all"})
            # The range starts at FIRST_DAY, and a dashboard shows at most 20 years: a 400, not an overflow.
            assert r.status_code == 400
            assert '<p class="error-text">date_range spans more than 20 years<' in r.text
