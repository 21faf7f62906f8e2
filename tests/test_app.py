"""The application (analytics/app.py): what `create_app` wires, health, the one error handler, housekeeping."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from conftest import Instance
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings
from analytics.enrich.identity import utc_day


async def test_health_and_state(instance: Instance) -> None:
    async with instance.client() as client:
        r = await client.get("/api/health")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    state = instance.app.state
    assert state.collector.store is state.store and state.collector.accounts is state.accounts
    assert state.clock is instance.clock


async def test_an_unhandled_error_is_a_bare_json_500(instance: Instance, caplog: pytest.LogCaptureFixture) -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError("secret request data 198.51.100.7")

    instance.app.router.routes.append(Route("/boom", boom))
    transport = httpx.ASGITransport(app=instance.app, raise_app_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="analytics"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get("/boom")
    assert (r.status_code, r.json()) == (500, {"error": "Internal error"})
    assert "unhandled RuntimeError on GET /boom" in caplog.text and "198.51.100.7" not in caplog.text


async def test_a_storage_failure_is_a_503_on_every_route(instance: Instance, caplog: pytest.LogCaptureFixture) -> None:
    """A real SQLITE_FULL (a database held at its page limit, as a full disk refuses growth) raised in any
    handler: a 503 with Retry-After, JSON under /api/ and an error page elsewhere; the log names the
    reason and the route, never the request."""

    async def full(request: Request) -> Response:
        with contextlib.closing(sqlite3.connect(":memory:")) as conn:
            conn.execute("CREATE TABLE t (x)")
            conn.execute("PRAGMA max_page_count = 2")
            conn.execute("INSERT INTO t VALUES (?)", ("secret request data " * 1000,))
        raise AssertionError("the insert fits")

    instance.app.router.routes[:0] = [Route("/api/full/{token}", full), Route("/full/{token}", full)]
    transport = httpx.ASGITransport(app=instance.app, raise_app_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="analytics"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            api = await client.get("/api/full/t0k3n")
            page = await client.get("/full/t0k3n")
    message = "The server cannot store data right now (its disk may be full); retry later"
    assert (api.status_code, api.json(), api.headers["retry-after"]) == (503, {"error": message}, "30")
    assert (page.status_code, page.headers["content-type"], page.headers["retry-after"]) == (503, "text/html; charset=utf-8", "30")
    assert message + "." in page.text
    assert [r.getMessage() for r in caplog.records] == [
        "storage unavailable (SQLITE_FULL) on GET /api/full/{token}",
        "storage unavailable (SQLITE_FULL) on GET /full/{token}",
    ]


async def test_startup_creates_todays_salt_and_shutdown_closes_everything(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = create_app(Settings(data_dir=str(tmp_path / "data"), batch_ms=0.5), clock)
    async with app.router.lifespan_context(app):
        for _ in range(100):  # the housekeeping task's first round runs right after startup
            if await app.state.accounts.salts.days():
                break
            await app.state.store.checkpoint()
        assert await app.state.accounts.salts.days() == [utc_day(clock.now())]
    assert sorted(p.name for p in (tmp_path / "data").glob("*.db")) == ["accounts.db", "analytics.db"]
    assert app.state.store._writer is None and app.state.accounts.db._writer is None
