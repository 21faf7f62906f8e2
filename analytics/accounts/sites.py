"""Sites: registration, settings, share links, dashboard options and the collector's lookup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite

from analytics.accounts.db import Database
from analytics.accounts.validate import AdminError, check_timezone, normalize_domain
from analytics.clock import Clock
from analytics.model import Site
from analytics.visits.reading import check_thresholds

SITE_COLS = ("id", "domain", "timezone", "honor_signals", "allowed_params", "excluded_paths", "share_token",
             "share_password_hash", "read_scroll", "read_share")  # fmt: skip
_COLS = ", ".join(SITE_COLS)
_S_COLS = ", ".join(f"s.{c}" for c in SITE_COLS)


def site_from_row(row: tuple[Any, ...]) -> Site:
    return Site(
        id=row[0],
        domain=row[1],
        timezone=row[2],
        honor_signals=bool(row[3]),
        allowed_params=tuple(p for p in row[4].split(",") if p),
        excluded_paths=tuple(p for p in row[5].split(",") if p),
        share_token=row[6],
        share_password_hash=row[7],
        read_scroll=row[8],
        read_share=row[9],
    )


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    share_min_visitors: int = 5  # k for public links; 0 = no suppression
    prop_keys: tuple[str, ...] = ()


class EventData(Protocol):
    """Where a site's events live (the event store): removing a site removes them there."""

    async def delete_site(self, site_id: int) -> None: ...


