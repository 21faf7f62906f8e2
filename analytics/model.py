"""The domain's shared types: what an event, a site and a visit's attributes are.

Every stage imports these from here; none of them knows about a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.catalog import ATTR_DEFAULTS, SESSION_ATTRS

# Rollups count in 15-minute UTC buckets: every time zone's offset is a multiple
# of 15 minutes, so any zone, half-hour ones included, re-buckets exactly.
BUCKET = 15 * 60
DAY = 24 * 60 * 60


class SessionAttrs:
    """A visit's first-touch attributes: one text value per catalog entry marked `first_touch`.

    Built with keyword arguments (`SessionAttrs(source="LinkedIn", country="CH")`);
    any attribute not given takes the catalog's default. Read by name
    (`attrs.source`, `attrs["source"]`) or in storage order (`attrs.values`,
    ordered as `catalog.SESSION_ATTRS`), so a new catalog entry needs no edit here.
    """

    __slots__ = ("values",)
    values: tuple[str, ...]

    def __init__(self, **values: str) -> None:
        unknown = values.keys() - _ATTR_INDEX.keys()
        if unknown:
            raise TypeError(f"unknown visit attribute {sorted(unknown)[0]!r}")
        object.__setattr__(self, "values", tuple(values.get(n, ATTR_DEFAULTS[n]) for n in SESSION_ATTRS))

    def __getattr__(self, name: str) -> str:
        try:
            return self.values[_ATTR_INDEX[name]]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> str:
        return self.values[_ATTR_INDEX[name]]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SessionAttrs is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SessionAttrs) and self.values == other.values

    def __hash__(self) -> int:
        return hash(self.values)

    def __repr__(self) -> str:
        pairs = zip(SESSION_ATTRS, self.values, strict=True)
        given = ", ".join(f"{n}={v!r}" for n, v in pairs if v != ATTR_DEFAULTS[n])
        return f"SessionAttrs({given})"


_ATTR_INDEX = {name: i for i, name in enumerate(SESSION_ATTRS)}


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
    # Reading (engagement only): the page's length in words as the tracker
    # measured it, and the site's read thresholds when the event arrived.
    words: int | None = None
    read_scroll: int = 75
    read_share: int = 30

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
    # A pageview is read at this scroll depth (%) after this share (%) of the
    # page's reading time engaged, at least 10 s (analytics.visits.reading).
    read_scroll: int = 75
    read_share: int = 30


class QueueFull(Exception):
    """The write queue is at capacity; the caller answers 503 with Retry-After."""
