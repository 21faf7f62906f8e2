"""Sites, users and API keys: the operator's records, shared by the CLI and the dashboard.

These always live in the SQLite database in the data dir, whatever backend
holds the events.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zoneinfo
from dataclasses import dataclass

import aiosqlite

from .passwords import MIN_LENGTH, hash_password
from .store.base import Site
from .store.sqlite import SITE_COLS, SQLiteStore, site_from_row

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
KEY_PREFIX = "ak_"


class AdminError(ValueError):
    """A bad argument for an admin operation; the message names it."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str


def normalize_domain(domain: str) -> str:
    d = domain.strip().lower()
    for prefix in ("https://", "http://"):
        if d.startswith(prefix):
            d = d[len(prefix) :]
    d = d.rstrip("/")
    if d.startswith("www."):
        d = d[4:]
    if not _DOMAIN.match(d):
        raise AdminError(f"{domain!r} is not a valid domain, e.g. blog.example.org")
    return d


def check_timezone(tz: str) -> str:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise AdminError(f"{tz!r} is not a known time zone, e.g. Europe/Zurich") from None
    return tz


async def add_site(store: SQLiteStore, domain: str, timezone: str = "UTC", owner: int | None = None) -> Site:
    d, tz = normalize_domain(domain), check_timezone(timezone)

    async def job(conn: aiosqlite.Connection) -> int:
        async with conn.execute("SELECT 1 FROM sites WHERE domain = ?", (d,)) as cur:
            if await cur.fetchone():
                raise AdminError(f"site {d} already exists")
        cur2 = await conn.execute(
            "INSERT INTO sites (domain, timezone, created_at) VALUES (?, ?, ?)", (d, tz, int(store.clock.now()))
        )
        site_id = cur2.lastrowid
        assert site_id is not None
        if owner is not None:
            await conn.execute("INSERT INTO site_roles (site_id, user_id, role) VALUES (?, ?, 'owner')", (site_id, owner))
        return site_id

    site_id = await store.write(job)
    return Site(id=site_id, domain=d, timezone=tz)


async def list_sites(store: SQLiteStore, user_id: int | None = None) -> list[Site]:
    if user_id is None:
        rows = await store.fetchall(f"SELECT {SITE_COLS} FROM sites ORDER BY domain")
    else:
        cols = ", ".join(f"s.{c.strip()}" for c in SITE_COLS.split(","))
        rows = await store.fetchall(
            f"SELECT {cols} FROM sites s JOIN site_roles r ON r.site_id = s.id WHERE r.user_id = ? ORDER BY s.domain",
            (user_id,),
        )
    return [site_from_row(r) for r in rows]


async def get_site(store: SQLiteStore, domain: str) -> Site:
    rows = await store.fetchall(f"SELECT {SITE_COLS} FROM sites WHERE domain = ?", (domain.strip().lower(),))
    if not rows:
        raise AdminError(f"no site {domain!r}; `analytics sites list` shows the registered ones")
    return site_from_row(rows[0])


async def remove_site(store: SQLiteStore, domain: str) -> None:
    site = await get_site(store, domain)

    async def job(conn: aiosqlite.Connection) -> None:
        for table in (
            "events", "sessions", "rollup_totals", "rollup_sources", "rollup_locations", "rollup_devices",
            "rollup_browsers", "rollup_os", "rollup_entry_pages", "rollup_exit_pages", "rollup_pages",
            "rollup_events",
        ):  # fmt: skip
            await conn.execute(f"DELETE FROM {table} WHERE site_id = ?", (site.id,))
        await conn.execute("DELETE FROM sites WHERE id = ?", (site.id,))

    await store.write(job)


async def add_user(store: SQLiteStore, email: str, password: str) -> User:
    email = email.strip()
    if not _EMAIL.match(email):
        raise AdminError(f"{email!r} is not an email address")
    if len(password) < MIN_LENGTH:
        raise AdminError(f"the password must have at least {MIN_LENGTH} characters")
    hashed = hash_password(password)

    async def job(conn: aiosqlite.Connection) -> int:
        async with conn.execute("SELECT 1 FROM users WHERE email = ?", (email,)) as cur:
            if await cur.fetchone():
                raise AdminError(f"user {email} already exists")
        cur2 = await conn.execute(
            "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)",
            (email, hashed, int(store.clock.now())),
        )
        assert cur2.lastrowid is not None
        user_id = cur2.lastrowid
        # The first user is the admin: owner of every site that exists so far.
        async with conn.execute("SELECT COUNT(*) FROM users") as cur3:
            row = await cur3.fetchone()
        if row and row[0] == 1:
            await conn.execute(
                "INSERT OR IGNORE INTO site_roles (site_id, user_id, role) SELECT id, ?, 'owner' FROM sites",
                (user_id,),
            )
        return user_id

    return User(await store.write(job), email)


async def get_user(store: SQLiteStore, email: str) -> User:
    rows = await store.fetchall("SELECT id, email FROM users WHERE email = ?", (email.strip(),))
    if not rows:
        raise AdminError(f"no user {email!r}; create one with `analytics users add`")
    return User(rows[0][0], rows[0][1])


def hash_key(key: str) -> bytes:
    # Keys are 256 random bits: a fast hash is enough, unlike passwords.
    return hashlib.sha256(key.encode()).digest()


async def add_key(store: SQLiteStore, email: str, name: str = "default") -> str:
    """Create a Stats API key and return it; only its hash is stored."""
    user = await get_user(store, email)
    key = KEY_PREFIX + secrets.token_urlsafe(32)

    async def job(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO api_keys (user_id, name, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)",
            (user.id, name[:100], hash_key(key), key[:8], int(store.clock.now())),
        )

    await store.write(job)
    return key


async def user_for_key(store: SQLiteStore, key: str) -> int | None:
    rows = await store.fetchall("SELECT user_id FROM api_keys WHERE key_hash = ?", (hash_key(key),))
    return rows[0][0] if rows else None
