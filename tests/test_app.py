"""The application (analytics/app.py): what `create_app` wires, health, the one error handler, housekeeping."""

from __future__ import annotations

import logging
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
