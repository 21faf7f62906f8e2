"""Templates, headers and error pages (analytics/web/render.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from conftest import Instance
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics.errors import BadRequest
from analytics.web import render
from analytics.web.render import HEADERS, SignInRequired, WebError, page, safe_next


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/sites/a?period=7d", "/sites/a?period=7d"),
        (None, "/sites"),
        ("", "/sites"),
        ("https://evil.example/", "/sites"),
        ("//evil.example/", "/sites"),
        ("/\\evil.example", "/sites"),
        ("/\t/evil.example", "/sites"),  # browsers drop the tab: //evil.example
        ("/x\x7f", "/sites"),
        ("sites", "/sites"),
    ],
)
def test_only_local_paths_are_followed(target: str | None, followed: str) -> None:
    assert safe_next(target) == followed


def test_static_urls_carry_the_files_hash() -> None:
    from importlib.resources import files

    data = (files("analytics.dashboards") / "static" / "app.js").read_bytes()
    assert render.static_url("app.js") == f"/static/app.js?v={hashlib.sha256(data).hexdigest()[:12]}"
    assert render.static_url("missing.css") == "/static/missing.css?v=0"


async def test_page_turns_errors_into_pages(instance: Instance) -> None:
    async def web_error(request: Request) -> Response:
        raise WebError(418, "No <coffee> here", {"Retry-After": "7"})

    async def api_error(request: Request) -> Response:
        raise BadRequest("bad period")

    async def signed_out(request: Request) -> Response:
        raise SignInRequired()

    app: Any = Starlette(routes=[Route("/w", page(web_error)), Route("/a", page(api_error)), Route("/s", page(signed_out))])
    app.state.settings = instance.app.state.settings
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.get("/w")
        assert (r.status_code, r.headers["retry-after"]) == (418, "7")
        assert "No &lt;coffee&gt; here" in r.text and "<coffee>" not in r.text  # escaped
        assert all(r.headers[k] == v for k, v in HEADERS.items())
        r = await client.get("/a")
        assert r.status_code == 400 and "bad period" in r.text and r.headers["content-type"].startswith("text/html")
        r = await client.get("/s?period=7d&x=1")
        assert (r.status_code, r.headers["location"]) == (303, "/login?next=%2Fs%3Fperiod%3D7d%26x%3D1")


def request(instance: Instance, scheme: str = "http", client: str = "10.0.0.1", **headers: str) -> Request:
    scope = {"type": "http", "scheme": scheme, "method": "GET", "path": "/", "query_string": b"", "app": instance.app,
             "client": (client, 1234), "server": ("t", 80),
             "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}  # fmt: skip
    return Request(scope)


async def test_https_is_believed_directly_or_from_a_trusted_proxy(instance: Instance) -> None:
    assert render.is_https(request(instance, "https"))
    assert not render.is_https(request(instance))
    assert not render.is_https(request(instance, x_forwarded_proto="https"))  # no trusted proxies configured
    instance.app.state.settings = instance.app.state.settings.__class__(
        data_dir=instance.app.state.settings.data_dir, trusted_proxies="10.0.0.0/8"
    )
    assert render.is_https(request(instance, x_forwarded_proto="https, http"))
    assert not render.is_https(request(instance, client="203.0.113.9", x_forwarded_proto="https"))
