"""Invitations: the one way a person is added to a site on the dashboard.

An owner names an email and a role and gets a one-time link to hand over (no
email is sent). Whoever opens it either sets the password of a new account for
that email, or, when the email has an account already, signs in as it and
accepts: an invitation never sets an existing user's password, so nobody can
create or take over an account for someone else. Only the SHA-256 of the link's
token is stored; a link expires after `TTL_SECONDS` and works once (accepting
deletes it, in the same transaction that grants the role).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import aiosqlite

from analytics.accounts import validate
from analytics.accounts.db import Database
from analytics.accounts.users import ROLES, User, insert
from analytics.accounts.validate import AdminError
from analytics.clock import Clock

TTL_SECONDS = 7 * 86400
MAX_PENDING = 100  # per site: bounds what one owner can store


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class Invitation:
    id: int
    site_id: int
    email: str
    role: str
    expires_at: int


class InvitationGone(AdminError):
    """The link is unknown, used, withdrawn or expired: one answer for all four."""

    def __init__(self) -> None:
        super().__init__("This invitation link is not valid: it was used, withdrawn or has expired.")


class Invitations:
    """The invitations table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def create(self, site_id: int, email: str, role: str, invited_by: int | None) -> str:
        """A new invitation; returns its token (shown once). Replaces a pending one for the same email."""
        address = validate.email(email)
        if role not in ROLES:
            raise AdminError(f"role must be one of {', '.join(ROLES)}")
        token = secrets.token_urlsafe(32)
        now = int(self.clock.now())

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM invitations WHERE expires_at <= ?", (now,))
            await conn.execute("DELETE FROM invitations WHERE site_id = ? AND email = ?", (site_id, address))
            async with conn.execute("SELECT COUNT(*) FROM invitations WHERE site_id = ?", (site_id,)) as cur:
                row = await cur.fetchone()
            if row and row[0] >= MAX_PENDING:
                raise AdminError(f"this site has {MAX_PENDING} pending invitations; withdraw some first")
            await conn.execute(
                "INSERT INTO invitations (site_id, email, role, token_hash, invited_by, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (site_id, address, role, hash_token(token), invited_by, now, now + TTL_SECONDS),
            )

        await self.db.write(job)
        return token

    async def pending(self, site_id: int) -> list[Invitation]:
        """The site's invitations that can still be accepted, by email."""
        rows = await self.db.fetchall(
            "SELECT id, site_id, email, role, expires_at FROM invitations WHERE site_id = ? AND expires_at > ?"
            " ORDER BY email",
            (site_id, int(self.clock.now())),
        )
        return [Invitation(int(r[0]), int(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]

    async def withdraw(self, site_id: int, invitation_id: int) -> None:
        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM invitations WHERE id = ? AND site_id = ?", (invitation_id, site_id))

        await self.db.write(job)

    async def get(self, token: str) -> Invitation:
        """The live invitation a link's token belongs to; InvitationGone otherwise."""
        if not token or len(token) > 100:
            raise InvitationGone()
        row = await self.db.fetchone(
            "SELECT id, site_id, email, role, expires_at FROM invitations WHERE token_hash = ? AND expires_at > ?",
            (hash_token(token), int(self.clock.now())),
        )
        if row is None:
            raise InvitationGone()
        return Invitation(int(row[0]), int(row[1]), str(row[2]), str(row[3]), int(row[4]))

    async def accept_new(self, token: str, password: str) -> tuple[User, int]:
        """Create the invited email's account with the invitee's own password and grant the role.

        (user, site id). Refused when the email has an account by now: then its
        owner signs in and accepts (`accept_as`).
        """
        hashed = validate.password_hash(password)
        now = int(self.clock.now())

        async def job(conn: aiosqlite.Connection) -> tuple[User, int]:
            inv = await _take(conn, token, now)
            async with conn.execute("SELECT 1 FROM users WHERE email = ?", (inv.email,)) as cur:
                if await cur.fetchone():
                    raise AdminError(f"There is an account for {inv.email} already: sign in with it to accept.")
            user_id = await insert(conn, inv.email, hashed, now)
            await _grant(conn, inv, user_id)
            return User(user_id, inv.email), inv.site_id

        return await self.db.write(job)

    async def accept_as(self, token: str, user: User) -> int:
        """Grant the invitation's role to the signed-in `user`, whose email it names; the site id."""
        now = int(self.clock.now())

        async def job(conn: aiosqlite.Connection) -> int:
            inv = await _take(conn, token, now)
            if inv.email.casefold() != user.email.casefold():
                raise AdminError(f"This invitation is for {inv.email}. Sign out, then sign in as {inv.email}.")
            await _grant(conn, inv, user.id)
            return inv.site_id

        return await self.db.write(job)


async def _take(conn: aiosqlite.Connection, token: str, now: int) -> Invitation:
    """The live invitation, read inside the accepting transaction: two tabs cannot both use it."""
    if not token or len(token) > 100:
        raise InvitationGone()
    async with conn.execute(
        "SELECT id, site_id, email, role, expires_at FROM invitations WHERE token_hash = ? AND expires_at > ?",
        (hash_token(token), now),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        raise InvitationGone()
    return Invitation(int(row[0]), int(row[1]), str(row[2]), str(row[3]), int(row[4]))


async def _grant(conn: aiosqlite.Connection, inv: Invitation, user_id: int) -> None:
    # An owner invited as a viewer stays an owner: an invitation only ever adds rights.
    await conn.execute(
        "INSERT INTO site_roles (site_id, user_id, role) VALUES (?, ?, ?)"
        " ON CONFLICT (site_id, user_id) DO UPDATE SET role = CASE WHEN role = 'owner' THEN 'owner'"
        " ELSE excluded.role END",
        (inv.site_id, user_id, inv.role),
    )
    await conn.execute("DELETE FROM invitations WHERE id = ?", (inv.id,))
