"""`POST /api/v2/query`: one API request per feature, each with its exact result.

The fixture is `api_support.FIXTURE` (six visits by five people, Feb 20 to
Mar 2 2026, Europe/Zurich = UTC+1), ingested once through /api/event. Every
expected number below is worked out by hand from that table; the comment next
to each case shows the sum. Visits are called A-F as in the table:

  A  Feb 20  /                          Google/Organic Search  JP  Desktop  Firefox 145 / Linux      bounce, 0 s
  B  Mar 1   / -> /blog/hello, Signup   newsletter/Email       DE  Desktop  Chrome 131 / Windows 10  200 s
  C  Mar 1   /blog/hello, Video Play    Google/Organic Search  CH  Mobile   Safari 18 / iOS 18.6     bounce, 0 s
  D  Mar 1-2 /about -> /pricing, Link   Hacker News/Org.Social FR  Desktop  Safari 26 / macOS 10.15  1230 s
  E  Mar 2   /blog/hello, Signup        Mastodon/Organic Social US  Mobile  Chrome 142 / Android 10  30 s
  F  Mar 2   /Blog/Hello (shop host)    Direct / None/Direct   DE  Desktop  Chrome 131 / Windows 10  bounce, 0 s

"all" runs from the first day with data (Feb 20) to today (Mar 2): 6 visitors
(V2 counts twice, once per day, because of the daily salt), 6 visits,
8 pageviews, 4 custom events. D starts at 23:50 on Mar 1 and its /pricing
pageview is at 00:10 on Mar 2: visit-level figures and visitors belong to
Mar 1 (the visit's start), the /pricing pageview to Mar 2.

Each response is also checked against the OpenAPI document's response schema,
and each unfiltered query is re-run on the raw-events plan to show that the
rollups and the raw events agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from api_support import NOW, SITE, ApiUser, api_user, ingest, post_query, response_validator, running_app
from conftest import BACKENDS, Instance, store_url

from analytics.api import v2 as api
from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.stats.plan import plan

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclasses.dataclass
class World:
    instance: Instance
    user: ApiUser


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=BACKENDS)
async def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    """One ingested fixture for the whole table (rate limit off: the table is long), per event-store backend:
    every case runs on SQLite and on ClickHouse (chDB) and expects the same answer."""
    data_dir: Path = tmp_path_factory.mktemp("api-query") / "data"
    async with running_app(data_dir, api_rate_limit=0, store=store_url(request.param, data_dir)) as instance:
        site = await instance.accounts.sites.add(SITE, "Europe/Zurich")
        for kind, value in (("event", "Signup"), ("page", "/blog/*"), ("page", "/pricing")):
            await instance.accounts.goals.add(site.id, kind, value)
        user = await api_user(instance)
        await ingest(instance)
        yield World(instance, user)


def rows(*pairs: tuple[list[str], list[Any]]) -> list[dict[str, Any]]:
    return [{"dimensions": d, "metrics": m} for d, m in pairs]


ALL = {"date_range": "all"}
CORE = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events"]

# (id, request body without site_id, expected results, expected meta)
CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, Any]]] = [
    # -- metrics ---------------------------------------------------------------------
    (
        # visitors 6 ids, visits 6, pageviews 1+2+1+2+1+1 = 8, views/visit 8/6 = 1.33,
        # bounces A,C,F = 3/6 = 50 %, duration (0+200+0+1230+30+0)/6 = 243.3 -> 243,
        # events: Signup, Video Play, Outbound Link: Click, Signup = 4
        "metrics-all", {"metrics": CORE, **ALL}, rows(([], [6, 6, 8, 1.33, 50, 243, 4])), {},
    ),
    (
        # Mar 1-2: visits B-F = 5, pageviews 7, 7/5 = 1.4, bounces C,F = 2/5 = 40 %,
        # duration (200+0+1230+30+0)/5 = 292
        "custom-range", {"metrics": CORE, "date_range": ["2026-03-01", "2026-03-02"]},
        rows(([], [5, 5, 7, 1.4, 40, 292, 4])), {},
    ),
    (
        # /blog/hello: engaged 30 s (B) + 10 s (C) over 3 visits that viewed it (B, C, E) = 13.3 -> 13;
        # scroll 80 (B) and 40 (C) over the 2 visits that scrolled = 60
        "time-on-page-scroll-depth",
        {"metrics": ["time_on_page", "scroll_depth"], **ALL, "filters": [["is", "event:page", ["/blog/hello"]]]},
        rows(([], [13, 60])), {},
    ),
    (
        # per page; scroll_depth is null where nobody scrolled
        "time-on-page-by-page",
        {"metrics": ["pageviews", "time_on_page", "scroll_depth"], **ALL, "dimensions": ["event:page"]},
        rows((["/blog/hello"], [3, 13, 60]), (["/"], [2, 0, None]), (["/Blog/Hello"], [1, 0, None]),
             (["/about"], [1, 0, None]), (["/pricing"], [1, 0, None])),
        {},
    ),  # fmt: skip
    (
        # Desktop A,B,D,F = 4 of 6 = 66.7 %, Mobile C,E = 2 of 6 = 33.3 %
        "percentage", {"metrics": ["percentage", "visitors"], **ALL, "dimensions": ["visit:device"]},
        rows((["Desktop"], [66.7, 4]), (["Mobile"], [33.3, 2])), {},
    ),
    (
        # Signup: V2 (Mar 1) and V5 = 2 of 6 = 33.33 %; the others 1 of 6 = 16.67 %. The page goals
        # are rows too, with their page views as events: /blog/* B, C, E = 3 of 6; /pricing D
        "conversion-rate-by-goal", {"metrics": ["visitors", "events", "conversion_rate"], **ALL, "dimensions": ["event:goal"]},
        rows((["Visit /blog/*"], [3, 3, 50.0]), (["Signup"], [2, 2, 33.33]), (["Outbound Link: Click"], [1, 1, 16.67]),
             (["Video Play"], [1, 1, 16.67]), (["Visit /pricing"], [1, 1, 16.67])),
        {},
    ),  # fmt: skip
    (
        "conversion-rate-goal-filter",
        {"metrics": ["visitors", "events", "conversion_rate"], **ALL, "filters": [["is", "event:goal", ["Signup"]]]},
        rows(([], [2, 2, 33.33])), {},
    ),
    # A page goal filters as its page views, as on the dashboard; the rate's base drops it.
    (
        # /blog/* is reached by B (V2, Mar 1), C and E: 3 of 6 (F's /Blog/Hello is another path)
        "page-goal-filter", {"metrics": ["visitors", "visits", "conversion_rate"], **ALL,
                             "filters": [["is", "event:goal", ["Visit /blog/*"]]]},
        rows(([], [3, 3, 50.0])), {},
    ),  # fmt: skip
    (
        # per source: Google A, C (C converts: 1 of 2); newsletter B; Mastodon E
        "page-goal-filter-by-source", {"metrics": ["visitors", "conversion_rate"], **ALL,
                                       "dimensions": ["visit:source"],
                                       "filters": [["is", "event:goal", ["Visit /blog/*"]]]},
        rows((["Google"], [1, 50.0]), (["Mastodon"], [1, 100.0]), (["newsletter"], [1, 100.0])), {},
    ),  # fmt: skip
    (
        # Signup (B, E) or a visit to /pricing (D): 3 of 6
        "event-or-page-goal", {"metrics": ["visitors", "conversion_rate"], **ALL,
                               "filters": [["is", "event:goal", ["Signup", "Visit /pricing"]]]},
        rows(([], [3, 50.0])), {},
    ),  # fmt: skip
    (
        "not-a-goal-name", {"metrics": ["visitors"], **ALL, "filters": [["is", "event:goal", ["Visit /nowhere"]]]},
        rows(([], [0])), {},
    ),
    # -- event dimensions --------------------------------------------------------------
    (
        # A filter on the dimension broken down by keeps whole rows: read from the unfiltered rollup, the
        # same rows as "time-on-page-by-page" (case-sensitive: /Blog/Hello is another page)
        "pages-filtered-by-page",
        {"metrics": ["pageviews", "time_on_page", "scroll_depth"], **ALL, "dimensions": ["event:page"],
         "filters": [["is", "event:page", ["/blog/hello", "/pricing", "/nowhere"]]]},
        rows((["/blog/hello"], [3, 13, 60]), (["/pricing"], [1, 0, None])),
        {},
    ),  # fmt: skip
    (
        # events = custom events on the page: /blog/hello has Signup (B), Video Play (C), Signup (E)
        "event-page", {"metrics": ["visitors", "pageviews", "events"], **ALL, "dimensions": ["event:page"]},
        rows((["/blog/hello"], [3, 3, 3]), (["/"], [2, 2, 0]), (["/Blog/Hello"], [1, 1, 0]), (["/about"], [1, 1, 0]),
             (["/pricing"], [1, 1, 1])),
        {},
    ),  # fmt: skip
    (
        "event-hostname", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["event:hostname"]},
        # D's pageviews fall on Mar 1 (23:50) and Mar 2 (00:10): per page or host, a reader
        # counts once per local day, so D counts twice; D's visit counts once (it began Mar 1)
        rows((["blog.example.org"], [6, 5]), (["shop.example.org"], [1, 1])), {},
    ),
    (
        # every visitor has pageviews; engagement events come from B (V2) and C (V3)
        "event-name", {"metrics": ["visitors", "events"], **ALL, "dimensions": ["event:name"]},
        # engagement events are bookkeeping for time on page and scroll depth, not a name
        rows((["pageview"], [7, 0]), (["Signup"], [2, 2]),  # D counts on Mar 1 and Mar 2
             (["Outbound Link: Click"], [1, 1]), (["Video Play"], [1, 1])),
        {},
    ),  # fmt: skip
    (
        "event-goal", {"metrics": ["visitors", "events"], **ALL, "dimensions": ["event:goal"]},
        rows((["Visit /blog/*"], [3, 3]), (["Signup"], [2, 2]), (["Outbound Link: Click"], [1, 1]),
             (["Video Play"], [1, 1]), (["Visit /pricing"], [1, 1])), {},
    ),  # fmt: skip
    (
        # a page goal's share is of the view's 6 visitors, like every other row's
        "goal-percentage", {"metrics": ["visitors", "percentage"], **ALL, "dimensions": ["event:goal"]},
        rows((["Visit /blog/*"], [3, 50.0]), (["Signup"], [2, 33.3]), (["Outbound Link: Click"], [1, 16.7]),
             (["Video Play"], [1, 16.7]), (["Visit /pricing"], [1, 16.7])), {},
    ),  # fmt: skip
    (
        # by day and goal, paged after the page goals' rows join. Mar 1 (visitors V2, V3, V4):
        # /blog/* B and C, Signup B, Video Play C, and /pricing: a page goal is a visit that reached
        # the page, counted on the visit's start day, as on the dashboard (D, 00:10 on Mar 2). Mar 2
        # (V5, V2 again): /blog/* E, Signup E, and D's Link where it happened. Time first, then
        # visitors descending; the page skips Mar 1's /blog/* (2 of 3)
        "goal-by-day-paged", {"metrics": ["visitors", "conversion_rate"], **ALL, "dimensions": ["time:day", "event:goal"],
                              "pagination": {"limit": 4, "offset": 1}, "include": {"total_rows": True}},
        rows((["2026-03-01", "Signup"], [1, 33.33]), (["2026-03-01", "Video Play"], [1, 33.33]),
             (["2026-03-01", "Visit /pricing"], [1, 33.33]), (["2026-03-02", "Outbound Link: Click"], [1, 50.0])),
        {"total_rows": 7},
    ),  # fmt: skip
    (
        # events without a plan: Video Play, Outbound Link: Click (and every pageview/engagement)
        "event-props", {"metrics": ["visitors", "events"], **ALL, "dimensions": ["event:props:plan"]},
        rows((["(none)"], [7, 2]), (["free"], [1, 1]), (["pro"], [1, 1])), {},  # D on two days
    ),
    (
        # author=ana is a pageview prop of E; E's Signup has no author, so E is in both rows
        "event-props-on-pageviews",
        {"metrics": ["visitors", "visits", "pageviews", "events"], **ALL, "dimensions": ["event:props:author"]},
        rows((["(none)"], [7, 6, 7, 4]), (["ana"], [1, 1, 1, 0])), {},  # D on two days
    ),
    # -- visit dimensions --------------------------------------------------------------
    (
        # entry / pages: A, B (A bounced) -> 50 %; /blog/hello: C, E (C bounced) -> 50 %
        "visit-entry-page", {"metrics": ["visitors", "visits", "bounce_rate"], **ALL, "dimensions": ["visit:entry_page"]},
        rows((["/"], [2, 2, 50]), (["/blog/hello"], [2, 2, 50]), (["/Blog/Hello"], [1, 1, 100]), (["/about"], [1, 1, 0])),
        {},
    ),  # fmt: skip
    (
        # last pageview of each visit: A /, B /blog/hello, C /blog/hello, D /pricing, E /blog/hello, F /Blog/Hello
        "visit-exit-page", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:exit_page"]},
        rows((["/blog/hello"], [3, 3]), (["/"], [1, 1]), (["/Blog/Hello"], [1, 1]), (["/pricing"], [1, 1])), {},
    ),
    (
        "visit-source", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:source"]},
        rows((["Google"], [2, 2]), (["Direct / None"], [1, 1]), (["Hacker News"], [1, 1]), (["Mastodon"], [1, 1]),
             (["newsletter"], [1, 1])),
        {},
    ),  # fmt: skip
    (
        # referrer is host + path; B (utm), E (ref=), F (direct) have none
        "visit-referrer", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:referrer"]},
        rows(([""], [3, 3]), (["google.com"], [1, 1]), (["google.com/search"], [1, 1]),
             (["news.ycombinator.com/item"], [1, 1])),
        {},
    ),  # fmt: skip
    (
        # visit-level pageviews: Organic Search A 1 + C 1, Organic Social D 2 + E 1, Direct F 1, Email B 2
        "visit-channel", {"metrics": ["visitors", "visits", "pageviews"], **ALL, "dimensions": ["visit:channel"]},
        rows((["Organic Search"], [2, 2, 2]), (["Organic Social"], [2, 2, 3]), (["Direct"], [1, 1, 1]),
             (["Email"], [1, 1, 2])),
        {},
    ),  # fmt: skip
    (
        "visit-utm-source", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:utm_source"]},
        rows(([""], [5, 5]), (["newsletter"], [1, 1])), {},
    ),
    (
        "visit-utm-others",
        {"metrics": ["visitors", "visits"], **ALL,
         "dimensions": ["visit:utm_medium", "visit:utm_campaign", "visit:utm_content", "visit:utm_term"]},
        rows((["", "", "", ""], [5, 5]), (["email", "spring", "top", "analytics"], [1, 1])), {},
    ),  # fmt: skip
    (
        "visit-device", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:device"]},
        rows((["Desktop"], [4, 4]), (["Mobile"], [2, 2])), {},
    ),
    (
        # widths: A 1920 and D 1440 Desktop, C 390 and E 412 Mobile, B 1280 Laptop, F 800 Tablet
        "visit-screen", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:screen"]},
        rows((["Desktop"], [2, 2]), (["Mobile"], [2, 2]), (["Laptop"], [1, 1]), (["Tablet"], [1, 1])), {},
    ),
    (
        "visit-browser", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:browser"]},
        rows((["Chrome"], [3, 3]), (["Safari"], [2, 2]), (["Firefox"], [1, 1])), {},
    ),
    (
        "visit-browser-version",
        {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:browser", "visit:browser_version"]},
        rows((["Chrome", "131"], [2, 2]), (["Chrome", "142"], [1, 1]), (["Firefox", "145"], [1, 1]),
             (["Safari", "18"], [1, 1]), (["Safari", "26"], [1, 1])),
        {},
    ),  # fmt: skip
    (
        "visit-os", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:os"]},
        rows((["Windows"], [2, 2]), (["Android"], [1, 1]), (["Linux"], [1, 1]), (["iOS"], [1, 1]), (["macOS"], [1, 1])),
        {},
    ),
    (
        # "10" is Windows 10 (B, F) and Android 10 (E); Linux has no version
        "visit-os-version", {"metrics": ["visitors", "visits"], **ALL, "dimensions": ["visit:os_version"]},
        rows((["10"], [3, 3]), ([""], [1, 1]), (["10.15"], [1, 1]), (["18.6"], [1, 1])), {},
    ),
    (
        # DE: B 200 s and F 0 s -> 100
        "visit-country", {"metrics": ["visitors", "visits", "visit_duration"], **ALL, "dimensions": ["visit:country"]},
        rows((["DE"], [2, 2, 100]), (["CH"], [1, 1, 0]), (["FR"], [1, 1, 1230]), (["JP"], [1, 1, 0]),
             (["US"], [1, 1, 30])),
        {},
    ),  # fmt: skip
    # -- time dimensions ---------------------------------------------------------------
    (
        # D's visit and visitor sit at 23:00 on Mar 1; its /pricing pageview at 00:00 on Mar 2
        "time-hour", {"metrics": ["visitors", "pageviews"], **ALL, "dimensions": ["time:hour"]},
        rows((["2026-02-20 13:00:00"], [1, 1]), (["2026-03-01 11:00:00"], [1, 2]), (["2026-03-01 16:00:00"], [1, 1]),
             (["2026-03-01 23:00:00"], [1, 1]), (["2026-03-02 00:00:00"], [0, 1]), (["2026-03-02 08:00:00"], [1, 1]),
             (["2026-03-02 09:00:00"], [1, 1])),
        {},
    ),  # fmt: skip
    (
        # Mar 1: B, C, D; pageviews B 2 + C 1 + D 1 (/about); bounce C 1/3 = 33; duration 1430/3 = 476.7 -> 477
        # Mar 2: E, F; pageviews /pricing + E + F = 3; bounce F 1/2 = 50; duration 30/2 = 15
        "time-day",
        {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"], **ALL, "dimensions": ["time:day"]},
        rows((["2026-02-20"], [1, 1, 1, 100, 0]), (["2026-03-01"], [3, 3, 4, 33, 477]),
             (["2026-03-02"], [2, 2, 3, 50, 15])),
        {},
    ),  # fmt: skip
    (
        # weeks start on Monday; the first one (Feb 16) is labelled with the range's first day
        "time-week", {"metrics": ["visitors", "pageviews"], **ALL, "dimensions": ["time:week"]},
        rows((["2026-02-20"], [1, 1]), (["2026-02-23"], [3, 4]), (["2026-03-02"], [2, 3])), {},
    ),
    (
        "time-month", {"metrics": ["visitors", "pageviews"], **ALL, "dimensions": ["time:month"]},
        rows((["2026-02-20"], [1, 1]), (["2026-03-01"], [5, 7])), {},
    ),
    (
        # "all" spans 11 days: plain `time` means days
        "time-plain-days", {"metrics": ["visitors", "pageviews"], **ALL, "dimensions": ["time"]},
        rows((["2026-02-20"], [1, 1]), (["2026-03-01"], [3, 4]), (["2026-03-02"], [2, 3])), {},
    ),
    (
        # one day: plain `time` means hours
        "time-plain-hours", {"metrics": ["visitors", "pageviews"], "date_range": "day", "dimensions": ["time"]},
        rows((["2026-03-02 00:00:00"], [0, 1]), (["2026-03-02 08:00:00"], [1, 1]), (["2026-03-02 09:00:00"], [1, 1])),
        {},
    ),
    (
        # 49 days: weeks, with a label for every week of the range
        "time-plain-weeks-labels",
        {"metrics": ["visitors", "pageviews"], "date_range": ["2026-01-19", "2026-03-08"], "dimensions": ["time"],
         "include": {"time_labels": True}},
        rows((["2026-02-16"], [1, 1]), (["2026-02-23"], [3, 4]), (["2026-03-02"], [2, 3])),
        {"time_labels": ["2026-01-19", "2026-01-26", "2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23",
                         "2026-03-02"]},
    ),  # fmt: skip
    (
        # 121 days: months
        "time-plain-months-labels",
        {"metrics": ["visitors", "pageviews"], "date_range": ["2025-12-01", "2026-03-31"], "dimensions": ["time"],
         "include": {"time_labels": True}},
        rows((["2026-02-01"], [1, 1]), (["2026-03-01"], [5, 7])),
        {"time_labels": ["2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01"]},
    ),  # fmt: skip
    (
        "time-labels-days",
        {"metrics": ["visitors"], "date_range": ["2026-02-27", "2026-03-02"], "dimensions": ["time:day"],
         "include": {"time_labels": True}},
        rows((["2026-03-01"], [3]), (["2026-03-02"], [2])),
        {"time_labels": ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]},
    ),  # fmt: skip
    (
        "time-labels-hours",
        {"metrics": ["pageviews"], "date_range": "day", "dimensions": ["time:hour"], "include": {"time_labels": True}},
        rows((["2026-03-02 00:00:00"], [1]), (["2026-03-02 08:00:00"], [1]), (["2026-03-02 09:00:00"], [1])),
        {"time_labels": [f"2026-03-02 {h:02d}:00:00" for h in range(24)]},
    ),
    # -- date ranges, in the site's time zone --------------------------------------------
    (
        # D's /pricing (23:10 UTC) is on Mar 2 in Zurich, so Mar 1 has 4 pageviews, not 5
        "range-one-local-day", {"metrics": ["visitors", "visits", "pageviews"], "date_range": ["2026-03-01", "2026-03-01"]},
        rows(([], [3, 3, 4])), {},
    ),
    (
        # today, Mar 2: visits E, F; pageviews /pricing (00:10) + E + F
        "range-day", {"metrics": ["visitors", "visits", "pageviews"], "date_range": "day"}, rows(([], [2, 2, 3])), {},
    ),
    (
        # Mar 1 09:00 UTC to Mar 2 09:00 UTC: everything but A
        "range-24h", {"metrics": ["visitors", "visits", "pageviews"], "date_range": "24h"}, rows(([], [5, 5, 7])), {},
    ),
    (
        # Feb 23 - Mar 1 (today excluded): B, C, D; pageviews 2 + 1 + 1
        "range-7d", {"metrics": ["visitors", "visits", "pageviews"], "date_range": "7d"}, rows(([], [3, 3, 4])), {},
    ),
    (
        # Feb 2 - Mar 1: A, B, C, D
        "range-28d", {"metrics": ["visitors", "visits", "pageviews"], "date_range": "28d"}, rows(([], [4, 4, 5])), {},
    ),
    ("range-30d", {"metrics": ["visits"], "date_range": "30d"}, rows(([], [4])), {}),
    ("range-91d", {"metrics": ["visits"], "date_range": "91d"}, rows(([], [4])), {}),
    ("range-month", {"metrics": ["visits", "pageviews"], "date_range": "month"}, rows(([], [5, 7])), {}),
    # 6mo and 12mo are complete months before this one (Plausible's QueryPeriod): only A, in February
    ("range-6mo", {"metrics": ["visits"], "date_range": "6mo"}, rows(([], [1])), {}),
    ("range-12mo", {"metrics": ["visits"], "date_range": "12mo"}, rows(([], [1])), {}),
    ("range-year", {"metrics": ["visits"], "date_range": "year"}, rows(([], [6])), {}),
    ("range-empty", {"metrics": ["visitors", "bounce_rate"], "date_range": ["2025-01-01", "2025-01-31"]},
     rows(([], [0, 0])), {}),  # fmt: skip
    # -- filters: every operator -----------------------------------------------------------
    (
        # B, C, E viewed it; custom events on it: Signup (B), Video Play (C), Signup (E)
        "filter-is", {"metrics": ["visitors", "visits", "pageviews", "events"], **ALL,
                      "filters": [["is", "event:page", ["/blog/hello"]]]},
        rows(([], [3, 3, 3, 3])), {},
    ),  # fmt: skip
    (
        # also F's /Blog/Hello
        "filter-is-case-insensitive",
        {"metrics": ["visitors", "visits", "pageviews", "events"], **ALL,
         "filters": [["is", "event:page", ["/blog/hello"], {"case_sensitive": False}]]},
        rows(([], [4, 4, 4, 3])), {},
    ),  # fmt: skip
    (
        # A (JP), D (FR), E (US): pageviews 1 + 2 + 1
        "filter-is-not", {"metrics": ["visitors", "visits", "pageviews"], **ALL,
                          "filters": [["is_not", "visit:country", ["DE", "CH"]]]},
        rows(([], [3, 3, 4])), {},
    ),  # fmt: skip
    (
        "filter-contains", {"metrics": ["visitors", "visits", "pageviews"], **ALL,
                            "filters": [["contains", "event:page", ["blog"]]]},
        rows(([], [3, 3, 3])), {},
    ),  # fmt: skip
    (
        "filter-contains-case-insensitive",
        {"metrics": ["visitors", "visits", "pageviews"], **ALL,
         "filters": [["contains", "event:page", ["BLOG"], {"case_sensitive": False}]]},
        rows(([], [4, 4, 4])), {},
    ),  # fmt: skip
    (
        # events on /, /about, /Blog/Hello: A, B (its / pageview), D (/about), F
        "filter-contains-not", {"metrics": ["visitors", "visits", "pageviews"], **ALL,
                                "filters": [["contains_not", "event:page", ["blog", "pricing"]]]},
        rows(([], [4, 4, 4])), {},
    ),  # fmt: skip
    (
        # D: /about and /pricing, plus the outbound link click on /pricing
        "filter-matches", {"metrics": ["visitors", "visits", "pageviews", "events"], **ALL,
                           "filters": [["matches", "event:page", ["^/(about|pricing)$"]]]},
        rows(([], [1, 1, 2, 1])), {},
    ),  # fmt: skip
    (
        "filter-matches-case-insensitive", {"metrics": ["visitors", "visits"], **ALL,
                                            "filters": [["matches", "visit:browser", ["^chrome$"], {"case_sensitive": False}]]},
        rows(([], [3, 3])), {},
    ),  # fmt: skip
    (
        # only Firefox (A) is left
        "filter-matches-not", {"metrics": ["visitors", "visits"], **ALL,
                               "filters": [["matches_not", "visit:browser", ["^(Chrome|Safari)$"]]]},
        rows(([], [1, 1])), {},
    ),  # fmt: skip
    (
        "filter-props", {"metrics": ["visitors", "visits", "events"], **ALL,
                         "filters": [["is", "event:props:plan", ["pro"]]]},
        rows(([], [1, 1, 1])), {},
    ),  # fmt: skip
    (
        "filter-hostname", {"metrics": ["visitors", "pageviews"], **ALL,
                            "filters": [["is", "event:hostname", ["shop.example.org"]]]},
        rows(([], [1, 1])), {},
    ),  # fmt: skip
    # -- combinators -------------------------------------------------------------------
    (
        # a mobile visit that signed up: E only
        "filter-and", {"metrics": ["visitors", "events"], **ALL,
                       "filters": [["and", [["is", "visit:device", ["Mobile"]], ["is", "event:goal", ["Signup"]]]]]},
        rows(([], [1, 1])), {},
    ),  # fmt: skip
    (
        # A (JP) or D (Hacker News): pageviews 1 + 2
        "filter-or", {"metrics": ["visitors", "visits", "pageviews"], **ALL,
                      "filters": [["or", [["is", "visit:country", ["JP"]], ["is", "visit:source", ["Hacker News"]]]]]},
        rows(([], [2, 2, 3])), {},
    ),  # fmt: skip
    (
        # B (Email) and F (Direct): pageviews 2 + 1
        "filter-not", {"metrics": ["visitors", "visits", "pageviews"], **ALL,
                       "filters": [["not", ["is", "visit:channel", ["Organic Search", "Organic Social"]]]]},
        rows(([], [2, 2, 3])), {},
    ),  # fmt: skip
    (
        # top level is an implicit "and": DE or US = B, E, F; not Tablet drops F
        "filter-implicit-and-not", {"metrics": ["visitors", "visits"], **ALL,
                                    "filters": [["is", "visit:country", ["DE", "US"]],
                                                ["not", ["is", "visit:screen", ["Tablet"]]]]},
        rows(([], [2, 2])), {},
    ),  # fmt: skip
    (
        # nested: (Google or Mastodon) and not bounced-on-/ ... : A, C, E minus A's page "/" = C, E
        "filter-nested", {"metrics": ["visitors", "visits"], **ALL,
                          "filters": [["and", [["or", [["is", "visit:source", ["Google"]],
                                                       ["is", "visit:source", ["Mastodon"]]]],
                                               ["not", ["is", "visit:entry_page", ["/"]]]]]]},
        rows(([], [2, 2])), {},
    ),  # fmt: skip
    (
        # a filter with a breakdown: sources of visits that viewed /blog/hello
        "filter-with-dimension",
        {"metrics": ["visitors"], **ALL, "dimensions": ["visit:source"], "filters": [["is", "event:page", ["/blog/hello"]]]},
        rows((["Google"], [1]), (["Mastodon"], [1]), (["newsletter"], [1])), {},
    ),  # fmt: skip
    # -- order_by, pagination, total_rows ---------------------------------------------------
    (
        # visitors ascending, ties by source descending (byte order: n > M > H > D)
        "order-by", {"metrics": ["visitors"], **ALL, "dimensions": ["visit:source"],
                     "order_by": [["visitors", "asc"], ["visit:source", "desc"]]},
        rows((["newsletter"], [1]), (["Mastodon"], [1]), (["Hacker News"], [1]), (["Direct / None"], [1]),
             (["Google"], [2])),
        {},
    ),  # fmt: skip
    (
        "order-by-dimension", {"metrics": ["pageviews"], **ALL, "dimensions": ["event:page"],
                               "order_by": [["event:page", "asc"]]},
        rows((["/"], [2]), (["/Blog/Hello"], [1]), (["/about"], [1]), (["/blog/hello"], [3]), (["/pricing"], [1])), {},
    ),  # fmt: skip
    (
        "order-by-time-desc", {"metrics": ["visitors"], **ALL, "dimensions": ["time:day"],
                               "order_by": [["time:day", "desc"]]},
        rows((["2026-03-02"], [2]), (["2026-03-01"], [3]), (["2026-02-20"], [1])), {},
    ),  # fmt: skip
    (
        # default order: Google, Direct / None, Hacker News, Mastodon, newsletter; rows 2-3 of 5
        "pagination", {"metrics": ["visitors"], **ALL, "dimensions": ["visit:source"],
                       "pagination": {"limit": 2, "offset": 1}, "include": {"total_rows": True}},
        rows((["Direct / None"], [1]), (["Hacker News"], [1])), {"total_rows": 5},
    ),  # fmt: skip
    (
        "pagination-past-the-end", {"metrics": ["visitors"], **ALL, "dimensions": ["visit:source"],
                                    "pagination": {"limit": 10, "offset": 5}, "include": {"total_rows": True}},
        [], {"total_rows": 5},
    ),  # fmt: skip
    (
        "pagination-limit-only", {"metrics": ["visitors"], **ALL, "dimensions": ["visit:source"],
                                  "pagination": {"limit": 1}},
        rows((["Google"], [2])), {},
    ),  # fmt: skip
    # -- include.imports (no imports exist: native numbers, flagged) ---------------------------
    ("imports-included", {"metrics": ["visitors"], **ALL, "include": {"imports": True}}, rows(([], [6])),
     {"imports_included": True}),  # fmt: skip
]


@pytest.mark.parametrize(("body", "results", "meta"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
async def test_query(world: World, body: dict[str, Any], results: list[Any], meta: dict[str, Any]) -> None:
    r = await post_query(world.instance, world.user, {"site_id": SITE, **body})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["results"] == results
    assert data["meta"] == meta
    response_validator().validate(data)
    await _rollups_agree_with_raw(world, body)


async def _rollups_agree_with_raw(world: World, body: dict[str, Any]) -> None:
    store = world.instance.store
    site = await world.instance.accounts.sites.get(SITE)
    imports = body.get("include", {}).get("imports", False)
    earliest = await stats_run.first_day(store, site, imports=imports) if body["date_range"] == "all" else None
    query = parse(body, site, NOW, earliest)
    query = dataclasses.replace(query, order_by=query.order_by or api.default_order(query))
    if query.filters is not None and plan(query).keep is None:
        return  # filtered: raw events either way (a filter on the broken-down dimension reads rollups)
    fast = await stats_run.run(store, query)
    raw = await stats_run.run(store, query, raw=True)
    assert fast.rows == raw.rows


async def test_imports_skipped_are_flagged(world: World) -> None:
    """Imported data is daily: an hourly query runs on native data and says why."""
    body = {"site_id": SITE, "metrics": ["visitors"], "date_range": "day", "dimensions": ["time:hour"],
            "include": {"imports": True}}  # fmt: skip
    data = (await post_query(world.instance, world.user, body)).json()
    assert data["results"] == rows((["2026-03-02 08:00:00"], [1]), (["2026-03-02 09:00:00"], [1]))
    assert data["meta"]["imports_included"] is False
    assert isinstance(data["meta"]["imports_skip_reason"], str)
    response_validator().validate(data)


async def test_query_echo(world: World) -> None:
    """`query` echoes what ran: dates resolved in Europe/Zurich, the default order, paging."""
    body = {
        "site_id": "BLOG.example.org",
        "metrics": ["visitors", "pageviews"],
        "date_range": ["2026-03-01", "2026-03-02"],
        "dimensions": ["time:day", "visit:source"],
        "filters": [["contains", "event:page", ["blog"], {"case_sensitive": False}],
                    ["or", [["is", "visit:country", ["DE"]], ["not", ["is", "event:props:plan", [1]]]]]],
        "include": {"total_rows": True},
    }  # fmt: skip
    data = (await post_query(world.instance, world.user, body)).json()
    assert data["query"] == {
        "site_id": SITE,
        "metrics": ["visitors", "pageviews"],
        "date_range": ["2026-03-01T00:00:00+01:00", "2026-03-02T23:59:59+01:00"],
        "dimensions": ["time:day", "visit:source"],
        "filters": [["contains", "event:page", ["blog"], {"case_sensitive": False}],
                    ["or", [["is", "visit:country", ["DE"]], ["not", ["is", "event:props:plan", ["1"]]]]]],
        "order_by": [["time:day", "asc"], ["visitors", "desc"]],
        "include": {"total_rows": True},
        "pagination": {"limit": 10000, "offset": 0},
    }  # fmt: skip
    # B (newsletter) viewed /blog/hello on Mar 1, C (Google) too; E (Mastodon) and F (/Blog/Hello, DE) on Mar 2.
    # Within a day: visitors descending, then source.
    assert data["results"] == rows(
        (["2026-03-01", "Google"], [1, 1]), (["2026-03-01", "newsletter"], [1, 1]),
        (["2026-03-02", "Direct / None"], [1, 1]), (["2026-03-02", "Mastodon"], [1, 1]),
    )  # fmt: skip
    assert data["meta"] == {"total_rows": 4}


async def test_query_echo_24h(world: World) -> None:
    """A rolling range shows its exact start and end in the site's zone."""
    data = (await post_query(world.instance, world.user, {"site_id": SITE, "metrics": ["visits"], "date_range": "24h"})).json()
    assert data["query"]["date_range"] == ["2026-03-01T10:00:00+01:00", "2026-03-02T09:59:59+01:00"]
    assert data["query"]["order_by"] == [["visits", "desc"]]


