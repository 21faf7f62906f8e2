"""No input may produce a 5xx: hypothesis throws thousands of bodies and headers at POST /api/event.

The app runs in-process with a real SQLite file and a frozen clock that the
examples move forward, so salt rotation and session expiry happen mid-fuzz.
Every answer is either 202, or a 4xx carrying a JSON {"error": "..."}.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CHROME_UA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

SITE = "blog.example.org"
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class App:
    loop: asyncio.AbstractEventLoop
    app: Any
    clock: FrozenClock
    statuses: dict[int, int]

    def post(self, content: bytes, headers: dict[str, Any], ip: str = "203.0.113.7", advance: int = 0) -> httpx.Response:
        self.clock.advance(advance)

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await asyncio.wait_for(c.post("/api/event", content=content, headers=headers), 10)

        response = self.loop.run_until_complete(go())
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        check(response)
        return response


def check(response: httpx.Response) -> None:
    status = response.status_code
    assert status < 500, (status, response.text)
    if status == 202:
        return
    assert 400 <= status < 500, status
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One app for the whole module: the lifespan runs on a loop we drive by hand."""
    data = Path(tmp_path_factory.mktemp("fuzz")) / "data"
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    # Trusted proxies make X-Forwarded-For parsing part of the fuzzed surface.
    app = create_app(
        Settings(data_dir=str(data), batch_ms=0.5, trusted_proxies="203.0.113.0/24,2001:db8::/32"), clock
    )
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    store = app.state.store
    loop.run_until_complete(app.state.accounts.sites.add(SITE, "Europe/Zurich"))
    loop.run_until_complete(app.state.accounts.sites.add("other.example.org", "Asia/Kolkata"))
    fuzz = App(loop, app, clock, {})
    try:
        yield fuzz
        # After everything, the writer still commits a plain pageview: no poison pill killed it.
        before = loop.run_until_complete(store.fetchall("SELECT COUNT(*) FROM events"))[0][0]
        ok = fuzz.post(
            json.dumps({"n": "pageview", "u": f"https://{SITE}/after-fuzz", "d": SITE}).encode(),
            {"User-Agent": CHROME_UA, "Content-Type": "text/plain"},
            ip="198.51.100.200",
        )
        assert ok.status_code == 202 and "x-analytics-dropped" not in ok.headers
        after = loop.run_until_complete(store.fetchall("SELECT COUNT(*) FROM events"))[0][0]
        assert after == before + 1
        accepted = loop.run_until_complete(store.fetchall("SELECT COUNT(*) FROM events"))[0][0]
        assert accepted > 100, fuzz.statuses  # the near-valid strategy really reaches the store
    finally:
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()


# -- strategies ------------------------------------------------------------------------

# Integers well past 64 bits and float specials (json.dumps writes NaN/Infinity, json.loads reads them).
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 255, 256, 2**63, -(2**63) - 1, 10**30, 1e308, -0.0, 2592000000, 2591999999]),
)
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", " ", "\x00", "\ud800", "\udfff", "null", "true", "pageview", "engagement", "%00", "../..", "é" * 200]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=20,
)

urls = st.one_of(
    st.builds(
        lambda scheme, host, path, query, frag: f"{scheme}://{host}{path}{query}{frag}",
        st.sampled_from(["https", "http", "HTTPS", "ftp", "javascript", ""]),
        st.sampled_from([SITE, "www." + SITE, "other.example.org", "[2001:db8::1]", "[::1", "a:b@" + SITE, SITE + ":99999", "", "ex%41mple.org"]),
        st.one_of(st.just(""), st.text(max_size=60).map(lambda t: "/" + t), st.sampled_from(["/%ff%fe", "/%0a%0d", "/a" * 1200])),
        st.one_of(
            st.just(""),
            st.sampled_from(["?utm_source=x&utm_medium=cpc&gclid=1", "?ref=hn", "?email=a@b.c", "?" + "q=1&" * 400, "?%zz=%"]),
            st.text(max_size=40).map(lambda t: "?" + t),
        ),
        st.one_of(st.just(""), st.text(max_size=30).map(lambda t: "#" + t)),
    ),
    texts,
    json_values,
)
domains = st.one_of(
    st.sampled_from([SITE, SITE.upper(), "other.example.org", f"{SITE},other.example.org", "unknown.org", f" {SITE} ,", ",", "a" * 2000]),
    texts,
    json_values,
)
referrers = st.one_of(
    st.sampled_from([
        "https://www.google.com/", "https://t.co/x", "android-app://com.google.android.gm", "https://blog.example.org/self",
        "https://semalt.com/", "http://localhost:3000/", "not a url", "https://[::1/", "https://l.facebook.com/l.php?u=x",
    ]),
    urls,
)
props = st.one_of(
    st.dictionaries(st.text(max_size=320), json_values, max_size=40),
    st.dictionaries(st.text(max_size=5), st.text(max_size=2100), max_size=3),
    json_values.map(json.dumps),
    json_values,
)
revenue = st.one_of(
    st.fixed_dictionaries({"currency": st.one_of(st.sampled_from(["EUR", "usd", "XX", "€€€"]), json_values), "amount": st.one_of(numbers, texts, json_values)}),
    json_values,
)


