"""Public share links: `/share/{token}`, read-only, one site's aggregates and nothing else.

The token is looked up only here. It is not a credential anywhere else: no
other route reads it from a path, query, cookie or header, so it can never
reach another site, a settings form or any write endpoint (the hole behind
Umami's GHSA-8www-cffh-4q98). Password attempts are limited per client address
(in memory) and per link (in accounts.db), each reserved before the password
is checked. A password, when set, is checked once and then
remembered in a cookie scoped to this link's path, keyed to the current
password hash: changing the password or the token revokes it.
"""

from __future__ import annotations

import asyncio
import hmac
import re

from starlette.requests import Request
from starlette.responses import Response

from analytics.accounts.passwords import verify_password
from analytics.model import Site
from analytics.web import csrf
from analytics.web.auth import ClientThrottle, accounts_of, client_address, keyed, now_of, server_secret
from analytics.web.dashboard import View, build, headlines_json, realtime_json
from analytics.web.pages import field, read_form
from analytics.web.render import WebError, page, redirect, render, set_cookie

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
COOKIE = "analytics_share"
COOKIE_SECONDS = 7 * 86400
MAX_PASSWORD_FAILURES = 10  # per client address, any link, over auth.FAIL_WINDOW
MAX_LINK_FAILURES = 20  # per link, from all addresses together
LINK_WINDOW = 5 * 60
SHARE_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}


async def _site(request: Request) -> tuple[Site, str]:
    token = request.path_params["token"]
    site = await accounts_of(request).sites.by_share_token(token) if TOKEN.match(token) else None
    if site is None:
        raise WebError(404, "This shared link does not exist or was turned off.", SHARE_HEADERS)
    return site, token


async def _cookie_value(request: Request, site: Site, token: str) -> str:
    return keyed(await server_secret(request, "share"), f"{site.id}|{token}|{site.share_password_hash}")


async def _unlocked(request: Request, site: Site, token: str) -> bool:
    if not site.share_password_hash:
        return True
    sent = request.cookies.get(COOKIE, "")
    return bool(sent) and hmac.compare_digest(sent.encode(), (await _cookie_value(request, site, token)).encode())


async def _view(request: Request) -> View | None:
    site, token = await _site(request)
    if not await _unlocked(request, site, token):
        return None
    options = await accounts_of(request).sites.dashboard_options(site.id)
    return View(site, f"/share/{token}", public=True, k=options.share_min_visitors)


@page
async def shared_dashboard(request: Request) -> Response:
    view = await _view(request)
    if view is None:
        site, token = await _site(request)
        await csrf.prepare(request)
        return render(request, "share_password.html", {"token": token, "error": "", "public": True}, 401, SHARE_HEADERS)
    context = await build(request, view)
    return render(request, "dashboard.html", context, headers=SHARE_HEADERS)


async def unlocked_view(request: Request) -> View:
    """The view of a share link for the dashboard's own requests (realtime, live, Headline details):
    404 for an unknown link, then 401 for a locked one."""
    view = await _view(request)
    if view is None:
        await _site(request)
        raise WebError(401, "This shared link needs its password: open the dashboard link first.", SHARE_HEADERS)
    return view


@page
async def shared_realtime(request: Request) -> Response:
    return await realtime_json(request, await unlocked_view(request))


@page
async def shared_headlines(request: Request) -> Response:
    return await headlines_json(request, await unlocked_view(request))


def _too_many(retry_after: int) -> WebError:
    seconds = max(1, retry_after)
    return WebError(
        429, f"Too many wrong passwords. Try again in {seconds} s.", {"Retry-After": str(seconds), **SHARE_HEADERS}
    )


@page
async def shared_unlock(request: Request) -> Response:
    site, token = await _site(request)
    form = await read_form(request, signed_in=False)
    if not site.share_password_hash:
        return redirect(f"/share/{token}")
    throttle: ClientThrottle = request.app.state.__dict__.setdefault("_share_throttle", ClientThrottle())
    client = client_address(request)
    now = now_of(request)
    # Reserved before the check, in memory (no await in between) and then in accounts.db for the link.
    if throttle.reserve(client, now, MAX_PASSWORD_FAILURES) is None:
        raise _too_many(throttle.retry_after(client, now))
    try:
        reserved = await accounts_of(request).logins.reserve_share(site.id, int(now), LINK_WINDOW, MAX_LINK_FAILURES)
    except BaseException:
        throttle.release(client, now)
        raise
    if not reserved.granted:
        throttle.release(client, now)
        raise _too_many(reserved.retry_after)
    ok = await asyncio.to_thread(verify_password, field(form, "password")[:1024], site.share_password_hash)
    if not ok:  # both reservations stay, as failures
        await csrf.prepare(request)
        return render(
            request,
            "share_password.html",
            {"token": token, "error": "Wrong password.", "public": True},
            401,
            SHARE_HEADERS,
        )
    throttle.release(client, now)
    await accounts_of(request).logins.release_share(reserved)
    response = redirect(f"/share/{token}")
    set_cookie(request, response, COOKIE, await _cookie_value(request, site, token), COOKIE_SECONDS, f"/share/{token}")
    return response
