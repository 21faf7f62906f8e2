"""The storage boundary: the domain operations every event-store backend implements.

The collector, the stats pipeline, export/import and the dashboard talk only
to `Store`: write a batch of events, return sums for planned queries,
housekeeping, and a site's data in and out. No SQL, connection or backend type
crosses it; each backend (SQLite now, ClickHouse next) compiles plans to its
own language.

Exports and imports speak in reports: a `RollupRead` names which rollup sums an
export report reads, and an `ImportPart` carries one report's daily rows of
imported history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from analytics.model import Event, Site

if TYPE_CHECKING:
    from analytics.stats.plan import Plan


@dataclass(frozen=True, slots=True)
class RollupRead:
    """The daily sums one export report reads, in backend-neutral names.

    `rollup` is a rollup table of the catalog (e.g. "rollup_sources"), `keys` the
    key columns a row is grouped by (a subset of the table's key, in the report's
    order), `sums` the counters summed per group (e.g. "visitors", "v_source",
    "time_total").
    """

    rollup: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]


# One local day of an export report: the day, and one row per distinct key,
# (*key values as text, *sums as int), sorted by the key values.
DayRows = tuple[date, list[tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class ImportPart:
    """One report's rows of imported history, for `Store.import_rows`.

    `report` names the report ("pages"); `columns` the value columns after the
    date, in row order; `batches` yields lists of rows `(date, *values)` and may
    raise, which rolls the whole import back. `span` is the range of days the part
    covers even where it has no rows (a Plausible file name's dates), or None.
    """

    report: str
    columns: tuple[str, ...]
    batches: Iterable[Sequence[tuple[Any, ...]]]
    span: tuple[date, date] | None = None


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One import of history into a site: what it was, which days it covers, how many rows it holds."""

    id: int
    created_at: int
    source: str  # the imported file's name
    first_day: date | None  # None when the import held no rows and no dated file names
    last_day: date | None
    rows: int


@dataclass(frozen=True, slots=True)
class Recent:
    """What a site's raw events show for a short recent window, for the live view.

    Every figure counts distinct visitor ids (a visitor is one id, whatever its
    events) among events of any kind, engagement included, except `pageviews`.
    `minutes` has one entry per UTC minute with events: (the minute's start as
    Unix seconds, visitors, pageviews), in time order. `pages` (pageview events
    only) and `sources` (the visit's source as the API shows it) are (value, visitors),
    most visitors first, then by value, at most `limit` rows each.
    """

    visitors: int
    pageviews: int
    minutes: list[tuple[int, int, int]]
    pages: list[tuple[str, int]]
    sources: list[tuple[str, int]]


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None:
        """Commit everything accepted so far, then release the database."""

    async def submit(self, events: list[Event]) -> list[bool]:
        """Queue events and wait until their batch is committed.

        Returns per event whether it was stored (an engagement event without a
        session is not). Raises QueueFull when the queue is at capacity.
        """

    async def housekeeping(self, now: float, sites: Sequence[Site], retention_months: int = 25) -> None:
        """Enforce retention and maintain derived tables for `sites` (from accounts)."""

    async def delete_site(self, site_id: int, *, forever: bool = True) -> None:
        """Delete every row of a site's event data (its account row is the accounts' to delete).

        `forever` (a removed site): the id takes no events from then on. Without it
        (`store copy` clearing its target first) the site goes on receiving events.
        """

    async def sums(self, plans: Sequence[Plan]) -> list[dict[tuple[Any, ...], dict[str, float]]]:
        """Per plan, its group keys (dimension values as the API shows them) and their sums.

        The planner (stats.plan) decided what each plan reads; a backend only
        compiles and runs it. A batch is answered together, so a backend can
        share lookups and connections across a whole dashboard.
        """

    # -- realtime: raw events of the last minutes, never rollup buckets ------------

    async def current_visitors(self, site: Site, since: datetime, until: datetime) -> int:
        """Distinct visitors with an event of any kind at a second in [since, until], from raw events.

        Exact to the second: the live view and the v1 realtime API ask for the
        last five minutes, which no 15-minute rollup bucket can answer.
        """
        ...

    async def recent(self, site: Site, since: datetime, until: datetime, limit: int) -> Recent:
        """The site's activity in [since, until] (see `Recent`), from raw events."""
        ...

    # -- history in and out ------------------------------------------------------

    async def data_range(self, site: Site) -> tuple[date, date] | None:
        """The first and last local day with native (not imported) data, or None for an empty site."""

    def export_rows(self, site: Site, read: RollupRead, first_day: date, last_day: date) -> AsyncIterator[DayRows]:
        """The daily sums of `read` for the site's local days [first_day, last_day], day by day.

        Yields only days with rows, in order; a row whose sums are all zero may be
        among them. The range is read per report, not per day, and streamed: memory
        holds about one day of one report, and no database connection is held
        while the caller works on a yielded day.
        """
        ...

    async def import_rows(self, site: Site, source: str, parts: Iterable[ImportPart]) -> ImportRecord:
        """Store imported history, all or nothing, as a new import named `source`.

        Per part, the days it covers (its span and the dates of its rows) replace
        what earlier imports held for that report on those days; earlier imports
        left without rows are forgotten. An exception raised while reading a part's
        batches rolls everything back and is raised again.
        """
        ...

    async def imported_range(self, site_id: int) -> tuple[date, date] | None:
        """The first and last day of the site's imported history, or None."""

    async def list_imports(self, site_id: int) -> list[ImportRecord]:
        """The site's imports, newest first."""
        ...

    async def remove_imports(self, site_id: int, import_id: int | None = None) -> int:
        """Delete one of the site's imports with its rows, or all of them; returns how many were deleted."""
        ...

    def replay(self, site: Site, page: int = 5000) -> AsyncIterator[list[Event]]:
        """The site's stored events in time order, in lists of up to `page`, for another store to write.

        Each carries its visit's first-touch attributes and visitor id, so
        `submit` on another store rebuilds the same visits and rollups
        (`analytics store copy`). Streamed: no connection is held between lists.
        """
        ...
