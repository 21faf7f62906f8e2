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

from analytics.accounts.passwords import MIN_LENGTH, hash_password
from analytics.model import Site
from analytics.store.sqlite import days as sqlite_days
from analytics.store.sqlite.store import SITE_COLS, SQLiteStore, site_from_row

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)*{_LABEL}(:\d{{1,5}})?$")
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
            await conn.execute(
                "INSERT INTO site_roles (site_id, user_id, role) VALUES (?, ?, 'owner')", (site_id, owner)
            )
        return site_id

    site_id = await store.write(job)
    return Site(id=site_id, domain=d, timezone=tz)


async def first_user(store: SQLiteStore) -> int | None:
    """The admin: the first user created, who owns sites added from the CLI."""
    rows = await store.fetchall("SELECT id FROM users ORDER BY id LIMIT 1")
    return rows[0][0] if rows else None


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
        await sqlite_days.drop(conn, site.id)
        await conn.execute("DELETE FROM sites WHERE id = ?", (site.id,))

    await store.write(job)


def _credentials(email: str, password: str) -> tuple[str, str]:
    """A checked email and the password's scrypt hash."""
    email = email.strip()
    if not _EMAIL.match(email):
        raise AdminError(f"{email!r} is not an email address")
    if len(password) < MIN_LENGTH:
        raise AdminError(f"the password must have at least {MIN_LENGTH} characters")
    return email, hash_password(password)


async def add_user(store: SQLiteStore, email: str, password: str) -> User:
    email, hashed = _credentials(email, password)

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


# -- Dashboard: accounts, roles, per-site settings and share links ------------------

ROLES = ("owner", "viewer")
_PARAM = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,100}$")
_PROP_KEY = re.compile(r"^[^\s,]{1,300}$")
MAX_LIST = 50


async def count_users(store: SQLiteStore) -> int:
    rows = await store.fetchall("SELECT COUNT(*) FROM users")
    return int(rows[0][0])


async def add_first_user(store: SQLiteStore, email: str, password: str) -> User:
    """Create the admin from the setup page; refuses once any user exists (checked in the same transaction)."""
    email, hashed = _credentials(email, password)

    async def job(conn: aiosqlite.Connection) -> int:
        async with conn.execute("SELECT COUNT(*) FROM users") as cur:
            row = await cur.fetchone()
        if row and row[0]:
            raise AdminError("the admin already exists; sign in instead")
        cur2 = await conn.execute(
            "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)",
            (email, hashed, int(store.clock.now())),
        )
        assert cur2.lastrowid is not None
        await conn.execute(
            "INSERT OR IGNORE INTO site_roles (site_id, user_id, role) SELECT id, ?, 'owner' FROM sites",
            (cur2.lastrowid,),
        )
        return cur2.lastrowid

    return User(await store.write(job), email)


async def user_credentials(store: SQLiteStore, email: str) -> tuple[User, str] | None:
    """The user and their stored password hash, for sign-in."""
    rows = await store.fetchall("SELECT id, email, password_hash FROM users WHERE email = ?", (email.strip(),))
    return (User(rows[0][0], rows[0][1]), rows[0][2]) if rows else None


async def get_user_by_id(store: SQLiteStore, user_id: int) -> User | None:
    rows = await store.fetchall("SELECT id, email FROM users WHERE id = ?", (user_id,))
    return User(rows[0][0], rows[0][1]) if rows else None


async def site_role(store: SQLiteStore, site_id: int, user_id: int) -> str | None:
    rows = await store.fetchall("SELECT role FROM site_roles WHERE site_id = ? AND user_id = ?", (site_id, user_id))
    return str(rows[0][0]) if rows else None


async def site_members(store: SQLiteStore, site_id: int) -> list[tuple[User, str]]:
    rows = await store.fetchall(
        "SELECT u.id, u.email, r.role FROM site_roles r JOIN users u ON u.id = r.user_id"
        " WHERE r.site_id = ? ORDER BY r.role, u.email",
        (site_id,),
    )
    return [(User(r[0], r[1]), str(r[2])) for r in rows]


async def set_role(store: SQLiteStore, site_id: int, user_id: int, role: str) -> None:
    """Grant `role` on a site, or change it; the last owner cannot be demoted."""
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}")

    async def job(conn: aiosqlite.Connection) -> None:
        if role != "owner":
            await _keep_an_owner(conn, site_id, user_id)
        await conn.execute(
            "INSERT INTO site_roles (site_id, user_id, role) VALUES (?, ?, ?)"
            " ON CONFLICT (site_id, user_id) DO UPDATE SET role = excluded.role",
            (site_id, user_id, role),
        )

    await store.write(job)


