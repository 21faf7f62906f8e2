"""Shared helpers for the Stats API tests: keys, users and a fixed fixture of events.

The fixture is sent through the real `/api/event` endpoint with the frozen
clock moved to each event's time, so it runs the whole ingest path (salts,
sessions, rollups). Times are UTC; blog.example.org is in Europe/Zurich,
UTC+1 on these dates. Expected numbers in the tests are worked out by hand
from the table below.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from conftest import Instance

from analytics.api import v2 as api
from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

SITE = "blog.example.org"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # conftest's frozen clock: Monday, 10:00 in Zurich
PASSWORD = "correct horse battery staple"

FF_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"
CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.6 Mobile/15E148 Safari/604.1"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/26.1 Safari/605.1.15"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Mobile Safari/537.36"
)

# Addresses whose country the bundled database knows (see test_geo.py).
JP, DE, CH, FR, US = "133.1.1.1", "217.0.0.1", "195.186.0.1", "90.0.0.1", "8.8.8.8"
BASE = "https://blog.example.org"


def pageview(path: str, referrer: str | None = None, width: int | None = None, **props: str) -> dict[str, Any]:
    body: dict[str, Any] = {"n": "pageview", "u": path if path.startswith("http") else BASE + path, "d": SITE}
    if referrer:
        body["r"] = referrer
    if width:
        body["w"] = width
    if props:
        body["p"] = props
    return body


def custom(name: str, path: str, interactive: bool = True, **props: str) -> dict[str, Any]:
    body: dict[str, Any] = {"n": name, "u": BASE + path, "d": SITE}
    if not interactive:
        body["i"] = False
    if props:
        body["p"] = props
    return body


def engagement(path: str, scroll: int, engaged_ms: int) -> dict[str, Any]:
    return {"n": "engagement", "u": BASE + path, "d": SITE, "sd": scroll, "e": engaged_ms}


# (UTC time, client IP, user agent, Events API body). Six visits by five people:
#
#  visit  who              local day / time (UTC+1)   pages                     source / channel            country device  screen  dur  bounce
#  A      V1 Firefox Linux Fri 02-20 13:00            /                         Google / Organic Search     JP      Desktop Desktop   0  yes
#  B      V2 Chrome Win    Sun 03-01 11:00-11:03:20   / -> /blog/hello, Signup  newsletter / Email (utm)    DE      Desktop Laptop  200  no
#  C      V3 iPhone Safari Sun 03-01 16:30            /blog/hello, Video Play*  Google / Organic Search     CH      Mobile  Mobile    0  yes
#  D      V4 Mac Safari    Sun 03-01 23:50-Mon 00:10  /about -> /pricing, Link  Hacker News / Organic Soc.  FR      Desktop Desktop 1230 no
#  E      V5 Android       Mon 03-02 08:00-08:00:30   /blog/hello, Signup       Mastodon / Organic Social   US      Mobile  Mobile   30  no
#  F      V2 Chrome Win    Mon 03-02 09:00            /Blog/Hello (shop host)   Direct / None / Direct      DE      Desktop Tablet    0  yes
#
#  * "Video Play" is non-interactive, so C still bounces. V2 on Monday is a new
#    visitor: the salt changed at midnight UTC.
FIXTURE: list[tuple[str, str, str, dict[str, Any]]] = [
    ("2026-02-20T12:00:00", JP, FF_LINUX, pageview("/", "https://www.google.com/", 1920)),
    (
        "2026-03-01T10:00:00", DE, CHROME_WIN,
        pageview("/?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content=top&utm_term=analytics",
                 width=1280),
    ),  # fmt: skip
    ("2026-03-01T10:01:40", DE, CHROME_WIN, pageview("/blog/hello", width=1280)),
    ("2026-03-01T10:02:00", DE, CHROME_WIN, engagement("/blog/hello", 80, 30000)),
    ("2026-03-01T10:03:20", DE, CHROME_WIN, custom("Signup", "/blog/hello", plan="pro")),
    ("2026-03-01T15:30:00", CH, IPHONE, pageview("/blog/hello", "https://www.google.com/search?q=x", 390)),
    ("2026-03-01T15:30:00", CH, IPHONE, engagement("/blog/hello", 40, 10000)),
    ("2026-03-01T15:30:00", CH, IPHONE, custom("Video Play", "/blog/hello", interactive=False)),
    ("2026-03-01T22:50:00", FR, MAC_SAFARI, pageview("/about", "https://news.ycombinator.com/item?id=1", 1440)),
    ("2026-03-01T23:10:00", FR, MAC_SAFARI, pageview("/pricing", width=1440)),
    ("2026-03-01T23:10:30", FR, MAC_SAFARI, custom("Outbound Link: Click", "/pricing", url="https://github.com/")),
    ("2026-03-02T07:00:00", US, ANDROID, pageview("/blog/hello?ref=mastodon.social", width=412, author="ana")),
    ("2026-03-02T07:00:30", US, ANDROID, custom("Signup", "/blog/hello", plan="free")),
    ("2026-03-02T08:00:00", DE, CHROME_WIN, pageview("https://shop.example.org/Blog/Hello", width=800)),
]


@contextlib.asynccontextmanager
async def running_app(data_dir: Path, **settings: Any) -> AsyncIterator[Instance]:
    """Like conftest's `instance`, with chosen settings, for module-scoped fixtures."""
    clock = FrozenClock(NOW)
    app = create_app(Settings(data_dir=str(data_dir), batch_ms=0.5, **settings), clock)
    async with app.router.lifespan_context(app):
        yield Instance(app, clock, data_dir)


async def ingest(instance: Instance) -> None:
    """Send FIXTURE through /api/event in time order, then put the clock back to NOW."""
    for when, ip, ua, body in FIXTURE:
        instance.clock.set(datetime.fromisoformat(when).replace(tzinfo=UTC))
        r = await instance.send(body, ip=ip, ua=ua)
        assert r.status_code == 202 and "x-analytics-dropped" not in r.headers, (when, r.text)
    instance.clock.set(NOW)


@dataclass
class ApiUser:
    email: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def api_user(instance: Instance, email: str = "owner@example.org") -> ApiUser:
    """A user with a Stats API key. The first user created owns every existing site."""
    await instance.accounts.users.add(email, PASSWORD)
    return ApiUser(email, await instance.accounts.keys.add(email))


async def post_query(instance: Instance, user: ApiUser | None, body: Any, **kw: Any) -> httpx.Response:
    async with instance.client() as c:
        if isinstance(body, bytes | str):
            return await c.post("/api/v2/query", content=body, headers=user.headers if user else {}, **kw)
        return await c.post("/api/v2/query", json=body, headers=user.headers if user else {}, **kw)


@functools.cache
def schema_validator(name: str) -> Any:
    """A JSON Schema validator for `components/schemas/<name>` of the served OpenAPI document."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(api.openapi_document(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:analytics:openapi", resource)
    return Draft202012Validator(
        {"$ref": f"urn:analytics:openapi#/components/schemas/{name}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def response_validator() -> Any:
    return schema_validator("QueryResponse")
