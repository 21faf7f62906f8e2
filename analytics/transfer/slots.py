"""How many exports run at once: a bounded number, the rest wait briefly or get a 429.

An export reads a site's whole range; four at once once slowed a dashboard to
49 s and beacons to 30 s. So at most `EXPORTS_AT_ONCE` exports run in a process
(the SQLite store gives them readers of their own, `export_readers`); one more
waits up to `EXPORT_WAIT` seconds for a slot, then gets a clear 429 with
`Retry-After`, as a rate limit would. The slot is held until the download ends,
however it ends (finished, failed, or the client went away).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from analytics.errors import ApiError

EXPORTS_AT_ONCE = 2
EXPORT_WAIT = 10.0  # seconds an export waits for a slot before the 429
RETRY_AFTER = 30  # seconds suggested to a refused client


class ExportsBusy(ApiError):
    """Every export slot is taken: a 429 that says when to come back."""

    def __init__(self, limit: int, retry_after: int = RETRY_AFTER) -> None:
        super().__init__(
            429,
            f"{limit} exports are already running; try again in {retry_after} seconds.",
            {"Retry-After": str(retry_after)},
        )


class ExportSlots:
    """A process's export slots: `take()` one before the response starts, `give()` it back at the end."""

    def __init__(self, limit: int = EXPORTS_AT_ONCE, wait: float = EXPORT_WAIT) -> None:
        self.limit = limit
        self.wait = wait
        self._free = asyncio.Semaphore(limit)
        self.taken = 0

    async def take(self) -> None:
        """Wait up to `wait` seconds for a slot; raise ExportsBusy (a 429) when none frees up."""
        try:
            await asyncio.wait_for(self._free.acquire(), self.wait)
        except TimeoutError:
            raise ExportsBusy(self.limit) from None
        self.taken += 1

    def give(self) -> None:
        self.taken -= 1
        self._free.release()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A slot for the block (exports built whole before they are sent)."""
        await self.take()
        try:
            yield
        finally:
            self.give()
