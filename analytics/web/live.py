"""The live view: current visitors and the last 30 minutes, refreshed in place.

`/sites/{domain}/live` (and `/share/{token}/live` for a share link that may see
the dashboard) renders the page from `stats.realtime.live`; app.js then asks
`…/live/data` every few seconds and writes the new numbers into it with
textContent only (no inline script, within the CSP). Without JavaScript the
page is still complete, just not refreshed.

On a public link with k-suppression, figures below k visitors are hidden as on
the dashboard: the current and 30-minute totals, minutes (`reports.suppress`
over the minutes, so hidden ones cannot be rebuilt from the total) and rows.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from analytics.catalog import BY_NAME
from analytics.stats import dates, realtime
from analytics.web import csrf
from analytics.web.auth import store_of
from analytics.web.dashboard import View, hidden_text
from analytics.web.pages import now_dt, site_access
from analytics.web.render import HEADERS, page, render
from analytics.web.reports import suppress
from analytics.web.share import SHARE_HEADERS, unlocked_view

REFRESH_MS = 5000
_NO_SOURCE = BY_NAME["visit:source"].empty_label


def payload(live: realtime.Live, tz: str, k: int) -> dict[str, Any]:
    """The live view's figures as text, with everything below k hidden (k = 0: nothing hidden)."""

    def small(n: int) -> bool:
        return k > 0 and 0 < n < k

    zone = dates.zone(tz)
    hide = suppress([m.visitors for m in live.minutes], k) if k > 0 else [False] * len(live.minutes)
    top = max((m.visitors for m, h in zip(live.minutes, hide, strict=True) if not h), default=0)
    minutes = []
    for m, hidden in zip(live.minutes, hide, strict=True):
        label = m.start.astimezone(zone).strftime("%H:%M")
        minutes.append({
            "label": label, "hidden": hidden,
            "visitors": None if hidden else m.visitors, "pageviews": None if hidden else m.pageviews,
            "text": hidden_text(k) if hidden else f"{m.visitors} visitors, {m.pageviews} pageviews",
            "bar": 0.0 if hidden or not top else round(100 * m.visitors / top, 1),
        })  # fmt: skip

    def rows(found: list[tuple[str, int]], empty: str) -> tuple[list[dict[str, Any]], int]:
        cut = suppress([n for _, n in found], k) if k > 0 else [False] * len(found)
        kept = [(v, n) for (v, n), h in zip(found, cut, strict=True) if not h]
        most = max((n for _, n in kept), default=0) or 1
        return [{"label": v or empty, "visitors": n, "bar": round(100 * n / most, 1)} for v, n in kept], sum(cut)

    pages, pages_hidden = rows(live.pages, "(none)")
    sources, sources_hidden = rows(live.sources, _NO_SOURCE)
    hidden_total = small(live.visitors)
    return {
        "now": live.now.astimezone(zone).strftime("%H:%M:%S"),
        "current": hidden_text(k) if small(live.current) else str(live.current),
        "visitors": hidden_text(k) if hidden_total else str(live.visitors),
        "pageviews": hidden_text(k) if hidden_total else str(live.pageviews),
        "minutes": minutes,
        "pages": pages,
        "pages_hidden": pages_hidden,
        "sources": sources,
        "sources_hidden": sources_hidden,
    }


async def _figures(request: Request, view: View) -> dict[str, Any]:
    live = await realtime.live(store_of(request), view.site, now_dt(request))
    return payload(live, view.site.timezone, view.k)


async def _page(request: Request, view: View, headers: dict[str, str] | None = None) -> Response:
    context = {
        "site": view.site, "view": view, "live": await _figures(request, view), "k": view.k,
        "data_url": view.base + "/live/data", "dashboard_url": view.base, "refresh_ms": REFRESH_MS,
        "minutes": realtime.LIVE_MINUTES,
    }  # fmt: skip
    return render(request, "live.html", context, headers=headers)


def _json(body: dict[str, Any], extra: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, headers={**HEADERS, "Referrer-Policy": "no-referrer", **(extra or {})})


async def _member_view(request: Request) -> View:
    site, role = await site_access(request, request.path_params["domain"])
    return View(site, f"/sites/{site.domain}", public=False, k=0, role=role)


# -- routes --------------------------------------------------------------------------------


@page
async def site_live(request: Request) -> Response:
    view = await _member_view(request)
    await csrf.prepare(request)
    return await _page(request, view)


@page
async def site_live_data(request: Request) -> Response:
    return _json(await _figures(request, await _member_view(request)))


@page
async def shared_live(request: Request) -> Response:
    return await _page(request, await unlocked_view(request), SHARE_HEADERS)


@page
async def shared_live_data(request: Request) -> Response:
    return _json(await _figures(request, await unlocked_view(request)), SHARE_HEADERS)
