"""Stats API keys: created once and shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

import aiosqlite

from analytics.accounts.db import Database
from analytics.accounts.users import Users
from analytics.clock import Clock

KEY_PREFIX = "ak_"
LAST_USED_STEP = 60  # seconds: "last used" is kept to the minute, so a busy key writes at most once a minute


def hash_key(key: str) -> bytes:
    # Keys are 256 random bits: a fast hash is enough, unlike passwords.
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as lists show it: never the key, nor its hash."""

    id: int
    email: str
    name: str
    created_at: int
    last_used_at: int | None


class Keys:
    """The api_keys table."""

    def __init__(self, db: Database, clock: Clock, users: Users) -> None:
        self.db = db
        self.clock = clock
        self.users = users

    async def add(self, email: str, name: str = "default") -> str:
        """Create a Stats API key for the user `email` and return it; only its hash is stored."""
        user = await self.users.get(email)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        now = int(self.clock.now())

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO api_keys (user_id, name, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)",
                (user.id, name.strip()[:100] or "default", hash_key(key), key[:8], now),
            )

        await self.db.write(job)
        return key

    async def find(self, key: str) -> tuple[int, int] | None:
        """(key id, user id) for a key, or None. Only hashes are compared; the use is noted."""
        row = await self.db.fetchone(
            "SELECT id, user_id, last_used_at FROM api_keys WHERE key_hash = ?", (hash_key(key),)
        )
        if row is None:
            return None
        key_id, user_id = int(row[0]), int(row[1])
        now = int(self.clock.now())
        if row[2] is None or now - int(row[2]) >= LAST_USED_STEP:

            async def job(conn: aiosqlite.Connection) -> None:
                await conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key_id))

            try:
                await self.db.write(job)
            except sqlite3.OperationalError:
                pass  # "last used" is a courtesy: a busy or full disk must not refuse a valid key
        return key_id, user_id

    async def all(self, user_id: int | None = None) -> list[KeyInfo]:
        """Every key (or `user_id`'s), oldest first."""
        where, params = ("WHERE k.user_id = ?", (user_id,)) if user_id is not None else ("", ())
        rows = await self.db.fetchall(
            "SELECT k.id, u.email, k.name, k.created_at, k.last_used_at FROM api_keys k"
            f" JOIN users u ON u.id = k.user_id {where} ORDER BY k.id",
            params,
        )
        return [KeyInfo(int(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4]) for r in rows]

    async def revoke(self, key_id: int, user_id: int | None = None) -> bool:
        """Delete a key (only if it belongs to `user_id`, when given); False when there was none."""

        async def job(conn: aiosqlite.Connection) -> bool:
            if user_id is None:
                cur = await conn.execute("DELETE FROM api_keys WHERE id = ?", (key_id,))
            else:
                cur = await conn.execute("DELETE FROM api_keys WHERE id = ? AND user_id = ?", (key_id, user_id))
            return cur.rowcount == 1

        return await self.db.write(job)
