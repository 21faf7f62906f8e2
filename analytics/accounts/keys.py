"""Stats API keys: created once and shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

import aiosqlite

from analytics.accounts.db import Database
from analytics.accounts.users import Users
from analytics.clock import Clock

KEY_PREFIX = "ak_"


def hash_key(key: str) -> bytes:
    # Keys are 256 random bits: a fast hash is enough, unlike passwords.
    return hashlib.sha256(key.encode()).digest()


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
                (user.id, name[:100], hash_key(key), key[:8], now),
            )

        await self.db.write(job)
        return key

    async def find(self, key: str) -> tuple[int, int] | None:
        """(key id, user id) for a key, or None. Only hashes are compared."""
        row = await self.db.fetchone("SELECT id, user_id FROM api_keys WHERE key_hash = ?", (hash_key(key),))
        return (int(row[0]), int(row[1])) if row else None
