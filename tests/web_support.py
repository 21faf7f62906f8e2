"""Helpers for the dashboard tests: forms with CSRF tokens, a seeded site, a threaded server.

The seeded data (`seed`) is small enough to count by hand. Site blog.example.org,
Europe/Zurich (UTC+1 in March 2026); the clock's "now" is Mon Mar 2 10:00 local.

Today, Mar 2 (local):
  V1 CH Chrome/Windows  08:00 /  (google.com) -> 08:01 /blog/a -> engagement sd 50, 20 s at 08:02
                        2 pv, duration 60 s, no bounce                        Google, Organic Search
  V2 DE Safari/iOS      08:10 /blog/a (linkedin.com). 1 pv, bounce             LinkedIn, Organic Social
  V3 US Firefox/Linux   08:20 /?utm_source=newsletter&utm_medium=email&utm_campaign=march
                        -> Signup {plan: pro} at 08:21. 1 pv, duration 60 s   newsletter, Email
  V4 FR Chrome/Android  08:30 /blog/b (google.com) -> Outbound Link: Click {url: https://example.com/x}
                        at 08:31. 1 pv, duration 60 s                          Google, Organic Search
  => visitors 4, visits 4, pageviews 5, views/visit 1.25, bounce 25 %, duration 45 s.
Yesterday, Mar 1:
  V5 CH Chrome/Windows  12:00 / (direct). bounce
  V5 again              13:00 /blog/a (google.com), an hour later: a second visit. bounce
  => visitors 1, visits 2, pageviews 2, bounce 100 %, duration 0 s.
Mar 1 to 2 together: visitors 5 (a person counts once per day), pageviews 7.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]*)"')
EMAIL, PASSWORD = "admin@example.org", "correct horse battery"
DOMAIN = "blog.example.org"
HOST = "https://blog.example.org"
UA = {
    "win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.6 Mobile/15E148 Safari/604.1",
    "linux": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
}
IP = {"CH": "195.186.0.1", "DE": "217.0.0.1", "US": "8.8.8.8", "FR": "90.0.0.1"}
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

Send = Callable[[datetime, dict[str, Any], str, str], Awaitable[None]]


def token_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


async def get_token(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return token_of(r.text)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], token_page: str | None = None
) -> httpx.Response:
    """POST a form with the CSRF token taken from `token_page` (default: the same path)."""
    token = await get_token(client, token_page or path)
    return await client.post(path, data={**data, "csrf": token})


async def setup_admin(client: httpx.AsyncClient, email: str = EMAIL, password: str = PASSWORD) -> None:
    r = await post_form(client, "/setup", {"email": email, "password": password, "password2": password})
    assert r.status_code == 303, r.text[:500]


async def sign_in(client: httpx.AsyncClient, email: str = EMAIL, password: str = PASSWORD) -> httpx.Response:
    return await post_form(client, "/login", {"email": email, "password": password})


INVITE_LINK = re.compile(r'class="invite-link" readonly value="([^"]*)"')


async def invite(client: httpx.AsyncClient, domain: str, email: str, role: str = "viewer") -> str:
    """An owner creates an invitation on the People form; returns the link's path (/invite/<token>)."""
    r = await post_form(client, f"/sites/{domain}/members", {"action": "invite", "email": email, "role": role},
                        token_page=f"/sites/{domain}/settings")  # fmt: skip
    assert r.status_code == 200, r.text[:500]
    m = INVITE_LINK.search(r.text)
    assert m, "no invitation link on the page"
    return "/invite/" + m.group(1).rsplit("/invite/", 1)[1]


async def accept_new(client: httpx.AsyncClient, link: str, password: str) -> httpx.Response:
    """The invitee (not signed in) sets their own password on the invitation page."""
    return await post_form(client, link, {"action": "create", "password": password, "password2": password})


