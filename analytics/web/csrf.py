"""CSRF tokens for every state-changing form.

A token is an HMAC, under a server secret, of the session cookie (signed-in
forms) or of a random anonymous cookie (sign-in, setup, share password). A
cross-site page can neither read those HttpOnly cookies nor the token, so it
cannot forge a form post. A post without a valid token gets 403.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import Request

from analytics.web.auth import SESSION_COOKIE, current_user, keyed, server_secret
from analytics.web.render import WebError

ANON_COOKIE = "analytics_csrf"
FIELD = "csrf"
_SECRET = "csrf"


async def prepare(request: Request) -> str:
    """The token for forms on this page (also kept on request.state for templates)."""
    secret = await server_secret(request, _SECRET)
    if await current_user(request) is not None:
        token = keyed(secret, "s:" + request.cookies[SESSION_COOKIE])
    else:
        anon = request.cookies.get(ANON_COOKIE, "")
        if not anon or len(anon) > 100:
            anon = secrets.token_urlsafe(24)
            cookies = request.state.__dict__.setdefault("set_cookies", [])
            cookies.append((ANON_COOKIE, anon, 86400))
        token = keyed(secret, "a:" + anon)
    request.state.csrf = token
    return token


async def verify(request: Request, form: Mapping[str, object], signed_in: bool) -> None:
    """Refuse the post with 403 unless it carries this browser's token (and, if sent, our own Origin)."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise WebError(403, "This form was sent from another site.")
    sent = form.get(FIELD)
    if not isinstance(sent, str) or not sent:
        raise WebError(403, "The form is missing its security token. Reload the page and try again.")
    secret = await server_secret(request, _SECRET)
    if signed_in:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        expected = keyed(secret, "s:" + cookie) if cookie else ""
    else:
        anon = request.cookies.get(ANON_COOKIE, "")
        expected = keyed(secret, "a:" + anon) if anon else ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise WebError(403, "The form's security token is not valid. Reload the page and try again.")
