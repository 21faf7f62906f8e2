"""The domain's shared types: what an event, a site and a visit's attributes are.

Every stage imports these from here; none of them knows about a database.
"""

from __future__ import annotations

from dataclasses import dataclass

# Rollups count in 15-minute UTC buckets: every time zone's offset is a multiple
# of 15 minutes, so any zone, half-hour ones included, re-buckets exactly.
BUCKET = 15 * 60
DAY = 24 * 60 * 60


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
