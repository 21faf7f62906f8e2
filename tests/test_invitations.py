"""Invitations (analytics/accounts/invitations.py): one-time, expiring, stored as a hash, never setting an
existing account's password."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.accounts import Accounts
from analytics.accounts.invitations import TTL_SECONDS, InvitationGone, hash_token
from analytics.accounts.passwords import verify_password
from analytics.accounts.users import User
from analytics.accounts.validate import AdminError
from analytics.clock import FrozenClock


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[Accounts]:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with Accounts(tmp_path / "accounts.db", clock=clock) as a:
        await a.users.add("owner@example.org", "owner password")
        await a.sites.add("blog.example.org", "UTC", owner=1)
        yield a


def clock_of(accounts: Accounts) -> FrozenClock:
    assert isinstance(accounts.clock, FrozenClock)
    return accounts.clock


async def test_a_new_person_sets_their_own_password_once(accounts: Accounts) -> None:
    token = await accounts.invitations.create(1, " new@example.org ", "viewer", invited_by=1)
    # Only the token's SHA-256 is stored.
    rows = await accounts.db.fetchall("SELECT token_hash, email, role, created_at, expires_at FROM invitations")
    now = int(clock_of(accounts).now())
    assert rows == [(hashlib.sha256(token.encode()).digest(), "new@example.org", "viewer", now, now + TTL_SECONDS)]
    assert hash_token(token) == rows[0][0] and len(token) == 43
    inv = await accounts.invitations.get(token)
    assert (inv.site_id, inv.email, inv.role) == (1, "new@example.org", "viewer")

    with pytest.raises(AdminError, match="at least 8 characters"):
        await accounts.invitations.accept_new(token, "short")
    user, site_id = await accounts.invitations.accept_new(token, "my own password")
    assert (user.email, site_id) == ("new@example.org", 1)
    assert await accounts.users.role(1, user.id) == "viewer"
    found = await accounts.users.credentials("new@example.org")
    assert found is not None and verify_password("my own password", found[1])
    assert not await accounts.users.is_admin(user.id)
    # Used: gone, for every way of using it.
    for attempt in (accounts.invitations.get(token), accounts.invitations.accept_new(token, "another password"),
                    accounts.invitations.accept_as(token, user)):  # fmt: skip
        with pytest.raises(InvitationGone, match="not valid: it was used, withdrawn or has expired"):
            await attempt
    assert await accounts.db.fetchall("SELECT * FROM invitations") == []


async def test_an_existing_account_is_never_given_a_password(accounts: Accounts) -> None:
    ann = await accounts.users.add("ann@example.org", "ann's own password")
    token = await accounts.invitations.create(1, "ANN@example.org", "owner", invited_by=1)
    with pytest.raises(AdminError, match="There is an account for ANN@example.org already: sign in with it to accept."):
        await accounts.invitations.accept_new(token, "attacker password")
    found = await accounts.users.credentials("ann@example.org")
    assert found is not None and verify_password("ann's own password", found[1])
    assert await accounts.users.role(1, ann.id) is None
    # Someone else signed in cannot take it; Ann can.
    bob = await accounts.users.add("bob@example.org", "bob's password")
    with pytest.raises(AdminError, match="This invitation is for ANN@example.org"):
        await accounts.invitations.accept_as(token, bob)
    assert await accounts.invitations.accept_as(token, ann) == 1
    assert await accounts.users.role(1, ann.id) == "owner"
    with pytest.raises(InvitationGone):
        await accounts.invitations.get(token)


async def test_invitations_expire_after_seven_days(accounts: Accounts) -> None:
    token = await accounts.invitations.create(1, "late@example.org", "viewer", invited_by=1)
    clock_of(accounts).advance(TTL_SECONDS - 1)
    assert (await accounts.invitations.get(token)).email == "late@example.org"
    clock_of(accounts).advance(1)
    assert await accounts.invitations.pending(1) == []
    with pytest.raises(InvitationGone):
        await accounts.invitations.accept_new(token, "long enough")
    assert await accounts.users.count() == 1
    # The next invitation anywhere deletes expired rows.
    await accounts.invitations.create(1, "next@example.org", "viewer", invited_by=1)
    assert await accounts.db.fetchall("SELECT email FROM invitations") == [("next@example.org",)]


async def test_an_invitation_only_adds_rights(accounts: Accounts) -> None:
    owner = User(1, "owner@example.org")
    token = await accounts.invitations.create(1, "owner@example.org", "viewer", invited_by=1)
    await accounts.invitations.accept_as(token, owner)
    assert await accounts.users.role(1, 1) == "owner"  # not demoted (the site would lose its only owner)


async def test_two_tabs_accepting_at_once_create_one_account(tmp_path: Path, accounts: Accounts) -> None:
    token = await accounts.invitations.create(1, "race@example.org", "viewer", invited_by=1)
    async with Accounts(accounts.path, clock=accounts.clock) as other:
        results = await asyncio.gather(
            accounts.invitations.accept_new(token, "first password"),
            other.invitations.accept_new(token, "second password"),
            return_exceptions=True,
        )
    assert sorted(type(r).__name__ for r in results) == ["InvitationGone", "tuple"]
    assert [u.email for u in await accounts.users.all()] == ["owner@example.org", "race@example.org"]


async def test_withdraw_and_bad_input(accounts: Accounts) -> None:
    token = await accounts.invitations.create(1, "w@example.org", "viewer", invited_by=1)
    other_site = await accounts.sites.add("other.example.org", "UTC", owner=1)
    inv = await accounts.invitations.get(token)
    await accounts.invitations.withdraw(other_site.id, inv.id)  # another site's id: nothing happens
    assert (await accounts.invitations.get(token)).id == inv.id
    await accounts.invitations.withdraw(1, inv.id)
    with pytest.raises(InvitationGone):
        await accounts.invitations.get(token)
    for bad in ("", "x" * 101, "not-a-token"):
        with pytest.raises(InvitationGone):
            await accounts.invitations.get(bad)
    with pytest.raises(AdminError, match="is not an email address"):
        await accounts.invitations.create(1, "nobody", "viewer", invited_by=1)
    with pytest.raises(AdminError, match="role must be one of owner, viewer"):
        await accounts.invitations.create(1, "a@example.org", "admin", invited_by=1)


async def test_pending_invitations_are_bounded_per_site(accounts: Accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.accounts import invitations

    monkeypatch.setattr(invitations, "MAX_PENDING", 3)
    for n in range(3):
        await accounts.invitations.create(1, f"p{n}@example.org", "viewer", invited_by=1)
    with pytest.raises(AdminError, match="this site has 3 pending invitations; withdraw some first"):
        await accounts.invitations.create(1, "p9@example.org", "viewer", invited_by=1)
    await accounts.invitations.create(1, "p0@example.org", "owner", invited_by=1)  # a replacement still fits
    assert [(i.email, i.role) for i in await accounts.invitations.pending(1)] == [
        ("p0@example.org", "owner"), ("p1@example.org", "viewer"), ("p2@example.org", "viewer")]


async def test_removing_the_site_removes_its_invitations(tmp_path: Path, accounts: Accounts) -> None:
    from analytics.store.sqlite.store import SQLiteStore

    token = await accounts.invitations.create(1, "gone@example.org", "viewer", invited_by=1)
    store = SQLiteStore(tmp_path / "analytics.db")
    await store.open()
    try:
        await accounts.sites.remove("blog.example.org", store)
    finally:
        await store.close()
    with pytest.raises(InvitationGone):
        await accounts.invitations.get(token)
