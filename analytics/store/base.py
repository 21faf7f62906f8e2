"""The storage interface: write a batch, run a stats query, housekeeping.

The collector and the stats layer talk only to `Store`. A backend (SQLite now,
ClickHouse later) implements it; the stats layer hands it a backend-neutral
`Query` that the backend compiles to its own SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from analytics.stats.query import Query, QueryResult


@dataclass(frozen=True, slots=True)
class SessionAttrs:
    """First-touch attributes of a visit, taken from the event that starts it."""

    channel: str = "Direct"
    source: str = "Direct / None"
    referrer: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_content: str = ""
    utm_term: str = ""
    country: str = ""
    device: str = ""
    browser: str = ""
    browser_version: str = ""
    os: str = ""
    os_version: str = ""
    screen: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """An enriched, privacy-reduced event: no IP address, no user agent."""

    site_id: int
    ts: int
    day: int  # the event's calendar day in the site's time zone (date ordinal)
    visitor_id: int
    prev_visitor_id: int | None
    name: str
    hostname: str
    path: str
    attrs: SessionAttrs
    props: tuple[tuple[str, str], ...] = ()
    interactive: bool = True
    scroll_depth: int | None = None
    engaged_ms: int | None = None
    revenue: tuple[float, str] | None = None

    @property
    def kind(self) -> str:
        if self.name == "pageview":
            return "pageview"
        if self.name == "engagement":
            return "engagement"
        return "custom"


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    domain: str
    timezone: str
    honor_signals: bool = True
    allowed_params: tuple[str, ...] = ()
    excluded_paths: tuple[str, ...] = ()
    share_token: str | None = None
    share_password_hash: str | None = None


class QueueFull(Exception):
    """The write queue is at capacity; the caller answers 503 with Retry-After."""


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None:
        """Commit everything accepted so far, then release the database."""

    async def submit(self, events: list[Event]) -> list[bool]:
        """Queue events and wait until their batch is committed.

        Returns per event whether it was stored (an engagement event without a
        session is not). Raises QueueFull when the queue is at capacity.
        """

    async def salts(self, day: int) -> dict[int, bytes]:
        """The salts for `day` and `day - 1`, creating today's if needed."""

    async def housekeeping(self, now: float) -> None:
        """Rotate salts (destroying old ones) and enforce retention."""

    async def site_by_domain(self, domain: str) -> Site | None: ...

    async def query(self, query: Query) -> QueryResult: ...

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...
