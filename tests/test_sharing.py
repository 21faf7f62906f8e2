"""Which raw plans of a batch read one filtered set (analytics/stats/sharing.py): decided
once above both backends; the backends' own suites (test_segments, test_clickhouse_chshared)
check that a plan answered in a group gets exactly what it gets alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analytics.model import Site
from analytics.stats import sharing
from analytics.stats.parse import parse
from analytics.stats.plan import Plan, plan
from analytics.stats.query import And

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SITE = Site(1, "sharing.example", "UTC")
BODY = {"site_id": SITE.domain, "date_range": "7d", "metrics": ["visitors"], "dimensions": ["visit:source"]}


def planned(**changes: Any) -> Plan:
    return plan(parse({**BODY, **changes}, SITE, NOW))


def test_rollup_plans_and_unfiltered_raw_plans_read_no_filtered_set() -> None:
    assert sharing.shared_key(planned()) is None  # a rollup answers it
    assert sharing.shared_key(plan(parse(BODY, SITE, NOW), raw=True)) is None  # raw, but nothing to share
    country = [["is", "visit:country", ["DE"]]]
    assert sharing.shared_key(planned(filters=country)) == (1, "UTC", *_bounds(planned(filters=country)))
    assert sharing.shared_key(planned(filters=country)) != sharing.shared_key(planned(filters=country, date_range="30d"))


def _bounds(p: Plan) -> tuple[datetime, datetime]:
    return p.query.start, p.query.end


def test_a_tab_adding_event_conditions_joins_the_set_and_tests_them_itself() -> None:
    country = ["is", "visit:country", ["DE"]]
    goal = ["is", "event:goal", ["Outbound Link: Click"]]
    mobile = ["is", "visit:device", ["Mobile"]]
    plans = [planned(filters=[country]), planned(filters=[country, goal]), planned(filters=[country, mobile])]
    (shared, members), (alone, others) = sharing.groups(plans)
    assert members == [0, 1] and others == [2]
    assert shared == plans[0].query.filters and alone == plans[2].query.filters
    assert sharing.rest(plans[0], shared) is None
    extra = sharing.rest(plans[1], shared)
    assert extra is not None and extra not in sharing.conditions(shared)
    assert isinstance(plans[1].query.filters, And) and set(plans[1].query.filters.items) == {shared, extra}
