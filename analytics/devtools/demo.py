"""Synthetic traffic for a demo site, written straight into the store.

`analytics demo DOMAIN --events N` fills a site with the traffic of a European
communications blog: power-law articles, visits of several pages and bounces,
search, LinkedIn, Xing, Instagram and newsletter visits, countries, devices,
scroll depth and engaged time, outbound clicks and downloads, all following a
day/night rhythm in the site's time zone.

Rows are what the ingest path would have written for the same events: each
visit is generated whole, and its events, its session row (with the `state`
marks `sessions.apply` keeps) and its rollup contributions are computed
directly, then written with bulk inserts and aggregated upserts. A visitor id
is day-scoped, so all of one visitor's visits stay inside one UTC day and one
local day; nothing crosses midnight, which keeps daily rollups and raw events
in exact agreement (tests/test_demo.py checks both plans and the ingest path).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import operator
import random
import sqlite3
import sys
import time
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from analytics.accounts import Accounts
from analytics.enrich import referrers, urls, useragents
from analytics.model import BUCKET, DAY, Site
from analytics.store.sqlite.store import SQLiteStore
from analytics.visits.sessions import TIMEOUT

T = TypeVar("T")
DEFAULT_TIMEZONE = "Europe/Berlin"
HOUR = 3600
_POOL_BITS = 13  # distributions are drawn from pools of 8192 entries: one getrandbits() per draw

# -- the blog ------------------------------------------------------------------

STATIC_PAGES = (
    ("/", 60.0), ("/blog/", 14.0), ("/about/", 5.0), ("/services/", 6.0), ("/contact/", 4.0),
    ("/newsletter/", 3.0), ("/events/", 2.0), ("/jobs/", 1.0), ("/de/", 3.0), ("/imprint/", 0.6),
    ("/privacy/", 0.5),
)  # fmt: skip
_TOPICS = (
    "crisis-communication", "linkedin-strategy", "press-release", "employer-branding",
    "internal-communication", "storytelling", "media-relations", "content-strategy", "newsletter",
    "social-media", "corporate-podcast", "corporate-blog", "brand-voice", "stakeholder-mapping",
    "sustainability-reporting", "ai-in-pr", "thought-leadership", "video-content", "event-pr",
    "pr-measurement", "change-communication", "investor-relations", "issues-management", "ceo-visibility",
)  # fmt: skip
_PATTERNS = (
    "{t}-checklist", "{t}-guide-2026", "5-lessons-on-{t}", "why-{t}-matters", "{t}-case-study",
    "{t}-mistakes-to-avoid", "how-to-plan-{t}", "{t}-trends", "{t}-for-small-teams", "{t}-templates",
    "{t}-interview", "{t}-kpis",
)  # fmt: skip
OUTBOUND = (
    "https://www.linkedin.com/company/example-comms", "https://www.xing.com/pages/example-comms",
    "https://www.instagram.com/example.comms", "https://www.prreport.de/", "https://t3n.de/",
    "https://open.spotify.com/show/comms-podcast", "https://www.youtube.com/@examplecomms",
    "https://eventbrite.com/e/comms-summit-2026", "https://github.com/example/press-kit",
)  # fmt: skip
DOWNLOADS = (
    "/files/crisis-communication-checklist.pdf", "/files/linkedin-playbook-2026.pdf",
    "/files/press-kit.zip", "/files/newsletter-benchmark-report.pdf", "/files/brand-voice-canvas.pdf",
)  # fmt: skip


def articles() -> list[str]:
    """The blog's article paths, most popular first (a fixed list, whatever the seed)."""
    rng = random.Random(7)
    slugs = [p.format(t=t) for t in _TOPICS for p in _PATTERNS]
    rng.shuffle(slugs)
    return [f"/blog/{s}/" for s in slugs[:240]]


# Sources: weight, page query string, Referer, where visitors land, kind.
# Attribution goes through referrers.attribute(), exactly as at ingest.
SOURCES = (
    (22.0, "", None, "home", "direct"),
    (19.0, "", "https://www.google.com/", "article", "search"),
    (5.0, "", "https://www.google.de/", "article", "search"),
    (2.0, "", "https://www.google.ch/", "article", "search"),
    (2.5, "", "https://www.bing.com/", "article", "search"),
    (1.5, "", "https://duckduckgo.com/", "article", "search"),
    (1.0, "", "https://www.ecosia.org/", "article", "search"),
    (0.4, "gclid=demo", "https://www.google.com/", "home", "search"),
    (7.0, "", "https://www.linkedin.com/", "recent", "social"),
    (3.0, "", "https://lnkd.in/", "recent", "social"),
    (2.5, "utm_source=linkedin&utm_medium=social&utm_campaign=thought-leadership", "https://www.linkedin.com/",
     "recent", "social"),
    (0.8, "utm_source=linkedin&utm_medium=cpc&utm_campaign=whitepaper-2026&utm_content=carousel",
     "https://www.linkedin.com/", "recent", "social"),
    (2.5, "", "https://www.xing.com/", "recent", "social"),
    (0.5, "", "https://www.xing.com/news/klartext", "article", "social"),
    (1.5, "", "https://l.instagram.com/", "recent", "social"),
    (1.0, "utm_source=instagram&utm_medium=social&utm_campaign=bio-link", "https://l.instagram.com/", "home",
     "social"),
    (1.2, "", "https://m.facebook.com/", "recent", "social"),
    (0.6, "", "https://bsky.app/", "recent", "social"),
    (0.5, "", "https://mastodon.social/", "recent", "social"),
    (0.8, "", "https://chatgpt.com/", "article", "search"),
    (4.0, "utm_source=newsletter&utm_medium=email&utm_campaign=weekly-digest", None, "recent", "email"),
    (1.5, "utm_source=newsletter&utm_medium=email&utm_campaign=monthly-roundup", None, "recent", "email"),
    (0.6, "utm_source=newsletter&utm_medium=email&utm_campaign=event-invite&utm_content=button", None, "home",
     "email"),
    (0.3, "", "android-app://com.google.android.gm", "recent", "email"),
    (1.0, "", "https://medium.com/@comms-weekly/why-pr-needs-data", "article", "referral"),
    (0.8, "", "https://www.prreport.de/", "article", "referral"),
    (0.6, "", "https://t3n.de/news/", "article", "referral"),
    (0.5, "", "https://www.kommunikationsmanager.de/", "article", "referral"),
    (0.4, "", "https://news.ycombinator.com/", "article", "referral"),
    (0.4, "", "https://www.reddit.com/r/PublicRelations/", "article", "referral"),
    (0.4, "ref=producthunt", None, "home", "referral"),
)  # fmt: skip

