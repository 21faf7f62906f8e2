"""What the SQLite backend's query modules need from the store: its connections.

`SQLiteStore` owns one writer (fed by its queue) and a pool of readers. The
modules that hold the backend's SQL for history, transfer and reads take this
protocol instead of the store class, so they never import the store and the
store imports them plainly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

import aiosqlite

from analytics.clock import Clock

T = TypeVar("T")


class Connections(Protocol):
    clock: Clock

    def reader(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        """A reader connection from the pool, for the duration of the block."""
        ...

    def export_reader(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        """A reader connection of the exports' own pool, for the duration of the block."""
        ...

    async def write(self, job: Callable[[aiosqlite.Connection], Awaitable[T]], transaction: bool = True) -> T:
        """Run `job` on the writer between batches, in its own IMMEDIATE transaction."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one read, on a reader connection."""
        ...
