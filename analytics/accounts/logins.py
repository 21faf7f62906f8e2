"""Sign-in state: server-side sessions, failed sign-ins per account and server secrets.

A session cookie holds 256 random bits; only their SHA-256 is stored, so a
leaked database or backup cannot be turned into a cookie. No IP address or
user agent is written here: per-client throttling stays in memory (web/auth.py).
"""

from __future__ import annotations

import hashlib

import aiosqlite

from analytics.accounts.db import Database
from analytics.accounts.users import User


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Logins:
    """The web_sessions, signin_failures and web_secrets tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- sessions ---------------------------------------------------------------------

    async def user_of(self, token: str, now: int) -> User | None:
        """The user a live session token belongs to."""
        row = await self.db.fetchone(
            "SELECT u.id, u.email FROM web_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ? AND s.expires_at > ?",
            (hash_token(token), now),
        )
        return User(row[0], row[1]) if row else None

    async def start(self, token: str, user: User, now: int, seconds: int) -> None:
        """Store a new session (by its hash) and forget expired ones."""

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))
            await conn.execute(
                "INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (hash_token(token), user.id, now, now + seconds),
            )

        await self.db.write(job)

    async def end(self, token: str) -> None:
        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (hash_token(token),))

        await self.db.write(job)

    # -- failed sign-ins ----------------------------------------------------------------

    async def failures(self, email: str, since: int) -> tuple[int, int | None]:
        """(count, oldest time) of failed sign-ins for `email` after `since`."""
        row = await self.db.fetchone(
            "SELECT COUNT(*), MIN(ts) FROM signin_failures WHERE email = ? AND ts > ?", (email, since)
        )
        assert row is not None
        return int(row[0]), (int(row[1]) if row[1] is not None else None)

    async def fail(self, email: str, now: int, window: int) -> None:
        """Count a failed sign-in; failures older than the window are deleted."""

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM signin_failures WHERE ts <= ?", (now - window,))
            await conn.execute("INSERT INTO signin_failures (email, ts) VALUES (?, ?)", (email, now))

        await self.db.write(job)

    async def clear_failures(self, email: str) -> None:
        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM signin_failures WHERE email = ?", (email,))

        await self.db.write(job)

    # -- server secrets ---------------------------------------------------------------

    async def secret(self, name: str, candidate: bytes) -> bytes:
        """The secret `name`, set to `candidate` if no worker process has set it yet."""

        async def job(conn: aiosqlite.Connection) -> bytes:
            await conn.execute("INSERT OR IGNORE INTO web_secrets (name, value) VALUES (?, ?)", (name, candidate))
            async with conn.execute("SELECT value FROM web_secrets WHERE name = ?", (name,)) as cur:
                row = await cur.fetchone()
            assert row is not None
            return bytes(row[0])

        return await self.db.write(job)