async def test_site_id_forms(world: World) -> None:
    """site_id is matched like `sites add` stores domains: case, scheme and www. do not matter."""
    for site_id in ("blog.example.org", "https://www.Blog.Example.org/"):
        r = await post_query(world.instance, world.user, {"site_id": site_id, "metrics": ["visits"], "date_range": "all"})
        assert r.status_code == 200
        assert r.json()["results"] == rows(([], [6]))


async def test_viewer_role_reaches_the_site(world: World) -> None:
    """Any role on a site grants API access to it, not only ownership."""
    accounts = world.instance.accounts
    viewer = await api_user(world.instance, "viewer@example.org")
    body = {"site_id": SITE, "metrics": ["visits"], "date_range": "all"}
    assert (await post_query(world.instance, viewer, body)).status_code == 404
    site = await accounts.sites.get(SITE)
    await accounts.users.set_role(site.id, (await accounts.users.get("viewer@example.org")).id, "viewer")
    r = await post_query(world.instance, viewer, body)
    assert r.status_code == 200
    assert r.json()["results"] == rows(([], [6]))


async def test_props_filter_with_several_values(world: World) -> None:
    # plan contains "pr" (B's pro) or "fr" (E's free): V2 on Mar 1 and V5, one Signup each
    body = {"site_id": SITE, "metrics": ["visitors", "events"], **ALL,
            "filters": [["contains", "event:props:plan", ["pr", "fr"]]]}  # fmt: skip
    r = await post_query(world.instance, world.user, body)
    assert r.status_code == 200, r.text
    assert r.json()["results"] == rows(([], [2, 2]))


