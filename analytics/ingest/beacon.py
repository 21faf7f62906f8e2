"""Serve the beacon (`/js/script.js`, frozen `/js/script.v1.js`) and the <noscript> pixel.

The readable source, `tracker.js/src/script.js` (installed as the package data
`analytics.tracker/script.js`), is minified once per process, at first use, by
calmjs.parse: its ES5 parser and minifying printer with local names mangled.
Nobody needs Node. The gzip and brotli bodies, the ETag and the SRI hash are
computed in the same step, so a request only picks bytes and headers.

The build is deterministic (same source and calmjs.parse version, same bytes;
`tests/test_beacon.py` checks it across hash seeds), which is what lets
`script.v1.js` carry a long-lived `immutable` cache and a published SRI hash.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import brotli  # type: ignore[import-untyped]
from calmjs.parse import es5  # type: ignore[import-untyped]
from calmjs.parse.unparsers.es5 import minify_print  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from analytics.ingest.endpoint import accept

SCRIPT_PATH = "/js/script.js"
SCRIPT_V1_PATH = "/js/script.v1.js"
PIXEL_PATH = "/api/pixel"

# script.js is what existing Plausible-style snippets point at: short enough
# that a fix reaches readers within the hour. v1 never changes under a given
# install (a changed beacon gets a new version), so browsers may keep it.
CACHE_SCRIPT = "public, max-age=3600, stale-while-revalidate=86400"
CACHE_V1 = "public, max-age=31536000, immutable"
MEDIA_TYPE = "application/javascript"

# The smallest valid transparent GIF: 1x1, one colour, 43 bytes.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

_REPO_SOURCE = Path(__file__).resolve().parent.parent / "tracker.js" / "src" / "script.js"


def source() -> str:
    """The readable beacon source, from the installed package or the repository."""
    try:
        return (resources.files("analytics.tracker") / "script.js").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        # Running from a checkout whose `analytics` package shadows the
        # installed one (python -m analytics from the repo root).
        return _REPO_SOURCE.read_text("utf-8")


def minify(js: str) -> str:
    """ES5 source to the served text: whitespace and comments gone, locals mangled.

    Globals (window, document, ...) are never renamed; property names and
    strings are kept as written, which is why the source is written tersely.
    """
    program = es5(js)
    return str(minify_print(program, obfuscate=True, obfuscate_globals=False, drop_semi=True))


@dataclass(frozen=True, slots=True)
class Build:
    """One minification with everything a response needs, computed once."""

    body: bytes
    gzip: bytes
    brotli: bytes
    digest: str  # hex SHA-256 of body, the ETag's core

    @property
    def sri(self) -> str:
        return "sha384-" + base64.b64encode(hashlib.sha384(self.body).digest()).decode("ascii")

    def encoded(self, accept_encoding: str) -> tuple[bytes, str | None]:
        """The smallest representation the client accepts, and its Content-Encoding."""
        accepted = _accepted_codings(accept_encoding)
        if "br" in accepted:
            return self.brotli, "br"
        if "gzip" in accepted:
            return self.gzip, "gzip"
        return self.body, None


def build(js: str) -> Build:
    body = minify(js).encode("utf-8")
    return Build(
        body=body,
        # mtime=0 keeps the gzip bytes, like the rest, a pure function of the source.
        gzip=gzip.compress(body, compresslevel=9, mtime=0),
        brotli=brotli.compress(body, mode=brotli.MODE_TEXT, quality=11),
        digest=hashlib.sha256(body).hexdigest(),
    )


_lock = threading.Lock()
_build: Build | None = None


def current() -> Build:
    """The process's build of the installed source (made on first call)."""
    global _build
    if _build is None:
        with _lock:
            if _build is None:
                _build = build(source())
    return _build


def sri_hash() -> str:
    """Subresource-integrity value ("sha384-...") of the bytes served at /js/script.v1.js."""
    return current().sri


def snippet(domain: str, base_url: str) -> str:
    """The HTML to paste into every page's <head>, plus the optional <noscript> pixel.

    The pixel's `u` must be the page's own URL; `PAGE_URL` is a placeholder
    that a static-site template fills per page (e.g. `{{ page.url }}`). Left as
    is, the pixel falls back to the Referer header, which the img's
    referrerpolicy makes the full page URL on same-scheme sites.
    """
    base = base_url.rstrip("/")
    d = html.escape(domain, quote=True)
    pixel = html.escape(f"{base}{PIXEL_PATH}?d={quote(domain, safe=',')}&u=PAGE_URL", quote=True)
    return (
        f'<script defer data-domain="{d}" src="{html.escape(base, quote=True)}{SCRIPT_V1_PATH}"'
        f' integrity="{sri_hash()}" crossorigin="anonymous"></script>\n'
        f'<noscript><img src="{pixel}" alt="" width="1" height="1"'
        ' referrerpolicy="no-referrer-when-downgrade" style="position:absolute"></noscript>'
    )


def _accepted_codings(header: str) -> set[str]:
    """Codings with q > 0 in an Accept-Encoding header (`*` is not honoured: be explicit)."""
    accepted = set()
    for item in header.lower().split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and q > 0:
            accepted.add(name.strip())
    return accepted


def _etag_matches(if_none_match: str, etags: tuple[str, ...]) -> bool:
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): W/ prefixes do not matter for a 304.
    sent = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return any(tag in sent for tag in etags)


def _serve(request: Request, cache_control: str) -> Response:
    b = current()
    body, coding = b.encoded(request.headers.get("accept-encoding", ""))
    # A strong ETag names one representation, so each coding gets its own;
    # any of them in If-None-Match proves the client holds this build.
    etags = (f'"{b.digest[:32]}"', f'"{b.digest[:32]}-gzip"', f'"{b.digest[:32]}-br"')
    etag = etags[{None: 0, "gzip": 1, "br": 2}[coding]]
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        # Pages that set Cross-Origin-Embedder-Policy may still load it.
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if _etag_matches(request.headers.get("if-none-match", ""), etags):
        return Response(status_code=304, headers=headers)
    if coding:
        headers["Content-Encoding"] = coding
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


async def script(request: Request) -> Response:
    """GET /js/script.js: the current beacon, cached for an hour."""
    return _serve(request, CACHE_SCRIPT)


async def script_v1(request: Request) -> Response:
    """GET /js/script.v1.js: the frozen URL whose SRI hash the snippet shows."""
    return _serve(request, CACHE_V1)


async def pixel(request: Request) -> Response:
    """GET /api/pixel?d=DOMAIN&u=PAGE_URL: a pageview for a reader without JavaScript.

    Always a 1x1 GIF, whatever happened to the event, so a page never shows a
    broken image and probing learns nothing. The collector applies every rule
    of /api/event (unknown domain, bots, GPC/DNT, exclusions).
    """
    domain = request.query_params.get("d")
    if domain and request.method == "GET":  # a HEAD request is not a view
        referer = request.headers.get("referer")
        url = request.query_params.get("u", "")
        if not url.startswith(("http://", "https://")):
            url = referer or ""  # PAGE_URL left unfilled: the Referer names the page
        await accept(request, {"n": "pageview", "u": url, "d": domain, "r": referer})
    return Response(
        PIXEL_GIF,
        media_type="image/gif",
        headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"},
    )


def routes() -> list[BaseRoute]:
    """The beacon's routes, for create_app()."""
    return [
        Route(SCRIPT_PATH, script, methods=["GET"]),
        Route(SCRIPT_V1_PATH, script_v1, methods=["GET"]),
        Route(PIXEL_PATH, pixel, methods=["GET"]),
    ]
