"""The invitation page (analytics/web/invite.py): a new person sets their own password; an existing account
signs in and accepts; dead links are 404 alike; nothing works twice."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Instance
from web_support import DOMAIN, EMAIL, PASSWORD, accept_new, get_token, invite, post_form, setup_admin, sign_in

from analytics.accounts.invitations import TTL_SECONDS
from analytics.accounts.passwords import verify_password
from analytics.web import invite as invite_module

GONE = "This invitation link is not valid: it was used, withdrawn or has expired."


@pytest.fixture
async def owner(instance: Instance) -> Any:
    client = instance.client(ip="10.0.0.1")
    await setup_admin(client)
    assert (await post_form(client, "/sites/new", {"domain": DOMAIN, "timezone": "UTC"})).status_code == 303
    yield client
    await client.aclose()


async def test_a_new_person_sets_a_password_and_lands_on_the_site(instance: Instance, owner: Any) -> None:
    link = await invite(owner, DOMAIN, "new@example.org")
    async with instance.client(ip="10.0.0.2") as invitee:
        page = await invitee.get(link)
        assert page.status_code == 200 and "Join" in page.text and "new@example.org" in page.text
        assert "Create account and join" in page.text and "Sign in to accept" in page.text
        r = await post_form(invitee, link, {"action": "create", "password": "my password", "password2": "other one"})
        assert r.status_code == 400 and "The two passwords differ." in r.text
        r = await post_form(invitee, link, {"action": "create", "password": "short", "password2": "short"})
        assert r.status_code == 400 and "The password must have at least 8 characters" in r.text
        r = await accept_new(invitee, link, "my password")
        assert r.status_code == 303 and r.headers["location"] == f"/sites/{DOMAIN}"
        assert (await invitee.get(f"/sites/{DOMAIN}")).status_code == 200  # signed in, a viewer
        assert (await invitee.get(f"/sites/{DOMAIN}/settings")).status_code == 403
        # Used once: the same link is now a 404, for GET and POST.
        assert (await invitee.get(link)).status_code == 404
    async with instance.client(ip="10.0.0.3") as again:
        gone = await again.get(link)
        assert gone.status_code == 404 and GONE in gone.text
        assert (await sign_in(again, "new@example.org", "my password")).status_code == 303


async def test_an_existing_account_signs_in_to_accept_and_keeps_its_password(instance: Instance, owner: Any) -> None:
    await instance.accounts.users.add("ann@example.org", "ann's password")
    link = await invite(owner, DOMAIN, "ann@example.org", role="owner")
    async with instance.client(ip="10.0.0.4") as stranger:
        # Whoever holds the link cannot set Ann's password.
        r = await accept_new(stranger, link, "an attacker's password")
        assert r.status_code == 400 and "There is an account for ann@example.org already: sign in with it" in r.text
        assert "analytics_session" not in r.headers.get("set-cookie", "")
    found = await instance.accounts.users.credentials("ann@example.org")
    assert found is not None and verify_password("ann's password", found[1])
    async with instance.client(ip="10.0.0.5") as ann:
        page = await ann.get(link)
        assert f'href="/login?next=%2Finvite%2F{link.rsplit("/", 1)[1]}"' in page.text
        r = await post_form(ann, "/login?next=" + link, {"email": "ann@example.org", "password": "ann's password",
                                                         "next": link})  # fmt: skip
        assert r.headers["location"] == link
        page = await ann.get(link)
        assert "Accept and open" in page.text and "Create account" not in page.text
        r = await post_form(ann, link, {"action": "accept"})
        assert r.status_code == 303 and r.headers["location"] == f"/sites/{DOMAIN}"
        assert (await ann.get(f"/sites/{DOMAIN}/settings")).status_code == 200  # an owner now


async def test_another_signed_in_user_cannot_accept(instance: Instance, owner: Any) -> None:
    link = await invite(owner, DOMAIN, "someone@example.org")
    page = await owner.get(link)  # the owner, signed in as somebody else
    assert "You are signed in as <bdi>admin@example.org</bdi>. Sign out" in page.text and "Create account" not in page.text
    token = await get_token(owner, link)
    r = await owner.post(link, data={"action": "accept", "csrf": token})
    assert r.status_code == 400 and "This invitation is for someone@example.org" in r.text
    r = await owner.post(link, data={"action": "create", "password": "long enough", "password2": "long enough",
                                     "csrf": token})  # fmt: skip
    assert r.status_code == 400 and "You are signed in as admin@example.org" in r.text
    assert await instance.accounts.users.count() == 1
    site = await instance.accounts.sites.get(DOMAIN)
    assert len(await instance.accounts.invitations.pending(site.id)) == 1  # still usable by the invitee


async def test_dead_links_are_all_the_same_404(instance: Instance, owner: Any) -> None:
    expired = await invite(owner, DOMAIN, "late@example.org")
    instance.clock.advance(TTL_SECONDS)
    withdrawn = await invite(owner, DOMAIN, "w@example.org")
    site = await instance.accounts.sites.get(DOMAIN)
    (pending,) = await instance.accounts.invitations.pending(site.id)
    await post_form(owner, f"/sites/{DOMAIN}/members", {"action": "withdraw", "invitation_id": str(pending.id)},
                    token_page=f"/sites/{DOMAIN}/settings")  # fmt: skip
    async with instance.client(ip="10.0.0.6") as visitor:
        for link in (expired, withdrawn, "/invite/made-up-token", "/invite/" + "x" * 300):
            r = await visitor.get(link)
            assert r.status_code == 404 and GONE in r.text, link
        # A post to a dead link is refused before its form is read.
        assert (await visitor.post(expired, data={"action": "create"})).status_code == 404


async def test_posts_need_the_csrf_token(instance: Instance, owner: Any) -> None:
    link = await invite(owner, DOMAIN, "csrf@example.org")
    async with instance.client(ip="10.0.0.7") as visitor:
        await visitor.get(link)
        r = await visitor.post(link, data={"action": "create", "password": "long enough", "password2": "long enough"})
        assert r.status_code == 403
    assert await instance.accounts.users.count() == 1


async def test_accept_when_signed_out_goes_to_sign_in(instance: Instance, owner: Any) -> None:
    link = await invite(owner, DOMAIN, "out@example.org")
    async with instance.client(ip="10.0.0.8") as visitor:
        r = await post_form(visitor, link, {"action": "accept"})
        assert r.status_code == 303 and r.headers["location"] == "/login?next=" + link.replace("/", "%2F")


async def test_opening_the_link_consumes_nothing(instance: Instance, owner: Any) -> None:
    """Link previews and prefetchers GET the link; only the invitee's POST uses it."""
    (route,) = [r for r in instance.app.routes if getattr(r, "path", "") == "/invite/{token}"]
    assert route.endpoint is invite_module.invite_page and route.methods == {"GET", "HEAD", "POST"}
    link = await invite(owner, DOMAIN, "preview@example.org")
    async with instance.client(ip="10.0.0.10") as preview:
        for _ in range(3):
            assert (await preview.get(link)).status_code == 200
    site = await instance.accounts.sites.get(DOMAIN)
    assert [i.email for i in await instance.accounts.invitations.pending(site.id)] == ["preview@example.org"]


async def test_the_admin_still_signs_in(instance: Instance, owner: Any) -> None:
    async with instance.client(ip="10.0.0.9") as c:
        assert (await sign_in(c, EMAIL, PASSWORD)).status_code == 303