COUNTRIES = (
    ("DE", 38.0), ("CH", 12.0), ("AT", 9.0), ("US", 6.0), ("NL", 4.0), ("FR", 4.0), ("GB", 4.0),
    ("IT", 3.0), ("ES", 2.0), ("PL", 2.0), ("BE", 2.0), ("SE", 1.5), ("DK", 1.2), ("CZ", 1.0),
    ("IN", 1.0), ("LU", 0.8), ("PT", 0.8), ("IE", 0.8), ("CA", 0.8), ("FI", 0.6), ("NO", 0.6),
    ("BR", 0.5), ("", 1.0),
)  # fmt: skip

_CHROME = "Mozilla/5.0 ({}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.0.0 {}Safari/537.36"
_IOS = "Mozilla/5.0 (iPhone; CPU iPhone OS {} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
# Desktop weight, social weight (LinkedIn and Instagram bring phones and in-app browsers), UA, viewport width.
DEVICES = (
    (16.0, 5.0, _CHROME.format("Windows NT 10.0; Win64; x64", 131, ""), 1536),
    (9.0, 3.0, _CHROME.format("Windows NT 10.0; Win64; x64", 131, ""), 1920),
    (4.0, 1.0, _CHROME.format("Windows NT 10.0; Win64; x64", 130, ""), 1366),
    (7.0, 2.0, _CHROME.format("Windows NT 10.0; Win64; x64", 131, "") + " Edg/131.0.0.0", 1536),
    (4.0, 1.0, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 1920),
    (9.0, 3.0, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Safari/605.1.15", 1440),
    (6.0, 2.0, _CHROME.format("Macintosh; Intel Mac OS X 10_15_7", 131, ""), 1728),
    (1.0, 0.3, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 1920),
    (0.8, 0.3, _CHROME.format("X11; Linux x86_64", 131, ""), 1280),
    (10.0, 20.0, _IOS.format("18_1") + "Version/18.1 Mobile/15E148 Safari/604.1", 393),
    (4.0, 7.0, _IOS.format("17_6") + "Version/17.6 Mobile/15E148 Safari/604.1", 390),
    (8.0, 14.0, _CHROME.format("Linux; Android 14; SM-S918B", 131, "Mobile "), 412),
    (2.0, 3.0, _CHROME.format("Linux; Android 14; SM-S918B", 122, "Mobile ").replace(
        "Chrome/122", "SamsungBrowser/26.0 Chrome/122"), 412),  # fmt: skip
    (0.5, 12.0, _IOS.format("18_1") + "Mobile/15E148 [LinkedInApp]/9.30.1", 393),
    (0.2, 6.0, _IOS.format("18_1") + "Mobile/15E148 Instagram 357.0.0.25.101", 393),
    (2.0, 1.0, "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.6 Mobile/15E148 Safari/604.1", 820),
    (1.0, 0.5, _CHROME.format("Linux; Android 14; SM-X710", 131, ""), 1024),
)  # fmt: skip

# Local hour of day -> relative traffic (office hours, a lunch dip, an evening bump).
HOURLY = (0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.7, 1.0, 1.25, 1.3, 1.2,
          1.0, 1.1, 1.2, 1.15, 1.0, 0.85, 0.7, 0.7, 0.75, 0.65, 0.45, 0.28)  # fmt: skip
PAGEVIEWS = ((1, 56.0), (2, 19.0), (3, 10.0), (4, 6.0), (5, 3.5), (6, 2.0), (7, 1.3), (8, 0.8), (10, 0.8), (14, 0.6))
VISITS_PER_VISITOR = ((1, 86.0), (2, 10.0), (3, 4.0))


# -- random pools --------------------------------------------------------------


def _pool(items: Sequence[T], weights: Sequence[float]) -> list[T]:
    """A list of 2**_POOL_BITS items in proportion to `weights`: a draw is one index."""
    size = 1 << _POOL_BITS
    total = sum(weights)
    counts = [max(1, int(w / total * size)) if w > 0 else 0 for w in weights]
    top = max(range(len(counts)), key=counts.__getitem__)
    counts[top] += size - sum(counts)
    out: list[T] = []
    for item, n in zip(items, counts, strict=True):
        out.extend([item] * n)
    return out


def _samples(rng: random.Random, draw: Callable[[random.Random], T]) -> list[T]:
    return [draw(rng) for _ in range(1 << _POOL_BITS)]


@dataclass(frozen=True, slots=True)
class _Source:
    ids: tuple[int, ...]  # channel, source, referrer, utm_* as string ids
    entry: list[int]  # pool of landing pages
    kind: str


@dataclass(frozen=True, slots=True)
class _Device:
    ids: tuple[int, ...]  # device, browser, browser_version, os, os_version, screen
    device: tuple[int, int]
    browser: tuple[int, int]
    os: tuple[int, int]


@dataclass(slots=True)
class DemoResult:
    domain: str
    events: int
    sessions: int
    seconds: float
    cpu_seconds: float = 0.0  # this process's CPU time: the rate an idle machine would see


# -- generation ----------------------------------------------------------------


class _Day:
    """Rows and aggregated rollup deltas for one UTC day of traffic.

    Session-level sums are kept per source and device *profile*; `_write_day`
    folds them into the rollup keys. rollup_totals is derived there too: its
    event-level counters are sums of the page and goal rows, its session-level
    ones sums of the visit rows.
    """

    def __init__(self, next_id: int) -> None:
        self.next_id = next_id
        self.events: list[tuple[Any, ...]] = []
        self.sessions: list[tuple[Any, ...]] = []
        # (bucket, page) -> visitors, visits, pageviews, time_total, time_visits, scroll_total, scroll_visits
        self.pages: dict[tuple[int, int], list[int]] = {}
        # (bucket, name, link) -> visitors, events, v_name
        self.goals: dict[tuple[int, int, int], list[int]] = {}
        # Visit rows: visitors, visits, pageviews, bounces, duration. Country and device are fixed
        # per visitor id (it hashes the IP and user agent), so one credit serves all their columns.
        self.devices: dict[tuple[int, int], list[int]] = {}  # (bucket, device profile)
        self.countries: dict[tuple[int, str], list[int]] = {}  # (bucket, country)
        self.sources: dict[tuple[int, int], list[int]] = {}  # (bucket, source profile), one-visit visitors
        self.sources_multi: dict[tuple[int, int], list[int]] = {}  # the same + 8 v_<column> credits
        self.entry: dict[tuple[int, int], list[int]] = {}
        self.exit: dict[tuple[int, int], list[int]] = {}


class _Memory:
    """What a visitor with several visits that day has had: for once-per-visitor credits."""

    __slots__ = ("visits", "pages", "goals", "sources", "columns", "entries", "exits")

    def __init__(self) -> None:
        self.visits = 0
        self.pages: set[int] = set()
        self.goals: set[str] = set()
        self.sources: set[tuple[int, ...]] = set()
        self.columns: list[set[int]] = [set() for _ in range(8)]
        self.entries: set[int] = set()
        self.exits: set[int] = set()


def _credit(seen: set[Any], value: Any) -> int:
    if value in seen:
        return 0
    seen.add(value)
    return 1


# Key columns of the session-level rollup tables; tables keyed by several also carry v_<column>.
_COLUMNS = {
    "sources": ("channel", "source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content",
                "utm_term"),
    "locations": ("country",), "devices": ("device", "screen"), "browsers": ("browser", "browser_version"),
    "os": ("os", "os_version"), "entry_pages": ("entry_page",), "exit_pages": ("exit_page",),
}  # fmt: skip


def _add(d: dict[Any, list[int]], key: Any, values: list[int]) -> None:
    row = d.get(key)
    if row is None:
        d[key] = values
    else:
        for i, v in enumerate(values):
            row[i] += v


class Generator:
    """Whole visits of one site, from a seeded RNG: the same seed gives the same rows."""

    def __init__(self, site_id: int, domain: str, timezone: str, ids: dict[str, int], seed: int) -> None:
        self.site_id = site_id
        self.tz = zoneinfo.ZoneInfo(timezone)
        self.rng = rng = random.Random(seed)
        self.ids = ids
        self.host = ids[domain]
        self.pv, self.eng = ids["pageview"], ids["engagement"]
        self.outbound_name, self.download_name = ids["Outbound Link: Click"], ids["File Download"]
        self.signup_name, self.contact_name = ids["Newsletter Signup"], ids["Contact Form"]
        pages = [p for p, _ in STATIC_PAGES] + articles()
        arts = articles()
        zipf = [1 / (rank + 1) ** 1.1 for rank in range(len(arts))]
        art_ids = [ids[a] for a in arts]
        self.article_ids = frozenset(art_ids)
        static_w = [w for _, w in STATIC_PAGES]
        # Next page in a visit: static pages and articles together; landing pools per source kind.
        self.next_pool = _pool([ids[p] for p in pages], static_w + [w * 120 for w in zipf])
        land_article = _pool(art_ids + [ids["/"]], zipf + [0.4])
        land_home = _pool([ids[p] for p, _ in STATIC_PAGES] + art_ids, static_w + [w * 60 for w in zipf])
        # "Recent" posts, the ones shared on social media and in newsletters: a steeper head.
        land_recent = _pool(art_ids[:40] + [ids["/"]], [1 / (r + 1) ** 1.6 for r in range(40)] + [0.15])
        landing = {"article": land_article, "home": land_home, "recent": land_recent}
        self.sources: list[_Source] = []
        for _, query, ref, land, kind in SOURCES:
            url = urls.clean(f"https://demo.invalid/?{query}")
            a = referrers.attribute(url.query, ref, "demo.invalid")
            values = (a.channel, a.source, a.referrer, a.utm_source, a.utm_medium, a.utm_campaign, a.utm_content,
                      a.utm_term)  # fmt: skip
            self.sources.append(_Source(tuple(ids[v] for v in values), landing[land], kind))
        self.source_weights = [w for w, *_ in SOURCES]
        self._source_pools: dict[tuple[bool, bool], list[int]] = {}
        self.devices: list[_Device] = []
        for _, _, ua, width in DEVICES:
            d = useragents.parse(ua)
            v = [ids[x] for x in (d.device, d.browser, d.browser_version, d.os, d.os_version,
                                  useragents.screen_class(width))]  # fmt: skip
            self.devices.append(_Device(tuple(v), (v[0], v[5]), (v[1], v[2]), (v[3], v[4])))
        self.device_pool = _pool(range(len(DEVICES)), [w for w, *_ in DEVICES])
        self.social_device_pool = _pool(range(len(DEVICES)), [w for _, w, *_ in DEVICES])
        self.country_pool = _pool([c for c, _ in COUNTRIES], [w for _, w in COUNTRIES])
        self.pageviews_pool = _pool([n for n, _ in PAGEVIEWS], [w for _, w in PAGEVIEWS])
        self.visits_pool = _pool([n for n, _ in VISITS_PER_VISITOR], [w for _, w in VISITS_PER_VISITOR])
        # Seconds on a page before leaving it, engaged share of it, deepest scroll.
        self.dwell = _samples(rng, lambda r: max(2, min(1500, int(r.lognormvariate(math.log(45), 1.1)))))
        self.engaged = _samples(rng, lambda r: r.uniform(250, 1000))  # engaged ms per second on the page
        self.scroll = _samples(rng, lambda r: 100 if r.random() < 0.28 else int(r.triangular(5, 100, 60)))
        self.gap = _samples(rng, lambda r: int(r.lognormvariate(math.log(5400), 0.9)))
        self.links = [ids[u] for u in OUTBOUND]
        downloads = [f"https://{domain}{path}" for path in DOWNLOADS]
        self.downloads = [ids[u] for u in downloads]
        self.props = {ids[u]: _props_json(u) for u in (*OUTBOUND, *downloads)}
        self.newsletter, self.contact = ids["/newsletter/"], ids["/contact/"]

    def source_pool(self, newsletter_day: bool, viral: bool) -> list[int]:
        """Source profiles to draw from: newsletter days and viral LinkedIn days shift the mix."""
        key = (newsletter_day, viral)
        if key not in self._source_pools:
            weights = []
            for w, (_, _, ref, _, kind) in zip(self.source_weights, SOURCES, strict=True):
                if newsletter_day and kind == "email":
                    w *= 5
                if viral and ref and ("linkedin" in ref or "lnkd" in ref):
                    w *= 6
                weights.append(w)
            self._source_pools[key] = _pool(range(len(SOURCES)), weights)
        return self._source_pools[key]

    def visitor(self, day: _Day, local_day: int, start: int, window_end: int, limit: int, sources: list[int]) -> int:
        """One visitor's visits on one local day, from `start`; returns the number of events written (<= limit)."""
        gb = self.rng.getrandbits
        visitor_id = gb(64) - (1 << 63)
        country = self.country_pool[gb(_POOL_BITS)]
        src = sources[gb(_POOL_BITS)]
        social = self.sources[src].kind == "social"
        dev = (self.social_device_pool if social else self.device_pool)[gb(_POOL_BITS)]
        visits = self.visits_pool[gb(_POOL_BITS)]
        if visits == 1:
            return self.visit(day, local_day, visitor_id, start, window_end, limit, src, dev, country, None)
        memory = _Memory()
        written = 0
        t = start
        for n in range(visits):
            if n:
                t = day.sessions[-1][4] + TIMEOUT + 1 + self.gap[gb(_POOL_BITS)]
                if t >= window_end:
                    break
                if gb(1):
                    src = 0  # returning visitors often come back directly
            written += self.visit(day, local_day, visitor_id, t, window_end, limit - written, src, dev, country, memory)
            memory.visits += 1
            if written >= limit:
                break
        return written

    def visit(
        self, day: _Day, local_day: int, visitor_id: int, start: int, window_end: int, limit: int, src: int, dev: int,
        country: str, memory: _Memory | None,
    ) -> int:  # fmt: skip
        """One visit: its events, session row and rollup sums. Returns the number of events (<= limit)."""
        gb, rnd = self.rng.getrandbits, self.rng.random
        bits = _POOL_BITS
        append, pages_roll = day.events.append, day.pages
        pv_name, eng_name = self.pv, self.eng
        dwells, depths, engaged, next_pool = self.dwell, self.scroll, self.engaged, self.next_pool
        source = self.sources[src]
        day.next_id += 1
        sid = day.next_id
        page = entry = source.entry[gb(bits)]
        marks: dict[int, list[Any]] = {}  # page -> [viewed, max scroll, timed], as sessions.PageMark
        goals: list[str] = []
        want = self.pageviews_pool[gb(bits)]
        pageviews = customs = n = 0
        t = last = last_action = start
        while True:
            bucket = t // BUCKET
            append((t, sid, pv_name, page, None, None, None))
            n += 1
            pageviews += 1
            last = last_action = t
            key = (bucket, page)
            row = pages_roll.get(key)
            if row is None:
                row = pages_roll[key] = [0, 0, 0, 0, 0, 0, 0]
            row[2] += 1
            mark = marks.get(page)
            if mark is None:
                mark = marks[page] = [1, None, 0]
                row[1] += 1
                if memory is None or _credit(memory.pages, page):
                    row[0] += 1
            if n >= limit:
                break
            dwell = dwells[gb(bits)]
            if rnd() < 0.12:  # maybe a goal: an outbound click or download, a signup, a contact form
                done = self.goal(day, local_day, sid, t, dwell, page, window_end, goals, memory)
                if done:
                    n += 1
                    customs += 1
                    if done > last:
                        last = last_action = done
                    if n >= limit:
                        break
            # The engagement event when the reader leaves the page.
            te = t + dwell
            if te >= window_end:
                break
            if dwell >= 4 and rnd() < 0.12:
                # The tab was hidden half-way, then closed: two sends, the second with the rest.
                half = t + dwell // 2
                n += self.engage(day, sid, half, page, mark, row if half // BUCKET == bucket else None, dwell, 500)
                if n >= limit:
                    last = max(last, half)
                    break
                n += self.engage(day, sid, te, page, mark, row if te // BUCKET == bucket else None, dwell, 500)
            else:
                depth = depths[gb(bits)]
                ms = int(dwell * engaged[gb(bits)])
                append((te, sid, eng_name, page, None, depth, ms))
                n += 1
                if te // BUCKET != bucket:
                    key = (te // BUCKET, page)
                    row = pages_roll.get(key)
                    if row is None:
                        row = pages_roll[key] = [0, 0, 0, 0, 0, 0, 0]
                row[3] += ms
                if not mark[2]:
                    mark[2] = 1
                    row[4] += 1
                old = mark[1]
                if old is None:
                    mark[1] = depth
                    row[5] += depth
                    row[6] += 1
                elif depth > old:
                    mark[1] = depth
                    row[5] += depth - old
            last = te
            if n >= limit or pageviews >= want:
                break
            t = te + 1 + gb(3)
            if t >= window_end:
                break
            nxt = next_pool[gb(bits)]
            page = nxt if nxt != page else next_pool[gb(bits)]

        bounce = int(pageviews <= 1 and customs == 0)  # every demo goal is interactive
        duration = 0 if bounce else last_action - start  # a bounce lasts 0 s (reference §2)
        # The state as Session.state_json() writes it: page marks, and what was reached that day.
        p_text = ",".join([f'"{p}":[1,{"null" if m[1] is None else m[1]},{m[2]}]' for p, m in marks.items()])
        seen = [f"p{p}@{local_day}" for p in marks]
        if goals:
            seen += goals
        s_text = ",".join([f'"{x}"' for x in sorted(seen)])
        state = f'{{"p":{{{p_text}}},"s":[{s_text}]}}'
        day.sessions.append(
            (sid, visitor_id, local_day, start, last, last_action, entry, page, pageviews, customs, customs,
             *source.ids, country, *self.devices[dev].ids, state)
        )  # fmt: skip
        # Session-level sums at the start bucket. A visitor earns `visitors` once per key and
        # `v_<column>` once per value of a column, per day-scoped visitor id.
        bucket = start // BUCKET
        if memory is None:
            targets: tuple[tuple[dict[Any, list[int]], tuple[int, Any]], ...] = (
                (day.devices, (bucket, dev)), (day.countries, (bucket, country)), (day.sources, (bucket, src)),
                (day.entry, (bucket, entry)), (day.exit, (bucket, page)),
            )  # fmt: skip
            for d, k in targets:
                row = d.get(k)
                if row is None:
                    d[k] = [1, 1, pageviews, bounce, duration]
                else:
                    row[0] += 1
                    row[1] += 1
                    row[2] += pageviews
                    row[3] += bounce
                    row[4] += duration
            return n
        first = int(memory.visits == 0)
        _add(day.devices, (bucket, dev), [first, 1, pageviews, bounce, duration])
        _add(day.countries, (bucket, country), [first, 1, pageviews, bounce, duration])
        _add(day.sources_multi, (bucket, src), [
            _credit(memory.sources, source.ids), 1, pageviews, bounce, duration,
            *(_credit(c, v) for c, v in zip(memory.columns, source.ids, strict=True)),
        ])  # fmt: skip
        _add(day.entry, (bucket, entry), [_credit(memory.entries, entry), 1, pageviews, bounce, duration])
        _add(day.exit, (bucket, page), [_credit(memory.exits, page), 1, pageviews, bounce, duration])
        return n

    def goal(
        self, day: _Day, local_day: int, sid: int, t: int, dwell: int, page: int, window_end: int, goals: list[str],
        memory: _Memory | None,
    ) -> int:  # fmt: skip
        """Maybe a custom event on `page` while it is read; returns its time, or 0 for none."""
        gb = self.rng.getrandbits
        r = self.rng.random()
        pool: list[int] = []
        if page in self.article_ids:
            if r < 0.05:
                name, pool = self.outbound_name, self.links
            elif r < 0.065:
                name, pool = self.download_name, self.downloads
            else:
                return 0
        elif page == self.newsletter and r < 0.12:
            name = self.signup_name
        elif page == self.contact and r < 0.08:
            name = self.contact_name
        else:
            return 0
        link = pool[gb(_POOL_BITS) % len(pool)] if pool else 0
        ts = t + 1 + gb(_POOL_BITS) % dwell
        if ts >= window_end:
            return 0
        day.events.append((ts, sid, name, page, self.props.get(link), None, None))
        key = (ts // BUCKET, name, link)
        row = day.goals.get(key)
        if row is None:
            row = day.goals[key] = [0, 1, 0]
        else:
            row[1] += 1
        # The marks sessions.apply keeps: "g<name>:<link>:<path>@<day>" for the goal, "n<name>@<day>" for its name.
        for text, col in ((f"g{name}:{link}:0@{local_day}", 0), (f"n{name}@{local_day}", 2)):
            if text not in goals:
                goals.append(text)
                if memory is None or _credit(memory.goals, text):
                    row[col] += 1
        return ts

    def engage(
        self, day: _Day, sid: int, ts: int, page: int, mark: list[Any], row: list[int] | None, dwell: int,
        share: int,
    ) -> int:  # fmt: skip
        """One of two engagement sends for a page view; returns 1 (the event count)."""
        gb = self.rng.getrandbits
        depth = self.scroll[gb(_POOL_BITS)]
        if mark[1] is not None:
            depth = max(depth, mark[1])  # the tracker sends the deepest scroll so far
        ms = int(dwell * share * self.engaged[gb(_POOL_BITS)] / 1000)
        day.events.append((ts, sid, self.eng, page, None, depth, ms))
        if row is None:
            key = (ts // BUCKET, page)
            row = day.pages.get(key)
            if row is None:
                row = day.pages[key] = [0, 0, 0, 0, 0, 0, 0]
        row[3] += ms
        if not mark[2]:
            mark[2] = 1
            row[4] += 1
        old = mark[1]
        if old is None:
            row[5] += depth
            row[6] += 1
        else:
            row[5] += depth - old
        mark[1] = depth
        return 1


def _props_json(url: str) -> str:
    import json

    # As the ingest path writes it: json.dumps(dict(props), ensure_ascii=False).
    return json.dumps({"url": url}, ensure_ascii=False)


def strings(domain: str) -> list[str]:
    """Every string the demo may store, interned once before generation."""
    values = {"pageview", "engagement", "Outbound Link: Click", "File Download", "Newsletter Signup",
              "Contact Form", domain, *OUTBOUND}  # fmt: skip
    values.update(f"https://{domain}{p}" for p in DOWNLOADS)
    values.update(p for p, _ in STATIC_PAGES)
    values.update(articles())
    for _, query, ref, _, _ in SOURCES:
        url = urls.clean(f"https://demo.invalid/?{query}")
        a = referrers.attribute(url.query, ref, "demo.invalid")
        values.update((a.channel, a.source, a.referrer, a.utm_source, a.utm_medium, a.utm_campaign, a.utm_content,
                       a.utm_term))  # fmt: skip
    for _, _, ua, width in DEVICES:
        d = useragents.parse(ua)
        values.update((d.device, d.browser, d.browser_version, d.os, d.os_version, useragents.screen_class(width)))
    values.discard("")
    return sorted(values)


def _intern(conn: sqlite3.Connection, values: list[str]) -> dict[str, int]:
    conn.executemany("INSERT OR IGNORE INTO strings (value) VALUES (?)", [(v,) for v in values])
    ids = {"": 0}
    for i in range(0, len(values), 500):
        chunk = values[i : i + 500]
        marks = ",".join("?" * len(chunk))
        ids.update(conn.execute(f"SELECT value, id FROM strings WHERE value IN ({marks})", chunk).fetchall())
    return ids


# -- when: hours, days and the midnights a visitor may not cross ------------------


def hourly_counts(events: int, start: int, end: int, timezone: str, rng: random.Random) -> list[tuple[int, int]]:
    """Split `events` over the UTC hours of [start, end) by local hour, weekday, trend and busy days.

    Returns [(hour start, events)], summing exactly to `events`.
    """
    tz = zoneinfo.ZoneInfo(timezone)
    first_day = datetime.fromtimestamp(start, tz).date()
    last_day = datetime.fromtimestamp(end, tz).date()
    n_days = (last_day - first_day).days + 1
    factors: dict[date, float] = {}
    for i in range(n_days):
        d = first_day + timedelta(days=i)
        f = (1 + 0.35 * i / max(1, n_days)) * rng.lognormvariate(0, 0.12)  # slow growth, daily noise
        if d.weekday() >= 5:
            f *= 0.5
        if d in _viral_days(first_day, n_days):
            f *= 2.2
        factors[d] = f
    hours = []
    h = start - start % HOUR
    while h < end:
        lo, hi = max(h, start), min(h + HOUR, end)
        local = datetime.fromtimestamp(lo, tz)
        hours.append((h, HOURLY[local.hour] * factors[local.date()] * (hi - lo) / HOUR))
        h += HOUR
    total = sum(w for _, w in hours) or 1.0
    exact = [events * w / total for _, w in hours]
    counts = [int(x) for x in exact]
    # Largest remainders first, so the counts add up to `events` exactly.
    order = sorted(range(len(hours)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: events - sum(counts)]:
        counts[i] += 1
    return [(h, c) for (h, _), c in zip(hours, counts, strict=True)]


def _viral_days(first_day: date, n_days: int) -> frozenset[date]:
    """Days when a LinkedIn post took off: every 23rd day or so, fixed by the date range."""
    return frozenset(first_day + timedelta(days=i) for i in range(n_days) if (first_day.toordinal() + i) % 23 == 0)


def midnights(start: int, end: int, timezone: str) -> list[int]:
    """UTC and local midnights around [start, end), and `end`: a visitor's day stops at the next one."""
    tz = zoneinfo.ZoneInfo(timezone)
    out = {end}
    d = datetime.fromtimestamp(start - DAY, UTC).date()
    while True:
        utc = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        local = int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp())
        if min(utc, local) > end:
            break
        out.update(x for x in (utc, local) if x < end)
        d += timedelta(days=1)
    return sorted(out)


def local_days(start: int, end: int, timezone: str) -> tuple[list[int], list[int]]:
    """The local midnights around [start, end) and their days (date ordinals), for bisecting."""
    tz = zoneinfo.ZoneInfo(timezone)
    d = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
    starts: list[int] = []
    ordinals: list[int] = []
    while not starts or starts[-1] < end:
        starts.append(int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()))
        ordinals.append(d.toordinal())
        d += timedelta(days=1)
    return starts, ordinals


# -- writing -------------------------------------------------------------------

# Event rows are (ts, session, name, page, props, scroll_depth, engaged_ms): the site, host and
# constant columns are literals in the statement, which halves the parameters to bind.
_EVENT_SQL = (
    "INSERT INTO events (site_id, ts, session_id, name, hostname, page, props, scroll_depth, engaged_ms,"
    " interactive, revenue, currency) VALUES ({site},?,?,?,{host},?,?,?,?,1,NULL,NULL)"
)
_SESSION_SQL = (
    "INSERT INTO sessions (id, site_id, visitor_id, day, start, last, last_action, entry_page, exit_page, pageviews,"
    " events, interactive, channel, source, referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term,"
    " country, device, browser, browser_version, os, os_version, screen, state)"
    " VALUES (?,{site}," + ",".join("?" * 26) + ")"
)
_SESSION_SUMS = ("visitors", "visits", "pageviews", "bounces", "duration")
_TOTALS = ("visitors", "visits", "pageviews", "bounces", "duration", "events", "time_total", "time_visits",
           "scroll_total", "scroll_visits")  # fmt: skip
_PAGES = ("visitors", "visits", "pageviews", "time_total", "time_visits", "scroll_total", "scroll_visits")


def _upsert(conn: sqlite3.Connection, table: str, keys: tuple[str, ...], sums: tuple[str, ...],
            rows: list[tuple[Any, ...]]) -> None:  # fmt: skip
    cols = ("site_id", "bucket", *keys, *sums)
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))}) "
        f"ON CONFLICT DO UPDATE SET {', '.join(f'{c} = {c} + excluded.{c}' for c in sums)}",
        sorted(rows),
    )


