"""Median engaged time (analytics/stats/medians.py and the histogram plans of both backends).

The unit tests read medians off histograms; the store test sends real events
through `/api/event` on each backend and checks hand-computed medians per page,
per source filter and per day, identical on SQLite and ClickHouse.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Instance

from analytics.stats.medians import median, medians, with_medians
from analytics.stats.parse import parse
from analytics.stats.plan import histogram_plan
from analytics.stats.run import run

DOMAIN = "blog.example.org"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.{n} Safari/537.36"


@pytest.mark.parametrize("values", [[7], [1, 2], [3, 1, 2], [0, 0, 5, 9], [10, 10, 10, 600], [4, 4, 1, 8, 8, 8, 2]])
def test_median_of_counts_is_the_median_of_the_values(values: list[int]) -> None:
    counts: dict[int, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    assert median(counts) == statistics.median(values)


def test_medians_group_keys_and_add_up_keys_a_backend_returned_twice() -> None:
    # ClickHouse returns keys as text; a key resolved twice (two string ids, one value) adds up.
    histogram = {("/a", "10"): {"page_visits": 2}, ("/a", 40): {"page_visits": 1}, ("/a", "40"): {"page_visits": 2},
                 ("/b", 0): {"page_visits": 1}, ("/c", 5): {"page_visits": 0}}  # fmt: skip
    assert medians(histogram) == {("/a",): 40, ("/b",): 0}
    groups = {("/a",): {"page_visits": 5.0}}
    merged = with_medians(groups, histogram)
    assert merged == {("/a",): {"page_visits": 5.0, "time_median": 40}, ("/b",): {"time_median": 0}}
    assert groups == {("/a",): {"page_visits": 5.0}}  # batches share group dicts: never changed in place


def test_only_queries_asking_for_the_median_get_a_histogram_plan() -> None:
    site: Any = type("S", (), {"id": 1, "domain": DOMAIN, "timezone": "UTC"})()
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    body = {"site_id": DOMAIN, "date_range": "day", "dimensions": ["event:page"]}
    assert histogram_plan(parse({**body, "metrics": ["time_on_page"]}, site, now)) is None
    plan = histogram_plan(parse({**body, "metrics": ["pageviews", "time_on_page_median"]}, site, now))
    assert plan is not None and (plan.rollup, plan.imports, plan.sums, plan.key_width) == (
        None, False, frozenset({"page_visits"}), 2,
    )  # fmt: skip


def at(hh: int, mm: int, ss: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


# (visitor n, day, minute, page, referrer, engagement ms sent for that page view: one entry per event)
VISITS = [
    (1, 2, 0, "/a", "https://www.linkedin.com/", [10_999]),  # 10 s: whole seconds, rounded down
    (2, 2, 1, "/a", "https://www.linkedin.com/", [20_000, 25_000]),  # two engagements: 45 s
    (3, 2, 2, "/a", "https://www.google.com/", [600_000]),  # a tab left open: 600 s
    (4, 2, 3, "/a", "https://www.google.com/", []),  # a Plausible tracker: no engagement, 0 s
    (5, 2, 4, "/b", "https://www.google.com/", [30_000]),
    (6, 3, 0, "/a", "https://www.google.com/", [12_000]),  # the next day
]


async def send_all(instance: Instance) -> Any:
    site = await instance.accounts.sites.add(DOMAIN, "UTC")
    for n, day, minute, path, ref, engagements in VISITS:
        ua = CHROME.format(n=n)
        instance.clock.set(at(9, minute, day=day))
        body = {"n": "pageview", "u": f"https://{DOMAIN}{path}", "d": DOMAIN, "r": ref}
        assert (await instance.send(body, ip=f"10.0.0.{n}", ua=ua)).status_code == 202
        for k, ms in enumerate(engagements):
            instance.clock.set(at(9, minute, 10 + k, day=day))
            body = {"n": "engagement", "u": f"https://{DOMAIN}{path}", "d": DOMAIN, "sd": 50, "e": ms}
            assert (await instance.send(body, ip=f"10.0.0.{n}", ua=ua)).status_code == 202
    return site


async def test_median_engaged_time_per_page_filter_and_day(any_instance: Instance) -> None:
    site = await send_all(any_instance)
    now = at(23, 0, day=3)

    async def rows(body: dict[str, Any]) -> list[Any]:
        query = parse({"site_id": DOMAIN, "date_range": ["2026-03-02", "2026-03-03"], **body}, site, now)
        return [[*dims, *values] for dims, values in (await run(any_instance.store, query)).rows]

    by_page = {"metrics": ["time_on_page", "time_on_page_median"], "dimensions": ["event:page"],
               "order_by": [["event:page", "asc"]]}  # fmt: skip
    # /a: 10.999, 45, 600, 0 and 12 s: median 12 s (whole seconds), mean 134 s. /b: 30 s.
    assert await rows(by_page) == [["/a", 134, 12], ["/b", 30, 30]]
    # From LinkedIn, /a has 10 and 45 s: an even count gives the mean of the middle two, 27.5 -> 28.
    linkedin = {**by_page, "filters": [["is", "visit:source", ["LinkedIn"]]]}
    assert await rows(linkedin) == [["/a", 28, 28]]
    by_day = {"metrics": ["time_on_page_median"], "dimensions": ["time:day"]}
    assert await rows(by_day) == [["2026-03-02", 30], ["2026-03-03", 12]]  # day 1: 0, 10, 30, 45 and 600 s
    assert await rows({"metrics": ["time_on_page_median", "pageviews"]}) == [[21, 6]]  # 0 10 12 30 45 600
    empty = {"metrics": ["time_on_page_median"], "filters": [["is", "event:page", ["/nowhere"]]]}
    assert await rows(empty) == [[None]]
