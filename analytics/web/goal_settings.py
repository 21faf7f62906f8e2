"""Goals in Settings: an owner adds or removes the site's goals (`/sites/{domain}/goals`).

A goal is a custom event by name or a page path pattern (accounts.goals). The
page lists them with their dashboard names ("Visit /blog/*") and links each to
the dashboard filtered by it, where the top stats turn into conversions.
Owners only, every change behind the CSRF check, as the rest of Settings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from analytics.accounts.goals import MAX_GOALS
from analytics.accounts.validate import AdminError
from analytics.model import Site
from analytics.web import csrf
from analytics.web.auth import accounts_of
from analytics.web.pages import field, read_form, site_access
from analytics.web.render import page, redirect, render


async def _context(request: Request, site: Site, role: str, **extra: Any) -> dict[str, Any]:
    goals = await accounts_of(request).goals.for_site(site.id)
    rows = [
        {"id": g.id, "kind": "Custom event" if g.kind == "event" else "Page visit", "name": g.name,
         "link": f"/sites/{site.domain}?" + urlencode({"period": "30d", "goal": g.name})}
        for g in goals
    ]  # fmt: skip
    await csrf.prepare(request)
    return {"site": site, "role": role, "goals": rows, "max_goals": MAX_GOALS, "error": "", "notice": "",
            "kind": "event", "value": "", **extra}  # fmt: skip


@page
async def goals_page(request: Request) -> Response:
    site, role = await site_access(request, request.path_params["domain"], owner=True)
    notice = {"added": "Goal added.", "removed": "Goal removed."}.get(request.query_params.get("done", ""), "")
    return render(request, "goals.html", await _context(request, site, role, notice=notice))


@page
async def save_goals(request: Request) -> Response:
    site, role = await site_access(request, request.path_params["domain"], owner=True)
    form = await read_form(request, signed_in=True)
    goals = accounts_of(request).goals
    action = field(form, "action")
    if action == "add":
        kind, value = field(form, "kind"), field(form, "value")
        try:
            await goals.add(site.id, kind, value)
        except AdminError as exc:
            context = await _context(request, site, role, error=str(exc), kind=kind, value=value)
            return render(request, "goals.html", context, 400)
        return redirect(f"/sites/{site.domain}/goals?done=added")
    if action == "remove":
        raw = field(form, "goal").strip()
        if not raw.isdigit() or not await goals.remove(site.id, int(raw)):
            context = await _context(request, site, role, error="No such goal: it may have been removed already.")
            return render(request, "goals.html", context, 404)
        return redirect(f"/sites/{site.domain}/goals?done=removed")
    context = await _context(request, site, role, error="Unknown action: add or remove a goal.")
    return render(request, "goals.html", context, 400)
