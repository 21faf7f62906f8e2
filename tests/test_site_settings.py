"""Per-site settings forms (analytics/web/site_settings.py): the share actions, members and their errors.

CSRF on these forms and the collector following the settings are checked in test_web_security.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Instance
from web_support import DOMAIN, post_form, setup_admin

from analytics.web import site_settings

SETTINGS = f"/sites/{DOMAIN}/settings"


@pytest.fixture
async def owner(instance: Instance) -> Any:
    client = instance.client()
    await setup_admin(client)
    assert (await post_form(client, "/sites/new", {"domain": DOMAIN, "timezone": "UTC"})).status_code == 303
    yield client
    await client.aclose()


async def post(client: Any, path: str, data: dict[str, str]) -> Any:
    return await post_form(client, f"/sites/{DOMAIN}/{path}", data, token_page=SETTINGS)


def test_new_tokens_are_192_random_bits() -> None:
    token = site_settings.new_token()
    assert len(token) == 32 and token != site_settings.new_token()


async def test_share_actions(instance: Instance, owner: Any) -> None:
    sites = instance.accounts.sites
    r = await post(owner, "share", {"action": "password", "password": "long enough"})
    assert r.status_code == 400 and "Create the share link first." in r.text
    assert (await post(owner, "share", {"action": "create"})).headers["location"] == f"{SETTINGS}?done=saved#share"
    first = (await sites.get(DOMAIN)).share_token
    await post(owner, "share", {"action": "rotate"})
    assert (await sites.get(DOMAIN)).share_token not in (None, first)
    await post(owner, "share", {"action": "password", "password": "long enough"})
    assert (await sites.get(DOMAIN)).share_password_hash is not None
    await post(owner, "share", {"action": "clear_password"})
    assert (await sites.get(DOMAIN)).share_password_hash is None
    r = await post(owner, "share", {"action": "k", "k": "-1"})
    assert r.status_code == 400 and "must be a whole number" in r.text
    r = await post(owner, "share", {"action": "k", "k": "5000"})
    assert r.status_code == 400 and "between 0 and 1000" in r.text
    assert (await post(owner, "share", {"action": "k", "k": "0"})).status_code == 303
    assert (await sites.dashboard_options((await sites.get(DOMAIN)).id)).share_min_visitors == 0
    assert (await post(owner, "share", {"action": "explode"})).status_code == 400
    await post(owner, "share", {"action": "delete"})
    assert (await sites.get(DOMAIN)).share_token is None


async def test_settings_errors_are_shown_on_the_page(instance: Instance, owner: Any) -> None:
    r = await post(owner, "settings", {"timezone": "UTC", "allowed_params": "bad param"})
    assert r.status_code == 400 and "is not a query parameter name" in r.text
    r = await post(owner, "settings", {"timezone": "", "allowed_params": "lang", "prop_keys": "plan"})
    assert r.status_code == 303
    site = await instance.accounts.sites.get(DOMAIN)
    assert (site.timezone, site.allowed_params, site.honor_signals) == ("UTC", ("lang",), False)  # unticked box
    assert (await instance.accounts.sites.dashboard_options(site.id)).prop_keys == ("plan",)


def _without_tokens(html: str) -> str:
    html = re.sub(r'name="csrf" value="[^"]*"', "", html)
    return re.sub(r"/invite/[A-Za-z0-9_-]+", "/invite/TOKEN", html.replace("known@example.org", "EMAIL").replace(
        "new@example.org", "EMAIL"))


async def test_the_people_form_answers_alike_whether_or_not_an_email_has_an_account(instance: Instance, owner: Any) -> None:
    """Issue 15.2: an invitation for a registered email and one for an unknown email look the same."""
    await instance.accounts.users.add("known@example.org", "their own password")
    known = await post(owner, "members", {"action": "invite", "email": "known@example.org", "role": "viewer"})
    await post(owner, "members", {"action": "withdraw", "invitation_id": "1"})
    new = await post(owner, "members", {"action": "invite", "email": "new@example.org", "role": "viewer"})
    await post(owner, "members", {"action": "withdraw", "invitation_id": "2"})
    assert known.status_code == new.status_code == 200
    assert _without_tokens(known.text) == _without_tokens(new.text)
    # Nobody was created or given a role, and the known account's password is untouched.
    assert [u.email for u in await instance.accounts.users.all()] == ["admin@example.org", "known@example.org"]
    site = await instance.accounts.sites.get(DOMAIN)
    assert [m.email for m, _ in await instance.accounts.users.members(site.id)] == ["admin@example.org"]
    # Removing by id answers alike for a stranger's account and for no account at all.
    stranger = await post(owner, "members", {"action": "remove", "user_id": "2"})
    nobody = await post(owner, "members", {"action": "remove", "user_id": "99"})
    assert stranger.status_code == nobody.status_code == 303 and stranger.headers["location"] == nobody.headers["location"]


async def test_invitations_are_listed_replaced_and_withdrawn(instance: Instance, owner: Any) -> None:
    r = await post(owner, "members", {"action": "invite", "email": "not an email", "role": "viewer"})
    assert r.status_code == 400 and "&#39;not an email&#39; is not an email address" in r.text
    r = await post(owner, "members", {"action": "invite", "email": "a@example.org", "role": "admin"})
    assert r.status_code == 400 and "role must be one of owner, viewer" in r.text
    r = await post(owner, "members", {"action": "invite", "email": "a@example.org", "role": "owner"})
    assert "It works once, for 7 days." in r.text
    page = (await owner.get(SETTINGS)).text
    assert "owner, invited (link valid until 2026-03-09 09:00 UTC)" in page and "/invite/" not in page  # shown once
    await post(owner, "members", {"action": "invite", "email": "A@example.org", "role": "viewer"})  # replaces
    site = await instance.accounts.sites.get(DOMAIN)
    pending = await instance.accounts.invitations.pending(site.id)
    assert [(i.email, i.role) for i in pending] == [("A@example.org", "viewer")]
    assert (await post(owner, "members", {"action": "withdraw", "invitation_id": str(pending[0].id)})).status_code == 303
    assert await instance.accounts.invitations.pending(site.id) == []
    assert (await post(owner, "members", {"action": "explode"})).status_code == 400


async def test_removing_a_site_needs_its_domain_typed(instance: Instance, owner: Any) -> None:
    page = (await owner.get(SETTINGS)).text
    assert f'action="/sites/{DOMAIN}/delete"' in page
    r = await post(owner, "delete", {"confirm": "blog.example.com"})
    assert r.status_code == 400 and f"Type {DOMAIN} to confirm" in r.text
    assert (await post(owner, "delete", {})).status_code == 400
    await instance.accounts.sites.get(DOMAIN)  # still there
    r = await post(owner, "delete", {"confirm": f" {DOMAIN.upper()} "})
    assert r.status_code == 303 and r.headers["location"] == "/sites?done=removed"
    assert await instance.accounts.sites.all() == []
    assert "The site and its data were removed." in (await owner.get("/sites?done=removed")).text


async def test_the_share_summary_reads_as_sentences(owner: Any) -> None:
    await post(owner, "share", {"action": "create"})
    text = " ".join((await owner.get(SETTINGS)).text.split())
    assert "No password. Rows, chart points and totals with fewer than 5 visitors are hidden" in text


async def test_imports_form_without_a_file(owner: Any) -> None:
    r = await post(owner, "imports", {"action": "upload"})
    assert r.status_code == 400 and "Choose a Plausible CSV export (.zip) to upload." in r.text
    assert (await post(owner, "imports", {"action": "remove", "import_id": "x"})).status_code == 303  # all: none


@pytest.mark.parametrize("raw", ["9" * 40, "²", "-1", "1e3", ""])
async def test_odd_row_ids_name_no_row(instance: Instance, owner: Any, raw: str) -> None:
    for path, name in (("members", "user_id"), ("members", "invitation_id")):
        action = "remove" if name == "user_id" else "withdraw"
        assert (await post(owner, path, {"action": action, name: raw})).status_code == 303
    assert (await post(owner, "imports", {"action": "remove", "import_id": raw})).status_code == 303
    site = await instance.accounts.sites.get(DOMAIN)
    assert [m.email for m, _ in await instance.accounts.users.members(site.id)] == ["admin@example.org"]


async def test_read_thresholds_are_saved_checked_and_disclosed(instance: Instance, owner: Any) -> None:
    page = await owner.get(SETTINGS)
    assert 'name="read_scroll" type="number" min="1" max="100" value="75"' in page.text
    assert 'name="read_share" type="number" min="0" max="100" value="30"' in page.text
    r = await post(owner, "settings", {"timezone": "UTC", "read_scroll": "80", "read_share": "40"})
    assert r.status_code == 303
    site = await instance.accounts.sites.get(DOMAIN)
    assert (site.read_scroll, site.read_share) == (80, 40)
    assert 'name="read_scroll" type="number" min="1" max="100" value="80"' in (await owner.get(SETTINGS)).text
    r = await post(owner, "settings", {"timezone": "UTC", "read_scroll": "0"})
    assert r.status_code == 400 and "The scroll depth for a read must be between 1 and 100 %." in r.text
    r = await post(owner, "settings", {"timezone": "UTC", "read_share": "half"})
    assert r.status_code == 400 and "The share of the reading time for a read must be a whole number of percent." in r.text
    r = await post(owner, "settings", {"timezone": "UTC"})  # fields left out: unchanged
    assert r.status_code == 303
    site = await instance.accounts.sites.get(DOMAIN)
    assert (site.read_scroll, site.read_share) == (80, 40)
    disclosed = (await owner.get(f"/privacy/{DOMAIN}")).text
    assert "scrolled through at least 80 % of the page and were active on it for at least 40 % of the time" in disclosed
    assert "230 words a minute (and at least 10 seconds)" in disclosed
    assert "for at most 30 seconds after you last scrolled, pressed a key, moved the pointer or touched" in disclosed
    assert "How long the page is, as a number of words. The text itself never leaves your browser." in disclosed
