"""The Stats API rate limit (analytics/accounts/ratelimit.py): a sliding hour of one-minute slots in accounts.db."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from analytics.accounts import Accounts, ratelimit
from analytics.accounts.ratelimit import Decision, TooManyRequests

T = 1_772_442_000.0  # a whole minute


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[Accounts]:
    """Accounts with two API keys, ids 1 and 2 (api_usage refers to them)."""
    async with Accounts(tmp_path / "accounts.db") as a:
        await a.users.add("ann@example.org", "long enough")
        for _ in range(2):
            await a.keys.add("ann@example.org")
        assert await a.db.fetchall("SELECT id FROM api_keys ORDER BY id") == [(1,), (2,)]
        yield a


async def test_the_budget_and_what_is_left(accounts: Accounts) -> None:
    db = accounts.db
    assert [await ratelimit.hit(db, 1, 3, T + i) for i in range(3)] == [
        Decision(True, 2, 0), Decision(True, 1, 0), Decision(True, 0, 0),
    ]  # fmt: skip
    assert await ratelimit.hit(db, 1, 3, T + 10) == Decision(False, 0, 3590)  # the slot at T leaves at T + 3600
    assert await ratelimit.hit(db, 2, 3, T + 10) == Decision(True, 2, 0)  # another key, its own budget
    assert await ratelimit.usage(db, 1, T + 10) == 3


async def test_the_window_slides_by_minutes(accounts: Accounts) -> None:
    db = accounts.db
    await ratelimit.hit(db, 1, 2, T)  # minute 0
    await ratelimit.hit(db, 1, 2, T + 1800)  # minute 30
    refused = await ratelimit.hit(db, 1, 2, T + 3599)
    assert refused == Decision(False, 0, 1)
    assert (await ratelimit.hit(db, 1, 2, T + 3600)).allowed  # minute 0 has left the window
    assert await ratelimit.usage(db, 1, T + 3600) == 2
    assert await ratelimit.usage(db, 1, T + 5400) == 1  # only the hit at T + 3600 is still in the hour
    # Expired slots of every key are deleted as requests come in: the table stays an hour deep.
    rows = await db.fetchall("SELECT slot FROM api_usage ORDER BY slot")
    assert rows == [(int((T + 1800) // 60),), (int((T + 3600) // 60),)]


async def test_check_raises_429_with_retry_after(accounts: Accounts) -> None:
    assert await ratelimit.check(accounts.db, 1, 0, T) == Decision(True, 0, 0)  # 0: no limit, nothing counted
    assert await ratelimit.usage(accounts.db, 1, T) == 0
    await ratelimit.check(accounts.db, 1, 1, T + 30)
    with pytest.raises(TooManyRequests) as exc:
        await ratelimit.check(accounts.db, 1, 1, T + 45.5)
    assert exc.value.status == 429 and exc.value.headers == {"Retry-After": "3555"}
    assert exc.value.message == "Too many API requests: this key may make 1 requests per hour; retry in 3555 seconds"