async def remove_role(store: SQLiteStore, site_id: int, user_id: int) -> None:
    async def job(conn: aiosqlite.Connection) -> None:
        await _keep_an_owner(conn, site_id, user_id)
        await conn.execute("DELETE FROM site_roles WHERE site_id = ? AND user_id = ?", (site_id, user_id))

    await store.write(job)


async def _keep_an_owner(conn: aiosqlite.Connection, site_id: int, user_id: int) -> None:
    async with conn.execute(
        "SELECT COUNT(*) FROM site_roles WHERE site_id = ? AND role = 'owner' AND user_id != ?", (site_id, user_id)
    ) as cur:
        row = await cur.fetchone()
    async with conn.execute(
        "SELECT role FROM site_roles WHERE site_id = ? AND user_id = ?", (site_id, user_id)
    ) as cur2:
        mine = await cur2.fetchone()
    if mine and mine[0] == "owner" and row and row[0] == 0:
        raise AdminError("a site needs at least one owner")


def parse_list(text: str, kind: str) -> tuple[str, ...]:
    """A comma or newline separated list from a settings form, validated per `kind`."""
    items: list[str] = []
    for raw in re.split(r"[,\n]", text):
        item = raw.strip()
        if not item or item in items:
            continue
        if kind == "param" and not _PARAM.match(item):
            raise AdminError(f"{item[:60]!r} is not a query parameter name")
        if kind == "path" and (not item.startswith("/") or len(item) > 300):
            raise AdminError(f"{item[:60]!r} is not a path pattern such as /admin/**")
        if kind == "prop" and not _PROP_KEY.match(item):
            raise AdminError(f"{item[:60]!r} is not a property name")
        items.append(item)
    if len(items) > MAX_LIST:
        raise AdminError(f"at most {MAX_LIST} entries")
    return tuple(items)


async def update_site_settings(
    store: SQLiteStore,
    site: Site,
    *,
    timezone: str,
    honor_signals: bool,
    allowed_params: tuple[str, ...],
    excluded_paths: tuple[str, ...],
) -> None:
    tz = check_timezone(timezone)

    async def job(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "UPDATE sites SET timezone = ?, honor_signals = ?, allowed_params = ?, excluded_paths = ? WHERE id = ?",
            (tz, int(honor_signals), ",".join(allowed_params), ",".join(excluded_paths), site.id),
        )

    await store.write(job)
    _forget_cached_site(store, site.domain)


async def set_share(store: SQLiteStore, site: Site, token: str | None, password_hash: str | None) -> None:
    """Set or clear the site's public share token and its optional password hash."""

    async def job(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "UPDATE sites SET share_token = ?, share_password_hash = ? WHERE id = ?",
            (token, password_hash if token else None, site.id),
        )

    await store.write(job)
    _forget_cached_site(store, site.domain)


async def site_by_share_token(store: SQLiteStore, token: str) -> Site | None:
    if not token:
        return None
    rows = await store.fetchall(f"SELECT {SITE_COLS} FROM sites WHERE share_token = ?", (token,))
    return site_from_row(rows[0]) if rows else None


async def site_created_at(store: SQLiteStore, site_id: int) -> int:
    rows = await store.fetchall("SELECT created_at FROM sites WHERE id = ?", (site_id,))
    return int(rows[0][0]) if rows else 0


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    share_min_visitors: int = 5  # k for public links; 0 = no suppression
    prop_keys: tuple[str, ...] = ()


async def dashboard_options(store: SQLiteStore, site_id: int) -> DashboardOptions:
    rows = await store.fetchall(
        "SELECT share_min_visitors, prop_keys FROM site_dashboard WHERE site_id = ?", (site_id,)
    )
    if not rows:
        return DashboardOptions()
    return DashboardOptions(int(rows[0][0]), tuple(p for p in str(rows[0][1]).split(",") if p))


async def set_dashboard_options(store: SQLiteStore, site_id: int, options: DashboardOptions) -> None:
    if not 0 <= options.share_min_visitors <= 1000:
        raise AdminError("the minimum visitors per row must be between 0 and 1000")

    async def job(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO site_dashboard (site_id, share_min_visitors, prop_keys) VALUES (?, ?, ?)"
            " ON CONFLICT (site_id) DO UPDATE SET share_min_visitors = excluded.share_min_visitors,"
            " prop_keys = excluded.prop_keys",
            (site_id, options.share_min_visitors, ",".join(options.prop_keys)),
        )

    await store.write(job)


def _forget_cached_site(store: SQLiteStore, domain: str) -> None:
    # The collector caches sites for a few seconds; a changed setting applies at once in this process.
    cache = getattr(store, "_sites", None)
    if isinstance(cache, dict):
        cache.pop(domain, None)
