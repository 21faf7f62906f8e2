"""Dashboard security: CSRF on every form, CSP and headers on every page, share links
that grant nothing beyond their own read views, k-suppression on public links, and
the disclosure page following the live settings.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from conftest import Instance
from starlette.routing import Route
from web_support import DOMAIN, NOW, DashboardPage, get_token, post_form, seed, setup_admin, sign_in, token_of

from analytics.accounts.sites import DashboardOptions
from analytics.web.render import CSP

OTHER = "other.example.net"


async def _send(instance: Instance) -> Any:
    async def send(when: Any, body: dict[str, Any], ip: str, ua: str) -> None:
        instance.clock.set(when)
        r = await instance.send(body, ip=ip, ua=ua)
        assert r.status_code == 202

    return send


@pytest.fixture
async def world(instance: Instance) -> Any:
    """Owner of two seeded-or-empty sites, both with share links; B's owner is a second user."""
    await instance.accounts.sites.add(DOMAIN, "Europe/Zurich")
    await seed(await _send(instance))
    instance.clock.set(NOW)
    owner = instance.client(ip="10.0.0.1")
    await setup_admin(owner)
    other_user = await instance.accounts.users.add("b@example.org", "b password 123")
    await instance.accounts.sites.add(OTHER, "UTC", owner=other_user.id)
    for domain, client in ((DOMAIN, owner),):
        r = await post_form(
            client, f"/sites/{domain}/share", {"action": "create"}, token_page=f"/sites/{domain}/settings"
        )
        assert r.status_code == 303
    site_b = await instance.accounts.sites.get(OTHER)
    await instance.accounts.sites.set_share(site_b, "B" * 32, None)
    site_a = await instance.accounts.sites.get(DOMAIN)
    yield {"owner": owner, "token": site_a.share_token, "token_b": "B" * 32, "instance": instance}
    await owner.aclose()


def _routes(instance: Instance) -> list[Route]:
    return [r for r in instance.app.routes if isinstance(r, Route)]


def _expand(path: str, token: str) -> list[str]:
    """Every route path with its parameters filled in: real sites, the share token in both places."""
    out = [path]
    for name, values in (("{domain}", (DOMAIN, OTHER, token)), ("{token}", (token, "B" * 32, "x" * 20))):
        out = [p.replace(name, v) for p in out for v in values] if name in path else out
    return out


# -- CSRF ------------------------------------------------------------------------------------------


async def test_every_state_changing_form_needs_its_csrf_token(world: Any) -> None:
    instance, owner, token = world["instance"], world["owner"], world["token"]
    good = await get_token(owner, "/sites")
    async with instance.client(ip="10.0.0.3") as stranger:
        stranger_token = await get_token(stranger, "/login")  # a valid token, but for another browser
    posts = [
        (path, r) for r in _routes(instance) if "POST" in (r.methods or ()) and not r.path.startswith("/api")
        for path in _expand(r.path, token)
    ]  # fmt: skip
    assert len(posts) >= 8
    for path, _ in posts:
        for data, headers in (({}, {}), ({"csrf": "forged"}, {}), ({"csrf": stranger_token}, {}),
                              ({"csrf": good}, {"Origin": "https://evil.example"})):  # fmt: skip
            r = await owner.post(path, data={"action": "create", "email": "x@example.org", **data}, headers=headers)
            assert r.status_code in (403, 404, 405), (path, data, r.status_code)
            if path.startswith(f"/sites/{DOMAIN}") or path in ("/logout", "/sites/new", "/login"):
                assert r.status_code == 403, (path, data, r.status_code)
    # Nothing changed: still signed in, the share link is the same, no site was added.
    assert (await owner.get("/sites")).status_code == 200
    assert (await instance.accounts.sites.get(DOMAIN)).share_token == token
    assert [s.domain for s in await instance.accounts.sites.all()] == [DOMAIN, OTHER]


