"""The signed-in user's own account: change the password, create and revoke Stats API keys.

Changing the password needs the current one, checked through the sign-in
throttle (`auth.check_password`), so a stolen session cookie is no faster a
password oracle than the sign-in form. The other sessions end; this one stays.
A Stats API key reads every site its user has a role on; only owners (of at
least one site) create keys here, and each user sees and revokes only their own.
The new key is shown once, on the answer to the post that created it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from analytics.accounts.logins import hash_token
from analytics.accounts.passwords import MIN_LENGTH
from analytics.accounts.users import User
from analytics.accounts.validate import AdminError
from analytics.web import csrf
from analytics.web.auth import SESSION_COOKIE, accounts_of, check_password, require_user
from analytics.web.pages import field, read_form, row_id
from analytics.web.render import WebError, page, redirect, render

MAX_KEYS = 50  # per user: bounds what one account can store


def when(ts: int | None) -> str:
    """A time as lists show it, in UTC, to the minute; "never" for None."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts is not None else "never"


async def owns_a_site(request: Request, user: User) -> bool:
    return await accounts_of(request).users.owns_any(user.id)


async def _render(request: Request, user: User, status: int = 200, **extra: Any) -> Response:
    accounts = accounts_of(request)
    keys = [
        {"id": k.id, "name": k.name, "created": when(k.created_at), "last_used": when(k.last_used_at)}
        for k in await accounts.keys.all(user.id)
    ]
    await csrf.prepare(request)
    context = {
        "keys": keys,
        "may_create_keys": await owns_a_site(request, user),
        "min_password": MIN_LENGTH,
        "notice": "",
        "error": "",
        "new_key": "",
        **extra,
    }
    return render(request, "account.html", context, status)


@page
async def account_page(request: Request) -> Response:
    user = await require_user(request)
    notice = {"password": "Your password was changed; your other sessions have ended.",
              "revoked": "The key was revoked."}.get(request.query_params.get("done", ""), "")  # fmt: skip
    return await _render(request, user, notice=notice)


@page
async def change_password(request: Request) -> Response:
    user = await require_user(request)
    form = await read_form(request, signed_in=True)
    new = field(form, "new_password")
    if new != field(form, "new_password2"):
        return await _render(request, user, 400, error="The two new passwords differ.")
    try:
        await check_password(request, user.email, field(form, "current_password"))
    except WebError as exc:
        message = "The current password is not right." if exc.status == 401 else exc.message
        return await _render(request, user, exc.status, error=message)
    try:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        await accounts_of(request).users.set_password(user.id, new, keep_session=hash_token(cookie))
    except AdminError as exc:
        return await _render(request, user, 400, error=str(exc).capitalize() + ".")
    return redirect("/account?done=password")


@page
async def save_keys(request: Request) -> Response:
    """Create a key (shown once, on this answer) or revoke one of one's own."""
    user = await require_user(request)
    form = await read_form(request, signed_in=True)
    keys = accounts_of(request).keys
    action = field(form, "action")
    if action == "create":
        if not await owns_a_site(request, user):
            raise WebError(403, "Only an owner of a site can create Stats API keys.")
        if len(await keys.all(user.id)) >= MAX_KEYS:
            return await _render(request, user, 400, error=f"You have {MAX_KEYS} keys; revoke one first.")
        name = field(form, "name").strip()[:100] or "default"
        key = await keys.add(user.email, name)
        return await _render(request, user, new_key=key, new_key_name=name)
    if action == "revoke":
        key_id = row_id(form, "key_id")
        if not key_id or not await keys.revoke(key_id, user.id):
            raise WebError(404, "No such key.")  # another user's key reads as missing
        return redirect("/account?done=revoked#keys")
    raise WebError(400, "Unknown action.")
