"""The ingest stage of `analytics bench` (analytics/devtools/bench_ingest.py): the wrk script and
the bare ASGI ceiling, which must answer 202 to a body and speak lifespan."""

from __future__ import annotations

import asyncio
from typing import Any

from analytics.devtools import bench_ingest


def test_lua_script_is_complete() -> None:
    script = bench_ingest.lua_script()
    assert "function request()" in script and bench_ingest.SITE in script and "%(" not in script


def test_raw_app_answers_202_after_the_whole_body() -> None:
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.request", "body": b"}", "more_body": False},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(bench_ingest.raw_app({"type": "http"}, receive, send))
    assert incoming == [] and sent[0]["status"] == 202 and sent[1]["body"] == b"ok"
    life: list[dict[str, Any]] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent.clear()
    incoming[:] = life
    asyncio.run(bench_ingest.raw_app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_load_defaults() -> None:
    load = bench_ingest.Load()
    assert (load.duration, load.connections, load.threads, load.history) == (15.0, 64, 2, 1_000_000)