def local(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    """March `day` at hh:mm local Zurich time (UTC+1), as UTC."""
    return datetime(2026, 3, day, hh - 1, mm, ss, tzinfo=UTC)


def event(name: str, path: str, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"n": name, "u": HOST + path, "d": DOMAIN, "r": ref, **extra}


def seed_steps() -> list[tuple[datetime, dict[str, Any], str, str]]:
    """The hand-counted data set described in the module docstring: (when, body, ip, user agent)."""
    g, li = "https://www.google.com/", "https://www.linkedin.com/"
    steps: list[tuple[datetime, dict[str, Any], str, str]] = [
        (local(1, 12, 0), event("pageview", "/", w=1280), IP["CH"], UA["win"]),
        (local(1, 13, 0), event("pageview", "/blog/a", g, w=1280), IP["CH"], UA["win"]),
        (local(2, 8, 0), event("pageview", "/", g, w=1280), IP["CH"], UA["win"]),
        (local(2, 8, 1), event("pageview", "/blog/a", g, w=1280), IP["CH"], UA["win"]),
        (local(2, 8, 2), event("engagement", "/blog/a", sd=50, e=20000), IP["CH"], UA["win"]),
        (local(2, 8, 10), event("pageview", "/blog/a", li, w=390), IP["DE"], UA["ios"]),
        (local(2, 8, 20), event("pageview", "/?utm_source=newsletter&utm_medium=email&utm_campaign=march", w=1600),
         IP["US"], UA["linux"]),
        (local(2, 8, 21), event("Signup", "/", p={"plan": "pro"}), IP["US"], UA["linux"]),
        (local(2, 8, 30), event("pageview", "/blog/b", g, w=412), IP["FR"], UA["android"]),
        (local(2, 8, 31), event("Outbound Link: Click", "/blog/b", p={"url": "https://example.com/x"}),
         IP["FR"], UA["android"]),
    ]  # fmt: skip
    return steps


async def seed(send: Send) -> None:
    for when, body, ip, ua in seed_steps():
        await send(when, body, ip, ua)


@dataclass
class ThreadedServer:
    """The app (with its frozen clock) under a real uvicorn on loopback, in a thread.

    `analytics serve` runs on the real clock; the browser tests need exact dates,
    so they serve the same app object with a FrozenClock instead.
    """

    app: Any
    port: int
    thread: threading.Thread
    server: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_threaded(app: Any, port: int) -> ThreadedServer:
    import uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.started:
            return ThreadedServer(app, port, thread, server)
        time.sleep(0.05)
    raise AssertionError("threaded server did not start")


def http_send(base: str, clock: Any) -> Callable[[datetime, dict[str, Any], str, str], None]:
    """A synchronous sender for a threaded server that trusts 127.0.0.1 as a proxy."""

    def send(when: datetime, body: dict[str, Any], ip: str, ua: str) -> None:
        clock.set(when)
        r = httpx.post(base + "/api/event", json=body, headers={"User-Agent": ua, "X-Forwarded-For": ip}, timeout=10)
        assert r.status_code == 202, r.text
        assert r.headers.get("x-analytics-dropped") is None, body

    return send


def seed_sync(send: Callable[[datetime, dict[str, Any], str, str], None]) -> None:
    for when, body, ip, ua in seed_steps():
        send(when, body, ip, ua)


def artifact_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return root


# -- reading numbers back out of dashboard HTML ----------------------------------------------

from html.parser import HTMLParser  # noqa: E402


class DashboardPage(HTMLParser):
    """Top stats, report tables, filter chips and links of a rendered dashboard."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stats: dict[str, dict[str, str]] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[tuple[str, str]] = []  # (text, href)
        self.chips: list[str] = []
        self._stat: str | None = None
        self._field: str | None = None
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._href: str | None = None
        self._link_text: list[str] = []
        self._chip: list[str] | None = None
        self._depth_chip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "").split()
        if tag == "a" and "data-metric" in a:
            self._stat = a["data-metric"]
            self.stats[self._stat] = {}
        if self._stat and tag == "span":
            for name in ("stat-value", "delta", "stat-prev"):
                if name in cls:
                    self._field = name
                    self.stats[self._stat][name] = ""
        if tag == "table" and "report" in cls:
            self._table = a.get("data-tab", "")
            self.tables[self._table] = []
        if self._table is not None and tag == "tr":
            self._row = []
        if self._row is not None and tag == "td":
            self._cell = []
        if tag == "a":
            self._href = a.get("href", "")
            self._link_text = []
        if tag == "span" and "chip" in cls:
            self._chip = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._field:
            self._field = None
        elif tag == "span" and self._chip is not None and self._field is None:
            pass
        if tag == "a":
            if self._stat:
                self._stat = None
            if self._href is not None:
                self.links.append((" ".join("".join(self._link_text).split()), self._href))
                self._href = None
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None and self._table is not None:
            if self._row and not (len(self._row) == 1 and self._row[0] == "No data yet"):
                self.tables[self._table].append(self._row)
            self._row = None
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._stat and self._field:
            self.stats[self._stat][self._field] += data
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None:
            self._link_text.append(data)
        if self._chip is not None:
            self._chip.append(data)
            text = " ".join("".join(self._chip).split())
            if text.endswith("×"):
                self.chips.append(text[:-1].strip())
                self._chip = None

    def value(self, metric: str) -> str:
        return self.stats[metric]["stat-value"].strip()

    def delta(self, metric: str) -> str:
        return " ".join(self.stats[metric].get("delta", "").split())

    def previous(self, metric: str) -> str:
        return self.stats[metric].get("stat-prev", "").replace("before:", "").strip()

    def table(self, tab: str) -> list[list[str]]:
        return self.tables[tab]

    def link(self, text: str) -> str:
        for t, href in self.links:
            if t == text:
                return href
        raise AssertionError(f"no link {text!r}; have {[t for t, _ in self.links][:60]}")
