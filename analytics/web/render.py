"""Templates, security headers and HTML error pages for the dashboard.

Every value a browser ever sent us is attacker-controlled, so templates are
autoescaped, no page carries an inline script or style, and the CSP allows
scripts, styles and connections to this origin only.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from analytics.errors import ApiError

log = logging.getLogger("analytics.web")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[Request], Awaitable[Response]]


class WebError(Exception):
    """An error page with its HTTP status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class SignInRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""


def _static_versions() -> dict[str, str]:
    out = {}
    root = importlib.resources.files("analytics.dashboards") / "static"
    for entry in root.iterdir():
        if entry.is_file():
            out[entry.name] = hashlib.sha256(entry.read_bytes()).hexdigest()[:12]
    return out


_VERSIONS = _static_versions()


def static_url(name: str) -> str:
    """A cache-busting URL for a packaged static file."""
    return f"/static/{name}?v={_VERSIONS.get(name, '0')}"


env = Environment(
    loader=PackageLoader("analytics.dashboards", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals["static_url"] = static_url


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    ctx = {"request": request, "user": getattr(request.state, "user", None), **(context or {})}
    ctx.setdefault("csrf", getattr(request.state, "csrf", ""))
    html = env.get_template(template).render(ctx)
    response = HTMLResponse(html, status, headers={**HEADERS, **(headers or {})})
    for name, value, max_age in getattr(request.state, "set_cookies", []):
        set_cookie(request, response, name, value, max_age)
    return response


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS: directly, per the configured base URL,
    or per X-Forwarded-Proto from a trusted proxy (uvicorn runs without proxy headers)."""
    if request.url.scheme == "https":
        return True
    settings = request.app.state.settings
    if settings.base_url.startswith("https://"):
        return True
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if proto != "https" or request.client is None:
        return False
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(peer in net for net in settings.proxy_networks)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int, path: str = "/") -> None:
    """Every dashboard cookie: HttpOnly, SameSite=Lax, Secure when reached over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def redirect(url: str, request: Request | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303, headers=HEADERS)
    if request is not None:
        for name, value, max_age in getattr(request.state, "set_cookies", []):
            set_cookie(request, response, name, value, max_age)
    return response


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    return render(request, "error.html", {"status": status, "message": message}, status, headers)


def page(handler: Handler) -> Handler:
    """Wrap a dashboard handler: errors become HTML pages with their status."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except SignInRequired:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return redirect("/login?next=" + quote(target, safe=""))
        except WebError as exc:
            return error_page(request, exc.status, exc.message, exc.headers)
        except ApiError as exc:
            return error_page(request, exc.status, exc.message, exc.headers)

    return wrapped


def safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)  # browsers drop tabs: "/\t/x" is "//x"
    ):
        return "/sites"
    return target
