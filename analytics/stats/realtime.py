"""Realtime figures: who is on the site now, and the live view's last half hour.

"Current visitors" is Plausible's: distinct visitors with an event in the last
five minutes. It is read from raw events to the second (`Store.current_visitors`),
so the dashboard, the live view and `GET /api/v1/stats/realtime/visitors` give
the same number at the same instant. The live view adds the last 30 minutes:
visitors and pageviews per minute, and the pages and sources seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analytics.model import Site
from analytics.store.base import Store

CURRENT_WINDOW = timedelta(minutes=5)
LIVE_MINUTES = 30
LIVE_ROWS = 10


@dataclass(frozen=True, slots=True)
class Minute:
    start: datetime  # UTC start of the minute
    visitors: int
    pageviews: int


@dataclass(frozen=True, slots=True)
class Live:
    """The live view at `now`: current visitors, and the last `LIVE_MINUTES` minutes."""

    now: datetime
    current: int
    visitors: int  # distinct visitors in the last 30 minutes
    pageviews: int
    minutes: list[Minute]  # exactly LIVE_MINUTES entries, oldest first, the current minute last
    pages: list[tuple[str, int]]
    sources: list[tuple[str, int]]


def window(now: datetime) -> tuple[datetime, datetime]:
    """The seconds "current visitors" covers: the five minutes up to and including `now`."""
    return now - CURRENT_WINDOW, now


async def current_visitors(store: Store, site: Site, now: datetime) -> int:
    """Distinct visitors with an event of any kind in the last five minutes."""
    return await store.current_visitors(site, *window(now))


def minute_starts(now: datetime) -> list[datetime]:
    """The starts of the last LIVE_MINUTES whole UTC minutes, the one holding `now` last."""
    last = now.astimezone(UTC).replace(second=0, microsecond=0)
    return [last - timedelta(minutes=LIVE_MINUTES - 1 - i) for i in range(LIVE_MINUTES)]


async def live(store: Store, site: Site, now: datetime) -> Live:
    """Current visitors plus the last 30 minutes, per minute (minutes without events are zeros)."""
    starts = minute_starts(now)
    current = await current_visitors(store, site, now)
    recent = await store.recent(site, starts[0], now, LIVE_ROWS)
    found = {ts: (v, pv) for ts, v, pv in recent.minutes}
    minutes = [Minute(s, *found.get(int(s.timestamp()), (0, 0))) for s in starts]
    return Live(now, current, recent.visitors, recent.pageviews, minutes, recent.pages, recent.sources)
