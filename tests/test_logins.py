"""Sign-in state in accounts.db (analytics/accounts/logins.py): sessions by hash, failures, secrets."""

from __future__ import annotations

import hashlib
from pathlib import Path

from analytics.accounts import Accounts
from analytics.accounts.logins import hash_token
from analytics.accounts.users import User


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


async def test_failures_are_counted_in_a_window(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as accounts:
        logins = accounts.logins
        assert await logins.failures("ann@example.org", 0) == (0, None)
        for t in (100, 200, 300):
            await logins.fail("ann@example.org", t, window=900)
        await logins.fail("bob@example.org", 250, window=900)
        assert await logins.failures("ann@example.org", 0) == (3, 100)
        assert await logins.failures("ann@example.org", 150) == (2, 200)
        await logins.fail("ann@example.org", 1150, window=900)  # deletes failures at or before 250
        assert await logins.failures("ann@example.org", 0) == (2, 300)
        assert await logins.failures("bob@example.org", 0) == (0, None)
        await logins.clear_failures("ann@example.org")
        assert await logins.failures("ann@example.org", 0) == (0, None)


async def test_a_secret_is_set_once_for_every_worker(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as a, Accounts(tmp_path / "accounts.db") as b:
        assert await a.logins.secret("csrf", b"first") == b"first"
        assert await b.logins.secret("csrf", b"second") == b"first"
        assert await b.logins.secret("share", b"other") == b"other"
