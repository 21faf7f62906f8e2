"""Accounts and sites pages (analytics/web/pages.py): form fields, site access, the service's URL and the snippet page."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Instance
from starlette.datastructures import FormData
from starlette.requests import Request
from web_support import DOMAIN, post_form, setup_admin

from analytics.ingest import beacon
from analytics.web import pages
from analytics.web.render import WebError


def test_fields_are_text_and_bounded() -> None:
    form = FormData([("a", "x" * 3000), ("b", "ok")])
    assert pages.field(form, "a") == "x" * pages.MAX_FIELD and pages.field(form, "b") == "ok"
    assert pages.field(form, "missing") == ""


def test_timezones_offer_regions_and_utc() -> None:
    zones = pages.timezones()
    assert "Europe/Zurich" in zones and "Asia/Kathmandu" in zones and zones[-1] == "UTC"
    assert not any(z.startswith(("posix/", "right/", "Etc/")) for z in zones) and zones[:-1] == sorted(zones[:-1])


def test_the_snippet_comes_from_the_beacon() -> None:
    code, sri = pages.snippet_for("blog.example.org", "https://stats.example.org")
    assert (code, sri) == (beacon.snippet("blog.example.org", "https://stats.example.org"), beacon.sri_hash())
    assert 'data-domain="blog.example.org"' in code and "https://stats.example.org/js/script" in code


def request(instance: Instance, base: str = "http://t/", **headers: str) -> Request:
    scheme, host = base.split("://")
    raw = [(b"host", host.strip("/").encode()), *((k.lower().encode(), v.encode()) for k, v in headers.items())]
    return Request({"type": "http", "scheme": scheme, "method": "GET", "path": "/", "query_string": b"", "headers": raw,
                    "app": instance.app, "client": ("10.0.0.1", 1), "server": (host.strip("/"), 80)})  # fmt: skip


async def test_base_url_configured_else_the_first_seen_not_the_requests_host(instance: Instance) -> None:
    """Without --base-url the first origin seen is kept (in accounts.db, for every worker): a later
    request's Host header, which the client chooses, cannot put another host into snippets."""
    assert await pages.base_url(request(instance, "http://stats.example.org/")) == "http://stats.example.org"
    assert await pages.base_url(request(instance, "http://evil.example.net/")) == "http://stats.example.org"
    instance.app.state.__dict__.pop("_web_secrets")  # another worker: the file, not the cache, decides
    assert await pages.base_url(request(instance, "http://evil.example.net/")) == "http://stats.example.org"
    settings = instance.app.state.settings
    instance.app.state.settings = settings.__class__(data_dir=settings.data_dir, base_url="https://an.example.org/")
    assert await pages.base_url(request(instance, "http://stats.example.org/")) == "https://an.example.org"


async def test_snippet_share_link_and_settings_warning_without_base_url(instance: Instance) -> None:
    """Setup pins the origin; a signed-in page reached with another Host header still shows it, and
    Settings says --base-url is unset (and says nothing once it is set)."""
    async with instance.client() as owner:
        await setup_admin(owner)  # through http://testserver
        assert (await post_form(owner, "/sites/new", {"domain": DOMAIN, "timezone": "UTC"})).status_code == 303
        site = await instance.accounts.sites.get(DOMAIN)
        await instance.accounts.sites.set_share(site, "t" * 24, None)
        evil = {"Host": "evil.example.net"}
        snippet = await owner.get(f"/sites/{DOMAIN}/snippet", headers=evil)
        assert "src=&#34;http://testserver/js/script" in snippet.text and "evil.example.net" not in snippet.text
        page = await owner.get(f"/sites/{DOMAIN}/settings", headers=evil)
        assert "http://testserver/share/" + "t" * 24 in page.text and "evil.example.net" not in page.text
        assert "--base-url is not set: snippets and share links use <bdi>http://testserver</bdi>" in page.text
        settings = instance.app.state.settings
        instance.app.state.settings = settings.__class__(data_dir=settings.data_dir, base_url="https://an.example.org")
        page = await owner.get(f"/sites/{DOMAIN}/settings")
        assert "https://an.example.org/share/" in page.text and "--base-url is not set" not in page.text


async def test_site_access_hides_foreign_sites_and_guards_owner_actions(instance: Instance) -> None:
    async with instance.client() as owner:
        await setup_admin(owner)
        assert (await post_form(owner, "/sites/new", {"domain": DOMAIN, "timezone": "UTC"})).status_code == 303
    viewer = await instance.accounts.users.add("viewer@example.org", "long enough")
    site = await instance.accounts.sites.get(DOMAIN)
    await instance.accounts.users.set_role(site.id, viewer.id, "viewer")
    await instance.accounts.logins.start("viewer-session", viewer, int(instance.clock.now()), 3600)

    async def access(domain: str, owner: bool = False) -> Any:
        r = request(instance, Cookie="analytics_session=viewer-session")
        return await pages.site_access(r, domain, owner=owner)

    assert await access(DOMAIN) == (site, "viewer")
    for domain, owner_only, status in ((DOMAIN, True, 403), ("other.example.org", False, 404)):
        with pytest.raises(WebError) as exc:
            await access(domain, owner_only)
        assert exc.value.status == status


async def test_the_snippet_page_says_whether_events_arrived(instance: Instance) -> None:
    async with instance.client() as client:
        await setup_admin(client)
        await post_form(client, "/sites/new", {"domain": DOMAIN, "timezone": "UTC"})
        before = await client.get(f"/sites/{DOMAIN}/snippet")
        r = await instance.send({"n": "pageview", "u": f"https://{DOMAIN}/", "d": DOMAIN})
        assert r.status_code == 202
        after = await client.get(f"/sites/{DOMAIN}/snippet")
    assert before.status_code == after.status_code == 200
    assert beacon.sri_hash() in before.text
    assert "No event has arrived yet" in before.text
    assert "Events are arriving: 1 pageviews and 0 custom events so far." in after.text


async def test_a_site_added_as_a_url_says_what_was_saved(instance: Instance) -> None:
    async with instance.client() as client:
        await setup_admin(client)
        r = await post_form(client, "/sites/new", {"domain": "https://www.Example.com/", "timezone": "UTC"})
        assert (r.status_code, r.headers["location"]) == (303, "/sites/example.com/snippet?typed=https%3A%2F%2Fwww.Example.com%2F")
        page = await client.get(r.headers["location"])
        plain = await post_form(client, "/sites/new", {"domain": "blog.example.org", "timezone": "UTC"})
        assert plain.headers["location"] == "/sites/blog.example.org/snippet"  # typed as saved: no note
        # A `typed` that is not this site's domain (a crafted link) shows nothing.
        forged = await client.get("/sites/example.com/snippet?typed=evil.example.net")
    assert page.status_code == 200
    assert (
        '<p class="notice" role="status">Saved as <strong><bdi>example.com</bdi></strong>, not'
        " <bdi>https://www.Example.com/</bdi>: a site is its bare domain"
    ) in page.text
    assert "Saved as" not in forged.text