async def test_setup_and_share_password_forms_need_tokens(instance: Instance) -> None:
    async with instance.client() as client:
        r = await client.post("/setup", data={"email": "a@example.org", "password": "p" * 10, "password2": "p" * 10})
        assert r.status_code == 403
        assert await instance.accounts.users.count() == 0
        await get_token(client, "/setup")  # the anonymous cookie alone is not enough either
        r = await client.post("/setup", data={"email": "a@example.org", "password": "p" * 10, "password2": "p" * 10})
        assert r.status_code == 403 and await instance.accounts.users.count() == 0
    site = await instance.accounts.sites.add(DOMAIN)
    from analytics.accounts.passwords import hash_password

    await instance.accounts.sites.set_share(site, "S" * 32, hash_password("share password"))
    async with instance.client() as client:
        r = await client.post(f"/share/{'S' * 32}/unlock", data={"password": "share password"})
        assert r.status_code == 403 and "analytics_share" not in r.headers.get("set-cookie", "")


# -- headers, CSP, markup ------------------------------------------------------------------------------


async def test_every_page_sends_csp_and_has_no_inline_script_or_style(world: Any) -> None:
    owner, token = world["owner"], world["token"]
    pages = ["/sites", "/sites/new", f"/sites/{DOMAIN}?period=today", f"/sites/{DOMAIN}/snippet",
             f"/sites/{DOMAIN}/settings", f"/privacy/{DOMAIN}", f"/share/{token}?period=all",
             "/sites/nope"]  # fmt: skip
    async with world["instance"].client() as anon:
        pages_anon = [await anon.get("/login"), await anon.get(f"/share/{token}")]
    responses = [await owner.get(p) for p in pages] + pages_anon
    for r in responses:
        where = str(r.url)
        assert r.headers["content-security-policy"] == CSP, where
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        html = r.text
        for tag in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S):
            assert tag.strip() == "", f"inline script on {where}"
        assert all(' src="/static/' in t for t in re.findall(r"<script\b[^>]*>", html)), where
        tags = re.findall(r"<[a-zA-Z][^>]*>", html)
        assert not [t for t in tags if re.search(r"\son[a-z]+\s*=", t)], where
        assert not [t for t in tags if re.search(r"\sstyle\s*=", t)], where
        assert "javascript:" not in html.lower(), where
        for url in re.findall(r'\s(?:src|href|action)="([^"]*)"', html):
            assert url.startswith(("/", "#", "?", "http://testserver/")) or url == "", (where, url)
    assert responses[-1].headers["referrer-policy"] == "no-referrer"


async def test_static_files_load_nothing_from_other_hosts(instance: Instance) -> None:
    async with instance.client() as client:
        for name, kind in (("app.js", "javascript"), ("app.css", "text/css"), ("favicon.svg", "image/svg+xml")):
            r = await client.get(f"/static/{name}")
            assert r.status_code == 200 and kind in r.headers["content-type"]
            body = r.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
            assert "http://" not in body and "https://" not in body and "@import" not in body and "url(" not in body
            assert "innerHTML" not in body and "eval(" not in body


# -- share links ---------------------------------------------------------------------------------------


