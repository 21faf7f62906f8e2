"""Dashboard users and their roles on sites."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from analytics.accounts import validate
from analytics.accounts.db import Database
from analytics.accounts.validate import AdminError
from analytics.clock import Clock

ROLES = ("owner", "viewer")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as `users list` shows them: never the password hash."""

    id: int
    email: str
    admin: bool
    created_at: int
    sites: int  # sites with a role


class Users:
    """The users table and site_roles."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- users ------------------------------------------------------------------------

    async def add(self, email: str, password: str, *, admin: bool = False) -> User:
        """Create a user (an operator's command); the first user is the admin and owns every site so far."""
        email, hashed = validate.credentials(email, password)
        now = int(self.clock.now())

        async def job(conn: aiosqlite.Connection) -> int:
            async with conn.execute("SELECT 1 FROM users WHERE email = ?", (email,)) as cur:
                if await cur.fetchone():
                    raise AdminError(f"user {email} already exists")
            async with conn.execute("SELECT COUNT(*) FROM users") as cur3:
                row = await cur3.fetchone()
            first = bool(row and row[0] == 0)
            user_id = await insert(conn, email, hashed, now, admin=admin or first)
            if first:
                await _own_every_site(conn, user_id)
            return user_id

        return User(await self.db.write(job), email)

    async def add_first(self, email: str, password: str) -> User:
        """Create the admin from the setup page; refuses once any user exists (checked in the same transaction)."""
        email, hashed = validate.credentials(email, password)
        now = int(self.clock.now())

        async def job(conn: aiosqlite.Connection) -> int:
            async with conn.execute("SELECT COUNT(*) FROM users") as cur:
                row = await cur.fetchone()
            if row and row[0]:
                raise AdminError("the admin already exists; sign in instead")
            user_id = await insert(conn, email, hashed, now, admin=True)
            await _own_every_site(conn, user_id)
            return user_id

        return User(await self.db.write(job), email)

    async def all(self) -> list[UserInfo]:
        """Every user, by email, with the number of sites they have a role on."""
        rows = await self.db.fetchall(
            "SELECT u.id, u.email, u.admin, u.created_at, COUNT(r.site_id) FROM users u"
            " LEFT JOIN site_roles r ON r.user_id = u.id GROUP BY u.id ORDER BY u.email"
        )
        return [UserInfo(int(r[0]), str(r[1]), bool(r[2]), int(r[3]), int(r[4])) for r in rows]

    async def is_admin(self, user_id: int) -> bool:
        row = await self.db.fetchone("SELECT admin FROM users WHERE id = ?", (user_id,))
        return bool(row and row[0])

    async def remove(self, email: str) -> User:
        """Delete a user with their roles, keys and sessions; refused while they are a site's only owner."""
        user = await self.get(email)

        async def job(conn: aiosqlite.Connection) -> None:
            async with conn.execute(
                "SELECT s.domain FROM sites s JOIN site_roles r ON r.site_id = s.id"
                " WHERE r.user_id = ? AND r.role = 'owner' AND NOT EXISTS (SELECT 1 FROM site_roles o"
                " WHERE o.site_id = s.id AND o.role = 'owner' AND o.user_id != r.user_id) ORDER BY s.domain",
                (user.id,),
            ) as cur:
                alone = [str(r[0]) for r in await cur.fetchall()]
            if alone:
                raise AdminError(
                    f"{user.email} is the only owner of {', '.join(alone)}; add another owner or remove the site first"
                )
            await conn.execute("DELETE FROM users WHERE id = ?", (user.id,))  # roles, keys, sessions cascade

        await self.db.write(job)
        return user

    async def set_password(self, user_id: int, password: str, *, keep_session: bytes | None = None) -> None:
        """Replace a password and end the user's sessions, all but `keep_session` (a token hash)."""
        hashed = validate.password_hash(password)

        async def job(conn: aiosqlite.Connection) -> None:
            cur = await conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (hashed, user_id))
            if cur.rowcount != 1:
                raise AdminError("no such user")
            await conn.execute(
                "DELETE FROM web_sessions WHERE user_id = ? AND token_hash IS NOT ?", (user_id, keep_session)
            )

        await self.db.write(job)

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM users")
        return int(row[0]) if row else 0

    async def first(self) -> int | None:
        """The admin: the first user created, who owns sites added from the CLI."""
        row = await self.db.fetchone("SELECT id FROM users ORDER BY id LIMIT 1")
        return int(row[0]) if row else None

    async def get(self, email: str) -> User:
        row = await self.db.fetchone("SELECT id, email FROM users WHERE email = ?", (email.strip(),))
        if row is None:
            raise AdminError(f"no user {email!r}; create one with `analytics users add`")
        return User(row[0], row[1])

    async def by_id(self, user_id: int) -> User | None:
        row = await self.db.fetchone("SELECT id, email FROM users WHERE id = ?", (user_id,))
        return User(row[0], row[1]) if row else None

    async def credentials(self, email: str) -> tuple[User, str] | None:
        """The user and their stored password hash, for sign-in."""
        row = await self.db.fetchone("SELECT id, email, password_hash FROM users WHERE email = ?", (email.strip(),))
        return (User(row[0], row[1]), row[2]) if row else None

    # -- roles ------------------------------------------------------------------------

    async def role(self, site_id: int, user_id: int) -> str | None:
        row = await self.db.fetchone(
            "SELECT role FROM site_roles WHERE site_id = ? AND user_id = ?", (site_id, user_id)
        )
        return str(row[0]) if row else None

    async def owns_any(self, user_id: int) -> bool:
        """Whether the user owns at least one site."""
        row = await self.db.fetchone(
            "SELECT 1 FROM site_roles WHERE user_id = ? AND role = 'owner' LIMIT 1", (user_id,)
        )
        return row is not None

    async def members(self, site_id: int) -> list[tuple[User, str]]:
        rows = await self.db.fetchall(
            "SELECT u.id, u.email, r.role FROM site_roles r JOIN users u ON u.id = r.user_id"
            " WHERE r.site_id = ? ORDER BY r.role, u.email",
            (site_id,),
        )
        return [(User(r[0], r[1]), str(r[2])) for r in rows]

    async def set_role(self, site_id: int, user_id: int, role: str) -> None:
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

        await self.db.write(job)

    async def remove_role(self, site_id: int, user_id: int) -> None:
        async def job(conn: aiosqlite.Connection) -> None:
            await _keep_an_owner(conn, site_id, user_id)
            await conn.execute("DELETE FROM site_roles WHERE site_id = ? AND user_id = ?", (site_id, user_id))

        await self.db.write(job)


async def insert(conn: aiosqlite.Connection, email: str, hashed: str, now: int, *, admin: bool = False) -> int:
    cur = await conn.execute(
        "INSERT INTO users (email, password_hash, created_at, admin) VALUES (?, ?, ?, ?)",
        (email, hashed, now, int(admin)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def _own_every_site(conn: aiosqlite.Connection, user_id: int) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO site_roles (site_id, user_id, role) SELECT id, ?, 'owner' FROM sites", (user_id,)
    )


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
