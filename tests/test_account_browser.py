"""Account flows in the OS's Chromium: an owner invites someone, the invitee sets their own password, signs in
and sees the site; changing a password; an API key shown once; removing a site by typing its domain.

The app runs under a real uvicorn on loopback (in a thread, with a frozen clock). Every page is checked for
requests to other hosts and console errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port
from playwright.sync_api import Browser, BrowserContext, Page, expect
from web_support import DOMAIN, EMAIL, NOW, PASSWORD, start_threaded, token_of

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

pytestmark = [pytest.mark.browser, pytest.mark.server]
WAIT = 10_000
INVITEE = "editor@example.org"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    app = create_app(Settings(data_dir=str(tmp_path / "data"), batch_ms=0.5), FrozenClock(NOW))
    threaded = start_threaded(app, free_port())
    with httpx.Client(base_url=threaded.url) as client:
        r = client.get("/setup")
        client.post("/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD,
                                    "csrf": token_of(r.text)})  # fmt: skip
        r = client.get("/sites/new")
        r = client.post("/sites/new", data={"domain": DOMAIN, "timezone": "UTC", "csrf": token_of(r.text)})
        assert r.status_code == 303
    yield threaded
    threaded.stop()


def _context(browser: Browser, base: str) -> tuple[BrowserContext, Page, list[str]]:
    ctx = browser.new_context()
    ctx.set_default_timeout(WAIT)
    page = ctx.new_page()
    problems: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(base + "/") else problems.append("foreign " + req.url))
    page.on("console", lambda msg: problems.append("console " + msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error {exc}"))
    return ctx, page, problems


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_invite_set_password_sign_in_and_change_it(browser: Browser, server: Any) -> None:
    base = server.url
    owner_ctx, owner, owner_problems = _context(browser, base)
    sign_in(owner, base, EMAIL, PASSWORD)
    expect(owner).to_have_url(base + "/sites")
    owner.goto(base + f"/sites/{DOMAIN}/settings#people")
    people = owner.locator("#people")
    people.get_by_label("Email").fill(INVITEE)
    people.get_by_label("Role").select_option("viewer")
    people.get_by_role("button", name="Create invitation link").click()
    link = owner.get_by_label("Invitation link").input_value()
    assert link.startswith(base + "/invite/")
    expect(owner.locator("#invite-result")).to_contain_text("It works once, for 7 days.")
    expect(people).to_contain_text("viewer, invited (link valid until 2026-03-09 09:00 UTC)")

    # The invitee, in a browser of their own, chooses a password and lands on the dashboard.
    ctx, page, problems = _context(browser, base)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Join {DOMAIN}")
    page.get_by_label("Password (at least 8 characters)").fill("editor password")
    page.get_by_label("Password again").fill("editor password")
    page.get_by_role("button", name="Create account and join").click()
    expect(page).to_have_url(base + f"/sites/{DOMAIN}")
    expect(page.locator("h1")).to_contain_text(DOMAIN)
    # The link worked once.
    page.goto(link)
    expect(page.locator("main")).to_contain_text("This invitation link is not valid")

    # Signed out and in again, the invitee sees the site in their list, as a viewer.
    page.goto(base + "/sites")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, INVITEE, "editor password")
    expect(page).to_have_url(base + "/sites")
    expect(page.locator(".site-list")).to_contain_text(DOMAIN)
    expect(page.locator(".site-list")).to_contain_text("viewer")

    # Change the password on the account page (the email in the top bar leads there).
    page.get_by_role("link", name=INVITEE).click()
    expect(page).to_have_url(base + "/account")
    page.get_by_label("Current password").fill("editor password")
    page.get_by_label("New password (at least 8 characters)").fill("a better password")
    page.get_by_label("New password again").fill("a better password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password was changed")
    expect(page.locator("#keys")).to_contain_text("Only owners of a site create keys.")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, INVITEE, "editor password")
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    problems[:] = [p for p in problems if "401" not in p and "404" not in p]  # the refused sign-in, the used link
    sign_in(page, base, INVITEE, "a better password")
    expect(page).to_have_url(base + "/sites")

    # The owner sees the new member instead of the pending invitation.
    owner.goto(base + f"/sites/{DOMAIN}/settings#people")
    expect(owner.locator("#people tbody")).to_contain_text(INVITEE)
    expect(owner.locator("#people tbody")).not_to_contain_text("invited")
    assert problems == [] and owner_problems == []
    ctx.close()
    owner_ctx.close()


def test_an_api_key_is_shown_once_and_a_site_goes_only_when_its_domain_is_typed(browser: Browser, server: Any) -> None:
    base = server.url
    ctx, page, problems = _context(browser, base)
    sign_in(page, base, EMAIL, PASSWORD)
    page.goto(base + "/account")
    page.get_by_label("Name").fill("reporting")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("New API key").input_value()
    assert key.startswith("ak_")
    r = httpx.post(base + "/api/v2/query", json={"site_id": DOMAIN, "metrics": ["visitors"], "date_range": "all"},
                   headers={"Authorization": f"Bearer {key}"}, timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    page.goto(base + "/account")
    expect(page.locator("#keys tbody")).to_contain_text("reporting")
    assert key not in page.content()
    page.locator("#keys").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("The key was revoked.")
    r = httpx.post(base + "/api/v2/query", json={"site_id": DOMAIN, "metrics": ["visitors"], "date_range": "all"},
                   headers={"Authorization": f"Bearer {key}"}, timeout=10)  # fmt: skip
    assert r.status_code == 401

    page.goto(base + f"/sites/{DOMAIN}/settings#delete")
    danger = page.locator("#delete")
    danger.get_by_label(f"Type {DOMAIN} to confirm").fill("blog.example.com")
    danger.get_by_role("button", name="Remove site and data").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Type {DOMAIN} to confirm")
    problems[:] = [p for p in problems if "400" not in p]
    page.locator("#delete").get_by_label(f"Type {DOMAIN} to confirm").fill(DOMAIN)
    page.locator("#delete").get_by_role("button", name="Remove site and data").click()
    expect(page).to_have_url(base + "/sites?done=removed")
    expect(page.get_by_role("status")).to_contain_text("The site and its data were removed.")
    expect(page.locator("main")).to_contain_text("No sites yet.")
    assert problems == []
    ctx.close()
