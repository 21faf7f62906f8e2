"""Per-key rate limit for the Stats API: N requests in any sliding hour.

The counter lives in accounts.db (`api_usage`), not in process memory, so
several uvicorn workers sharing the file enforce one budget per key. Each
request is one short IMMEDIATE transaction on the accounts writer (never
behind an ingest batch): read the key's last hour, then either refuse or
count the hit.
SQLite's write lock serialises those transactions across processes, so two
workers cannot both spend the last request of a budget.

The window is made of 60 one-minute slots: a request made at minute m is
forgotten at the start of minute m + 60. That is a sliding hour accurate to a
minute, without the double burst a fixed hourly window allows at its edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import aiosqlite

from analytics.accounts.db import Database
from analytics.errors import ApiError

SLOT_SECONDS = 60
SLOTS = 60  # one hour
WINDOW_SECONDS = SLOT_SECONDS * SLOTS


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int  # requests left in the current window after this one
    retry_after: int  # seconds until a request would be allowed again; 0 when allowed


class TooManyRequests(ApiError):
    """429 with Retry-After in whole seconds (at least 1)."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            429,
            f"Too many API requests: this key may make {limit} requests per hour; retry in {retry_after} seconds",
            {"Retry-After": str(retry_after)},
        )


async def hit(db: Database, key_id: int, limit: int, now: float) -> Decision:
    """Count one request of `key_id` at `now` if the budget allows it."""
    slot = int(now // SLOT_SECONDS)
    oldest = slot - SLOTS + 1  # slots before this one have left the window

    async def job(conn: aiosqlite.Connection) -> Decision:
        # Forget every key's expired slots: the table stays at most an hour deep.
        await conn.execute("DELETE FROM api_usage WHERE slot < ?", (oldest,))
        async with conn.execute(
            "SELECT slot, hits FROM api_usage WHERE key_id = ? ORDER BY slot", (key_id,)
        ) as cur:
            rows = [(int(s), int(h)) for s, h in await cur.fetchall()]
        used = sum(h for _, h in rows)
        if used >= limit:
            return Decision(False, 0, _retry_after(rows, used, limit, now))
        await conn.execute(
            "INSERT INTO api_usage (key_id, slot, hits) VALUES (?, ?, 1)"
            " ON CONFLICT (key_id, slot) DO UPDATE SET hits = hits + 1",
            (key_id, slot),
        )
        return Decision(True, limit - used - 1, 0)

    return await db.write(job)


def _retry_after(rows: list[tuple[int, int]], used: int, limit: int, now: float) -> int:
    """Seconds until enough of the oldest slots expire to bring usage below the limit."""
    for slot, hits in rows:
        used -= hits
        if used < limit:
            expires = (slot + SLOTS) * SLOT_SECONDS
            return max(1, math.ceil(expires - now))
    return 1  # unreachable while used >= limit > 0: some slot must expire


async def check(db: Database, key_id: int, limit: int, now: float) -> Decision:
    """Count the request, or raise TooManyRequests. A limit of 0 or less means no limit."""
    if limit <= 0:
        return Decision(True, 0, 0)
    decision = await hit(db, key_id, limit, now)
    if not decision.allowed:
        raise TooManyRequests(limit, decision.retry_after)
    return decision


async def usage(db: Database, key_id: int, now: float) -> int:
    """Requests `key_id` made in the current window (for tests and the dashboard)."""
    oldest = int(now // SLOT_SECONDS) - SLOTS + 1
    rows = await db.fetchall(
        "SELECT COALESCE(SUM(hits), 0) FROM api_usage WHERE key_id = ? AND slot >= ?", (key_id, oldest)
    )
    return int(rows[0][0])
