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
entrances. The median (`time_on_page_median`) reads raw events, so it is asked
only for the listed pages, after the first two queries chose them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from analytics.catalog import BY_NAME
from analytics.web.reports import Stats, fmt
from analytics.web.state import Range, State

ENTRY = BY_NAME["visit:entry_page"].param or "entry"  # the dashboard's entry page filter
PAGE = BY_NAME["event:page"].param or "page"
PAGE_DIMENSION, ENTRY_DIMENSION = "event:page", "visit:entry_page"
MIN_ENTRIES = 10
MIN_VIEWS = 10
SHOWN = 10
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


async def pages_in_view(stats: Stats, r: Range) -> list[Page]:
    """Views, reads and entrances per page, which rollups answer on an unfiltered view; then,
    for the pages the check lists, their entrances by channel and median engaged time, which
    only raw data holds, so those two queries read the listed pages' rows alone."""
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
    pages = [
        Page(str(page), int(views or 0), int(reads or 0), float(rate or 0), entrances.get(str(page), 0))
        for (page,), (views, reads, rate) in by_page.rows
    ]
    listed, _ = flagged(pages)
    if not listed:
        return pages
    paths = [p.path for p in listed]
    by_channel, medians = await asyncio.gather(
        stats.run({
            "metrics": ["visits"], "date_range": r.body(), "dimensions": ["visit:entry_page", "visit:channel"],
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
    return [
        dataclasses.replace(p, channels=channels.get(p.path, {}), median_time=median_of.get(p.path))
        if p in listed else p
        for p in pages
    ]  # fmt: skip


def panel(pages: list[Page], state: State, links: bool) -> dict[str, Any]:
    """The panel as the template shows it; `links` is False on views without filters."""
    rows, median = flagged(pages)
    out = []
    for p in rows:
        channels = sorted(p.channels.items(), key=lambda kv: (-kv[1], kv[0]))
        out.append({
            "label": p.path,
            "link": state.with_filter(PAGE, p.path) if links else None,
            "entries": fmt("visits", p.entrances),
            "channels": [
                {"label": ch, "value": fmt("visits", n),
                 "link": state.with_filter(ENTRY, p.path, ("channel", ch)) if links else None}
                for ch, n in channels
            ],
            "read_rate": fmt("read_rate", p.read_rate),
            "median": fmt("read_rate", round(median or 0, 1)),
            "time": fmt("time_on_page", p.median_time),
        })  # fmt: skip
    return {
        "rows": out,
        "rule": RULE.format(median=fmt("read_rate", round(median, 1)) if median is not None else "no such pages yet"),
    }
