"""Goals: what counts as a conversion on a site, defined by its owners.

A goal is a custom event, by its exact name ("Signup"), or a visit to a page,
by a path pattern in which `*` stands for any characters, `/` included, as in
excluded paths ("/blog/*", "/thanks").
A page goal is shown and filtered as "Visit <pattern>", as in Plausible. Goal
definitions are site configuration, so they live in accounts.db.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from analytics.accounts.db import Database
from analytics.accounts.validate import AdminError
from analytics.clock import Clock

MAX_GOALS = 100  # per site
MAX_NAME = 120  # the Events API's limit on an event name
MAX_PATH = 2000
PAGE_PREFIX = "Visit "
Kind = Literal["event", "page"]


@dataclass(frozen=True, slots=True)
class Goal:
    id: int
    kind: Kind
    value: str  # the event name, or the page path pattern

    @property
    def name(self) -> str:
        """How the goal is shown and filtered: the event name, or "Visit /path"."""
        return self.value if self.kind == "event" else PAGE_PREFIX + self.value


def clean(kind: str, value: str) -> tuple[Kind, str]:
    """A goal as stored, or AdminError naming what is wrong with it."""
    value = value.strip()
    if kind == "event":
        if not value:
            raise AdminError("An event goal needs the event's name, e.g. Signup.")
        if len(value) > MAX_NAME or any(ord(c) < 32 for c in value):
            raise AdminError(f"An event name has at most {MAX_NAME} characters and no control characters.")
        if value in ("pageview", "engagement"):
            raise AdminError(f'"{value}" is not a custom event; for a page, add a page goal.')
        return "event", value
    if kind == "page":
        if not value.startswith("/"):
            raise AdminError("A page goal is a path that starts with /, e.g. /thanks or /blog/*.")
        if len(value) > MAX_PATH or any(ord(c) < 32 for c in value):
            raise AdminError(f"A page path has at most {MAX_PATH} characters and no control characters.")
        return "page", value
    raise AdminError("A goal is a custom event or a page.")


class Goals:
    """The goals table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def for_site(self, site_id: int) -> list[Goal]:
        """The site's goals, in the order they were added."""
        rows = await self.db.fetchall("SELECT id, kind, value FROM goals WHERE site_id = ? ORDER BY id", (site_id,))
        return [Goal(int(i), "event" if k == "event" else "page", str(v)) for i, k, v in rows]

    async def add(self, site_id: int, kind: str, value: str) -> Goal:
        """Define a goal; AdminError when it is invalid, already defined, or the site has MAX_GOALS."""
        kind_, value = clean(kind, value)
        now = int(self.clock.now())

        async def job(conn: aiosqlite.Connection) -> int:
            async with conn.execute("SELECT COUNT(*) FROM goals WHERE site_id = ?", (site_id,)) as cur:
                row = await cur.fetchone()
            if row and row[0] >= MAX_GOALS:
                raise AdminError(f"A site has at most {MAX_GOALS} goals.")
            try:
                cur2 = await conn.execute(
                    "INSERT INTO goals (site_id, kind, value, created_at) VALUES (?, ?, ?, ?)",
                    (site_id, kind_, value, now),
                )
            except sqlite3.IntegrityError:
                raise AdminError("That goal is already defined.") from None
            return int(cur2.lastrowid or 0)

        return Goal(await self.db.write(job), kind_, value)

    async def remove(self, site_id: int, goal_id: int) -> bool:
        """Delete one of the site's goals; False when it has no such goal."""

        async def job(conn: aiosqlite.Connection) -> int:
            cur = await conn.execute("DELETE FROM goals WHERE site_id = ? AND id = ?", (site_id, goal_id))
            return cur.rowcount

        return bool(await self.db.write(job))
