"""Sign-in state: server-side sessions, password attempts per account and per share link, server secrets.

A session cookie holds 256 random bits; only their SHA-256 is stored, so a
leaked database or backup cannot be turned into a cookie. No IP address or
user agent is written here: per-client throttling stays in memory (web/auth.py).

Password attempts are reserved before the password is checked, in one
IMMEDIATE transaction that counts the window and inserts the attempt
(`reserve`): concurrent requests, even from several worker processes, cannot
all see a count below the limit and all go on to check a password. A wrong
password leaves its reservation as a failure; a right one releases it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import aiosqlite

from analytics.accounts.db import Database
from analytics.accounts.users import User


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class Reservation:
    """A reserved password attempt (`id`), or a refusal (`id` None) with the seconds until one frees."""

    id: int | None
    retry_after: int

    @property
    def granted(self) -> bool:
        return self.id is not None


class Logins:
    """The web_sessions, signin_failures, share_failures and web_secrets tables."""

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

    async def reserve(self, email: str, now: int, window: int, limit: int, *, fresh: bool) -> Reservation:
        """Reserve a sign-in attempt on `email` if fewer than `limit` are in the window.

        `fresh` (a client with no recent failures on this account) is let through
        past the limit, still counted: so an attacker elsewhere cannot lock the owner out.
        """
        return await self._reserve("signin_failures", "email", email, now, window, limit, fresh)

    async def release(self, reservation: Reservation) -> None:
        """Forget a sign-in reservation whose password was right."""
        await self._release("signin_failures", reservation)

    async def reserve_share(self, site_id: int, now: int, window: int, limit: int) -> Reservation:
        """Reserve a password attempt on the share link of `site_id` if fewer than `limit` are in the window."""
        return await self._reserve("share_failures", "site_id", site_id, now, window, limit, False)

    async def release_share(self, reservation: Reservation) -> None:
        """Forget a share-link reservation whose password was right."""
        await self._release("share_failures", reservation)

    async def share_failures(self, site_id: int, since: int) -> int:
        """Share-link attempts on `site_id` after `since` (reserved or failed)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM share_failures WHERE site_id = ? AND ts > ?", (site_id, since)
        )
        assert row is not None
        return int(row[0])

    async def _reserve(
        self, table: str, column: str, subject: str | int, now: int, window: int, limit: int, fresh: bool
    ) -> Reservation:
        # table and column are the two constants above, never input.
        async def job(conn: aiosqlite.Connection) -> Reservation:
            await conn.execute(f"DELETE FROM {table} WHERE ts <= ?", (now - window,))
            async with conn.execute(f"SELECT COUNT(*), MIN(ts) FROM {table} WHERE {column} = ?", (subject,)) as cur:
                row = await cur.fetchone()
            assert row is not None
            if int(row[0]) >= limit and not fresh:
                return Reservation(None, max(1, int(row[1]) + window - now))
            cur = await conn.execute(f"INSERT INTO {table} ({column}, ts) VALUES (?, ?)", (subject, now))
            return Reservation(cur.lastrowid, 0)

        return await self.db.write(job)

    async def _release(self, table: str, reservation: Reservation) -> None:
        if reservation.id is None:
            return

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (reservation.id,))

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
