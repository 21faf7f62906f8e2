"""Sites in accounts.db (analytics/accounts/sites.py): registration, the collector's cached lookup,
settings, share links, dashboard options and removal with the site's events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from analytics.accounts import Accounts
from analytics.accounts.sites import DashboardOptions, site_from_row
from analytics.accounts.validate import AdminError
from analytics.clock import FrozenClock
from analytics.model import DAY, Event, SessionAttrs, Site
from analytics.store.sqlite.store import SQLiteStore

T0 = 1_772_442_000


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[Accounts]:
    async with Accounts(tmp_path / "accounts.db", clock=FrozenClock(T0)) as a:
        yield a


async def test_add_normalises_and_refuses_duplicates(accounts: Accounts) -> None:
    site = await accounts.sites.add("https://www.Blog.Example.org/", "Europe/Zurich")
    assert site == Site(site.id, "blog.example.org", "Europe/Zurich")
    assert await accounts.sites.get("BLOG.example.org ") == site
    assert await accounts.sites.created_at(site.id) == T0 and await accounts.sites.created_at(99) == 0
    with pytest.raises(AdminError, match="site blog.example.org already exists"):
        await accounts.sites.add("blog.example.org")
    with pytest.raises(AdminError, match="is not a known time zone"):
        await accounts.sites.add("other.example.org", "Mars/Base")
    with pytest.raises(AdminError, match="no site 'nope.org'; `analytics sites list` shows the registered ones"):
        await accounts.sites.get("nope.org")


async def test_the_collectors_lookup_sees_other_processes_at_once(tmp_path: Path, accounts: Accounts) -> None:
    """The cache lives while accounts.db is unchanged: another worker's add or removal applies at once,
    with the clock standing still (it used to take CACHE_SECONDS = 5)."""
    assert await accounts.sites.by_domain("blog.example.org") is None
    async with Accounts(tmp_path / "accounts.db", clock=FrozenClock(T0)) as other_worker:
        await other_worker.sites.add("blog.example.org")
        found = await accounts.sites.by_domain("blog.example.org")
        assert found is not None and found.domain == "blog.example.org"
        assert await accounts.sites.by_domain("blog.example.org") == found  # cached: nothing changed
        await other_worker.sites.remove("blog.example.org", NoEvents())
        assert await accounts.sites.by_domain("blog.example.org") is None
    # A change made in this process applies at once.
    site = await accounts.sites.add("blog.example.org")
    await accounts.sites.update_settings(site, timezone="Asia/Kolkata", honor_signals=False,
                                         allowed_params=("lang", "ref"), excluded_paths=("/admin/**",))  # fmt: skip
    changed = await accounts.sites.by_domain("blog.example.org")
    assert changed == Site(site.id, "blog.example.org", "Asia/Kolkata", False, ("lang", "ref"), ("/admin/**",))


async def test_the_lookup_cache_serves_repeats_while_nothing_changes(accounts: Accounts) -> None:
    site = await accounts.sites.add("blog.example.org")
    version = accounts.db.data_version()
    assert version is not None
    assert await accounts.sites.by_domain("blog.example.org") == site
    # A row changed behind SQLite's back would not change data_version: the cached answer stays.
    accounts.sites._cache["blog.example.org"] = None
    assert await accounts.sites.by_domain("blog.example.org") is None
    await accounts.sites.set_share(site, None, None)  # any commit empties the cache
    assert accounts.db.data_version() != version
    assert await accounts.sites.by_domain("blog.example.org") == site


class NoEvents:
    """A site without event data (the EventData protocol), for removals in accounts-only tests."""

    async def delete_site(self, site_id: int) -> None:
        return None


async def test_membership_lookups(accounts: Accounts) -> None:
    ann = await accounts.users.add("ann@example.org", "long enough")  # the admin: owns what exists
    bob = await accounts.users.add("bob@example.org", "long enough")
    a = await accounts.sites.add("a.example.org", owner=bob.id)
    b = await accounts.sites.add("b.example.org")
    assert [s.domain for s in await accounts.sites.all()] == ["a.example.org", "b.example.org"]
    assert await accounts.sites.of_user(bob.id) == [a] and await accounts.sites.of_user(ann.id) == []
    assert await accounts.sites.for_user(bob.id, "a.example.org") == a
    assert await accounts.sites.for_user(bob.id, "b.example.org") is None  # foreign and unknown alike
    assert await accounts.sites.for_user(bob.id, "c.example.org") is None
    ensured = await accounts.sites.ensure("c.example.org", "UTC")  # added, owned by the admin
    assert await accounts.users.role(ensured.id, ann.id) == "owner"
    assert await accounts.sites.ensure("https://b.example.org") == b


async def test_share_links_and_dashboard_options(accounts: Accounts) -> None:
    site = await accounts.sites.add("blog.example.org")
    assert await accounts.sites.by_share_token("") is None
    await accounts.sites.set_share(site, "t" * 24, "scrypt$hash")
    shared = await accounts.sites.by_share_token("t" * 24)
    assert shared is not None and (shared.share_token, shared.share_password_hash) == ("t" * 24, "scrypt$hash")
    await accounts.sites.set_share(site, None, "ignored")  # no link, no password
    assert (await accounts.sites.get(site.domain)).share_password_hash is None
    assert await accounts.sites.by_share_token("t" * 24) is None

    assert await accounts.sites.dashboard_options(site.id) == DashboardOptions(5, ())
    await accounts.sites.set_dashboard_options(site.id, DashboardOptions(0, ("author", "plan")))
    assert await accounts.sites.dashboard_options(site.id) == DashboardOptions(0, ("author", "plan"))
    with pytest.raises(AdminError, match="between 0 and 1000"):
        await accounts.sites.set_dashboard_options(site.id, DashboardOptions(1001))


async def test_removing_a_site_removes_its_events_first(tmp_path: Path, accounts: Accounts) -> None:
    site = await accounts.sites.add("blog.example.org")
    await accounts.users.add("ann@example.org", "long enough")
    store = SQLiteStore(tmp_path / "analytics.db")
    await store.open()
    try:
        e = Event(site_id=site.id, ts=T0, day=T0 // DAY, visitor_id=1, prev_visitor_id=None, name="pageview",
                  hostname="blog.example.org", path="/", attrs=SessionAttrs())  # fmt: skip
        await store.submit([e])
        await accounts.sites.remove("blog.example.org", store)
        assert await store.fetchall("SELECT COUNT(*) FROM events") == [(0,)]
    finally:
        await store.close()
    assert await accounts.sites.all() == [] and await accounts.sites.by_domain("blog.example.org") is None
    assert await accounts.db.fetchall("SELECT COUNT(*) FROM site_roles") == [(0,)]  # roles cascade


def test_site_from_row() -> None:
    row = (3, "a.org", "UTC", 0, "lang,,ref", "", None, None, 80, 25)
    assert site_from_row(row) == Site(3, "a.org", "UTC", False, ("lang", "ref"), (), read_scroll=80, read_share=25)
