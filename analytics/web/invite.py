"""The invitation page, `/invite/<token>`: a one-time link an owner handed over.

A person new here sets their own password and is signed in; someone with an
account for the invited email signs in and accepts. The page offers both and
never sets an existing account's password. Unknown, used, withdrawn and expired
links all get the same 404. Accepting is a POST (link previews and prefetchers
only GET), and it consumes the invitation in the transaction that grants the role.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from analytics.accounts.invitations import Invitation, InvitationGone
from analytics.accounts.passwords import MIN_LENGTH
from analytics.accounts.validate import AdminError
from analytics.web import csrf
from analytics.web.auth import accounts_of, current_user, start_session
from analytics.web.pages import field, read_form
from analytics.web.render import WebError, page, redirect, render


async def _invitation(request: Request, token: str) -> tuple[Invitation, str]:
    """The live invitation and its site's domain; 404 alike for every dead link."""
    accounts = accounts_of(request)
    try:
        inv = await accounts.invitations.get(token)
    except InvitationGone as exc:
        raise WebError(404, str(exc)) from None
    domain = await accounts.sites.domain_of(inv.site_id)
    if domain is None:
        raise WebError(404, str(InvitationGone()))
    return inv, domain


async def _render(request: Request, token: str, inv: Invitation, domain: str, status: int = 200,
                  error: str = "") -> Response:  # fmt: skip
    user = await current_user(request)
    await csrf.prepare(request)
    context: dict[str, Any] = {
        "inv": inv,
        "domain": domain,
        "token": token,
        "error": error,
        "min_password": MIN_LENGTH,
        "is_invitee": user is not None and user.email.casefold() == inv.email.casefold(),
        "sign_in": "/login?next=" + quote(f"/invite/{token}", safe=""),
    }
    return render(request, "invite.html", context, status)


@page
async def invite_page(request: Request) -> Response:
    token = request.path_params["token"]
    inv, domain = await _invitation(request, token)
    if request.method == "GET":
        return await _render(request, token, inv, domain)
    user = await current_user(request)
    form = await read_form(request, signed_in=user is not None)
    accounts = accounts_of(request)
    try:
        if field(form, "action") == "accept":
            if user is None:
                return redirect(f"/login?next={quote(f'/invite/{token}', safe='')}")
            await accounts.invitations.accept_as(token, user)
            return redirect(f"/sites/{domain}")
        if user is not None:
            raise AdminError(f"You are signed in as {user.email}. Sign out before creating another account.")
        password = field(form, "password")
        if password != field(form, "password2"):
            raise AdminError("The two passwords differ.")
        new_user, _ = await accounts.invitations.accept_new(token, password)
    except InvitationGone as exc:
        raise WebError(404, str(exc)) from None
    except AdminError as exc:
        message = str(exc)
        return await _render(request, token, inv, domain, 400, message[:1].upper() + message[1:])
    response = redirect(f"/sites/{domain}")
    await start_session(request, response, new_user)
    return response
