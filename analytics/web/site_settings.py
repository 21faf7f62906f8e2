"""Per-site settings: tracking options, the share link, people (invitations), imports and removal. Owners only."""

from __future__ import annotations

import secrets
import tempfile
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from analytics.accounts.invitations import TTL_SECONDS as INVITATION_TTL
from analytics.accounts.passwords import MIN_LENGTH, hash_password
from analytics.accounts.sites import DashboardOptions
from analytics.accounts.validate import AdminError, parse_list
from analytics.errors import ApiError
from analytics.web import csrf
from analytics.web.auth import accounts_of, require_user, store_of
from analytics.web.pages import base_url, field, read_form, row_id, site_access, timezones
from analytics.web.render import WebError, page, redirect, render

MAX_UPLOAD = 512 * 1024 * 1024


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def new_token() -> str:
    """192 random bits: unguessable, and URL-safe."""
    return secrets.token_urlsafe(24)


async def _context(
    request: Request, domain: str, notice: str = "", error: str = "", **extra: Any
) -> dict[str, Any]:
    site, role = await site_access(request, domain, owner=True)
    store = store_of(request)
    accounts = accounts_of(request)
    options = await accounts.sites.dashboard_options(site.id)
    imports: list[dict[str, Any]] = []
    try:
        from analytics.transfer import imports as importsmod

        imports = await importsmod.list_imports(store, site)
    except ImportError:  # pragma: no cover - the import module ships with the package
        imports = []
    await csrf.prepare(request)
    return {
        "site": site,
        "role": role,
        "options": options,
        "members": await accounts.users.members(site.id),
        "invitations": [
            {"id": i.id, "email": i.email, "role": i.role, "expires": _utc(i.expires_at)}
            for i in await accounts.invitations.pending(site.id)
        ],
        "timezones": timezones(),
        "share_url": f"{await base_url(request)}/share/{site.share_token}" if site.share_token else "",
        "base_url_unset": "" if request.app.state.settings.base_url else await base_url(request),
        "imports": imports,
        "notice": notice,
        "error": error,
        "min_password": MIN_LENGTH,
        "invite_days": INVITATION_TTL // 86400,
        **extra,
    }


@page
async def settings_page(request: Request) -> Response:
    domain = request.path_params["domain"]
    notice = {"saved": "Saved.", "imported": "Imported."}.get(request.query_params.get("done", ""), "")
    return render(request, "settings.html", await _context(request, domain, notice=notice))


async def _fail(request: Request, domain: str, message: str) -> Response:
    return render(request, "settings.html", await _context(request, domain, error=message), 400)


@page
async def save_settings(request: Request) -> Response:
    domain = request.path_params["domain"]
    site, _ = await site_access(request, domain, owner=True)
    form = await read_form(request, signed_in=True)
    sites = accounts_of(request).sites
    try:
        await sites.update_settings(
            site,
            timezone=field(form, "timezone") or site.timezone,
            honor_signals=field(form, "honor_signals") == "on",
            allowed_params=parse_list(field(form, "allowed_params"), "param"),
            excluded_paths=parse_list(field(form, "excluded_paths"), "path"),
            read_scroll=_percent(field(form, "read_scroll"), "scroll depth"),
            read_share=_percent(field(form, "read_share"), "share of the reading time"),
        )
        options = await sites.dashboard_options(site.id)
        await sites.set_dashboard_options(
            site.id,
            DashboardOptions(options.share_min_visitors, parse_list(field(form, "prop_keys"), "prop")),
        )
    except AdminError as exc:
        return await _fail(request, domain, str(exc))
    return redirect(f"/sites/{site.domain}/settings?done=saved")


def _percent(raw: str, what: str) -> int | None:
    """A read threshold from the form: a whole percentage, or None (unchanged) when left empty."""
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 3:
        raise AdminError(f"The {what} for a read must be a whole number of percent.")
    return int(raw)


