"""A batch's parts as one statement (analytics/store/clickhouse/chbatch.py): parts that read the same rows
share one GROUPING SETS scan, and each row goes to the plans whose key set it is. That the numbers stay
exact on real chDB: test_clickhouse_chshared.py (a batch gets what each plan gets alone) and the suites
that compare both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.clickhouse.chbatch import union
from analytics.store.clickhouse.chsums import Compiler, Shared

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def query(metrics: list[str], dimensions: list[str] | None = None, **body: Any) -> Any:
    body.setdefault("date_range", ["2026-02-01", "2026-02-28"])
    return parse({"metrics": metrics, "dimensions": dimensions or [], **body}, SITE, NOW)


def test_a_batch_is_one_statement_and_tabs_of_one_rollup_share_a_grouping_sets_scan() -> None:
    plans = [
        plan(query(["visitors"])),  # rollup_totals, no key
        plan(query(["visitors"], ["time:day"])),  # rollup_totals by day
        plan(query(["visitors"], ["visit:source"])),  # rollup_sources...
        plan(query(["visits", "bounce_rate"], ["visit:referrer"])),
        plan(query(["visits"], ["visit:source"])),  # the same key set as the third: the same rows
    ]
    assert [p.rollup for p in plans] == ["rollup_totals"] * 2 + ["rollup_sources"] * 3
    tagged = [(i, len(p.query.dimensions), part) for i, p in enumerate(plans)
              for part in Compiler(p, prefix=f"b{i}_").parts()]  # fmt: skip
    sql, params, layout = union(tagged)
    selects = sql.split(" UNION ALL ")
    assert len(selects) == 2  # five plans, two tables
    assert selects[0].startswith("SELECT 0 AS part, x.gs AS gset, [toString(x.g0)] AS keys, [toInt64(ifNull(x.a0, 0))]")
    assert "GROUP BY GROUPING SETS ((), (g0))" in selects[0]
    assert selects[1].startswith("SELECT 1 AS part, x.gs AS gset, [toString(x.g0), toString(x.g1)] AS keys, [")
    assert "GROUP BY GROUPING SETS ((g0), (g1))" in selects[1] and "grouping(g0, g1) AS gs" in selects[1]
    assert (
        "SELECT k1 AS g0, k2 AS g1, sum(c6) AS a0, sum(c3) AS a1, sum(c1) AS a2, grouping(g0, g1) AS gs" in selects[1]
    )
    assert sql.count("FROM rollups WHERE") == 2 and "{vs_rollup_sources:String}" in sql
    assert {"vs_rollup_totals", "vs_rollup_sources", "vi1"} <= set(params)
    # A row's grouping mask has a 1 bit for each key left out (the first key the highest bit).
    assert layout == {
        (0, 1): [(0, (), (("visitors", 0),))],
        (0, 0): [(1, (0,), (("visitors", 0),))],
        (1, 1): [(2, (0,), (("visitors", 0),)), (4, (0,), (("visits", 2),))],
        (1, 2): [(3, (1,), (("bounces", 1), ("visits", 2)))],
    }


def test_raw_parts_share_a_scan_only_with_the_same_distinct_counts() -> None:
    """Sums cost little in another part's grouping sets; a distinct count (visitors) does not."""
    shared = Shared("fe0", "fv0", read_mark=True)
    plans = [plan(query(m, d, filters=[["is", "event:page", ["/"]]])) for m, d in [
        (["visitors", "visits", "bounce_rate"], ["visit:source"]),
        (["visitors", "visits", "bounce_rate"], ["visit:country"]),
        (["visits", "bounce_rate", "visit_duration"], ["visit:device"]),
    ]]  # fmt: skip
    tagged = [(i, 1, part) for i, p in enumerate(plans) for part in Compiler(p, f"b{i}_", shared=shared).parts()]
    assert {part.grouping.source for _, _, part in tagged if part.grouping} == {"fv0 AS s"}
    sql, _, layout = union(tagged)
    assert sql.count(" UNION ALL ") == 1 and sql.count("GROUPING SETS ((g0), (g1))") == 1
    assert sorted(layout) == [(0, 1), (0, 2), (1, 0)]  # sources and countries together; devices (no visitors) alone


def test_a_part_without_distinct_counts_folds_into_a_scan_that_has_its_key_set() -> None:
    shared = Shared("fv0", "fv0", read_mark=True)
    plans = [plan(query(m, d, filters=[["is", "event:page", ["/"]]])) for m, d in [
        (["visitors", "visits", "bounce_rate"], ["visit:entry_page"]),
        (["visits"], ["visit:entry_page"]),  # the entry pages tab's visits: the first part's key set, no count
        (["visits"], ["visit:exit_page"]),  # a key set the first has not: a SELECT of its own
    ]]  # fmt: skip
    tagged = [(i, 1, part) for i, p in enumerate(plans) for part in Compiler(p, f"b{i}_", shared=shared).parts()]
    sql, _, layout = union(tagged)
    assert sql.count(" AS part, ") == 2 and "GROUPING SETS" not in sql  # one key set each
    assert layout == {
        (0, 0): [(0, (0,), (("visitors", 0), ("visits", 1), ("bounces", 2))), (1, (0,), (("visits", 1),))],
        (1, 0): [(2, (0,), (("visits", 0),))],
    }
