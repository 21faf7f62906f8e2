"""SQL over imported history (analytics.store.sqlite.history.py): the statements for a query, and
the imported range, on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from analytics.model import Site
from analytics.stats.parse import parse
from analytics.store.base import ImportPart
from analytics.store.sqlite.history import SUMS, ImportCompiler, imported_range
from analytics.store.sqlite.store import SQLiteStore
from analytics.transfer.imports import columns
from analytics.transfer.layout import REPORTS_BY_NAME

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JAN = [1, "2026-01-01", "2026-01-31"]


def query(metrics: list[str], dimensions: list[str] | None = None, **body: Any) -> Any:
    body.setdefault("date_range", ["2026-01-01", "2026-01-31"])
    return parse({"metrics": metrics, "dimensions": dimensions or [], **body}, SITE, NOW)


def test_totals_read_three_reports() -> None:
    sums = {"visitors", "visits", "bounces", "time_total", "page_visits", "events"}
    statements = ImportCompiler(query(["visitors", "bounce_rate", "time_on_page", "events"])).statements(sums)
    where = "WHERE site_id = ? AND date BETWEEN ? AND ?"
    where += " AND +import_id NOT IN (SELECT id FROM site_imports WHERE rows < 0)"
    assert statements == [
        (f"SELECT SUM(visitors), SUM(visits), SUM(bounces) FROM imported_visitors {where}", JAN,
         ("visitors", "visits", "bounces")),
        (f"SELECT SUM(total_time_on_page) * 1000, SUM(visits) FROM imported_pages {where}", JAN,
         ("time_total", "page_visits")),  # seconds in the file, milliseconds in the stats layer
        (f"SELECT SUM(events) FROM imported_custom_events {where}", JAN, ("events",)),
    ]  # fmt: skip


def test_page_bounces_come_from_entry_pages_with_the_same_filter() -> None:
    q = query(["bounce_rate"], ["event:page", "time:month"], filters=[["contains", "event:page", ["Blog"], {"case_sensitive": False}]])
    pages, entries = ImportCompiler(q).statements({"bounces", "visits"})
    assert pages == (
        "SELECT page, strftime('%Y-%m-01', date), SUM(visits) FROM imported_pages WHERE site_id = ? AND date BETWEEN ? AND ?"
        " AND +import_id NOT IN (SELECT id FROM site_imports WHERE rows < 0)"
        " AND (instr(lower(page), ?) > 0) GROUP BY 1, 2",
        [*JAN, "blog"],
        ("visits",),
    )
    assert entries == (
        "SELECT entry_page, strftime('%Y-%m-01', date), SUM(bounces) FROM imported_entry_pages WHERE site_id = ?"
        " AND date BETWEEN ? AND ? AND +import_id NOT IN (SELECT id FROM site_imports WHERE rows < 0)"
        " AND (instr(lower(entry_page), ?) > 0) GROUP BY 1, 2",
        [*JAN, "blog"],
        ("bounces",),
    )


def test_entries_and_exits_are_the_visits_of_their_reports() -> None:
    assert SUMS["imported_entry_pages"]["visits"] == "SUM(entrances)"
    assert SUMS["imported_exit_pages"]["visits"] == "SUM(exits)"
    ((sql, params, names),) = ImportCompiler(query(["visits"], ["visit:exit_page"])).statements({"visits"})
    assert sql.startswith("SELECT exit_page, SUM(exits) FROM imported_exit_pages") and names == ("visits",)


async def test_imported_range(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "analytics.db")
    await store.open()
    try:
        assert await imported_range(store, SITE.id) is None
        report = REPORTS_BY_NAME["visitors"]
        for day in (date(2025, 12, 30), date(2026, 1, 4)):
            await store.import_rows(SITE, f"{day}.zip", [ImportPart("visitors", columns(report), [[(day, 1, 1, 0, 1, 5)]])])
        assert await imported_range(store, SITE.id) == (date(2025, 12, 30), date(2026, 1, 4))
        assert await imported_range(store, 2) is None
    finally:
        await store.close()
