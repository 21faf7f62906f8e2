"""The storage boundary: the domain operations every event-store backend implements.

The collector, the stats pipeline, export/import and the dashboard talk only
to `Store`: write a batch of events, return sums for planned queries,
housekeeping, and a site's data in and out. No SQL, connection or backend type
crosses it; each backend (SQLite now, ClickHouse next) compiles plans to its
own language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from analytics.model import Event, Site

if TYPE_CHECKING:
    from analytics.stats.plan import Plan


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

    async def sums(self, plans: Sequence[Plan]) -> list[dict[tuple[Any, ...], dict[str, float]]]:
        """Per plan, its group keys (dimension values as the API shows them) and their sums.

        The planner (stats.plan) decided what each plan reads; a backend only
        compiles and runs it. A batch is answered together, so a backend can
        share lookups and connections across a whole dashboard.
        """
