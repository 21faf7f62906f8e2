"""The demo's traffic model: a European communications blog, as enriched events.

Power-law articles, visits of several pages and bounces, search, LinkedIn,
Xing, Instagram and newsletter visits, countries, devices, scroll depth and
engaged time, outbound clicks and downloads, all following a day/night rhythm
in the site's time zone. `Traffic.day` returns one UTC day's events as the
collector would hand them to the store after enrichment: attributed with
`referrers.attribute`, devices parsed with `useragents.parse`, day-scoped
visitor ids. A visitor's visits stay inside one UTC day and one local day, so
nothing crosses midnight and daily rollups agree exactly with raw events.
"""

from __future__ import annotations

import bisect
import math
import operator
import random
import zlib
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from analytics.catalog import ATTR_DEFAULTS, SESSION_ATTRS
from analytics.enrich import referrers, urls, useragents
from analytics.model import DAY, Event, SessionAttrs
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


def words(page: str) -> int:
    """A page's length in words, as the tracker measures it: articles 200-1,600, other pages 150.

    Fixed per path (no draw from the seeded generator, so the traffic stays the same).
    """
    return 200 + zlib.crc32(page.encode()) % 1400 if page.startswith("/blog/") else 150


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



@dataclass(frozen=True, slots=True)
class _Source:
    values: dict[str, str]  # first-touch attributes from referrers.attribute(), by SESSION_ATTRS name
    entry: list[str]  # pool of landing pages
    kind: str


def _known(obj: object) -> dict[str, str]:
    """The first-touch attributes `obj` (an attribution, a device) has, by name."""
    return {n: getattr(obj, n) for n in SESSION_ATTRS if hasattr(obj, n)}


def session_attrs(values: dict[str, str]) -> SessionAttrs:
    """Attributes for every catalog attribute SessionAttrs has: the catalog's default where unknown."""
    return SessionAttrs(**{n: values.get(n, ATTR_DEFAULTS[n]) for n in SESSION_ATTRS})


# -- one day of visits ---------------------------------------------------------------


