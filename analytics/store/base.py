"""The storage interface: write a batch, run a stats query, housekeeping.

The collector and the stats layer talk only to `Store`. A backend (SQLite now,
ClickHouse later) implements it; the stats layer hands it a backend-neutral
`Query` that the backend compiles to its own SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from analytics.model import Event, Site

if TYPE_CHECKING:
    from analytics.stats.query import Query, QueryResult


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

    async def delete_site(self, site_id: int) -> None:
        """Delete every row of a site's event data (its account row is the accounts' to delete)."""

    async def query(self, query: Query) -> QueryResult: ...

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...
