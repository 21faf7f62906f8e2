"""Accounts and sites: setup, sign-in, sign-out, the site list, adding a site, the snippet page."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from analytics.accounts.validate import AdminError, normalize_domain
from analytics.model import Site
from analytics.web import csrf
from analytics.web.auth import (
    accounts_of,
    check_password,
    current_user,
    end_session,
    now_of,
    require_user,
    start_session,
    store_of,
)
from analytics.web.render import WebError, is_https, page, redirect, render, safe_next
from analytics.web.reports import Stats
from analytics.web.state import resolve_range

MAX_FIELD = 2000


async def read_form(request: Request, signed_in: bool) -> FormData:
    """The posted form, after its CSRF token was checked (403 otherwise)."""
    form = await request.form(max_files=0, max_fields=100, max_part_size=64 * 1024)
    await csrf.verify(request, form, signed_in)
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def row_id(form: FormData, name: str) -> int:
    """A row id from a form field; 0 (no row) for anything but a plain number that fits SQLite's INTEGER."""
    value = field(form, name)
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else 0


@functools.cache
def timezones() -> list[str]:
    return sorted(
        tz for tz in zoneinfo.available_timezones()
        if "/" in tz and not tz.startswith(("posix/", "right/", "Etc/", "SystemV/"))
    ) + ["UTC"]  # fmt: skip


async def site_access(request: Request, domain: str, owner: bool = False) -> tuple[Site, str]:
    """The site and the signed-in user's role on it. Unknown or foreign sites are 404, alike."""
    user = await require_user(request)
    accounts = accounts_of(request)
    try:
        site = await accounts.sites.get(domain)
    except AdminError:
        raise WebError(404, "No such site.") from None
    role = await accounts.users.role(site.id, user.id)
    if role is None:
        raise WebError(404, "No such site.")
    if owner and role != "owner":
        raise WebError(403, "Only an owner of this site can do that.")
    return site, role


def now_dt(request: Request) -> datetime:
    return datetime.fromtimestamp(now_of(request), UTC)


# accounts.db keeps the first origin seen, first writer wins across workers (the web_secrets primitive).
FIRST_SEEN_ORIGIN = "first_seen_origin"


async def base_url(request: Request) -> str:
    """This service's public URL, for snippets and share links: configured, else the first one seen.

    A request's Host header is whatever the client sent (a proxy passing it on,
    a poisoned cache): without --base-url the origin of the first signed-in
    request that needed one is kept in accounts.db, and later requests cannot
    change it. Settings warns that --base-url is unset.
    """
    configured: str = request.app.state.settings.base_url
    if configured:
        return configured.rstrip("/")
    cache: dict[str, bytes] = request.app.state.__dict__.setdefault("_web_secrets", {})
    if FIRST_SEEN_ORIGIN not in cache:
        cache[FIRST_SEEN_ORIGIN] = await accounts_of(request).logins.secret(
            FIRST_SEEN_ORIGIN, request_origin(request).encode()
        )
    return cache[FIRST_SEEN_ORIGIN].decode()


def request_origin(request: Request) -> str:
    """The scheme and host this request says it reached (Host header; https behind a trusted proxy)."""
    url = str(request.base_url).rstrip("/")
    if is_https(request) and url.startswith("http://"):
        url = "https://" + url[len("http://") :]
    return url


# -- accounts ---------------------------------------------------------------------------


@page
async def index(request: Request) -> Response:
    if await accounts_of(request).users.count() == 0:
        return redirect("/setup")
    if await current_user(request) is None:
        return redirect("/login")
    return redirect("/sites")


@page
async def setup(request: Request) -> Response:
    """First run: create the admin account. Gone once any user exists."""
    accounts = accounts_of(request)
    if await accounts.users.count() > 0:
        if request.method == "POST":
            raise WebError(403, "Setup is already done. Sign in instead.")
        return redirect("/login")
    error, email = "", ""
    if request.method == "POST":
        form = await read_form(request, signed_in=False)
        email, password = field(form, "email").strip(), field(form, "password")
        if password != field(form, "password2"):
            error = "The two passwords differ."
        else:
            try:
                user = await accounts.users.add_first(email, password)
            except AdminError as exc:
                error = str(exc)
            else:
                # Sites may exist already (added with the CLI): then the list, not "Add a site".
                response = redirect("/sites" if await accounts.sites.all() else "/sites/new")
                await start_session(request, response, user)
                await base_url(request)  # the admin's first request pins the origin snippets will show
                return response
    await csrf.prepare(request)
    return render(request, "setup.html", {"error": error, "email": email}, 400 if error else 200)


