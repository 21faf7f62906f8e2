"""The account page (analytics/web/account.py): change one's password, create and revoke Stats API keys."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from conftest import Instance
from web_support import DOMAIN, EMAIL, PASSWORD, accept_new, get_token, invite, post_form, setup_admin, sign_in

from analytics.web import account
from analytics.web.auth import ACCOUNT_WINDOW


@pytest.fixture
async def owner(instance: Instance) -> Any:
    client = instance.client(ip="10.0.1.1")
    await setup_admin(client)
    assert (await post_form(client, "/sites/new", {"domain": DOMAIN, "timezone": "UTC"})).status_code == 303
    yield client
    await client.aclose()


async def change(client: httpx.AsyncClient, current: str, new: str, again: str | None = None) -> httpx.Response:
    return await post_form(client, "/account/password",
                           {"current_password": current, "new_password": new, "new_password2": again or new},
                           token_page="/account")  # fmt: skip


async def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(instance: Instance, owner: Any) -> None:
    async with instance.client(ip="10.0.1.2") as laptop:
        assert (await sign_in(laptop)).status_code == 303
        r = await change(owner, PASSWORD, "a new password", "a different one")
        assert r.status_code == 400 and "The two new passwords differ." in r.text
        r = await change(owner, "not my password", "a new password")
        assert r.status_code == 401 and "The current password is not right." in r.text
        r = await change(owner, PASSWORD, "short")
        assert r.status_code == 400 and "The password must have at least 8 characters." in r.text
        r = await change(owner, PASSWORD, "a new password")
        assert r.status_code == 303 and r.headers["location"] == "/account?done=password"
        assert "Your password was changed; your other sessions have ended." in (await owner.get("/account?done=password")).text
        # The other session is over; this one goes on.
        assert (await laptop.get("/sites")).status_code == 303
        assert (await owner.get("/sites")).status_code == 200
    async with instance.client(ip="10.0.1.3") as fresh:
        assert (await sign_in(fresh, EMAIL, PASSWORD)).status_code == 401
        assert (await sign_in(fresh, EMAIL, "a new password")).status_code == 303


async def test_the_current_password_check_is_throttled_like_sign_in(instance: Instance, owner: Any) -> None:
    """A stolen session cookie is no faster an oracle for the password than the sign-in form."""
    for _ in range(5):
        assert (await change(owner, "guess", "a new password")).status_code == 401
    r = await change(owner, PASSWORD, "a new password")
    assert r.status_code == 429 and f"Try again in {ACCOUNT_WINDOW} s." in r.text
    instance.clock.advance(ACCOUNT_WINDOW + 1)
    assert (await change(owner, PASSWORD, "a new password")).status_code == 303


async def test_an_owner_creates_a_key_once_and_revokes_it(instance: Instance, owner: Any) -> None:
    page = (await owner.get("/account")).text
    assert "No keys." in page and "Create key" in page
    r = await post_form(owner, "/account/keys", {"action": "create", "name": "reporting <script>"}, token_page="/account")
    assert r.status_code == 200 and "it is shown only this once" in r.text and "reporting &lt;script&gt;" in r.text
    key = re.search(r'value="(ak_[A-Za-z0-9_-]+)"', r.text)
    assert key is not None
    # The key is found (as the Stats API looks it up), and the page shows its use; the key itself never again.
    found = await instance.accounts.keys.find(key.group(1))
    assert found is not None
    page = (await owner.get("/account")).text
    assert key.group(1) not in page and "2026-03-02 09:00 UTC" in page
    key_id = str(found[0])
    r = await post_form(owner, "/account/keys", {"action": "revoke", "key_id": key_id}, token_page="/account")
    assert r.status_code == 303 and r.headers["location"] == "/account?done=revoked#keys"
    assert await instance.accounts.keys.find(key.group(1)) is None
    r = await post_form(owner, "/account/keys", {"action": "revoke", "key_id": key_id}, token_page="/account")
    assert r.status_code == 404
    assert (await post_form(owner, "/account/keys", {"action": "explode"}, token_page="/account")).status_code == 400


async def test_a_viewer_can_neither_create_keys_nor_revoke_anothers(instance: Instance, owner: Any) -> None:
    owner_key = await instance.accounts.keys.add(EMAIL, "owner's")
    link = await invite(owner, DOMAIN, "viewer@example.org")
    async with instance.client(ip="10.0.1.4") as viewer:
        assert (await accept_new(viewer, link, "viewer password")).status_code == 303
        page = (await viewer.get("/account")).text
        assert "Only owners of a site create keys." in page and "Create key" not in page and "owner&#39;s" not in page
        r = await post_form(viewer, "/account/keys", {"action": "create", "name": "mine"}, token_page="/account")
        assert r.status_code == 403 and "Only an owner of a site can create Stats API keys." in r.text
        r = await post_form(viewer, "/account/keys", {"action": "revoke", "key_id": "1"}, token_page="/account")
        assert r.status_code == 404
        # The viewer may still change their own password.
        assert (await change(viewer, "viewer password", "viewer password 2")).status_code == 303
    assert await instance.accounts.keys.find(owner_key) is not None
    assert [k.email for k in await instance.accounts.keys.all()] == [EMAIL]


async def test_keys_per_user_are_bounded(instance: Instance, owner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(account, "MAX_KEYS", 1)
    assert (await post_form(owner, "/account/keys", {"action": "create"}, token_page="/account")).status_code == 200
    r = await post_form(owner, "/account/keys", {"action": "create"}, token_page="/account")
    assert r.status_code == 400 and "You have 1 keys; revoke one first." in r.text


async def test_the_account_page_needs_a_session_and_csrf(instance: Instance, owner: Any) -> None:
    async with instance.client(ip="10.0.1.5") as anonymous:
        assert (await anonymous.get("/account")).headers["location"] == "/login?next=%2Faccount"
        r = await anonymous.post("/account/password", data={"current_password": PASSWORD, "new_password": "x" * 9})
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    token = await get_token(owner, "/account")
    r = await owner.post("/account/keys", data={"action": "create"})
    assert r.status_code == 403
    r = await owner.post("/account/keys", data={"action": "create", "csrf": token},
                         headers={"Origin": "https://evil.example"})  # fmt: skip
    assert r.status_code == 403
    assert await instance.accounts.keys.all() == []


def test_when_formats_utc_minutes() -> None:
    assert account.when(1_772_442_000) == "2026-03-02 09:00 UTC" and account.when(None) == "never"


@pytest.mark.parametrize("raw", ["9" * 40, "²", "0"])
async def test_odd_key_ids_are_no_such_key(owner: Any, raw: str) -> None:
    r = await post_form(owner, "/account/keys", {"action": "revoke", "key_id": raw}, token_page="/account")
    assert r.status_code == 404 and "No such key." in r.text
