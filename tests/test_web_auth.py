"""Sign-in (analytics/web/auth.py and its pages): first-run setup, sign-in and sign-out, cookies, the rate
limit and per-site roles."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Instance, cli
from web_support import EMAIL, PASSWORD, accept_new, get_token, invite, post_form, setup_admin, sign_in, token_of

from analytics.app import create_app
from analytics.config import Settings
from analytics.web import auth


def cookie_attrs(response: httpx.Response, name: str) -> dict[str, str]:
    for header in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        if name in parsed:
            morsel = parsed[name]
            attrs = {k.lower(): str(v) for k, v in morsel.items() if v}
            attrs["value"] = morsel.value
            attrs["raw"] = header
            return attrs
    raise AssertionError(f"no Set-Cookie for {name}")


async def test_first_run_setup_creates_the_admin_once(instance: Instance) -> None:
    async with instance.client() as client:
        r = await client.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/setup"
        assert (await client.get("/login")).headers["location"] == "/setup"
        bad = await post_form(client, "/setup", {"email": EMAIL, "password": PASSWORD, "password2": "other one"})
        assert bad.status_code == 400 and "differ" in bad.text
        short = await post_form(client, "/setup", {"email": EMAIL, "password": "short", "password2": "short"})
        assert short.status_code == 400 and "at least 8" in short.text
        token = await get_token(client, "/setup")
        r = await client.post(
            "/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token}
        )
        assert r.status_code == 303 and r.headers["location"] == "/sites/new"
        session = cookie_attrs(r, "analytics_session")
        assert session["httponly"] and session["samesite"].lower() == "lax" and "secure" not in session
        assert (await client.get("/sites")).status_code == 200

        # Setup is gone: the form redirects, and a replayed post is refused.
        assert (await client.get("/setup")).headers["location"] == "/login"
        again = await client.post(
            "/setup", data={"email": "b@example.org", "password": PASSWORD, "password2": PASSWORD, "csrf": token}
        )
        assert again.status_code == 403
    assert await instance.accounts.users.count() == 1


async def test_the_cookie_is_secure_over_https(instance: Instance) -> None:
    transport = httpx.ASGITransport(app=instance.app, client=("203.0.113.9", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        token = await get_token(client, "/setup")
        r = await client.post(
            "/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token}
        )
        attrs = cookie_attrs(r, "analytics_session")
        assert "secure" in attrs and attrs["httponly"] and attrs["samesite"].lower() == "lax"


async def test_sign_in_sign_out_and_server_side_sessions(instance: Instance) -> None:
    async with instance.client() as first:
        await setup_admin(first)
    async with instance.client() as client:
        assert (await client.get("/sites")).headers["location"].startswith("/login?next=")
        wrong = await sign_in(client, EMAIL, "not the password")
        assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
        unknown = await sign_in(client, "nobody@example.org", PASSWORD)
        assert unknown.status_code == 401 and "Wrong email or password" in unknown.text  # same answer
        r = await sign_in(client, EMAIL, PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == "/sites"
        cookie = cookie_attrs(r, "analytics_session")["value"]

        # Only a hash of the cookie is stored.
        rows = await instance.accounts.db.fetchall("SELECT token_hash FROM web_sessions")
        assert hashlib.sha256(cookie.encode()).digest() in [bytes(r[0]) for r in rows]
        db = _db_bytes(instance.data_dir)
        assert cookie.encode() not in db

        assert (await client.get("/sites")).status_code == 200
        out = await post_form(client, "/logout", {}, token_page="/sites")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert cookie_attrs(out, "analytics_session")["value"] == ""
    # The old cookie is dead on the server, not just deleted in the browser.
    transport = httpx.ASGITransport(app=instance.app, client=("203.0.113.7", 1))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={"analytics_session": cookie}
    ) as replay:
        assert (await replay.get("/sites")).status_code == 303


def _db_bytes(data_dir: Path) -> bytes:
    """Both databases and their WALs: sign-in state lives in accounts.db."""
    files = [data_dir / f"{db}{suffix}" for db in ("analytics.db", "accounts.db") for suffix in ("", "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


async def test_sign_in_follows_only_local_next(instance: Instance) -> None:
    async with instance.client() as client:
        await setup_admin(client)
    async with instance.client() as client:
        for target, expected in (("/sites/new", "/sites/new"), ("//evil.example", "/sites"),
                                 ("https://evil.example/", "/sites"), ("/\t/evil.example", "/sites")):  # fmt: skip
            token = await get_token(client, "/login")
            r = await client.post("/login", data={"email": EMAIL, "password": PASSWORD, "next": target, "csrf": token})
            assert r.headers["location"] == expected, target
            client.cookies.delete("analytics_session")


async def test_sign_in_rate_limit_per_account(instance: Instance) -> None:
    async with instance.client() as client:
        await setup_admin(client)
    async with instance.client(ip="198.51.100.1") as client:
        for _ in range(5):
            assert (await sign_in(client, EMAIL, "wrong password")).status_code == 401
        # Even the right password is refused from the guessing address, for a short while.
        limited = await sign_in(client, EMAIL, PASSWORD)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "300"
        assert "Try again in 300 s." in limited.text
    async with instance.client(ip="198.51.100.2") as other:
        # Another address makes one wrong try past the account's limit, then waits as well.
        assert (await sign_in(other, EMAIL, "wrong again")).status_code == 401
        assert (await sign_in(other, EMAIL, PASSWORD)).status_code == 429
        instance.clock.advance(auth.ACCOUNT_WINDOW + 1)
        assert (await sign_in(other, EMAIL, PASSWORD)).status_code == 303
    # No address was written: the throttle keeps a keyed hash in memory only.
    db = _db_bytes(instance.data_dir)
    assert b"198.51.100" not in db


async def test_sign_in_rate_limit_per_client(instance: Instance) -> None:
    async with instance.client() as client:
        await setup_admin(client)
    async with instance.client(ip="198.51.100.9") as client:
        for i in range(20):
            assert (await sign_in(client, f"guess{i}@example.org", "wrong password")).status_code == 401
        assert (await sign_in(client, EMAIL, PASSWORD)).status_code == 429
    async with instance.client(ip="198.51.100.10") as elsewhere:
        assert (await sign_in(elsewhere, EMAIL, PASSWORD)).status_code == 303


@pytest.fixture
async def two_users(instance: Instance) -> Any:
    """An owner of blog.example.org and a viewer the owner invited (who chose their own password)."""
    owner = instance.client(ip="10.0.0.1")
    await setup_admin(owner)
    r = await post_form(owner, "/sites/new", {"domain": "blog.example.org", "timezone": "Europe/Zurich"})
    assert r.status_code == 303 and r.headers["location"] == "/sites/blog.example.org/snippet"
    link = await invite(owner, "blog.example.org", "viewer@example.org")
    async with instance.client(ip="10.0.0.3") as invitee:
        assert (await accept_new(invitee, link, "viewer password")).status_code == 303
    viewer = instance.client(ip="10.0.0.2")
    assert (await sign_in(viewer, "viewer@example.org", "viewer password")).status_code == 303
    yield owner, viewer
    await owner.aclose()
    await viewer.aclose()


async def test_viewer_sees_the_dashboard_but_cannot_change_anything(instance: Instance, two_users: Any) -> None:
    owner, viewer = two_users
    assert (await viewer.get("/sites")).text.count("blog.example.org") >= 1
    assert (await viewer.get("/sites/blog.example.org")).status_code == 200
    assert (await viewer.get("/sites/blog.example.org/snippet")).status_code == 200
    assert (await viewer.get("/sites/blog.example.org/settings")).status_code == 403
    token = await get_token(viewer, "/sites")
    for path, data in (
        ("/sites/blog.example.org/settings", {"timezone": "UTC", "honor_signals": "on"}),
        ("/sites/blog.example.org/share", {"action": "create"}),
        ("/sites/blog.example.org/members", {"action": "invite", "email": "viewer@example.org", "role": "owner"}),
        ("/sites/blog.example.org/members", {"action": "remove", "user_id": "1"}),
        ("/sites/blog.example.org/imports", {"action": "remove"}),
        ("/sites/blog.example.org/delete", {"confirm": "blog.example.org"}),
    ):
        r = await viewer.post(path, data={**data, "csrf": token})
        assert r.status_code == 403, path
    site = await instance.accounts.sites.get("blog.example.org")
    assert site.share_token is None and site.timezone == "Europe/Zurich"
    assert (
        await instance.accounts.users.role(site.id, (await instance.accounts.users.get("viewer@example.org")).id)
        == "viewer"
    )


async def test_users_see_only_their_own_sites(instance: Instance, two_users: Any) -> None:
    owner, viewer = two_users
    # Only admins add sites on the dashboard by default; the operator gives the viewer one of their own.
    assert (await post_form(viewer, "/sites/new", {"domain": "viewer.example.net"}, token_page="/sites")).status_code == 403
    viewer_id = (await instance.accounts.users.get("viewer@example.org")).id
    await instance.accounts.sites.add("viewer.example.net", "UTC", owner=viewer_id)
    assert "viewer.example.net" not in (await owner.get("/sites")).text
    for path in ("/sites/viewer.example.net", "/sites/viewer.example.net/snippet", "/sites/viewer.example.net/settings",
                 "/sites/viewer.example.net/realtime", "/sites/viewer.example.net/export",
                 "/sites/viewer.example.net/live", "/sites/viewer.example.net/live/data",
                 "/sites/no-such.example.org"):  # fmt: skip
        assert (await owner.get(path)).status_code == 404, path
    # The viewer owns their own site.
    assert (await viewer.get("/sites/viewer.example.net/settings")).status_code == 200


async def test_the_last_owner_cannot_leave(two_users: Any) -> None:
    owner, viewer = two_users
    r = await post_form(owner, "/sites/blog.example.org/members", {"action": "remove", "user_id": "1"},
                        token_page="/sites/blog.example.org/settings")  # fmt: skip
    assert r.status_code == 400 and "at least one owner" in r.text
    r = await post_form(owner, "/sites/blog.example.org/members", {"action": "remove", "user_id": "2"},
                        token_page="/sites/blog.example.org/settings")  # fmt: skip
    assert r.status_code == 303
    assert (await viewer.get("/sites/blog.example.org")).status_code == 404


def test_cli_users_add_signs_in_on_the_dashboard(tmp_path: Path) -> None:
    import asyncio

    data = tmp_path / "data"
    cli("users", "add", "ops@example.org", "--password-stdin", data_dir=data, input="cli password\n")

    async def main() -> None:
        app = create_app(Settings(data_dir=str(data), batch_ms=0.5))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("10.0.0.5", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                assert (await client.get("/")).headers["location"] == "/login"  # no setup page: a user exists
                assert (await sign_in(client, "ops@example.org", "cli password")).status_code == 303

    asyncio.run(main())


@pytest.mark.parametrize("table", ["web_sessions", "signin_failures", "web_secrets", "site_dashboard"])
async def test_dashboard_tables_hold_no_addresses_or_agents(instance: Instance, table: str) -> None:
    async with instance.client(ip="192.0.2.77") as client:
        await setup_admin(client)
    async with instance.client(ip="192.0.2.77") as client:
        assert (await sign_in(client, EMAIL, "a wrong password")).status_code == 401
    conn = sqlite3.connect(instance.data_dir / "accounts.db")
    try:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        rows: list[Any] = conn.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        conn.close()
    assert not {"ip", "user_agent", "ua", "address"} & set(columns)
    assert "192.0.2.77" not in repr(rows)


@pytest.mark.parametrize(
    ("trusted", "peer", "secure"),
    [("10.0.0.0/8", "10.1.2.3", True), ("", "10.1.2.3", False), ("10.0.0.0/8", "192.0.2.1", False)],
)
async def test_secure_cookie_behind_a_trusted_tls_proxy(tmp_path: Path, trusted: str, peer: str, secure: bool) -> None:
    """uvicorn runs without proxy headers, so X-Forwarded-Proto counts only from a trusted proxy."""
    app = create_app(Settings(data_dir=str(tmp_path / "d"), batch_ms=0.5, trusted_proxies=trusted))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 1))
        headers = {"X-Forwarded-Proto": "https"}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
            page = await client.get("/setup")
            anon = cookie_attrs(page, "analytics_csrf")
            assert ("secure" in anon) is secure
            client.cookies.set("analytics_csrf", anon["value"])  # httpx would not send a Secure cookie over http
            data = {"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token_of(page.text)}
            session = cookie_attrs(await client.post("/setup", data=data), "analytics_session")
            assert ("secure" in session) is secure
            client.cookies.set("analytics_session", session["value"])
            await app.state.accounts.sites.add("blog.example.org", owner=1)
            snippet = (await client.get("/sites/blog.example.org/snippet")).text
            assert ("https://testserver/js/" in snippet) is secure


def test_the_client_throttle_forgets_after_the_window_and_keeps_no_address() -> None:
    throttle = auth.ClientThrottle()
    for t in (0.0, 10.0, 20.0):
        throttle.add("198.51.100.1", t)
    throttle.add("198.51.100.2", 5.0)
    assert (throttle.count("198.51.100.1", 30.0), throttle.count("198.51.100.2", 30.0)) == (3, 1)
    assert throttle.count("198.51.100.3", 30.0) == 0
    assert throttle.count("198.51.100.1", auth.FAIL_WINDOW + 10.0) == 1  # the failures at 0 and 10 s left
    assert throttle.count("198.51.100.1", auth.FAIL_WINDOW + 20.0) == 0
    # Kept under a keyed hash: the address itself is nowhere, and another throttle's keys differ.
    assert all(b"198.51.100" not in key for key in throttle._failures)
    assert auth.ClientThrottle()._id("198.51.100.1") != throttle._id("198.51.100.1")


def test_keyed_is_an_hmac_sha256_in_hex() -> None:
    assert auth.keyed(b"k", "message") == "9831a5afefa770d5fe6c985f6c343796ca3d27651d69e24864f1f9948debfacf"
    assert auth.keyed(b"l", "message") != auth.keyed(b"k", "message")


# -- limits under concurrency (issue 15, point 3) ---------------------------------------------


async def _concurrent_sign_ins(instance: Instance, tries: list[tuple[str, str]]) -> list[httpx.Response]:
    """POST /login once per (address, password), all at once: the requests interleave on the event loop."""
    clients = {ip: instance.client(ip=ip) for ip, _ in tries}
    tokens = {ip: await get_token(c, "/login") for ip, c in clients.items()}
    try:
        return list(
            await asyncio.gather(
                *(
                    clients[ip].post("/login", data={"email": EMAIL, "password": pw, "csrf": tokens[ip]})
                    for ip, pw in tries
                )
            )
        )
    finally:
        for c in clients.values():
            await c.aclose()


async def test_concurrent_sign_ins_from_one_address_check_at_most_the_limit(instance: Instance) -> None:
    async with instance.client() as client:
        await setup_admin(client)
    tries = [("198.51.100.3", "wrong password")] * 39 + [("198.51.100.3", PASSWORD)]
    answers = await asyncio.wait_for(_concurrent_sign_ins(instance, tries), 60)
    codes = [r.status_code for r in answers]
    # Every password check ends in a 401 (or the 303 of the right one); a 429 checked nothing.
    assert codes.count(401) == auth.MAX_ACCOUNT_FAILURES and codes.count(429) == 35
    assert codes[-1] == 429  # the right password beyond the limit is refused too
    assert "Try again in " in answers[-1].text and int(answers[-1].headers["retry-after"]) > 0


async def test_concurrent_sign_ins_from_many_addresses_check_one_each_beyond_the_limit(instance: Instance) -> None:
    """Once the account has its limit of failures, an address with failures of its own is refused."""
    async with instance.client() as client:
        await setup_admin(client)
    tries = [(f"198.51.100.{n // 8 + 20}", "wrong password") for n in range(40)]  # 5 addresses, 8 tries each
    codes = [r.status_code for r in await asyncio.wait_for(_concurrent_sign_ins(instance, tries), 60)]
    assert codes.count(401) <= auth.MAX_ACCOUNT_FAILURES + 5 and codes.count(401) + codes.count(429) == 40


async def test_the_owner_is_not_locked_out_by_an_attacker_elsewhere(instance: Instance) -> None:
    async with instance.client() as client:
        await setup_admin(client)
    tries = [("198.51.100.66", "wrong password")] * 20
    codes = [r.status_code for r in await asyncio.wait_for(_concurrent_sign_ins(instance, tries), 60)]
    assert codes.count(401) == auth.MAX_ACCOUNT_FAILURES and codes.count(429) == 15
    async with instance.client(ip="203.0.113.50") as owner:
        assert (await sign_in(owner, EMAIL, PASSWORD)).status_code == 303
    # The attacker's address waits out the short window, then may try again.
    async with instance.client(ip="198.51.100.66") as attacker:
        r = await sign_in(attacker, EMAIL, PASSWORD)
        assert r.status_code == 429 and r.headers["retry-after"] == str(auth.ACCOUNT_WINDOW)
        assert f"Try again in {auth.ACCOUNT_WINDOW} s." in r.text
        instance.clock.advance(auth.ACCOUNT_WINDOW + 1)
        assert (await sign_in(attacker, EMAIL, PASSWORD)).status_code == 303


@pytest.mark.server
# conftest.start_server leaves its log file object to the garbage collector
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_concurrent_sign_ins_against_two_real_workers(tmp_path: Path, live_server_factory: Any) -> None:
    """30 threads on their own connections to `analytics serve --workers 2`, all posting at once.

    Each worker process checks at most the account's limit; across processes the account's
    reservations in accounts.db let through at most one more address-fresh try per worker.
    """
    data_dir = tmp_path / "data"
    cli("users", "add", EMAIL, "--password-stdin", input=PASSWORD + "\n", data_dir=data_dir)
    server = live_server_factory("--workers", "2", data_dir=data_dir)
    threads = 30
    barrier = threading.Barrier(threads, timeout=30)
    codes: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            token = token_of(client.get("/login").text)
            barrier.wait()
            r = client.post("/login", data={"email": EMAIL, "password": "wrong password", "csrf": token})
        with lock:
            codes.append(r.status_code)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    assert len(codes) == threads and set(codes) <= {401, 429}
    assert codes.count(401) <= auth.MAX_ACCOUNT_FAILURES + 2, codes


# -- who may do what: accounts (issue 14.6, issue 15.2) ----------------------------------------


async def test_a_viewer_and_a_share_link_can_manage_nothing(instance: Instance, two_users: Any) -> None:
    owner, viewer = two_users
    site = await instance.accounts.sites.get("blog.example.org")
    await instance.accounts.sites.set_share(site, "S" * 32, None)
    owner_key = await instance.accounts.keys.add(EMAIL, "owner's")
    before = (await instance.accounts.users.all(), await instance.accounts.keys.all())
    actions = [
        ("/sites/blog.example.org/members", {"action": "invite", "email": "friend@example.org", "role": "owner"}),
        ("/sites/blog.example.org/members", {"action": "remove", "user_id": "1"}),
        ("/sites/blog.example.org/members", {"action": "withdraw", "invitation_id": "1"}),
        ("/sites/blog.example.org/delete", {"confirm": "blog.example.org"}),
        ("/account/keys", {"action": "create", "name": "x"}),
        ("/account/keys", {"action": "revoke", "key_id": "1"}),
        ("/sites/new", {"domain": "mine.example.org", "timezone": "UTC"}),
    ]
    token = await get_token(viewer, "/account")
    for path, data in actions:
        r = await viewer.post(path, data={**data, "csrf": token})
        assert r.status_code in (403, 404), (path, r.status_code)
    assert (await viewer.get("/sites/blog.example.org/settings")).status_code == 403
    # A share-link visitor (no account) is sent to sign in, or refused, for every one of them.
    async with instance.client(ip="10.9.9.9") as visitor:
        assert (await visitor.get(f"/share/{'S' * 32}")).status_code == 200
        anon_token = await get_token(visitor, "/login")
        for path, data in [*actions, ("/account/password", {"current_password": PASSWORD, "new_password": "x" * 9,
                                                             "new_password2": "x" * 9})]:  # fmt: skip
            r = await visitor.post(path, data={**data, "csrf": anon_token})
            assert r.status_code in (303, 403, 404), (path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login?next="), path
        assert (await visitor.get("/account")).headers["location"] == "/login?next=%2Faccount"
    assert (await instance.accounts.users.all(), await instance.accounts.keys.all()) == before
    assert await instance.accounts.invitations.pending(site.id) == []
    assert await instance.accounts.keys.find(owner_key) is not None
    assert [s.domain for s in await instance.accounts.sites.all()] == ["blog.example.org"]


async def test_only_admins_add_sites_unless_the_setting_says_users(tmp_path: Path) -> None:
    for creators, expected in (("admins", 403), ("users", 303)):
        app = create_app(Settings(data_dir=str(tmp_path / creators), batch_ms=0.5, site_creators=creators))
        async with app.router.lifespan_context(app):
            await app.state.accounts.users.add(EMAIL, PASSWORD)  # the admin
            await app.state.accounts.users.add("ann@example.org", "ann password")
            transport = httpx.ASGITransport(app=app, client=("10.0.0.5", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as ann:
                assert (await sign_in(ann, "ann@example.org", "ann password")).status_code == 303
                sites_page = (await ann.get("/sites")).text
                assert ("Add a site" in sites_page) is (creators == "users")
                r = await post_form(ann, "/sites/new", {"domain": "ann.example.org", "timezone": "UTC"},
                                    token_page="/sites")  # fmt: skip
                assert r.status_code == expected, creators
                if expected == 403:
                    assert "Only an admin can add sites on this instance." in r.text
                    assert "An owner of a site can invite you to it." in sites_page
            transport = httpx.ASGITransport(app=app, client=("10.0.0.6", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as admin:
                await sign_in(admin)
                assert "Add a site" in (await admin.get("/sites")).text


async def test_after_setup_the_admin_sees_the_sites_that_exist(instance: Instance) -> None:
    await instance.accounts.sites.add("cli.example.org", "UTC")  # added with the CLI before the first user
    async with instance.client() as client:
        token = await get_token(client, "/setup")
        r = await client.post("/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token})
        assert r.status_code == 303 and r.headers["location"] == "/sites"
        assert "cli.example.org" in (await client.get("/sites")).text