class Sites:
    """The sites table, with a short cache for the collector's per-event lookup."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._cache: dict[str, Site | None] = {}
        self._version: int | None = None  # accounts.db's data_version when the cache was filled

    # -- reads ------------------------------------------------------------------------

    async def by_domain(self, domain: str) -> Site | None:
        """The site events for `domain` count for, or None.

        Cached for as long as accounts.db is unchanged: any commit, by this
        process or another worker or the CLI, empties the cache before the next
        lookup, so a removed site stops counting at once in every worker.
        """
        version = self.db.data_version()
        if version is None or version != self._version or len(self._cache) > 10_000:
            self._cache.clear()
            self._version = version
        if domain in self._cache:
            return self._cache[domain]
        row = await self.db.fetchone(f"SELECT {_COLS} FROM sites WHERE domain = ?", (domain,))
        site = site_from_row(row) if row else None
        if version is not None:
            self._cache[domain] = site
        return site

    def forget(self, domain: str) -> None:
        self._cache.pop(domain, None)

    async def get(self, domain: str) -> Site:
        """The site registered as `domain`; AdminError naming it when there is none."""
        row = await self.db.fetchone(f"SELECT {_COLS} FROM sites WHERE domain = ?", (domain.strip().lower(),))
        if row is None:
            raise AdminError(f"no site {domain!r}; `analytics sites list` shows the registered ones")
        return site_from_row(row)

    async def all(self) -> list[Site]:
        """Every site, by domain."""
        return [site_from_row(r) for r in await self.db.fetchall(f"SELECT {_COLS} FROM sites ORDER BY domain")]

    async def of_user(self, user_id: int) -> list[Site]:
        """The sites `user_id` has a role on, by domain."""
        rows = await self.db.fetchall(
            f"SELECT {_S_COLS} FROM sites s JOIN site_roles r ON r.site_id = s.id"
            " WHERE r.user_id = ? ORDER BY s.domain",
            (user_id,),
        )
        return [site_from_row(r) for r in rows]

    async def for_user(self, user_id: int, domain: str) -> Site | None:
        """The site `domain` if `user_id` has a role on it (unknown and foreign sites alike: None)."""
        row = await self.db.fetchone(
            f"SELECT {_S_COLS} FROM sites s JOIN site_roles r ON r.site_id = s.id WHERE r.user_id = ? AND s.domain = ?",
            (user_id, domain),
        )
        return site_from_row(row) if row else None

    async def by_share_token(self, token: str) -> Site | None:
        if not token:
            return None
        row = await self.db.fetchone(f"SELECT {_COLS} FROM sites WHERE share_token = ?", (token,))
        return site_from_row(row) if row else None

    async def domain_of(self, site_id: int) -> str | None:
        row = await self.db.fetchone("SELECT domain FROM sites WHERE id = ?", (site_id,))
        return str(row[0]) if row else None

    async def created_at(self, site_id: int) -> int:
        row = await self.db.fetchone("SELECT created_at FROM sites WHERE id = ?", (site_id,))
        return int(row[0]) if row else 0

    async def dashboard_options(self, site_id: int) -> DashboardOptions:
        row = await self.db.fetchone(
            "SELECT share_min_visitors, prop_keys FROM site_dashboard WHERE site_id = ?", (site_id,)
        )
        if row is None:
            return DashboardOptions()
        return DashboardOptions(int(row[0]), tuple(p for p in str(row[1]).split(",") if p))

    # -- writes -----------------------------------------------------------------------

    async def add(self, domain: str, timezone: str = "UTC", owner: int | None = None) -> Site:
        """Register a site, owned by `owner` if given."""
        d, tz = normalize_domain(domain), check_timezone(timezone)
        now = int(self.clock.now())

        async def job(conn: aiosqlite.Connection) -> int:
            async with conn.execute("SELECT 1 FROM sites WHERE domain = ?", (d,)) as cur:
                if await cur.fetchone():
                    raise AdminError(f"site {d} already exists")
            cur2 = await conn.execute("INSERT INTO sites (domain, timezone, created_at) VALUES (?, ?, ?)", (d, tz, now))
            site_id = cur2.lastrowid
            assert site_id is not None
            if owner is not None:
                await conn.execute(
                    "INSERT INTO site_roles (site_id, user_id, role) VALUES (?, ?, 'owner')", (site_id, owner)
                )
            return site_id

        site_id = await self.db.write(job)
        self.forget(d)
        return Site(id=site_id, domain=d, timezone=tz)

    async def ensure(self, domain: str, timezone: str = "UTC") -> Site:
        """The site `domain`, added (in `timezone`, owned by the admin if one exists) when missing."""
        try:
            return await self.get(normalize_domain(domain))
        except AdminError:
            row = await self.db.fetchone("SELECT id FROM users ORDER BY id LIMIT 1")
            return await self.add(domain, timezone, owner=row[0] if row else None)

    async def remove(self, domain: str, events: EventData) -> None:
        """Remove a site, its event data first: a crash in between leaves it listed, to remove again."""
        site = await self.get(domain)
        await events.delete_site(site.id)

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM sites WHERE id = ?", (site.id,))  # roles and options cascade

        await self.db.write(job)
        self.forget(site.domain)

    async def update_settings(
        self,
        site: Site,
        *,
        timezone: str,
        honor_signals: bool,
        allowed_params: tuple[str, ...],
        excluded_paths: tuple[str, ...],
        read_scroll: int | None = None,
        read_share: int | None = None,
    ) -> None:
        """Change a site's settings; the read thresholds stay as they are unless given."""
        tz = check_timezone(timezone)
        scroll = site.read_scroll if read_scroll is None else read_scroll
        share = site.read_share if read_share is None else read_share
        problem = check_thresholds(scroll, share)
        if problem:
            raise AdminError(problem)

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "UPDATE sites SET timezone = ?, honor_signals = ?, allowed_params = ?, excluded_paths = ?,"
                " read_scroll = ?, read_share = ? WHERE id = ?",
                (tz, int(honor_signals), ",".join(allowed_params), ",".join(excluded_paths), scroll, share, site.id),
            )

        await self.db.write(job)
        self.forget(site.domain)

    async def set_share(self, site: Site, token: str | None, password_hash: str | None) -> None:
        """Set or clear the site's public share token and its optional password hash."""

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "UPDATE sites SET share_token = ?, share_password_hash = ? WHERE id = ?",
                (token, password_hash if token else None, site.id),
            )

        await self.db.write(job)
        self.forget(site.domain)

    async def set_dashboard_options(self, site_id: int, options: DashboardOptions) -> None:
        if not 0 <= options.share_min_visitors <= 1000:
            raise AdminError("the minimum visitors per row must be between 0 and 1000")

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO site_dashboard (site_id, share_min_visitors, prop_keys) VALUES (?, ?, ?)"
                " ON CONFLICT (site_id) DO UPDATE SET share_min_visitors = excluded.share_min_visitors,"
                " prop_keys = excluded.prop_keys",
                (site_id, options.share_min_visitors, ",".join(options.prop_keys)),
            )

        await self.db.write(job)
