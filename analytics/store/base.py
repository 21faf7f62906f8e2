"""The storage interface: write a batch, run a stats query, housekeeping.

The collector and the stats layer talk only to `Store`. A backend (SQLite now,
ClickHouse later) implements it; the stats layer hands it a backend-neutral
`Query` that the backend compiles to its own SQL.
"""

from __future__ import annotations

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

    async def salts(self, day: int) -> dict[int, bytes]:
        """The salts for `day` and `day - 1`, creating today's if needed."""

    async def housekeeping(self, now: float) -> None:
        """Rotate salts (destroying old ones) and enforce retention."""

    async def site_by_domain(self, domain: str) -> Site | None: ...

    async def query(self, query: Query) -> QueryResult: ...

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...