valid_urls = st.builds(
    lambda scheme, host, path, query, frag: f"{scheme}://{host}{path}{query}{frag}",
    st.sampled_from(["https", "http"]),
    st.sampled_from([SITE, "www." + SITE, "other.example.org", SITE + ":8443"]),
    st.one_of(st.just("/"), st.text(alphabet=st.characters(codec="utf-8", exclude_characters="?#"), max_size=60).map(lambda t: "/" + t)),
    st.sampled_from(["", "?utm_source=news&utm_medium=email", "?ref=hn", "?gclid=abc", "?email=a@b.c&token=s3cret"]),
    st.sampled_from(["", "#top", "#/settings"]),
)
valid_fields: dict[str, st.SearchStrategy[Any]] = {
    "n": st.sampled_from(["pageview", "pageview", "pageview", "engagement", "Signup", "Outbound Link: Click", "File Download"]),
    "u": valid_urls,
    "d": st.sampled_from([SITE, SITE, "other.example.org", f"{SITE},other.example.org"]),
    "r": st.sampled_from(["https://www.google.com/", "https://t.co/x", "https://blog.example.org/self", "https://semalt.com/"]),
    "p": st.dictionaries(st.text(min_size=1, max_size=20), st.one_of(st.text(max_size=30), st.integers(), st.booleans()), max_size=4),
    "$": st.fixed_dictionaries({"currency": st.sampled_from(["EUR", "usd"]), "amount": st.one_of(st.integers(0, 10**6), st.just("9.99"))}),
    "i": st.booleans(),
    "h": st.sampled_from([0, 1]),
    "sd": st.integers(-5, 300),
    "e": st.integers(0, 10**7),
    "w": st.integers(0, 5000),
    "v": st.integers(0, 30),
}
wild_fields: dict[str, st.SearchStrategy[Any]] = {
    "n": st.one_of(texts, json_values, st.just("x" * 121)), "name": json_values,
    "u": urls, "url": urls, "d": domains, "domain": domains,
    "r": referrers, "referrer": referrers, "p": props, "props": props, "m": props, "meta": props,
    "$": revenue, "revenue": revenue, "i": json_values, "interactive": json_values,
    "h": json_values, "hashMode": json_values, "sd": st.one_of(numbers, json_values), "e": st.one_of(numbers, json_values),
    "w": st.one_of(numbers, json_values), "v": json_values, "extra": json_values,
}  # fmt: skip
LONG = {"n": "name", "u": "url", "d": "domain", "r": "referrer", "p": "props", "$": "revenue", "i": "interactive", "h": "hashMode"}


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Plausible body (short or long names), then 0-3 fields made wild or removed."""
    long = draw(st.booleans())
    body: dict[str, Any] = {}
    for key in ["n", "u", "d", *draw(st.lists(st.sampled_from(sorted(set(valid_fields) - {"n", "u", "d"})), max_size=5, unique=True))]:
        body[LONG.get(key, key) if long else key] = draw(valid_fields[key])
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        key = draw(st.sampled_from(sorted(wild_fields)))
        if draw(st.integers(0, 5)) == 0:
            body.pop(key, None)
        else:
            body[key] = draw(wild_fields[key])
    return body


header_text = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80),
    st.binary(max_size=80).map(lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F)),
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
user_agents = st.one_of(
    st.sampled_from([CHROME_UA, IPHONE_UA]),
    st.sampled_from([
        CHROME_UA, "", "Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", "python-requests/2.31",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 " + "(" * 500, "Mozilla/5.0 " + "A" * 4000,
    ]),
    header_text,
)
forwarded = st.one_of(
    st.lists(st.sampled_from(["198.51.100.77", "2001:db8::77", "203.0.113.5", "10.0.0.1", "garbage", "", " ", "::ffff:1.2.3.4", "[::1]:80", "1.2.3.4:5", "999.1.1.1"]), max_size=6).map(", ".join),
    st.text(alphabet="0123456789abcdef.:,[] ", max_size=60),
    header_text,
)


@st.composite
def headers(draw: st.DrawFn) -> dict[str, Any]:
    h: dict[str, Any] = {}
    if draw(st.integers(0, 4)):
        h["User-Agent"] = draw(user_agents)
    optional = {
        "Content-Type": st.one_of(st.sampled_from(["text/plain", "application/json", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]), header_text),
        "Referer": st.one_of(referrers.filter(lambda r: isinstance(r, str) and r.isascii() and r.isprintable()), header_text),
        "X-Forwarded-For": forwarded,
        "DNT": st.sampled_from(["1", "0", "yes", ""]),
        "Sec-GPC": st.sampled_from(["1", "0", "true", ""]),
        "Origin": header_text,
        "Accept-Language": header_text,
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=8, unique=True)):
        h[key] = draw(optional[key])
    return h


def encode(body: Any, ensure_ascii: bool) -> bytes:
    return json.dumps(body, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


client_ips = st.sampled_from(["203.0.113.7", "203.0.113.9", "198.51.100.1", "2001:db8::1", "127.0.0.1", "::1"])
advances = st.one_of(st.just(0), st.integers(0, 120), st.integers(0, 6 * 3600))


# -- the properties --------------------------------------------------------------------


@settings(FUZZ, max_examples=1500)
@given(body=near_valid(), hdrs=headers(), ip=client_ips, advance=advances, ascii_json=st.booleans())
def test_near_valid_bodies_never_5xx(fuzz_app: App, body: dict[str, Any], hdrs: dict[str, Any], ip: str, advance: int, ascii_json: bool) -> None:
    fuzz_app.post(encode(body, ascii_json), hdrs, ip=ip, advance=advance)


@settings(FUZZ, max_examples=700)
@given(body=json_values, hdrs=headers(), ascii_json=st.booleans())
def test_random_json_never_5xx(fuzz_app: App, body: Any, hdrs: dict[str, Any], ascii_json: bool) -> None:
    response = fuzz_app.post(encode(body, ascii_json), hdrs)
    assert response.status_code in (400, 413)


@settings(FUZZ, max_examples=500)
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.binary(min_size=8000, max_size=9000),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        near_valid().map(lambda b: encode(b, False)[: len(encode(b, False)) // 2]),
    ),
    hdrs=headers(),
)
def test_random_bytes_never_5xx(fuzz_app: App, raw: bytes, hdrs: dict[str, Any]) -> None:
    response = fuzz_app.post(raw, hdrs)
    assert response.status_code in (202, 400, 413)
    if len(raw) > 8192:
        assert response.status_code == 413


def test_specific_nasty_bodies(fuzz_app: App) -> None:
    """Known-hard cases, kept as explicit examples so they never depend on luck."""
    base = {"n": "pageview", "u": f"https://{SITE}/x", "d": SITE}
    cases: list[Any] = [
        {**base, "e": 10**400},
        {**base, "sd": 10**400},
        {**base, "p": {"big": 10**400}},
        {**base, "$": {"currency": "EUR", "amount": 10**400}},
        {**base, "e": math.inf},
        {**base, "n": "engagement", "sd": math.nan, "e": 1},
        {**base, "u": f"https://{SITE}/\ud800"},
        {**base, "n": "Signup\udfff", "p": {"k\ud800": "v\udc00"}, "r": "https://r.org/\ud800"},
        {**base, "n": "\x00", "u": f"https://{SITE}/\x00"},
        {**base, "p": "[" * 3000 + "]" * 3000},
        {**base, "d": ",".join([SITE] * 150)},
    ]
    for body in cases:
        fuzz_app.post(encode(body, False), {"User-Agent": CHROME_UA})
    fuzz_app.post(b'{"n": "pageview", "u": "https://blog.example.org/", "d": "blog.example.org", "e": NaN}', {})
    fuzz_app.post(b"[" * 4000 + b"]" * 4000, {})
    fuzz_app.post(b'{"n":' * 1000, {})
    fuzz_app.post(b"", {"Content-Length": "abc"})