def _write_day(conn: sqlite3.Connection, gen: Generator, day: _Day) -> None:
    site, host = gen.site_id, gen.host
    day.events.sort(key=operator.itemgetter(0))  # stable: a visit's events keep their order within a second
    conn.executemany(_EVENT_SQL.format(site=int(site), host=int(host)), day.events)
    conn.executemany(_SESSION_SQL.format(site=int(site)), day.sessions)
    totals: dict[int, list[int]] = {}
    for (b, _), v in day.countries.items():
        _add(totals, b, [v[0], v[1], 0, v[3], v[4], 0, 0, 0, 0, 0])
    for (b, _), v in day.pages.items():
        _add(totals, b, [0, 0, v[2], 0, 0, 0, v[3], v[4], v[5], v[6]])
    for (b, _, _), v in day.goals.items():
        _add(totals, b, [0, 0, 0, 0, 0, v[1], 0, 0, 0, 0])
    _upsert(conn, "rollup_totals", (), _TOTALS, [(site, b, *v) for b, v in totals.items()])
    _upsert(conn, "rollup_pages", ("hostname", "page"), _PAGES,
            [(site, b, host, p, *v) for (b, p), v in day.pages.items()])  # fmt: skip
    _upsert(conn, "rollup_events", ("name", "link_url", "path"), ("visitors", "events", "v_name"),
            [(site, b, n, link, 0, *v) for (b, n, link), v in day.goals.items()])  # fmt: skip
    sources: dict[tuple[Any, ...], list[int]] = {}
    for (b, src), v in day.sources.items():
        _add(sources, (b, *gen.sources[src].ids), v + [v[0]] * 8)  # one visit: every credit is 1
    for (b, src), v in day.sources_multi.items():
        _add(sources, (b, *gen.sources[src].ids), v)
    cols = _COLUMNS["sources"]
    _upsert(conn, "rollup_sources", cols, _SESSION_SUMS + tuple(f"v_{c}" for c in cols),
            [(site, *k, *v) for k, v in sources.items()])  # fmt: skip
    # Country and device are the same in all of a visitor's visits, so v_<column> == visitors there.
    grouped: dict[str, dict[tuple[Any, ...], list[int]]] = {t: {} for t in ("devices", "browsers", "os")}
    grouped["locations"] = {k: v for k, v in day.countries.items()}
    for (b, dev), v in day.devices.items():
        d = gen.devices[dev]
        _add(grouped["devices"], (b, *d.device), v + [v[0], v[0]])
        _add(grouped["browsers"], (b, *d.browser), v + [v[0], v[0]])
        _add(grouped["os"], (b, *d.os), v + [v[0], v[0]])
    for table, rows in grouped.items():
        cols = _COLUMNS[table]
        sums = _SESSION_SUMS + (tuple(f"v_{c}" for c in cols) if len(cols) > 1 else ())
        _upsert(conn, f"rollup_{table}", cols, sums, [(site, *k, *v) for k, v in rows.items()])
    for table, rows2 in (("entry_pages", day.entry), ("exit_pages", day.exit)):
        _upsert(conn, f"rollup_{table}", _COLUMNS[table], _SESSION_SUMS,
                [(site, b, p, *v) for (b, p), v in rows2.items()])  # fmt: skip


