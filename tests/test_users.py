"""Dashboard users and roles (analytics/accounts/users.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from analytics.accounts import Accounts
from analytics.accounts.passwords import verify_password
from analytics.accounts.users import User
from analytics.accounts.validate import AdminError


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[Accounts]:
    async with Accounts(tmp_path / "accounts.db") as a:
        yield a


async def test_the_first_user_is_the_admin_and_owns_every_site(accounts: Accounts) -> None:
    old = await accounts.sites.add("old.example.org")
    admin = await accounts.users.add("admin@example.org", "long enough")
    assert (await accounts.users.first(), await accounts.users.role(old.id, admin.id)) == (admin.id, "owner")
    ann = await accounts.users.add("ann@example.org", "long enough")
    assert await accounts.users.role(old.id, ann.id) is None  # later users own nothing by default
    assert await accounts.users.count() == 2
    with pytest.raises(AdminError, match="user ann@example.org already exists"):
        await accounts.users.add("ann@example.org", "long enough")


async def test_setup_creates_the_admin_only_once(accounts: Accounts) -> None:
    site = await accounts.sites.add("blog.example.org")
    admin = await accounts.users.add_first("admin@example.org", "long enough")
    assert await accounts.users.role(site.id, admin.id) == "owner"
    with pytest.raises(AdminError, match="the admin already exists; sign in instead"):
        await accounts.users.add_first("eve@example.org", "long enough")
    assert await accounts.users.count() == 1


async def test_lookups(accounts: Accounts) -> None:
    assert await accounts.users.first() is None and await accounts.users.count() == 0
    ann = await accounts.users.add("ann@example.org", "long enough")
    assert await accounts.users.get(" ann@example.org ") == ann == User(ann.id, "ann@example.org")
    assert await accounts.users.by_id(ann.id) == ann and await accounts.users.by_id(99) is None
    found = await accounts.users.credentials("ann@example.org")
    assert found is not None and found[0] == ann and verify_password("long enough", found[1])
    assert await accounts.users.credentials("bob@example.org") is None
    with pytest.raises(AdminError, match="no user 'bob@example.org'; create one with `analytics users add`"):
        await accounts.users.get("bob@example.org")


async def test_roles_keep_an_owner(accounts: Accounts) -> None:
    admin = await accounts.users.add("admin@example.org", "long enough")
    site = await accounts.sites.add("blog.example.org", owner=admin.id)
    viewer = await accounts.users.add("viewer@example.org", "long enough")
    await accounts.users.set_role(site.id, viewer.id, "viewer")
    assert await accounts.users.members(site.id) == [(admin, "owner"), (viewer, "viewer")]
    with pytest.raises(AdminError, match="a site needs at least one owner"):
        await accounts.users.set_role(site.id, admin.id, "viewer")
    with pytest.raises(AdminError, match="a site needs at least one owner"):
        await accounts.users.remove_role(site.id, admin.id)
    await accounts.users.set_role(site.id, viewer.id, "owner")  # a second owner: now the first may leave
    await accounts.users.remove_role(site.id, admin.id)
    assert await accounts.users.members(site.id) == [(viewer, "owner")]
    with pytest.raises(AdminError, match="role must be one of owner, viewer"):
        await accounts.users.set_role(site.id, viewer.id, "admin")


async def test_list_admin_flag_and_removal(accounts: Accounts) -> None:
    admin = await accounts.users.add("admin@example.org", "long enough")
    ann = await accounts.users.add("ann@example.org", "long enough")
    ops = await accounts.users.add("ops@example.org", "long enough", admin=True)
    site = await accounts.sites.add("blog.example.org", "UTC", owner=ann.id)
    await accounts.users.set_role(site.id, admin.id, "viewer")
    listed = await accounts.users.all()
    assert [(u.email, u.admin, u.sites) for u in listed] == [
        ("admin@example.org", True, 1), ("ann@example.org", False, 1), ("ops@example.org", True, 0)]
    assert [await accounts.users.is_admin(u) for u in (admin.id, ann.id, ops.id, 99)] == [True, False, True, False]
    assert await accounts.users.owns_any(ann.id) and not await accounts.users.owns_any(admin.id)
    await accounts.keys.add("ann@example.org")
    await accounts.logins.start("ann-session", ann, now=1, seconds=10**9)
    with pytest.raises(AdminError, match="ann@example.org is the only owner of blog.example.org; add another owner"):
        await accounts.users.remove("ann@example.org")
    await accounts.users.set_role(site.id, admin.id, "owner")
    assert await accounts.users.remove("ANN@example.org") == ann
    # Roles, keys and sessions went with the user.
    for table in ("api_keys", "web_sessions"):
        assert await accounts.db.fetchall(f"SELECT COUNT(*) FROM {table}") == [(0,)]
    assert [m.email for m, _ in await accounts.users.members(site.id)] == ["admin@example.org"]
    with pytest.raises(AdminError, match="no user 'ann@example.org'"):
        await accounts.users.remove("ann@example.org")


async def test_a_new_password_ends_the_other_sessions(accounts: Accounts) -> None:
    from analytics.accounts.logins import hash_token

    ann = await accounts.users.add("ann@example.org", "long enough")
    for token in ("phone", "laptop"):
        await accounts.logins.start(token, ann, now=1, seconds=10**9)
    with pytest.raises(AdminError, match="at least 8 characters"):
        await accounts.users.set_password(ann.id, "short")
    with pytest.raises(AdminError, match="at most 1024 characters"):
        await accounts.users.set_password(ann.id, "x" * 1025)
    await accounts.users.set_password(ann.id, "a new password", keep_session=hash_token("laptop"))
    found = await accounts.users.credentials("ann@example.org")
    assert found is not None and verify_password("a new password", found[1])
    assert await accounts.logins.user_of("phone", 2) is None and await accounts.logins.user_of("laptop", 2) == ann
    await accounts.users.set_password(ann.id, "an operator's reset")  # keeps none
    assert await accounts.logins.user_of("laptop", 2) is None
    with pytest.raises(AdminError, match="no such user"):
        await accounts.users.set_password(99, "long enough")
