"""The beacon as served: a fresh, deterministic minification within budget, with
caching, CORS, compression and SRI; and the <noscript> pixel."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
from conftest import CHROME_UA, Instance

from analytics.ingest import beacon

REPO_SOURCE = Path(__file__).resolve().parent.parent / "tracker.js" / "src" / "script.js"

BUDGET = 1_000  # issue 4: every feature, minified and gzip -9, on the bytes served


async def _get(instance: Instance, path: str, **headers: str) -> Any:
    async with instance.client() as c:
        return await c.get(path, headers=headers)


async def _served(instance: Instance, path: str = beacon.SCRIPT_PATH) -> bytes:
    r = await _get(instance, path, **{"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
    return bytes(r.content)


def _gzip9(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def test_installed_source_is_the_repository_file() -> None:
    assert beacon.source() == REPO_SOURCE.read_text("utf-8")


async def test_served_file_is_a_fresh_minification_of_the_source(instance: Instance) -> None:
    served = await _served(instance)
    assert served == beacon.minify(REPO_SOURCE.read_text("utf-8")).encode("utf-8")
    assert await _served(instance, beacon.SCRIPT_V1_PATH) == served
    # Minified for real: comments gone, locals mangled, far smaller than the source.
    text = served.decode()
    assert "/*" not in text and "\n" not in text
    assert "sentDepth" not in text and "engaged" not in text
    assert len(served) < REPO_SOURCE.stat().st_size / 3


async def test_size_within_budget(instance: Instance) -> None:
    served = await _served(instance)
    size = _gzip9(served)
    print(f"beacon: {len(served)} B minified, {size} B gzip -9, {len(brotli.compress(served))} B brotli")
    assert size <= BUDGET, f"the beacon is {size} B gzip -9, over the {BUDGET} B budget"


def test_build_is_deterministic_across_processes() -> None:
    # v1's SRI hash is published: the bytes must not depend on hash seeds.
    code = "from analytics.ingest import beacon; print(beacon.sri_hash())"
    out = {
        subprocess.run(
            [sys.executable, "-c", code], env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert out == {beacon.sri_hash()}


@pytest.mark.parametrize(
    ("path", "cache_control"),
    [(beacon.SCRIPT_PATH, beacon.CACHE_SCRIPT), (beacon.SCRIPT_V1_PATH, beacon.CACHE_V1)],
)
async def test_headers(instance: Instance, path: str, cache_control: str) -> None:
    r = await _get(instance, path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/javascript"
    assert r.headers["cache-control"] == cache_control
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["vary"] == "Accept-Encoding"
    assert re.fullmatch(r'"[0-9a-f]{32}(-gzip|-br)?"', r.headers["etag"])
    assert "set-cookie" not in r.headers


def test_cache_policies() -> None:
    assert "immutable" in beacon.CACHE_V1 and "max-age=31536000" in beacon.CACHE_V1
    assert "immutable" not in beacon.CACHE_SCRIPT and "max-age=3600" in beacon.CACHE_SCRIPT


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("identity", None),
        ("gzip;q=0", None),
        ("", None),
    ],
)
async def test_content_encoding(instance: Instance, accept: str, coding: str | None) -> None:
    plain = await _served(instance)
    async with instance.client() as c:
        async with c.stream("GET", beacon.SCRIPT_PATH, headers={"Accept-Encoding": accept}) as r:
            raw = b"".join([chunk async for chunk in r.aiter_raw()])
    assert r.headers.get("content-encoding") == coding
    assert int(r.headers["content-length"]) == len(raw)
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding](raw)
    assert decoded == plain
    if coding:
        assert len(raw) < len(plain)


async def test_etag_and_304(instance: Instance) -> None:
    r = await _get(instance, beacon.SCRIPT_PATH, **{"Accept-Encoding": "gzip"})
    etag = r.headers["etag"]
    again = await _get(instance, beacon.SCRIPT_PATH, **{"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == beacon.CACHE_SCRIPT
    # Any representation's tag, weak or in a list, proves the client has this build.
    plain_tag = etag.removesuffix('-gzip"') + '"'
    for inm in (plain_tag, f'W/{etag}', f'"other", {etag}', "*"):
        r = await _get(instance, beacon.SCRIPT_V1_PATH, **{"If-None-Match": inm})
        assert r.status_code == 304, inm
    stale = await _get(instance, beacon.SCRIPT_PATH, **{"If-None-Match": '"0123"'})
    assert stale.status_code == 200 and stale.content


async def test_sri_hash_matches_served_v1_bytes(instance: Instance) -> None:
    served = await _served(instance, beacon.SCRIPT_V1_PATH)
    expected = "sha384-" + base64.b64encode(hashlib.sha384(served).digest()).decode()
    assert beacon.sri_hash() == expected


def test_snippet() -> None:
    html = beacon.snippet("blog.example.org", "https://stats.example.org/")
    assert (
        '<script defer data-domain="blog.example.org" src="https://stats.example.org/js/script.v1.js"'
        f' integrity="{beacon.sri_hash()}" crossorigin="anonymous"></script>'
    ) in html
    assert "<noscript><img src=\"https://stats.example.org/api/pixel?d=blog.example.org&amp;u=PAGE_URL\"" in html
    evil = beacon.snippet('x.org"><script>alert(1)</script>', "https://s.example")
    assert "<script>alert" not in evil


def test_source_writes_no_storage() -> None:
    # The privacy promise, checked on the text: the only storage access is the
    # read of the opt-out flag; no cookie, no other storage API.
    text = REPO_SOURCE.read_text("utf-8")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)
    for forbidden in ("cookie", "sessionStorage", "indexedDB", "caches", "setItem", "XMLHttpRequest", "Image("):
        assert forbidden not in code, forbidden
    assert re.findall(r"localStorage\.\w+", code) == ["localStorage.plausible_ignore"]


def _stored(instance: Instance) -> list[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{instance.data_dir / 'analytics.db'}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT n.value, h.value, p.value FROM events e JOIN strings n ON n.id = e.name"
            " JOIN strings h ON h.id = e.hostname JOIN strings p ON p.id = e.page ORDER BY e.id"
        ).fetchall()


async def test_pixel_counts_a_pageview(instance: Instance, site: Any) -> None:
    async with instance.client() as c:
        r = await c.get(
            beacon.PIXEL_PATH,
            params={"d": "blog.example.org", "u": "https://blog.example.org/posts/hello?utm_source=x"},
            headers={"User-Agent": CHROME_UA, "Referer": "https://blog.example.org/posts/hello"},
        )
        head = await c.head(beacon.PIXEL_PATH, params={"d": "blog.example.org", "u": "https://blog.example.org/x"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/gif"
    assert r.headers["cache-control"] == "no-store"
    assert r.content == beacon.PIXEL_GIF and r.content.startswith(b"GIF89a")
    assert head.status_code == 200
    assert _stored(instance) == [("pageview", "blog.example.org", "/posts/hello")]


async def test_pixel_falls_back_to_referer_for_unfilled_url(instance: Instance, site: Any) -> None:
    async with instance.client() as c:
        await c.get(
            beacon.PIXEL_PATH, params={"d": "blog.example.org", "u": "PAGE_URL"},
            headers={"User-Agent": CHROME_UA, "Referer": "https://blog.example.org/about"},
        )
    assert _stored(instance) == [("pageview", "blog.example.org", "/about")]


@pytest.mark.parametrize(
    "params",
    [{}, {"d": "unknown.example"}, {"d": "blog.example.org", "u": "javascript:alert(1)"}, {"u": "https://x.org/"}],
)
async def test_pixel_always_answers_the_gif(instance: Instance, site: Any, params: dict[str, str]) -> None:
    async with instance.client() as c:
        r = await c.get(beacon.PIXEL_PATH, params=params, headers={"User-Agent": CHROME_UA})
    assert r.status_code == 200 and r.content == beacon.PIXEL_GIF
    assert _stored(instance) == []


async def test_pixel_drops_bots(instance: Instance, site: Any) -> None:
    async with instance.client() as c:
        r = await c.get(
            beacon.PIXEL_PATH, params={"d": "blog.example.org", "u": "https://blog.example.org/"},
            headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"},
        )
    assert r.content == beacon.PIXEL_GIF
    assert _stored(instance) == []


def test_readme_shows_the_served_sri_hash() -> None:
    readme = (REPO_SOURCE.parents[2] / "README.md").read_text("utf-8")
    hashes = set(re.findall(r'integrity="(sha384-[^"]+)"', readme))
    assert hashes == {beacon.sri_hash()}, "README's snippet must carry script.v1.js's current SRI hash"