async def test_share_token_is_refused_everywhere_but_its_own_read_views(world: Any) -> None:
    instance, token = world["instance"], world["token"]
    carriers: list[dict[str, Any]] = [
        {"params": {"token": token, "auth": token, "share": token}},
        {"cookies": {"analytics_session": token, "analytics_share": token}},
        {"headers": {"Authorization": f"Bearer {token}", "X-Share-Token": token}},
    ]
    own = {f"/share/{token}", f"/share/{token}/realtime", f"/share/{token}/live", f"/share/{token}/live/data"}
    checked = 0
    for route in _routes(instance):
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            for path in _expand(route.path, token):
                async with instance.client(ip="10.7.7.7") as anon:
                    baseline = await anon.request(method, path)
                for carrier in carriers:
                    transport = httpx.ASGITransport(app=instance.app, client=("10.7.7.8", 1))
                    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                                 cookies=carrier.get("cookies")) as client:  # fmt: skip
                        r = await client.request(
                            method, path, params=carrier.get("params"), headers=carrier.get("headers")
                        )
                    # The token adds nothing: the answer is the one a stranger without it gets.
                    assert r.status_code == baseline.status_code, (method, path, carrier, r.status_code)
                    if method != "GET" or path not in own:
                        assert not (
                            200 <= r.status_code < 300 and method != "GET" and path.startswith(("/sites", "/share"))
                        ), (method, path)
                    checked += 1
                if path in own and method == "GET":
                    assert baseline.status_code == 200
    assert checked > 100
    # Nor is it an API key, for its own site or another.
    async with instance.client() as client:
        for site_id in (DOMAIN, OTHER):
            body = {"site_id": site_id, "metrics": ["visitors"], "date_range": "all"}
            r = await client.post("/api/v2/query", json=body,
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert r.status_code in (401, 403), r.text


async def test_share_link_shows_only_its_own_sites_aggregates(world: Any) -> None:
    instance, token = world["instance"], world["token"]
    site = await instance.accounts.sites.get(DOMAIN)
    await instance.accounts.sites.set_dashboard_options(site.id, DashboardOptions(0))  # k off, to see numbers
    async with instance.client() as anon:
        page = await anon.get(f"/share/{token}?period=today&site_id={OTHER}&domain={OTHER}")
        assert page.status_code == 200 and "blog.example.org" in page.text and OTHER not in page.text
        parsed = DashboardPage(page.text)
        assert parsed.value("visitors") == "4"
        assert "/settings" not in page.text and "/export" not in page.text and "Sign out" not in page.text
        assert all(not href.startswith("/sites") for _, href in parsed.links)
        assert (await anon.get(f"/share/{token}/realtime")).json()["visitors"] == 0
        assert (await anon.post(f"/share/{token}")).status_code == 405
        b = await anon.get(f"/share/{'B' * 32}?period=today")
        assert OTHER in b.text and DOMAIN not in b.text and DashboardPage(b.text).value("visitors") == "0"
    # A member of another site holding the token still cannot reach this site's member pages.
    async with instance.client(ip="10.0.0.9") as b_owner:
        await sign_in(b_owner, "b@example.org", "b password 123")
        for path in (f"/sites/{DOMAIN}?token={token}", f"/sites/{DOMAIN}/settings?share={token}"):
            assert (await b_owner.get(path, headers={"Authorization": f"Bearer {token}"})).status_code == 404


async def test_rotating_or_deleting_the_link_revokes_it(world: Any) -> None:
    owner, token = world["owner"], world["token"]
    r = await post_form(owner, f"/sites/{DOMAIN}/share", {"action": "rotate"}, token_page=f"/sites/{DOMAIN}/settings")
    assert r.status_code == 303
    new = (await world["instance"].accounts.sites.get(DOMAIN)).share_token
    assert new and new != token and len(new) >= 32
    async with world["instance"].client() as anon:
        assert (await anon.get(f"/share/{token}")).status_code == 404
        assert (await anon.get(f"/share/{new}")).status_code == 200
    await post_form(owner, f"/sites/{DOMAIN}/share", {"action": "delete"}, token_page=f"/sites/{DOMAIN}/settings")
    async with world["instance"].client() as anon:
        assert (await anon.get(f"/share/{new}")).status_code == 404


async def test_share_password(world: Any) -> None:
    instance, owner, token = world["instance"], world["owner"], world["token"]
    settings = f"/sites/{DOMAIN}/settings"
    r = await post_form(
        owner, f"/sites/{DOMAIN}/share", {"action": "password", "password": "short"}, token_page=settings
    )
    assert r.status_code == 400
    r = await post_form(
        owner, f"/sites/{DOMAIN}/share", {"action": "password", "password": "open sesame"}, token_page=settings
    )
    assert r.status_code == 303
    async with instance.client(ip="10.3.3.3") as anon:
        locked = await anon.get(f"/share/{token}?period=today")
        assert locked.status_code == 401 and 'data-metric="visitors"' not in locked.text
        assert (await anon.get(f"/share/{token}/realtime")).status_code == 401
        wrong = await anon.post(f"/share/{token}/unlock", data={"password": "nope", "csrf": token_of(locked.text)})
        assert wrong.status_code == 401
        right = await anon.post(
            f"/share/{token}/unlock", data={"password": "open sesame", "csrf": token_of(wrong.text)}
        )
        assert right.status_code == 303
        cookie = right.headers["set-cookie"]
        assert (
            f"Path=/share/{token}" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        )
        assert (await anon.get(f"/share/{token}?period=today")).status_code == 200
        # The cookie opens this link only, and only until the password changes.
        await instance.accounts.sites.set_share(await instance.accounts.sites.get(OTHER), "B" * 32,
                              (await instance.accounts.sites.get(DOMAIN)).share_password_hash)  # fmt: skip
        value = re.search(r"analytics_share=([^;]+)", cookie)
        assert value
        anon.cookies.set("analytics_share", value.group(1), path=f"/share/{'B' * 32}")
        assert (await anon.get(f"/share/{'B' * 32}")).status_code == 401
        await post_form(
            owner, f"/sites/{DOMAIN}/share", {"action": "password", "password": "a new secret"}, token_page=settings
        )
        assert (await anon.get(f"/share/{token}")).status_code == 401


async def test_public_links_hide_small_rows_without_subtraction(world: Any) -> None:
    instance, owner, token = world["instance"], world["owner"], world["token"]
    async with instance.client() as anon:
        # Default k = 5: today has 4 visitors, so nothing countable is shown.
        page = await anon.get(f"/share/{token}?period=today")
        parsed = DashboardPage(page.text)
        assert parsed.value("visitors") == "< 5 visitors" and parsed.value("pageviews") == "< 5 visitors"
        assert parsed.table("channels") == [] and parsed.table("pages") == []
        assert "Organic Search" not in page.text and "/blog/a" not in page.text
        assert 'data-value="4"' not in page.text  # the 08:00 chart point is hidden too
        assert (await anon.get(f"/share/{token}?period=today&source=Google")).status_code == 400  # no filters

    r = await post_form(
        owner, f"/sites/{DOMAIN}/share", {"action": "k", "k": "2"}, token_page=f"/sites/{DOMAIN}/settings"
    )
    assert r.status_code == 303
    async with instance.client() as anon:
        today = DashboardPage((await anon.get(f"/share/{token}?period=today&tab_sources=sources")).text)
        assert today.value("visitors") == "4"
        assert today.table("sources") == [["Google", "2", "0", "0%", "0%", "1m 00s"]]  # LinkedIn 1 + newsletter 1 hidden
        assert today.table("countries") == []
        all_time = await anon.get(f"/share/{token}?period=all&tab_pages=entry")
        parsed = DashboardPage(all_time.text)
        # /blog/b (1) alone would be total 5 - 3 - 2 = 0 short of known: /blog/a (2) is hidden with it.
        assert parsed.value("visitors") == "5"
        assert parsed.table("entry") == [["/", "3", "3", "33%"]]
        assert "2 rows hidden" in all_time.text
        assert not [
            href for _, href in parsed.links if "entry=" in href or href.startswith("/sites")
        ]  # rows are no links
        rt = await anon.get(f"/share/{token}/realtime")
        assert rt.json() == {"visitors": 0, "text": "0"}
    instance.clock.set(NOW.replace(hour=7, minute=33))  # 08:33 local: one visitor in the last 5 minutes
    async with instance.client() as anon:
        assert (await anon.get(f"/share/{token}/realtime")).json() == {"visitors": None, "text": "< 2 visitors"}
        # Current visitors take no filters (as in Plausible): a filter changes nothing, so it cannot narrow a count.
        assert (await anon.get(f"/share/{token}/realtime?source=Google")).json() == {"visitors": None, "text": "< 2 visitors"}
        live = (await anon.get(f"/share/{token}/live/data")).json()
        # V2, V3 and V4 in the last 30 minutes: one visitor per minute, page and source, each below k = 2.
        assert (live["current"], live["visitors"], live["pageviews"]) == ("< 2 visitors", "3", "3")
        assert (live["pages"], live["sources"], live["pages_hidden"], live["sources_hidden"]) == ([], [], 3, 3)
        assert [m["label"] for m in live["minutes"] if m["hidden"]] == ["08:10", "08:20", "08:21", "08:30", "08:31"]
        assert {m["visitors"] for m in live["minutes"]} == {None, 0}
    instance.clock.set(NOW)
    await post_form(owner, f"/sites/{DOMAIN}/share", {"action": "k", "k": "0"}, token_page=f"/sites/{DOMAIN}/settings")
    async with instance.client() as anon:
        filtered = DashboardPage((await anon.get(f"/share/{token}?period=today&source=LinkedIn")).text)
        assert filtered.value("visitors") == "1"  # k = 0: the owner chose to show everything


# -- settings and the disclosure page ------------------------------------------------------------------------


async def test_settings_drive_the_collector_and_the_disclosure_page(world: Any) -> None:
    instance, owner = world["instance"], world["owner"]
    async with instance.client() as anon:
        page = (await anon.get(f"/privacy/{DOMAIN}")).text
        assert "Global Privacy Control" in page and "your visits are not counted" in page
        assert "deleted after 25 months" in page
        assert "hidden there" in page  # the public link and its k
        assert (await anon.get("/privacy/unknown.example")).status_code == 404

    r = await post_form(owner, f"/sites/{DOMAIN}/settings",
                        {"timezone": "Asia/Kolkata", "allowed_params": "lang, page", "excluded_paths": "/admin/**",
                         "prop_keys": "plan"}, token_page=f"/sites/{DOMAIN}/settings")  # fmt: skip
    assert r.status_code == 303
    bad = await post_form(
        owner, f"/sites/{DOMAIN}/settings", {"timezone": "Mars/Olympus"}, token_page=f"/sites/{DOMAIN}/settings"
    )
    assert bad.status_code == 400 and "time zone" in bad.text
    bad = await post_form(owner, f"/sites/{DOMAIN}/settings", {"timezone": "UTC", "excluded_paths": "admin"},
                          token_page=f"/sites/{DOMAIN}/settings")  # fmt: skip
    assert bad.status_code == 400 and "path pattern" in bad.text

    site = await instance.accounts.sites.get(DOMAIN)
    assert (site.timezone, site.honor_signals, site.allowed_params, site.excluded_paths) == (
        "Asia/Kolkata", False, ("lang", "page"), ("/admin/**",),
    )  # fmt: skip
    async with instance.client() as anon:
        page = (await anon.get(f"/privacy/{DOMAIN}")).text
        assert "chosen to count visits even from browsers" in page
        assert "<code>lang</code>, <code>page</code>" in page and "<code>/admin/**</code>" in page
    # The collector follows at once: DNT is counted now, /admin is not, ?lang= stays in the path.
    body = {"n": "pageview", "d": DOMAIN}
    dnt = await instance.send({**body, "u": "https://blog.example.org/x?lang=de&email=a@b.c"}, ip="5.5.5.5", DNT="1")
    assert dnt.status_code == 202 and "x-analytics-dropped" not in dnt.headers
    skipped = await instance.send({**body, "u": "https://blog.example.org/admin/users"}, ip="5.5.5.6")
    assert skipped.headers.get("x-analytics-dropped") == "1"
    parsed = DashboardPage((await owner.get(f"/sites/{DOMAIN}?period=today")).text)
    assert ["/x?lang=de", "1", "1", "0s", "–", "0", "0%"] in parsed.table("pages")


async def test_hostile_values_are_escaped_in_html(instance: Instance, site: Any) -> None:
    evil = "/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E%3Cscript%3Ealert(2)%3C/script%3E"
    r = await instance.send({"n": "pageview", "u": "https://blog.example.org" + evil, "d": DOMAIN})
    assert r.status_code == 202
    async with instance.client() as client:
        await setup_admin(client)
        html = (await client.get(f"/sites/{DOMAIN}?period=today")).text
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html