@page
async def login(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if await accounts_of(request).users.count() == 0:
            return redirect("/setup")
        if await current_user(request) is not None:
            return redirect(target)
        await csrf.prepare(request)
        return render(request, "login.html", {"next": target, "email": "", "error": ""})
    form = await read_form(request, signed_in=False)
    email = field(form, "email").strip()
    target = safe_next(field(form, "next"))
    try:
        user = await check_password(request, email, field(form, "password"))
    except WebError as exc:
        await csrf.prepare(request)
        return render(request, "login.html", {"next": target, "email": email, "error": exc.message},
                      exc.status, exc.headers)  # fmt: skip
    response = redirect(target)
    await start_session(request, response, user)
    return response


@page
async def logout(request: Request) -> Response:
    await read_form(request, signed_in=await current_user(request) is not None)
    response = redirect("/login")
    await end_session(request, response)
    return response


# -- sites ------------------------------------------------------------------------------


@page
async def sites(request: Request) -> Response:
    user = await require_user(request)
    accounts = accounts_of(request)
    listed = []
    for site in await accounts.sites.of_user(user.id):
        role = await accounts.users.role(site.id, user.id)
        listed.append({"site": site, "role": role})
    await csrf.prepare(request)
    notice = "The site and its data were removed." if request.query_params.get("done") == "removed" else ""
    context = {"sites": listed, "may_add": await may_add_sites(request, user.id), "notice": notice}
    return render(request, "sites.html", context)


async def may_add_sites(request: Request, user_id: int) -> bool:
    """The `site_creators` setting: admins only (the default), or every signed-in user."""
    if request.app.state.settings.site_creators == "users":
        return True
    return await accounts_of(request).users.is_admin(user_id)


@page
async def new_site(request: Request) -> Response:
    user = await require_user(request)
    if not await may_add_sites(request, user.id):
        raise WebError(403, "Only an admin can add sites on this instance. Ask an admin to add it and invite you.")
    error, domain, tz = "", "", "UTC"
    if request.method == "POST":
        form = await read_form(request, signed_in=True)
        domain, tz = field(form, "domain"), field(form, "timezone") or "UTC"
        try:
            site = await accounts_of(request).sites.add(domain, tz, owner=user.id)
        except AdminError as exc:
            error = str(exc)
        else:
            # Say what was saved when it is not what was typed (https://www.example.com/ -> example.com).
            typed = "" if domain.strip().lower() == site.domain else "?typed=" + quote(domain.strip()[:300], safe="")
            return redirect(f"/sites/{site.domain}/snippet{typed}")
    await csrf.prepare(request)
    return render(
        request, "new_site.html", {"error": error, "domain": domain, "tz": tz, "timezones": timezones()},
        400 if error else 200,
    )  # fmt: skip


def snippet_for(domain: str, base: str) -> tuple[str, str]:
    """The embed snippet and its SRI hash, from the beacon module."""
    from analytics.ingest import beacon

    return beacon.snippet(domain, base), beacon.sri_hash()


def _typed(request: Request, site: Site) -> str:
    """What the owner typed when adding the site, if it was saved differently (shown as a note)."""
    typed = request.query_params.get("typed", "")[:300]
    try:
        return typed if typed and normalize_domain(typed) == site.domain else ""
    except AdminError:
        return ""


@page
async def snippet(request: Request) -> Response:
    site, role = await site_access(request, request.path_params["domain"])
    base = await base_url(request)
    code, sri = snippet_for(site.domain, base)
    stats = Stats(store_of(request), site, now_dt(request))
    earliest = await stats.earliest(await accounts_of(request).sites.created_at(site.id))
    totals = await stats.totals(
        resolve_range("all", site.timezone, stats.now, earliest), ["visitors", "pageviews", "events"]
    )
    received = bool(totals["pageviews"] or totals["events"])
    await csrf.prepare(request)
    context: dict[str, Any] = {"site": site, "role": role, "code": code, "sri": sri, "received": received,
                               "totals": totals, "base": base, "typed": _typed(request, site)}  # fmt: skip
    return render(request, "snippet.html", context)
