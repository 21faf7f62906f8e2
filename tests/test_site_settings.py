"""Per-site settings forms (analytics/web/site_settings.py): the share actions, members and their errors.

CSRF on these forms and the collector following the settings are checked in test_web_security.py.
"""

from __future__ import annotations

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


async def test_members_and_settings_errors_are_shown_on_the_page(instance: Instance, owner: Any) -> None:
    r = await post(owner, "members", {"action": "add", "email": "new@example.org", "role": "viewer"})
    assert r.status_code == 400 and "new@example.org has no account yet: give an initial password" in r.text
    r = await post(owner, "members", {"action": "add", "email": "new@example.org", "password": "long enough"})
    assert r.status_code == 303  # created, with the default role
    site = await instance.accounts.sites.get(DOMAIN)
    new = await instance.accounts.users.get("new@example.org")
    assert await instance.accounts.users.role(site.id, new.id) == "viewer"
    r = await post(owner, "settings", {"timezone": "UTC", "allowed_params": "bad param"})
    assert r.status_code == 400 and "is not a query parameter name" in r.text
    r = await post(owner, "settings", {"timezone": "", "allowed_params": "lang", "prop_keys": "plan"})
    assert r.status_code == 303
    site = await instance.accounts.sites.get(DOMAIN)
    assert (site.timezone, site.allowed_params, site.honor_signals) == ("UTC", ("lang",), False)  # unticked box
    assert (await instance.accounts.sites.dashboard_options(site.id)).prop_keys == ("plan",)


async def test_imports_form_without_a_file(owner: Any) -> None:
    r = await post(owner, "imports", {"action": "upload"})
    assert r.status_code == 400 and "Choose a Plausible CSV export (.zip) to upload." in r.text
    assert (await post(owner, "imports", {"action": "remove", "import_id": "x"})).status_code == 303  # all: none


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
