"""Answering a batch of plans on one reader (analytics/store/sqlite/reads.py): string ids resolved
once for the whole batch, imported rows added to native groups, on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from analytics.model import Event, SessionAttrs, Site
from analytics.stats.dates import local_day
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.base import ImportPart
from analytics.store.sqlite import reads
from analytics.store.sqlite.store import SQLiteStore
from analytics.transfer.imports import columns
from analytics.transfer.layout import REPORTS_BY_NAME

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event(minute: int, visitor: int, path: str, source: str, name: str = "pageview", country: str = "CH") -> Event:
    ts = int(datetime(2026, 3, 1, 9, minute, tzinfo=UTC).timestamp())
    attrs = SessionAttrs(source=source, country=country)
    return Event(site_id=1, ts=ts, day=local_day(ts, SITE.timezone), visitor_id=visitor, prev_visitor_id=None,
                 name=name, hostname="blog.example.org", path=path, attrs=attrs)  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await s.open()
    await s.submit([event(0, 1, "/", "Google"), event(1, 1, "/a", "Google"), event(2, 1, "/a", "Google", "Signup")])
    await s.submit([event(5, 2, "/a", "LinkedIn", country="DE")])
    yield s
    await s.close()


def query(metrics: list[str], dimensions: list[str], **body: Any) -> Any:
    return parse({"metrics": metrics, "date_range": ["2026-03-01", "2026-03-01"], "dimensions": dimensions, **body},
                 SITE, NOW)  # fmt: skip


async def test_groups_are_keyed_by_the_values_as_the_api_shows_them(store: SQLiteStore) -> None:
    plans = [
        plan(query(["visitors", "pageviews"], ["event:page"])),
        plan(query(["visitors"], ["visit:source", "visit:country"])),  # interned source, text country: raw events
        plan(query(["events"], ["event:goal"])),
    ]
    async with store.reader() as conn:
        pages, sources, goals = await reads.sums(conn, plans)
    assert pages == {("/",): {"visitors": 1, "pageviews": 1}, ("/a",): {"visitors": 2, "pageviews": 2}}
    assert sources == {("Google", "CH"): {"visitors": 1}, ("LinkedIn", "DE"): {"visitors": 1}}
    assert goals == {("Signup",): {"events": 1}}


async def test_a_batch_is_one_statement_of_bookkeeping_one_per_plan_and_one_for_strings(store: SQLiteStore) -> None:
    plans = [plan(query(["visitors"], ["event:page"])), plan(query(["visitors"], ["visit:source"])),
             plan(query(["visitors"], ["visit:country"]))]  # fmt: skip
    statements: list[str] = []
    async with store.reader() as conn:
        await conn.set_trace_callback(statements.append)
        try:
            await reads.sums(conn, plans)
        finally:
            await conn.set_trace_callback(None)  # type: ignore[arg-type]
    assert len(statements) == 1 + 3 + 1, statements
    assert "json_each" in statements[-1]  # every id of every plan in one lookup


async def test_imported_rows_add_to_the_native_group_of_the_same_key(store: SQLiteStore) -> None:
    report = REPORTS_BY_NAME["sources"]
    row = {"source": "Google", "referrer": "", "utm_source": "", "utm_medium": "", "utm_campaign": "", "utm_content": "",
           "utm_term": "", "pageviews": 9, "visitors": 4, "visits": 5, "visit_duration": 0, "bounces": 1,
           "channel": "Organic Search"}  # fmt: skip
    values = (date(2026, 3, 1), *(row[c] for c in columns(report)))
    await store.import_rows(SITE, "x.zip", [ImportPart("sources", columns(report), [[values]])])
    q = query(["visitors", "visits"], ["visit:source"], include={"imports": True})
    async with store.reader() as conn:
        (groups,) = await reads.sums(conn, [plan(q)])
    assert groups == {("Google",): {"visitors": 5, "visits": 6}, ("LinkedIn",): {"visitors": 1, "visits": 1}}


async def test_an_empty_batch_and_an_unknown_site(store: SQLiteStore) -> None:
    async with store.reader() as conn:
        assert await reads.sums(conn, []) == []
        other = parse({"metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:source"]},
                      Site(9, "other.example.org", "UTC"), NOW)  # fmt: skip
        assert await reads.sums(conn, [plan(other)]) == [{}]
