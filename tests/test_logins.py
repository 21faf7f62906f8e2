"""Sign-in state in accounts.db (analytics/accounts/logins.py): sessions by hash, failures, secrets."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from analytics.accounts import Accounts
from analytics.accounts.logins import hash_token
from analytics.accounts.users import User


async def attempts(accounts: Accounts, email: str) -> tuple[int, int]:
    """(count, oldest time) of the reserved or failed sign-ins on `email`."""
    row = await accounts.db.fetchone("SELECT COUNT(*), MIN(ts) FROM signin_failures WHERE email = ?", (email,))
    assert row is not None
    return int(row[0]), int(row[1])


async def test_sessions_live_until_they_expire_or_end(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as accounts:
        ann = await accounts.users.add("ann@example.org", "long enough")
        await accounts.logins.start("token-a", ann, now=1000, seconds=60)
        assert await accounts.logins.user_of("token-a", 1059) == User(ann.id, "ann@example.org")
        assert await accounts.logins.user_of("token-a", 1060) is None  # expired
        assert await accounts.logins.user_of("token-b", 1000) is None
        # Only the hash is stored; starting a session forgets expired ones.
        assert await accounts.db.fetchall("SELECT token_hash FROM web_sessions") == [(hashlib.sha256(b"token-a").digest(),)]
        await accounts.logins.start("token-c", ann, now=2000, seconds=60)
        assert await accounts.db.fetchall("SELECT token_hash FROM web_sessions") == [(hash_token("token-c"),)]
        await accounts.logins.end("token-c")
        assert await accounts.logins.user_of("token-c", 2001) is None


async def test_a_secret_is_set_once_for_every_worker(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as a, Accounts(tmp_path / "accounts.db") as b:
        assert await a.logins.secret("csrf", b"first") == b"first"
        assert await b.logins.secret("csrf", b"second") == b"first"
        assert await b.logins.secret("share", b"other") == b"other"


async def test_reservations_hold_the_limit_across_two_connections_at_once(tmp_path: Path) -> None:
    """Two Accounts on one file stand for two worker processes; 40 reservations race, 5 are granted."""
    async with Accounts(tmp_path / "accounts.db") as a, Accounts(tmp_path / "accounts.db") as b:
        got = await asyncio.gather(
            *((a if n % 2 else b).logins.reserve("ann@example.org", 1000, 300, 5, fresh=False) for n in range(40))
        )
        assert sum(r.granted for r in got) == 5
        assert {r.retry_after for r in got if not r.granted} == {300}
        # A fresh client is let through past the limit, and counted.
        extra = await a.logins.reserve("ANN@example.org", 1100, 300, 5, fresh=True)
        assert extra.granted and await attempts(a, "ann@example.org") == (6, 1000)
        await a.logins.release(extra)
        assert await attempts(a, "ann@example.org") == (5, 1000)
        assert (await a.logins.reserve("ann@example.org", 1301, 300, 5, fresh=False)).granted  # the window passed


async def test_share_reservations_are_per_link(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as accounts:
        one = await accounts.sites.add("a.example", "UTC")
        two = await accounts.sites.add("b.example", "UTC")
        got = await asyncio.gather(*(accounts.logins.reserve_share(one.id, 1000, 300, 3) for _ in range(10)))
        assert [r.granted for r in got].count(True) == 3 and got[-1].retry_after == 300
        assert (await accounts.logins.reserve_share(two.id, 1000, 300, 3)).granted
        await accounts.logins.release_share(got[0])
        assert await accounts.logins.share_failures(one.id, 0) == 2
