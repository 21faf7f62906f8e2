"""`analytics store copy`: every site's events from one store into another, then totals compared.

The events are replayed (`Store.replay`) into the target's own write path, so
its visits and rollups are built by `visits/` as if the events had arrived
there; a site's old data in the target is deleted first, which makes a second
run give the same data. Imported history is not copied (see the report).
Totals per site and local day are then read through the stats pipeline from
both stores and compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from analytics.model import Site
from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.store.base import Store

METRICS = ["visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration"]


@dataclass
class Copied:
    """What a copy did for one site: events written, and the days whose totals differ (empty: all equal)."""

    site: Site
    events: int = 0
    days: int = 0
    differences: list[tuple[str, Any, Any]] = field(default_factory=list)


async def copy_site(
    source: Store, target: Store, site: Site, progress: Callable[[int], object] = lambda n: None
) -> Copied:
    """Replace the site's events in `target` with those of `source`; `progress(n)` after each n events."""
    result = Copied(site)
    await target.delete_site(site.id, forever=False)  # the site lives on: only its copy is replaced
    async for events in source.replay(site):
        result.events += sum(await target.submit(events))
        progress(len(events))
    return result


async def compare(source: Store, target: Store, site: Site, now: datetime | None = None) -> list[tuple[str, Any, Any]]:
    """Per local day with data in either store: (day, source totals, target totals) where they differ."""
    ranges = [r for r in (await source.data_range(site), await target.data_range(site)) if r]
    if not ranges:
        return []
    first: date = min(r[0] for r in ranges)
    last: date = max(r[1] for r in ranges)
    body = {"metrics": METRICS, "dimensions": ["time:day"], "date_range": [first.isoformat(), last.isoformat()]}
    q = parse(body, site, now or datetime.now(UTC))
    a, b = await stats_run.run(source, q), await stats_run.run(target, q)
    left, right = dict(a.rows), dict(b.rows)
    return [(str(k[0]), left.get(k), right.get(k)) for k in sorted({*left, *right}) if left.get(k) != right.get(k)]
