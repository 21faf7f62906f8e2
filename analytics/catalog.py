"""The catalog of dimensions: every breakdown the service offers, declared once.

Each `Dimension` says where its value comes from, where it is stored, which
rollup table keys it, how the dashboard filters and shows it, which export
report carries it and what the disclosure page tells readers about it. Every
other layer derives its lists from here: the visit attributes the writer
keeps, the rollup tables and their keys, the Stats API's dimension list and
its OpenAPI enum, the dashboard's filter parameters and tabs, the export
reports, site removal, the demo generator and the bench.

Adding a dimension is one entry here, a migration per store backend (a column
on visits, a rollup table) and, for a visit attribute, the enrichment step
that produces its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["visit", "event"]
# How a dashboard tab shows a dimension's rows: visit figures (bounce, duration),
# a share of visitors, page figures, or goal figures.
Columns = Literal["visits", "share", "pages", "entries", "exits", "goals"]


@dataclass(frozen=True, slots=True)
class Dimension:
    """One breakdown, e.g. `visit:source`, and everything each layer needs to know of it."""

    name: str  # the Stats API name
    level: Level  # a visit's first-touch attribute, or a property of each event
    label: str  # filter chip and column heading, e.g. "Source"
    source: str  # where the value comes from, for developers
    column: str  # the storage column (on visits for level "visit", on events for "event")
    rollup: str | None = None  # the rollup table keyed by this column, if any
    first_touch: bool = False  # a visit attribute taken from the visit's first event
    text: bool = False  # stored as short text; other string columns are interned ids
    param: str | None = None  # the dashboard's URL filter parameter
    panel: str | None = None  # the dashboard panel that shows it
    tab: str | None = None  # the tab key within that panel
    tab_title: str | None = None  # defaults to the label
    columns: Columns = "visits"
    empty_label: str = "(none)"  # how an empty value reads in a panel
    hide_empty: bool = False  # e.g. UTM tabs: a visit without the tag is not a row
    drill: str | None = None  # with this dimension filtered, its tab shows that dimension instead
    export: tuple[str, str] | None = None  # (report, CSV column) in the export zip
    disclosure: str | None = None  # what the disclosure page tells readers, in plain words
    default: str = ""  # the value when nothing is known
    names: str | None = None  # panels show names for these codes: "language" (ISO 639-1), "country" (ISO 3166-1)
    # Settled days of every rollup table are kept again per value of this visit attribute, so a
    # filter on one value reads rollups instead of raw events (store.sqlite.splits). The number
    # names the attribute in the `*_seg` tables: fixed once given, never reused.
    segment: int | None = None


_UTM = "the page URL's {} parameter"
# What the disclosure page says about each kind of data. Entries that share a text are told once.
PAGE_TEXT = "The page's address without its query string (host name and path)"
_UTM_DISCLOSURE = (
    "Campaign tags in the address (utm_source, utm_medium, utm_campaign, utm_content, utm_term, ref, source),"
    " stored as the visit's source."
)
_REFERRER = (
    "Where you came from, reduced to the referring site's host and path (its query string is dropped) and a"
    ' channel such as "Organic Search".'
)
_DEVICE = (
    "Your browser and operating system with their major version, the device class (desktop, mobile or tablet)"
    " and a screen-width class. Never the full user-agent string."
)
_EVENTS = (
    "Events the site chooses to send, such as clicks on outbound links, file downloads or sign-ups, with the"
    " properties the site attaches to them."
)


def _utm(tag: str, segment: int | None = None) -> Dimension:
    return Dimension(
        f"visit:utm_{tag}", "visit", f"UTM {tag}", _UTM.format(f"utm_{tag}"), f"utm_{tag}", "rollup_sources",
        first_touch=True, param=f"utm_{tag}", panel="sources", tab=f"utm_{tag}", hide_empty=True,
        export=("sources", f"utm_{tag}"), disclosure=_UTM_DISCLOSURE, segment=segment,
    )  # fmt: skip


DIMENSIONS: tuple[Dimension, ...] = (
    # Events: where each event happened.
    Dimension(
        "event:hostname", "event", "Hostname", "the page URL's host", "hostname", "rollup_pages",
        param="hostname", export=("pages", "hostname"), disclosure=PAGE_TEXT,
    ),  # fmt: skip
    Dimension(
        "event:page", "event", "Page", "the page URL's path (and fragment in hash mode)", "page", "rollup_pages",
        param="page", panel="pages", tab="pages", tab_title="Top pages", columns="pages",
        export=("pages", "page"), disclosure=PAGE_TEXT,
    ),  # fmt: skip
    Dimension("event:name", "event", "Event", "the event's name", "name", disclosure=_EVENTS),
    Dimension(
        "event:goal", "event", "Goal", "a custom event's name", "name", "rollup_events",
        param="goal", panel="goals", tab="goals", tab_title="Goals", columns="goals",
        export=("custom_events", "name"), disclosure=_EVENTS,
    ),  # fmt: skip
    # Visits: first-touch attributes and where a visit entered and left.
    Dimension(
        "visit:entry_page", "visit", "Entry page", "the path of the visit's first pageview", "entry_page",
        "rollup_entry_pages", param="entry", panel="pages", tab="entry", tab_title="Entry pages",
        columns="entries", export=("entry_pages", "entry_page"), disclosure=PAGE_TEXT,
    ),  # fmt: skip
    Dimension(
        "visit:exit_page", "visit", "Exit page", "the path of the visit's last pageview", "exit_page",
        "rollup_exit_pages", param="exit", panel="pages", tab="exit", tab_title="Exit pages",
        columns="exits", export=("exit_pages", "exit_page"), disclosure=PAGE_TEXT,
    ),  # fmt: skip
    Dimension(
        "visit:channel", "visit", "Channel", "derived from source, UTM medium and click ids", "channel",
        "rollup_sources", first_touch=True, param="channel", panel="sources", tab="channels",
        tab_title="Channels", default="Direct", disclosure=_REFERRER, segment=1,
    ),  # fmt: skip
    Dimension(
        "visit:source", "visit", "Source", "utm_source, source or ref parameters, else the Referer's site",
        "source", "rollup_sources", first_touch=True, param="source", panel="sources", tab="sources",
        tab_title="Sources", drill="visit:referrer", export=("sources", "source"), default="Direct / None",
        disclosure=_REFERRER, segment=2,
    ),  # fmt: skip
    Dimension(
        "visit:referrer", "visit", "Referrer", "the Referer's host and path", "referrer", "rollup_sources",
        first_touch=True, param="referrer", empty_label="Direct / None", export=("sources", "referrer"),
        disclosure=_REFERRER,
    ),  # fmt: skip
    _utm("source"),
    _utm("medium"),
    _utm("campaign", segment=3),  # "this campaign: where did its visitors go?"
    _utm("content"),
    _utm("term"),
    Dimension(
        "visit:country", "visit", "Country", "the IP address, looked up offline, then dropped", "country",
        "rollup_locations", first_touch=True, text=True, param="country", panel="locations", tab="countries",
        tab_title="Countries", columns="share", empty_label="(unknown)", names="country",
        export=("locations", "country"),
        disclosure="Your country, looked up from your IP address in memory with a database that ships with the"
        " service; the address is then dropped. Nothing finer than the country.",
    ),  # fmt: skip
    Dimension(
        "visit:language", "visit", "Language", "the first language of the Accept-Language header (ISO 639-1)",
        "language", "rollup_languages", first_touch=True, text=True, param="language", panel="locations",
        tab="languages", tab_title="Languages", columns="share", empty_label="(unknown)", names="language",
        export=("languages", "language"),
        disclosure="The language your browser asks for first, as a two-letter code such as \"de\" (from its"
        " Accept-Language header); nothing else of your language settings.",
    ),  # fmt: skip
    Dimension(
        "visit:browser", "visit", "Browser", "the user agent's browser", "browser", "rollup_browsers",
        first_touch=True, param="browser", panel="devices", tab="browsers", tab_title="Browsers",
        columns="share", empty_label="(unknown)", drill="visit:browser_version", export=("browsers", "browser"),
        disclosure=_DEVICE,
    ),  # fmt: skip
    Dimension(
        "visit:browser_version", "visit", "Browser version", "the user agent's browser major version",
        "browser_version", "rollup_browsers", first_touch=True, param="browser_version", columns="share",
        empty_label="(unknown)", tab_title="Browser versions", export=("browsers", "browser_version"),
        disclosure=_DEVICE,
    ),  # fmt: skip
    Dimension(
        "visit:os", "visit", "Operating system", "the user agent's operating system", "os", "rollup_os",
        first_touch=True, param="os", panel="devices", tab="os", tab_title="Operating systems", columns="share",
        empty_label="(unknown)", drill="visit:os_version", export=("operating_systems", "operating_system"),
        disclosure=_DEVICE,
    ),  # fmt: skip
    Dimension(
        "visit:os_version", "visit", "OS version", "the user agent's operating system major version",
        "os_version", "rollup_os", first_touch=True, param="os_version", columns="share",
        empty_label="(unknown)", tab_title="OS versions",
        export=("operating_systems", "operating_system_version"), disclosure=_DEVICE,
    ),  # fmt: skip
    Dimension(
        "visit:device", "visit", "Device", "the user agent's device class", "device", "rollup_devices",
        first_touch=True, param="device", panel="devices", tab="devices", tab_title="Devices", columns="share",
        empty_label="(unknown)", export=("devices", "device"),
        disclosure=_DEVICE,
    ),  # fmt: skip
    Dimension(
        "visit:screen", "visit", "Screen size", "the screen width class the script reports", "screen",
        "rollup_devices", first_touch=True, param="screen", panel="devices", tab="screens",
        tab_title="Screen sizes", columns="share", empty_label="(unknown)",
        disclosure=_DEVICE,
    ),  # fmt: skip
)

BY_NAME: dict[str, Dimension] = {d.name: d for d in DIMENSIONS}
EVENT_DIMENSIONS = tuple(d.name for d in DIMENSIONS if d.level == "event")
VISIT_DIMENSIONS = tuple(d.name for d in DIMENSIONS if d.level == "visit")
TIME_DIMENSIONS = ("time", "time:hour", "time:day", "time:week", "time:month")
PROPS_PREFIX = "event:props:"

# A visit's first-touch attributes, in storage order: what the writer keeps per visit.
FIRST_TOUCH: tuple[Dimension, ...] = tuple(d for d in DIMENSIONS if d.first_touch)
SESSION_ATTRS: tuple[str, ...] = tuple(d.column for d in FIRST_TOUCH)
TEXT_ATTRS: frozenset[str] = frozenset(d.column for d in FIRST_TOUCH if d.text)
ATTR_DEFAULTS: dict[str, str] = {d.column: d.default for d in FIRST_TOUCH}

# Dashboard URL parameter -> dimension, and its label.
FILTER_PARAMS: dict[str, str] = {d.param: d.name for d in DIMENSIONS if d.param}
FILTER_LABELS: dict[str, str] = {d.param: d.label for d in DIMENSIONS if d.param}
PANELS: tuple[str, ...] = tuple(dict.fromkeys(d.panel for d in DIMENSIONS if d.panel))


@dataclass(frozen=True, slots=True)
class Rollup:
    """A rollup table: its key columns in key order, its level, its per-column visitor credits."""

    table: str
    keys: tuple[str, ...]
    level: Level
    # Columns with a `v_<column>` counter that credits a visitor once per value of that
    # column alone, so a breakdown by one column of a wider key counts visitors exactly.
    credits: tuple[str, ...] = ()


def _rollups() -> tuple[Rollup, ...]:
    tables: dict[str, list[str]] = {}
    levels: dict[str, Level] = {}
    for d in DIMENSIONS:
        if d.rollup is not None:
            keys = tables.setdefault(d.rollup, [])
            if d.column not in keys:
                keys.append(d.column)
            levels[d.rollup] = d.level
    # Goals are keyed by more than their name: the link a click went to and the
    # path of a pageview goal, so outbound links and downloads break down by URL.
    tables["rollup_events"] += ["link_url", "path"]
    out = [Rollup("rollup_totals", (), "visit")]
    for table, keys in tables.items():
        if levels[table] == "visit":
            credits = tuple(keys) if len(keys) > 1 else ()
        else:
            credits = ("name",) if table == "rollup_events" else ()
        out.append(Rollup(table, tuple(keys), levels[table], credits))
    return tuple(out)


ROLLUPS: tuple[Rollup, ...] = _rollups()
ROLLUP_KEYS: dict[str, tuple[str, ...]] = {r.table: r.keys for r in ROLLUPS}
CREDITS: dict[str, tuple[str, ...]] = {r.table: r.credits for r in ROLLUPS}
VISIT_ROLLUPS: tuple[Rollup, ...] = tuple(r for r in ROLLUPS if r.level == "visit" and r.keys)
# Visit attributes whose settled days the rollups keep per value: dimension -> its number.
SEGMENTS: dict[str, int] = {d.name: d.segment for d in DIMENSIONS if d.segment is not None}
if len(set(SEGMENTS.values())) != len(SEGMENTS):
    raise RuntimeError("two segments share a number")
_unfit = [d.name for d in DIMENSIONS if d.segment is not None and (not d.first_touch or d.text)]
if _unfit:
    raise RuntimeError(f"segments must be interned first-touch visit attributes: {_unfit}")
# Dimension -> (rollup table, key column), for the dimensions a rollup answers.
ROLLUP_DIMS: dict[str, tuple[str, str]] = {d.name: (d.rollup, d.column) for d in DIMENSIONS if d.rollup}


def visitor_credit(table: str, columns: list[str]) -> str | None:
    """The rollup column that counts each visitor once for a breakdown by `columns`.

    `visitors` credits a visitor once per full key of the table; `v_<column>`
    once per value of that one column. A breakdown by part of a multi-column
    key (other than a single column) has no exact visitor count in rollups.
    """
    keys = ROLLUP_KEYS[table]
    if len(keys) <= 1 or set(columns) == set(keys):
        return "visitors"
    if table == "rollup_pages" and columns == ["page"]:
        return "visitors"  # a path is counted per page; the same path on two hosts is rare
    if len(columns) == 1 and columns[0] in CREDITS[table]:
        return f"v_{columns[0]}"
    return None


def disclosure_lines() -> list[str]:
    """What is stored, one plain-language line per kind of data, in catalog order, each once."""
    return list(dict.fromkeys(d.disclosure for d in DIMENSIONS if d.disclosure))


def is_dimension(name: str) -> bool:
    """Whether `name` is a dimension the Stats API accepts."""
    if name.startswith(PROPS_PREFIX):
        return 0 < len(name) - len(PROPS_PREFIX) <= 300
    return name in BY_NAME or name in TIME_DIMENSIONS


def api_dimensions() -> list[str]:
    """Every fixed dimension name, for the API's documentation (props are a pattern)."""
    return [*EVENT_DIMENSIONS, *VISIT_DIMENSIONS, *TIME_DIMENSIONS]