# -- the command ---------------------------------------------------------------


async def _ensure_site(db_path: Path, domain: str, timezone: str) -> tuple[int, str, str]:
    # Accounts first (they take over a release 0.1 data dir's accounts), then the store.
    async with Accounts.in_dir(db_path.parent) as accounts:
        # Like `analytics sites add`: the admin (first user), if any, owns it.
        site = await accounts.sites.ensure(domain, timezone)
    store = SQLiteStore(db_path, readers=1)
    await store.open()  # creates and migrates the database
    await store.close()
    return site.id, site.domain, site.timezone


async def _roll_days(db_path: Path, site: Site, now: float) -> None:
    """Rebuild the site's daily rollup tier, as housekeeping would: old days just got new rows."""
    from analytics.store.sqlite import days as sqlite_days
    from analytics.store.sqlite.store import SQLiteStore

    store = SQLiteStore(db_path, readers=1)
    await store.open()
    try:

        async def rebuild(conn: Any) -> int:
            await sqlite_days.drop(conn, site.id)
            return await sqlite_days.roll(conn, now, [site])

        await store.write(rebuild)
    finally:
        await store.close()


def generate(
    db_path: str | Path,
    domain: str,
    events: int,
    days: int = 30,
    *,
    seed: int = 1,
    now: float | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    progress: bool | None = None,
) -> DemoResult:
    """Write exactly `events` events of demo traffic for `domain` over the `days` before `now`.

    The site is created (in `timezone`) if missing; an existing site keeps its
    zone. The same seed, size and `now` give the same rows. `progress`: a tqdm
    bar on stderr; None shows it only when stderr is a terminal.
    """
    if events < 0 or days < 1:
        raise ValueError("events must be >= 0 and days >= 1")
    from tqdm import tqdm  # type: ignore[import-untyped]

    began, cpu = time.perf_counter(), time.process_time()
    end = int(time.time() if now is None else now)
    start = end - days * DAY
    site_id, domain, tz = asyncio.run(_ensure_site(Path(db_path), domain, timezone))
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL: a bulk load that a crash would interrupt is simply run again.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -65536")
        # Checkpoint every 64 MB rather than 4 MB: hot pages (indexes, rollups) are copied back once.
        conn.execute("PRAGMA wal_autocheckpoint = 16384")
        conn.execute("BEGIN IMMEDIATE")
        ids = _intern(conn, strings(domain))
        conn.execute("COMMIT")
        gen = Generator(site_id, domain, tz, ids, seed)
        hours = hourly_counts(events, start, end, tz, gen.rng)
        bounds = midnights(start, end, tz)
        day_starts, ordinals = local_days(start, end, tz)
        tzinfo = zoneinfo.ZoneInfo(tz)
        sessions = 0
        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=events, unit="ev", unit_scale=True, desc=domain, disable=not show, file=sys.stderr) as bar:
            by_day: dict[int, list[tuple[int, int]]] = {}
            for h, c in hours:
                by_day.setdefault(h // DAY, []).append((h, c))
            for _, day_hours in sorted(by_day.items()):
                if not sum(c for _, c in day_hours):
                    continue
                # The writer lock is held while the day is generated: session ids follow MAX(id).
                conn.execute("BEGIN IMMEDIATE")
                try:
                    row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM sessions").fetchone()
                    day = _Day(int(row[0]))
                    for h, count in day_hours:
                        local = datetime.fromtimestamp(h, tzinfo).date()
                        pool = gen.source_pool(local.weekday() == 1, local in _viral_days(local, 1))
                        lo, hi = max(h, start), min(h + HOUR, end)
                        left = count
                        while left > 0:
                            t = lo + gen.rng.getrandbits(24) % (hi - lo)
                            window_end = bounds[bisect.bisect_right(bounds, t)]
                            local_day = ordinals[bisect.bisect_right(day_starts, t) - 1]
                            left -= gen.visitor(day, local_day, t, window_end, left, pool)
                    _write_day(conn, gen, day)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                sessions += len(day.sessions)
                bar.update(len(day.events))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    asyncio.run(_roll_days(Path(db_path), Site(site_id, domain, tz), end))
    return DemoResult(domain, events, sessions, time.perf_counter() - began, time.process_time() - cpu)
