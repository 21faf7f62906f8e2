"""Compiling plans to SQLite (analytics/store/sqlite/compiler.py): which tables each part reads,
bound values only, and `union` joining a plan's parts into one statement that runs."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.sqlite.compiler import FEW_STRINGS, Compiler, regexp, union
from analytics.store.sqlite.days import day_number
from analytics.store.sqlite.store import SQLiteStore

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NAMES = {"pageview": 11, "engagement": 12}
FEB = ["2026-02-01", "2026-02-28"]


def query(metrics: list[str], dimensions: list[str] | None = None, **body: Any) -> Any:
    body.setdefault("date_range", FEB)
    return parse({"metrics": metrics, "dimensions": dimensions or [], **body}, SITE, NOW)


def parts(q: Any, through: int | None = None, raw: bool = False) -> list[tuple[str, list[Any], tuple[str, ...]]]:
    return [part for part, _ in Compiler(plan(q, raw=raw), NAMES, through).parts()]


def bucket(when: datetime) -> int:
    return int(when.timestamp()) // 900


def test_settled_days_come_from_the_daily_tier_the_rest_from_buckets() -> None:
    through = day_number(date(2026, 2, 16))
    (day_part, bucket_part) = parts(query(["visitors", "bounce_rate"]), through)
    assert day_part == (
        "SELECT SUM(visitors), SUM(visits), SUM(bounces) FROM rollup_totals_day WHERE site_id = ? AND day BETWEEN ? AND ?",
        [1, day_number(date(2026, 2, 1)), through],
        ("visitors", "visits", "bounces"),
    )
    # Buckets from Feb 17, 00:00 in Zurich (23:00 UTC the day before) to the end of the range.
    assert bucket_part[0] == day_part[0].replace("rollup_totals_day", "rollup_totals").replace(
        "day BETWEEN ? AND ?", "bucket >= ? AND bucket < ?"
    )
    assert bucket_part[1] == [1, bucket(datetime(2026, 2, 16, 23, tzinfo=UTC)), bucket(datetime(2026, 2, 28, 23, tzinfo=UTC))]


def test_when_the_tier_cannot_answer_buckets_do() -> None:
    tables = lambda ps: [sql.split(" FROM ")[1].split(" ")[0] for sql, _, _ in ps]  # noqa: E731
    assert tables(parts(query(["visitors"]))) == ["rollup_totals"]  # no tier yet
    assert tables(parts(query(["visitors"], ["time:hour"]), 20600)) == ["rollup_totals"]  # hours
    assert tables(parts(query(["visitors"], date_range="24h"), 20600)) == ["rollup_totals"]  # not whole days
    assert tables(parts(query(["visitors"]), day_number(date(2026, 3, 5)))) == ["rollup_totals_day"]  # all settled
    # Page sums come from rollup_pages beside rollup_totals.
    assert tables(parts(query(["visitors", "time_on_page"]))) == ["rollup_totals", "rollup_pages"]


def test_a_breakdown_by_part_of_a_key_reads_its_visitor_credit() -> None:
    ((sql, _, names),) = parts(query(["visitors", "visits"], ["visit:browser"]))
    assert sql.startswith("SELECT browser, SUM(v_browser), SUM(visits) FROM rollup_browsers WHERE")
    assert sql.endswith(" GROUP BY 1") and names == ("visitors", "visits")


def test_tracked_values_are_bound_never_written_into_sql() -> None:
    hostile = "x') OR 1=1 --"
    q = query(["visitors"], ["visit:source"], filters=[["contains", "visit:source", [hostile]],
                                                      ["matches", "event:props:plan", ["^p"]]])  # fmt: skip
    statements = parts(q)
    assert statements and all(hostile not in sql and "plan" not in sql for sql, _, _ in statements)
    assert any(hostile in params for _, params, _ in statements)
    assert any('$."plan"' in params for _, params, _ in statements)  # the props key is a bound JSON path
    insensitive = parts(query(["visitors"], filters=[["is", "visit:source", ["GooGle"], {"case_sensitive": False}]]))
    assert all("google" in params and "GooGle" not in params for _, params, _ in insensitive)


def test_union_tags_and_pads_the_parts() -> None:
    a = ("SELECT x, 1, 2, 3 FROM t", [1], ("visitors", "visits", "bounces"))
    b = ("SELECT x, 4 FROM u WHERE y = ?", [2, 3], ("events",))
    sql, params, layout = union([(a, False), (b, True)], 1)
    assert sql == (
        "SELECT 0, p.* FROM (SELECT x, 1, 2, 3 FROM t) p UNION ALL SELECT 1, p.*, NULL, NULL FROM (SELECT x, 4 FROM u WHERE y = ?) p"
    )
    assert params == [1, 2, 3]
    assert layout == [(("visitors", "visits", "bounces"), False), (("events",), True)]


BODIES = [
    {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events",
                 "time_on_page", "scroll_depth"]},
    {"metrics": ["visitors", "pageviews", "time_on_page", "scroll_depth"], "dimensions": ["event:page", "time:week"]},
    {"metrics": ["visitors", "percentage"], "dimensions": ["visit:country"], "include": {"imports": True}},
    {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"],
     "filters": [["is_not", "visit:device", ["Mobile"]]]},
    {"metrics": ["visitors", "bounce_rate"], "dimensions": ["event:props:plan", "time"],
     "filters": [["or", [["matches_not", "event:page", ["^/a"]], ["not", ["contains", "visit:language", ["d"]]]]]]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["visit:source", "event:name"], "include": {"imports": True}},
    {"metrics": ["bounce_rate", "time_on_page"], "dimensions": ["event:page"], "include": {"imports": True},
     "filters": [["contains", "event:page", ["blog"], {"case_sensitive": False}]]},
]  # fmt: skip


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("raw", [False, True])
def test_every_plan_compiles_to_one_statement_that_runs(tmp_path: Path, body: dict[str, Any], raw: bool) -> None:
    db = tmp_path / "analytics.db"

    async def migrate() -> None:
        store = SQLiteStore(db)
        await store.open()
        await store.close()

    asyncio.run(migrate())
    q = query(**body)
    compiled = Compiler(plan(q, raw=raw), NAMES, day_number(date(2026, 2, 10))).parts()
    sql, params, _ = union(compiled, len(q.dimensions))
    conn = sqlite3.connect(db)
    conn.create_function("regexp", 2, regexp, deterministic=True)
    try:
        rows = conn.execute(sql, params).fetchall()
    finally:
        conn.close()
    assert all(row[0] in range(len(compiled)) for row in rows)  # on an empty database: only NULL totals, if any


def test_regexp() -> None:
    assert regexp("^/blog", "/blog/a") and not regexp("^/blog", "/a/blog")
    assert regexp("(?i)^GOO", "google")
    assert regexp("1", 2021)  # numbers match as text
    assert not regexp("x", None) and not regexp("(", "(")  # NULL and a bad pattern match nothing


@pytest.mark.parametrize(
    "condition",
    [["matches", "event:page", ["^/(a+)+$"]], ["contains_not", "event:page", ["a"]],
     ["matches", "visit:source", ["(?i)^x"]], ["matches_not", "event:goal", ["x"]]],
)  # fmt: skip
def test_a_value_test_only_sees_the_strings_of_the_site_in_the_range(tmp_path: Path, condition: list[Any]) -> None:
    """Anyone can add strings through the public beacon: once the table is large (more than
    FEW_STRINGS), a planted value on another site, or outside the range, is never tested.
    While it is small, testing all of it is cheaper than finding the site's strings."""
    from analytics.model import Event, SessionAttrs
    from analytics.stats.dates import local_day

    db = tmp_path / "analytics.db"

    def ev(site: Site, when: datetime, path: str, source: str, name: str = "pageview") -> Event:
        ts = int(when.timestamp())
        return Event(site_id=site.id, ts=ts, day=local_day(ts, site.timezone), visitor_id=hash((site.id, path)),
                     prev_visitor_id=None, name=name, hostname=site.domain, path=path,
                     attrs=SessionAttrs(source=source, country="CH"))  # fmt: skip

    other = Site(2, "planted.example", "UTC")
    inside, outside = datetime(2026, 2, 10, 12, tzinfo=UTC), datetime(2026, 1, 10, 12, tzinfo=UTC)

    async def fill() -> None:
        store = SQLiteStore(db, batch_ms=0)
        await store.open()
        await store.submit([ev(SITE, inside, "/a", "Mine"), ev(SITE, inside, "/b", "Mine", "Signup"),
                            ev(SITE, outside, "/old-aaaa!", "OldSource", "OldGoal"),
                            ev(other, inside, "/aaaaaaaaaaaaaaaaaaaaaaaaaa!", "Planted", "PlantedGoal")])  # fmt: skip
        await store.close()

    asyncio.run(fill())
    q = query(["visitors"], ["visit:country"], filters=[condition])  # (a page breakdown keeps rollup rows)
    assert plan(q).rollup is None
    for strings, planted in [(FEW_STRINGS + 1, False), (FEW_STRINGS, True)]:
        seen = _tested(db, union(Compiler(plan(q), NAMES, strings=strings).parts(), 1))
        mine = {"event:page": {"/a", "/b"}, "visit:source": {"Mine"}, "event:goal": {"pageview", "Signup"}}
        assert seen and (set(seen) <= mine[condition[1]]) != planted, (strings, seen)


def _tested(db: Path, statement: tuple[str, list[Any], Any]) -> list[str]:
    """The values a statement's `instr` and `regexp` tests saw."""
    sql, params, _ = statement
    seen: list[str] = []

    def recording_regexp(pattern: str, value: Any) -> bool:
        seen.append(value)
        return regexp(pattern, value)

    conn = sqlite3.connect(db)
    conn.create_function("regexp", 2, recording_regexp)
    conn.create_function("instr", 2, lambda a, b: seen.append(a) or (a.find(b) + 1))
    try:
        conn.execute(sql, params).fetchall()
    finally:
        conn.close()
    return seen