@page
async def save_share(request: Request) -> Response:
    """Create, rotate or turn off the share link; set its password and k."""
    domain = request.path_params["domain"]
    site, _ = await site_access(request, domain, owner=True)
    form = await read_form(request, signed_in=True)
    sites = accounts_of(request).sites
    action = field(form, "action")
    if action in ("create", "rotate"):
        await sites.set_share(site, new_token(), site.share_password_hash)
    elif action == "delete":
        await sites.set_share(site, None, None)
    elif action == "password":
        password = field(form, "password")
        if len(password) < MIN_LENGTH:
            return await _fail(request, domain, f"The share password needs at least {MIN_LENGTH} characters.")
        if not site.share_token:
            return await _fail(request, domain, "Create the share link first.")
        await sites.set_share(site, site.share_token, hash_password(password))
    elif action == "clear_password":
        await sites.set_share(site, site.share_token, None)
    elif action == "k":
        raw = field(form, "k").strip()
        if not raw.isdigit():
            return await _fail(
                request, domain, "The minimum visitors per row must be a whole number (0 turns hiding off)."
            )
        options = await sites.dashboard_options(site.id)
        try:
            await sites.set_dashboard_options(site.id, DashboardOptions(int(raw), options.prop_keys))
        except AdminError as exc:
            return await _fail(request, domain, str(exc))
    else:
        raise WebError(400, "Unknown action.")
    return redirect(f"/sites/{site.domain}/settings?done=saved#share")


@page
async def save_members(request: Request) -> Response:
    """Invite a person, withdraw an invitation, or remove a member.

    An invitation is a one-time link the owner hands over; the answer is the
    same page whether or not the email has an account, so the form tells
    nobody which emails are registered, and it never creates an account.
    """
    domain = request.path_params["domain"]
    site, _ = await site_access(request, domain, owner=True)
    user = await require_user(request)
    form = await read_form(request, signed_in=True)
    accounts = accounts_of(request)
    action = field(form, "action")
    try:
        if action == "invite":
            email = field(form, "email").strip()
            token = await accounts.invitations.create(site.id, email, field(form, "role") or "viewer", user.id)
            link = f"{await base_url(request)}/invite/{token}"
            context = await _context(request, domain, invite_link=link, invite_email=email)
            return render(request, "settings.html", context)
        if action == "withdraw":
            await accounts.invitations.withdraw(site.id, row_id(form, "invitation_id"))
        elif action == "remove":
            member = row_id(form, "user_id")
            # Only members of this site can be named here (by id): the form reveals nothing about other accounts.
            if await accounts.users.role(site.id, member) is not None:
                await accounts.users.remove_role(site.id, member)
        else:
            raise WebError(400, "Unknown action.")
    except AdminError as exc:
        return await _fail(request, domain, str(exc))
    return redirect(f"/sites/{site.domain}/settings?done=saved#people")


@page
async def delete_site(request: Request) -> Response:
    """Remove the site and all its data, once its domain is typed in to confirm."""
    domain = request.path_params["domain"]
    site, _ = await site_access(request, domain, owner=True)
    form = await read_form(request, signed_in=True)
    if field(form, "confirm").strip().lower() != site.domain:
        return await _fail(request, domain, f"Type {site.domain} to confirm that the site and its data go.")
    await accounts_of(request).sites.remove(site.domain, store_of(request))
    return redirect("/sites?done=removed")


def capped(request: Request, cap: int) -> Request:
    """The request, reading at most `cap` bytes of body (one chunk more), then a 413.

    Content-Length is optional (chunked uploads), so the cap holds on the bytes actually read.
    """
    total = 0
    receive = request.receive

    async def counted() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > cap:
                raise WebError(413, "The upload is too large.")
        return message

    return Request(request.scope, counted)


@page
async def save_imports(request: Request) -> Response:
    """Upload a Plausible CSV export (zip) into this site, or remove an earlier import."""
    from analytics.transfer import imports as importsmod

    domain = request.path_params["domain"]
    site, _ = await site_access(request, domain, owner=True)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD:
        raise WebError(413, "The upload is too large.")
    async with capped(request, MAX_UPLOAD).form(max_files=1, max_fields=10) as form:
        await csrf.verify(request, form, signed_in=True)
        store = store_of(request)
        if field(form, "action") == "remove":
            raw = field(form, "import_id")  # none given: every import
            await importsmod.remove_imports(store, site, row_id(form, "import_id") if raw.isdigit() else None)
            return redirect(f"/sites/{site.domain}/settings?done=saved#imports")
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return await _fail(request, domain, "Choose a Plausible CSV export (.zip) to upload.")
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            while chunk := await upload.read(1024 * 1024):
                spool.write(chunk)
            spool.seek(0)
            try:
                await importsmod.import_csv(store, site, spool, label=(upload.filename or "upload.zip")[:200])  # type: ignore[arg-type]
            except ApiError as exc:
                return await _fail(request, domain, exc.message)
    return redirect(f"/sites/{site.domain}/settings?done=imported#imports")
