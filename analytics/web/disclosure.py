"""The public, plain-language disclosure page of a site, generated from its live settings.

A site owner links to `/privacy/{domain}` from their privacy notice. Every
statement on it follows from the settings in force right now, so it cannot
drift from what the collector actually does.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from analytics import catalog
from analytics.accounts.validate import AdminError
from analytics.visits import reading
from analytics.web.auth import accounts_of
from analytics.web.render import WebError, page, render


@page
async def disclosure(request: Request) -> Response:
    accounts = accounts_of(request)
    try:
        site = await accounts.sites.get(request.path_params["domain"])
    except AdminError:
        raise WebError(404, "This site is not measured by this service.") from None
    options = await accounts.sites.dashboard_options(site.id)
    context = {
        "site": site,
        "retention_months": request.app.state.settings.retention_months,
        "public_link": bool(site.share_token),
        "k": options.share_min_visitors,
        "collected": catalog.disclosure_lines(),
        "page_text": catalog.PAGE_TEXT,
        "idle_window": reading.IDLE_WINDOW_S,
        "wpm": reading.WORDS_PER_MINUTE,
        "min_seconds": reading.MIN_ENGAGED_MS // 1000,
    }
    return render(request, "disclosure.html", context, headers={"Cache-Control": "no-cache"})
