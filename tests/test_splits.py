"""Per-segment rollups (analytics/store/sqlite/splits.py) beside raw events after them: a visit that
crosses the midnight between the two counts its page figures once, as the raw plan does."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime, timedelta

from conftest import Instance
from dashboard_plans import PANELS

from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.sqlite import reads, splits

D = datetime(2026, 3, 1, tzinfo=UTC)
LINKEDIN = [["is", "visit:source", ["LinkedIn"]]]  # the last settled day once the clock is three days later
PAGE = {"metrics": ["visitors", "visits", "pageviews", "time_on_page", "scroll_depth"], "dimensions": ["event:page"]}
TOTALS = {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "time_on_page",
                      "scroll_depth", "reads", "readers"]}  # fmt: skip


async def _send(instance: Instance, when: datetime, body: dict[str, object], ip: str) -> None:
    instance.clock.set(when)
    assert (await instance.send(body, ip=ip)).status_code == 202


async def test_a_visit_across_the_seam_counts_its_page_once(instance: Instance) -> None:
    site = await instance.accounts.sites.add("seam.example", "UTC")
    url = "https://seam.example/x"
    linked = {"d": "seam.example", "r": "https://www.linkedin.com/"}
    # One LinkedIn visit reads /x before and after midnight: one page visit, its deepest scroll 70.
    steps = [
        (D + timedelta(hours=23, minutes=50), {"n": "pageview", "u": url, **linked}),
        (D + timedelta(hours=23, minutes=55), {"n": "engagement", "u": url, "d": "seam.example", "sd": 40, "e": 9000}),
        (D + timedelta(days=1, minutes=5), {"n": "pageview", "u": url, **linked}),
        (D + timedelta(days=1, minutes=8), {"n": "engagement", "u": url, "d": "seam.example", "sd": 70, "e": 4000}),
        # A later LinkedIn visit scrolls /x to 30 after midnight only.
        (D + timedelta(days=1, hours=10), {"n": "pageview", "u": url, **linked}),
    ]
    # A day earlier, another LinkedIn visit reads /y: scrolled to 90 % for 15 s.
    steps = [
        (D - timedelta(hours=5), {"n": "pageview", "u": "https://seam.example/y", **linked}),
        (D - timedelta(hours=5) + timedelta(seconds=20),
         {"n": "engagement", "u": "https://seam.example/y", "d": "seam.example", "sd": 90, "e": 15000}),
        *steps,
    ]  # fmt: skip
    for when, body in steps:
        await _send(instance, when, body, "203.0.113.1" if when > D else "203.0.113.2")
    await _send(instance, D + timedelta(days=1, hours=10, minutes=1),
                {"n": "engagement", "u": url, "d": "seam.example", "sd": 30, "e": 2000}, "203.0.113.1")  # fmt: skip
    now = D + timedelta(days=3, hours=12)
    instance.clock.set(now)
    await instance.store.roll_days(now.timestamp(), [site])
    # Stricter thresholds since: reads stay as decided when they arrived, in the replay too.
    stricter = dataclasses.replace(site, read_scroll=100, read_share=100)
    assert await instance.store.roll_segments(now.timestamp(), [stricter]) > 0
    seam = await instance.store.fetchall("SELECT through_day FROM segment_days")
    through = (D.date() - datetime(1970, 1, 1).date()).days
    assert seam == [(through,)]  # the tail starts at the crossing midnight
    # A second worker process that replayed the same day meanwhile writes nothing.
    stale = functools.partial(splits._save, site=site, day=D.date(), after=through - 1, rows={})
    assert await instance.store.write(stale) is False
    assert await instance.store.fetchall("SELECT through_day FROM segment_days") == [(through,)]
    for body in (PAGE, TOTALS):
        q = parse({"site_id": site.domain, "date_range": "7d", "filters": LINKEDIN, **body}, site, now)
        assert plan(q).segment is not None
        fast = await stats_run.run(instance.store, q)
        raw = await stats_run.run(instance.store, q, raw=True)
        assert fast.rows == raw.rows, body
    page = await stats_run.run(instance.store, parse({"site_id": site.domain, "date_range": "7d", "filters": LINKEDIN,
                                                      **PAGE}, site, now))  # fmt: skip
    # Visitors per day: the first visitor on both days, the second; two visits of /x, three views;
    # time on page: 15 s over two page visits; scroll depth: (70 + 30) / 2. And /y, read once.
    assert page.rows == [(("/x",), (3, 2, 3, 8, 50)), (("/y",), (1, 1, 1, 15, 90))]
    totals = await stats_run.run(instance.store, parse({"site_id": site.domain, "date_range": "7d", "filters": LINKEDIN,
                                                        "metrics": ["reads"]}, site, now))  # fmt: skip
    assert totals.rows == [((), (1,))]
    # A whole dashboard in one batch: the days after the seam share one filtered set.
    bodies = [{"site_id": site.domain, "date_range": "7d", "filters": LINKEDIN, **b} for b in PANELS]
    plans = [plan(parse(b, site, now)) for b in bodies]
    assert sum(p.segment is not None for p in plans) >= 9
    async with instance.store.reader() as conn:
        split = await reads.sums(conn, plans)
        raw_sums = await reads.sums(conn, [plan(parse(b, site, now), raw=True) for b in bodies])
    assert split == raw_sums