async def test_all_reaches_back_to_imported_history(tmp_path: Path) -> None:
    """With include.imports, "all" starts at the first imported day, and imported counts add up."""
    import io
    import zipfile

    from analytics.transfer.imports import import_csv

    async with running_app(tmp_path / "data") as instance:
        site = await instance.accounts.sites.add(SITE, "Europe/Zurich")
        user = await api_user(instance)
        await ingest(instance)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("imported_visitors.csv", "date,visitors,pageviews,bounces,visits,visit_duration\n"
                                                "2025-06-01,10,20,4,12,600\n")  # fmt: skip
            z.writestr("imported_custom_events.csv", "date,name,link_url,path,visitors,events\n"
                                                     "2025-06-01,Signup,,,3,3\n")  # fmt: skip
        buf.seek(0)
        await import_csv(instance.store, site, buf, label="plausible.zip")
        body = {"site_id": SITE, "metrics": CORE[:6], "date_range": "all"}
        native = (await post_query(instance, user, body)).json()
        assert native["results"] == rows(([], [6, 6, 8, 1.33, 50, 243]))
        assert native["query"]["date_range"] == ["2026-02-20T00:00:00+01:00", "2026-03-02T23:59:59+01:00"]
        both = (await post_query(instance, user, {**body, "include": {"imports": True}})).json()
        # visitors 6 + 10, visits 6 + 12, pageviews 8 + 20, 28/18 = 1.56, bounces (3 + 4)/18 = 38.9 %,
        # duration (1460 + 600)/18 = 114.4 s
        assert both["results"] == rows(([], [16, 18, 28, 1.56, 39, 114]))
        assert both["meta"] == {"imports_included": True}
        assert both["query"]["date_range"] == ["2025-06-01T00:00:00+02:00", "2026-03-02T23:59:59+01:00"]
        # Goals: imported Signups (3) count, until a page goal is defined. Imported history has no
        # page views per path with event names, so then no row has it, and the answer says why.
        goals = {"site_id": SITE, "metrics": ["visitors", "events"], "date_range": "all",
                 "dimensions": ["event:goal"], "include": {"imports": True}}  # fmt: skip
        before = (await post_query(instance, user, goals)).json()
        assert before["results"][0] == {"dimensions": ["Signup"], "metrics": [5, 5]}
        assert before["meta"] == {"imports_included": True}
        await instance.accounts.goals.add(site.id, "page", "/blog/*")
        after = (await post_query(instance, user, goals)).json()
        assert after["results"] == rows((["Visit /blog/*"], [3, 3]), (["Signup"], [2, 2]),
                                        (["Outbound Link: Click"], [1, 1]), (["Video Play"], [1, 1]))  # fmt: skip
        assert after["meta"] == {
            "imports_included": False,
            "imports_skip_reason": "imported data has no page goals, so no goal row includes it",
        }
        response_validator().validate(after)