class Traffic:
    """Whole visits of one site, from a seeded RNG: the same seed gives the same events."""

    def __init__(self, site_id: int, domain: str, timezone: str, seed: int) -> None:
        self.site_id = site_id
        self.host = domain
        self.tz = zoneinfo.ZoneInfo(timezone)
        self.rng = rng = random.Random(seed)
        arts = articles()
        zipf = [1 / (rank + 1) ** 1.1 for rank in range(len(arts))]
        self.articles = frozenset(arts)
        statics = [p for p, _ in STATIC_PAGES]
        static_w = [w for _, w in STATIC_PAGES]
        # Next page in a visit: static pages and articles together; landing pools per source kind.
        self.next_pool = _pool(statics + arts, static_w + [w * 120 for w in zipf])
        landing = {
            "article": _pool([*arts, "/"], [*zipf, 0.4]),
            "home": _pool(statics + arts, static_w + [w * 60 for w in zipf]),
            # "Recent" posts, the ones shared on social media and in newsletters: a steeper head.
            "recent": _pool([*arts[:40], "/"], [1 / (r + 1) ** 1.6 for r in range(40)] + [0.15]),
        }
        self.sources = []
        for _, query, ref, land, kind in SOURCES:
            url = urls.clean(f"https://demo.invalid/?{query}")
            attribution = referrers.attribute(url.query, ref, "demo.invalid")
            self.sources.append(_Source(_known(attribution), landing[land], kind))
        self._source_pools: dict[tuple[bool, bool], list[int]] = {}
        self.devices = []
        for _, _, ua, width in DEVICES:
            self.devices.append({**_known(useragents.parse(ua)), "screen": useragents.screen_class(width)})
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
        self.links = [(("url", u),) for u in OUTBOUND]
        self.downloads = [(("url", f"https://{domain}{path}"),) for path in DOWNLOADS]
        self._attrs: dict[tuple[int, int, str], SessionAttrs] = {}

    def attrs(self, src: int, dev: int, country: str) -> SessionAttrs:
        """A visit's attributes: one shared object per source, device and country."""
        key = (src, dev, country)
        a = self._attrs.get(key)
        if a is None:
            a = self._attrs[key] = session_attrs({**self.sources[src].values, **self.devices[dev], "country": country})
        return a

    def source_pool(self, newsletter_day: bool, viral: bool) -> list[int]:
        """Source profiles to draw from: newsletter days and viral LinkedIn days shift the mix."""
        key = (newsletter_day, viral)
        if key not in self._source_pools:
            weights = []
            for w, _, ref, _, kind in SOURCES:
                if newsletter_day and kind == "email":
                    w *= 5
                if viral and ref and ("linkedin" in ref or "lnkd" in ref):
                    w *= 6
                weights.append(w)
            self._source_pools[key] = _pool(range(len(SOURCES)), weights)
        return self._source_pools[key]

    def day(
        self, hours: list[tuple[int, int]], start: int, end: int, bounds: list[int], day_starts: list[int],
        ordinals: list[int],
    ) -> list[Event]:  # fmt: skip
        """The events of `hours` [(UTC hour start, events)] within [start, end), in time order.

        `bounds` are the midnights a visitor's visits may not cross; `day_starts`
        and `ordinals` the local midnights and their days (see `midnights`, `local_days`).
        """
        out: list[Event] = []
        for h, count in hours:
            local = datetime.fromtimestamp(h, self.tz).date()
            pool = self.source_pool(local.weekday() == 1, local in _viral_days(local, 1))
            lo, hi = max(h, start), min(h + HOUR, end)
            left = count
            while left > 0:
                t = lo + self.rng.getrandbits(24) % (hi - lo)
                window_end = bounds[bisect.bisect_right(bounds, t)]
                local_day = ordinals[bisect.bisect_right(day_starts, t) - 1]
                left -= self.visitor(out, local_day, t, window_end, left, pool)
        out.sort(key=operator.attrgetter("ts"))  # stable: a visit's events keep their order within a second
        return out

    def visitor(self, out: list[Event], local_day: int, start: int, window_end: int, limit: int,
                sources: list[int]) -> int:  # fmt: skip
        """One visitor's visits on one local day, from `start`; returns the number of events (<= limit)."""
        gb = self.rng.getrandbits
        visitor_id = gb(64) - (1 << 63)
        country = self.country_pool[gb(_POOL_BITS)]
        src = sources[gb(_POOL_BITS)]
        social = self.sources[src].kind == "social"
        dev = (self.social_device_pool if social else self.device_pool)[gb(_POOL_BITS)]
        visits = self.visits_pool[gb(_POOL_BITS)]
        written = 0
        t = last = start
        for n in range(visits):
            if n:
                t = last + TIMEOUT + 1 + self.gap[gb(_POOL_BITS)]
                if t >= window_end:
                    break
                if gb(1):
                    src = 0  # returning visitors often come back directly
            attrs = self.attrs(src, dev, country)
            made, last = self.visit(out, local_day, visitor_id, t, window_end, limit - written, src, attrs)
            written += made
            if written >= limit:
                break
        return written

    def visit(
        self, out: list[Event], day: int, visitor_id: int, start: int, window_end: int, limit: int, src: int,
        attrs: SessionAttrs,
    ) -> tuple[int, int]:  # fmt: skip
        """One visit's events (at most `limit`); returns their number and the time of the last one."""
        gb, rnd, append = self.rng.getrandbits, self.rng.random, out.append
        bits = _POOL_BITS
        site, host = self.site_id, self.host
        dwells, depths, engaged, next_pool = self.dwell, self.scroll, self.engaged, self.next_pool
        page = self.sources[src].entry[gb(bits)]
        scrolled: dict[str, int] = {}  # page -> deepest scroll sent so far: the tracker sends the maximum
        want = self.pageviews_pool[gb(bits)]
        pageviews = n = 0
        t = last = start
        while True:
            append(Event(site, t, day, visitor_id, None, "pageview", host, page, attrs))
            n += 1
            pageviews += 1
            last = t
            if n >= limit:
                break
            dwell = dwells[gb(bits)]
            if rnd() < 0.12:  # maybe a goal: an outbound click or download, a signup, a contact form
                done = self.goal(out, day, visitor_id, t, dwell, page, window_end, attrs)
                if done:
                    n += 1
                    last = done
                    if n >= limit:
                        break
            # The engagement event when the reader leaves the page.
            te = t + dwell
            if te >= window_end:
                break
            if dwell >= 4 and rnd() < 0.12:
                # The tab was hidden half-way, then closed: two sends, the second with the rest.
                half = t + dwell // 2
                for ts in (half, te):
                    depth = max(depths[gb(bits)], scrolled.get(page, 0))
                    scrolled[page] = depth
                    ms = int(dwell * 500 * engaged[gb(bits)] / 1000)
                    append(Event(site, ts, day, visitor_id, None, "engagement", host, page, attrs, (), True, depth, ms,
                                 words=words(page)))  # fmt: skip
                    n += 1
                    last = ts
                    if n >= limit:
                        break
            else:
                depth = depths[gb(bits)]
                scrolled[page] = max(depth, scrolled.get(page, 0))
                ms = int(dwell * engaged[gb(bits)])
                append(Event(site, te, day, visitor_id, None, "engagement", host, page, attrs, (), True, depth, ms,
                             words=words(page)))  # fmt: skip
                n += 1
                last = te
            if n >= limit or pageviews >= want:
                break
            t = te + 1 + gb(3)
            if t >= window_end:
                break
            nxt = next_pool[gb(bits)]
            page = nxt if nxt != page else next_pool[gb(bits)]
        return n, last

    def goal(self, out: list[Event], day: int, visitor_id: int, t: int, dwell: int, page: str, window_end: int,
             attrs: SessionAttrs) -> int:  # fmt: skip
        """Maybe a custom event on `page` while it is read; returns its time, or 0 for none."""
        gb = self.rng.getrandbits
        r = self.rng.random()
        props: tuple[tuple[str, str], ...] = ()
        if page in self.articles:
            if r < 0.05:
                name, pool = "Outbound Link: Click", self.links
            elif r < 0.065:
                name, pool = "File Download", self.downloads
            else:
                return 0
            props = pool[gb(_POOL_BITS) % len(pool)]
        elif page == "/newsletter/" and r < 0.12:
            name = "Newsletter Signup"
        elif page == "/contact/" and r < 0.08:
            name = "Contact Form"
        else:
            return 0
        ts = t + 1 + gb(_POOL_BITS) % dwell
        if ts >= window_end:
            return 0
        out.append(Event(self.site_id, ts, day, visitor_id, None, name, self.host, page, attrs, props))
        return ts


