"""The Headline check panel: articles that draw clicks and lose the reader.

A page is listed when many visits enter on it and its read rate is far below
the site's median: at least `MIN_ENTRIES` entrances, and a read rate under
half the median read rate of the pages with at least `MIN_VIEWS` views, all in
the dashboard's view (its range and filters). Each row shows the entrances by
channel, the read rate against the median, and the median engaged time of the
visits that viewed it (a mean would let one tab left open hide that most
readers left within seconds).

Every number comes from Stats API queries through the shared pipeline
(`reports.Stats`), so each is reachable by filtering the dashboard: the page
filter shows its read rate in Top pages, the entry page and channel filters its
entrances. The median (`time_on_page_median`) and the channels read raw events,
so they are asked only for the listed pages, after the first two queries chose
them, and by a request of their own after the page has loaded: on a large site
they take a second or more, and the rest of the dashboard does not wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from analytics.catalog import BY_NAME
from analytics.web.reports import Stats, fmt
from analytics.web.state import MAX_VALUE, Range, State

ENTRY = BY_NAME["visit:entry_page"].param or "entry"  # the dashboard's entry page filter
PAGE = BY_NAME["event:page"].param or "page"
PAGE_DIMENSION, ENTRY_DIMENSION = "event:page", "visit:entry_page"
MIN_ENTRIES = 10
MIN_VIEWS = 10
SHOWN = 10
LISTED = "listed"  # a details request names the listed pages with this parameter, once each
FULL = "headlines"  # the dashboard with this parameter shows the details inline (no JavaScript)
RULE = (
    f"Listed: pages with at least {MIN_ENTRIES} entrances whose read rate is below half the median read rate"
    f" of the pages with at least {MIN_VIEWS} views ({{median}}), in this view."
)


@dataclass(frozen=True, slots=True)
class Page:
    """What one page did in the view."""

    path: str
    views: int
    reads: int
    read_rate: float
    entrances: int
    # Asked for the listed pages only, from raw data: entrances per channel, median engaged seconds.
    channels: dict[str, int] = field(default_factory=dict)
    median_time: int | None = None


def flagged(pages: list[Page]) -> tuple[list[Page], float | None]:
    """The listed pages (most entrances first) and the median read rate they were held against."""
    rates = [p.read_rate for p in pages if p.views >= MIN_VIEWS]
    if not rates:
        return [], None
    median = statistics.median(rates)
    out = [p for p in pages if p.entrances >= MIN_ENTRIES and p.read_rate < median / 2]
    out.sort(key=lambda p: (-p.entrances, p.path))
    return out[:SHOWN], median


async def listing(stats: Stats, r: Range) -> list[Page]:
    """Views, reads and entrances per page: what decides which pages are listed.

    Rollups answer both queries on an unfiltered view, so this half goes with
    the dashboard's own batch and costs it almost nothing."""
    by_page, by_entry = await asyncio.gather(
        stats.run({
            "metrics": ["pageviews", "reads", "read_rate"], "date_range": r.body(),
            "dimensions": ["event:page"], "pagination": {"limit": 10000},
        }),
        stats.run({
            "metrics": ["visits"], "date_range": r.body(),
            "dimensions": ["visit:entry_page"], "pagination": {"limit": 10000},
        }),
    )  # fmt: skip
    entrances = {str(page): int(visits or 0) for (page,), (visits,) in by_entry.rows}
    return [
        Page(str(page), int(views or 0), int(reads or 0), float(rate or 0), entrances.get(str(page), 0))
        for (page,), (views, reads, rate) in by_page.rows
    ]


async def details(stats: Stats, r: Range, paths: list[str]) -> dict[str, tuple[dict[str, int], int | None]]:
    """For the listed `paths`: entrances by channel and median engaged seconds, per path.

    Only raw data holds these, so they read every event of the view's range. The
    dashboard asks for them after the page has loaded (`details_json`), so a
    large site's page view never waits for them."""
    if not paths:
        return {}
    by_channel, medians = await asyncio.gather(
        stats.run({
            "metrics": ["visits"], "date_range": r.body(), "dimensions": [ENTRY_DIMENSION, "visit:channel"],
            "extra_filters": [["is", ENTRY_DIMENSION, paths]], "pagination": {"limit": 10000},
        }),
        stats.run({
            "metrics": ["time_on_page_median"], "date_range": r.body(), "dimensions": [PAGE_DIMENSION],
            "extra_filters": [["is", PAGE_DIMENSION, paths]], "pagination": {"limit": SHOWN},
        }),
    )  # fmt: skip
    channels: dict[str, dict[str, int]] = defaultdict(dict)
    for (page, channel), (visits,) in by_channel.rows:
        channels[str(page)][str(channel)] = int(visits or 0)
    median_of = {str(page): None if value is None else int(value) for (page,), (value,) in medians.rows}
    return {p: (channels.get(p, {}), median_of.get(p)) for p in paths}


def with_details(pages: list[Page], found: dict[str, tuple[dict[str, int], int | None]]) -> list[Page]:
    return [
        dataclasses.replace(p, channels=found[p.path][0], median_time=found[p.path][1]) if p.path in found else p
        for p in pages
    ]


async def pages_in_view(stats: Stats, r: Range) -> list[Page]:
    """Both halves in turn, as a page without JavaScript shows them (and the bench times them)."""
    pages = await listing(stats, r)
    listed, _ = flagged(pages)
    return with_details(pages, await details(stats, r, [p.path for p in listed]))


def _channels(p: Page, state: State, links: bool) -> list[dict[str, Any]]:
    return [
        {"label": ch, "value": fmt("visits", n),
         "link": state.with_filter(ENTRY, p.path, ("channel", ch)) if links else None}
        for ch, n in sorted(p.channels.items(), key=lambda kv: (-kv[1], kv[0]))
    ]  # fmt: skip


def panel(pages: list[Page], state: State, links: bool, details: str | None = None) -> dict[str, Any]:
    """The panel as the template shows it; `links` is False on views without filters.

    With `details` (the path of the details request), the listed rows wait for
    their channels and median times: app.js fetches them from there with this
    view's parameters (`details_json`), and a link loads the page with them for
    a browser without JavaScript."""
    rows, median = flagged(pages)
    out = [
        {
            "label": p.path,
            "link": state.with_filter(PAGE, p.path) if links else None,
            "entries": fmt("visits", p.entrances),
            "channels": _channels(p, state, links),
            "read_rate": fmt("read_rate", p.read_rate),
            "median": fmt("read_rate", round(median or 0, 1)),
            "time": fmt("time_on_page", p.median_time),
        }
        for p in rows
    ]
    pending = details is not None and bool(rows)
    view = state.hidden_inputs(exclude=("more",))
    return {
        "rows": out,
        "rule": RULE.format(median=fmt("read_rate", round(median, 1)) if median is not None else "no such pages yet"),
        "pending": pending,
        "details_url": f"{details}?{urlencode([*view, *((LISTED, p.path) for p in rows)])}" if pending else None,
        "full_url": state.url(**{FULL: "1"}) + "#panel-headlines" if pending else None,
    }


def details_json(pages: list[Page], state: State, links: bool) -> dict[str, Any]:
    """The listed pages' channels and median times as app.js writes them into the panel, in row order."""
    return {
        "rows": [
            {"label": p.path, "channels": _channels(p, state, links), "time": fmt("time_on_page", p.median_time)}
            for p in pages
        ]
    }


def listed_paths(values: list[str]) -> list[str]:
    """The `listed` parameters of a details request: at most the panel's rows, each a page path."""
    return [v[:MAX_VALUE] for v in values[:SHOWN]]
