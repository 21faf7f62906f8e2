"""A site's dashboard: top stats, the chart, the report panels and realtime.

The same view serves signed-in users (`/sites/{domain}`) and public share
links (`/share/{token}`). On a share link with k-suppression on, rows, chart
points and totals below k visitors are hidden (see `reports.suppress`), and
filters are off, so no combination of views on one page rebuilds a hidden row.
"""

from __future__ import annotations

import asyncio
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from analytics.model import Site
from analytics.stats import conversions, realtime
from analytics.stats.metrics import metric_value
from analytics.stats.run import first_day
from analytics.web import chart as chartmod
from analytics.web import csrf, headlines
from analytics.web.auth import accounts_of, store_of
from analytics.web.pages import now_dt, site_access
from analytics.web.render import HEADERS, WebError, page, render
from analytics.web.reports import (
    POINTS,
    ROWS_MORE,
    ROWS_SHOWN,
    TOP_STATS,
    Panel,
    Stats,
    Tab,
    change,
    display,
    fmt,
    label_parts,
    panels,
    query_metrics,
    selected_tab,
    suppress,
    with_derived,
)
from analytics.web.state import (
    CHART_METRICS,
    COMPARED,
    COMPARISONS,
    INTERVALS,
    PERIODS,
    Range,
    State,
    comparison,
    default_interval,
    intervals_for,
    resolve_range,
)

ALL_ROWS = 10000


@dataclass(frozen=True, slots=True)
class View:
    """Who is looking: a member of the site, or a public share link with its k."""

    site: Site
    base: str  # path of this dashboard, e.g. /sites/blog.example.org or /share/<token>
    public: bool
    k: int  # suppress groups below k visitors; 0 = off
    role: str | None = None

    @property
    def filters_allowed(self) -> bool:
        return not (self.public and self.k > 0)


def hidden_text(k: int) -> str:
    return f"< {k} visitors"


async def build(request: Request, view: View) -> dict[str, Any]:
    """Everything the dashboard template shows, from the pipeline only."""
    store = store_of(request)
    site = view.site
    state = State(request.query_params, view.base, allow_filters=view.filters_allowed)
    now = now_dt(request)
    # A goal filter: top stats become conversions; a page goal filters the page views that reached it.
    goal = state.filter_value("goal")
    site_goals = await accounts_of(request).goals.for_site(site.id)
    stats = Stats(store, site, now, conversions.expand(state.filters_body(), site_goals))
    base = Stats(store, site, now, conversions.without_goal(state.filters_body()))
    base.batch = stats.batch  # the conversion rate's base goes to the store in the same batch
    r = await _range(request, view, state, stats)
    mode = state.get("compare") if state.get("compare") in COMPARISONS else "previous"
    other = comparison(r, mode, state.get("compare_from"), state.get("compare_to"))
    # Without a comparison the "previous" queries are the current ones again: the batch runs them once.
    prev, compare = (other, True) if other is not None else (r, False)
    intervals = intervals_for(r)
    interval = state.get("interval") if state.get("interval") in intervals else default_interval(r)
    metric = state.get("metric") if state.get("metric") in CHART_METRICS else "visitors"
    options = await accounts_of(request).sites.dashboard_options(site.id)
    k = view.k
    # The Headline check lists single pages: not on public views that hide small groups. Its
    # details (channels, median times) read raw events: app.js asks for them after the page.
    inline_details = headlines.FULL in request.query_params
    headline_pages = (
        asyncio.sleep(0, []) if k > 0 else
        headlines.pages_in_view(stats, r) if inline_details else headlines.listing(stats, r)
    )  # fmt: skip

    top_stats = TOP_STATS if goal is None else GOAL_STATS
    total = "pageviews" if goal is not None and conversions.page_goal(goal, site_goals) else "events"
    metrics = [m for m, _ in TOP_STATS] if goal is None else ["visitors", total]
    shown_panels = panels(state, options.prop_keys)
    tabs = [_tab_for(p, state) for p in shown_panels]
    limits = [ROWS_MORE if state.get("more") == p.key else ROWS_SHOWN for p in shown_panels]
    # Everything in one gather: the store answers it as one batch (see stats.run.Batch).
    page_goals = _page_goal_stats(stats, state, site_goals, tabs) if goal is None else []
    top_part, results, reached, pages = await asyncio.gather(
        asyncio.gather(
            stats.totals(r, metrics),
            stats.totals(prev, metrics),
            stats.series(r, interval, metric),
            stats.series(prev, interval, metric),
            realtime.current_visitors(store, site, now),
            asyncio.gather(_base_visitors(base, r, goal), _base_visitors(base, prev, goal)),
        ),
        asyncio.gather(*(
            stats.breakdown(r, t, ALL_ROWS if k > 0 else lim) for t, lim in zip(tabs, limits, strict=True)
        )),  # fmt: skip
        asyncio.gather(*(g.totals(r, ["visitors", "pageviews"]) for _, g in page_goals)),
        headline_pages,
    )
    cur_totals, prev_totals, cur_series, prev_series, current, (cur_base, prev_base) = top_part
    results = _with_page_goals(results, tabs, page_goals, reached, cur_totals["visitors"])

    if goal is not None:
        cur_totals, prev_totals = _conversions(cur_totals, total, cur_base), _conversions(prev_totals, total, prev_base)

    # A site that has never received anything: point its members to the snippet and the install check.
    never_seen = False
    if not view.public and goal is None and not cur_totals["visitors"] and not cur_totals["pageviews"]:
        never_seen = await first_day(store, site) is None

    # An empty comparison period is no baseline: no "before: 0", no line at zero, but a sentence.
    before = prev_base if goal is not None else max(prev_totals[m] or 0 for m in ("visitors", "visits", "pageviews"))
    nothing_before = compare and not before
    compare_shown = compare and not nothing_before

    # Top stats, each with its change. A public view hides everything below k.
    cur_hidden = k > 0 and 0 < (cur_totals["visitors"] or 0) < k
    prev_hidden = k > 0 and 0 < (prev_totals["visitors"] or 0) < k
    top = []
    for name, title in top_stats:
        value, before = cur_totals[name], prev_totals[name]
        comparable = compare_shown and not cur_hidden and not prev_hidden and bool(prev_totals["visitors"])
        delta, tone = change(name, value, before) if comparable else (None, "none")
        top.append({
            "metric": name, "title": title, "hidden": cur_hidden,
            "value": hidden_text(k) if cur_hidden else fmt(name, value),
            "previous": None if not compare_shown else hidden_text(k) if prev_hidden else fmt(name, before),
            "delta": delta, "tone": tone, "selected": name == metric,
            "url": state.url(metric=name if name in CHART_METRICS else "visitors"),
            "unit": "pp" if name in POINTS else "%",
        })  # fmt: skip

    chart = chartmod.build(
        metric, interval, _points(cur_series, k, now, site.timezone),
        _points(prev_series, k, None, site.timezone) if compare_shown else None, hidden_text(k), COMPARED.get(mode, ""),
    )  # fmt: skip

    # Report panels, one query per selected tab.
    rendered = [
        _panel(p, t, rows, total, lim, state, view)
        for p, t, (rows, total), lim in zip(shown_panels, tabs, results, limits, strict=True)
    ]

    realtime_hidden = k > 0 and 0 < current < k
    filter_chips = [
        # A chip names what its row showed: "Country is France", not "FR".
        {"label": f.label, "value": display(f.dimension, f.value) if f.value else "",
         "remove": state.without_filter(f.param)}
        for f in state.filters
    ]
    return {
        "site": site,
        "view": view,
        "state": state,
        "range": r,
        "previous_range": prev,
        "periods": [(key, title, state.with_period(key)) for key, title in PERIODS.items() if key != "custom"],
        "period_title": PERIODS[state.period],
        "compare": compare_shown,
        "compare_mode": mode if compare else "off",
        "compared": COMPARED.get(mode, "").capitalize(),
        "nothing_before": nothing_before,
        "never_seen": never_seen,
        "comparisons": list(COMPARISONS.items()),
        "compare_inputs": state.hidden_inputs(exclude=("compare", "compare_from", "compare_to", "more")),
        "interval": interval,
        "intervals": [(i, state.url(interval=i)) for i in INTERVALS if i in intervals],
        "metric": metric,
        "metric_title": dict(top_stats).get(metric, dict(TOP_STATS)[metric]),
        "top": top,
        "chart": chart,
        "panels": rendered,
        "headlines": None if k > 0 else headlines.panel(
            pages, state, view.filters_allowed, None if inline_details else view.base + "/headlines"
        ),  # fmt: skip
        "filters": filter_chips,
        "clear_filters": state.without_filters(),
        "realtime": hidden_text(k) if realtime_hidden else str(current),
        "realtime_url": view.base + "/realtime",
        "live_url": view.base + "/live",
        "k": k,
        "hidden_note": hidden_text(k),
        "custom_inputs": state.hidden_inputs(exclude=("period", "from", "to", "interval", "more")),
        "prop_inputs": state.hidden_inputs(exclude=("prop_key", "tab_goals", "more")),
    }


async def _range(request: Request, view: View, state: State, stats: Stats) -> Range:
    """The dates the view shows ("all" starts at the site's first data, or its creation)."""
    earliest = None
    if state.period == "all":
        earliest = await stats.earliest(await accounts_of(request).sites.created_at(view.site.id))
    tz, first, last = view.site.timezone, state.get("from"), state.get("to")
    return resolve_range(state.period, tz, now_dt(request), earliest, first, last)


async def headlines_json(request: Request, view: View) -> Response:
    """The Headline check's details for the pages the dashboard listed, in the dashboard's view (range, filters)."""
    if view.k > 0:  # the panel is not shown where small groups are hidden
        raise WebError(404, "The Headline check is not shown on this link.")
    state = State(request.query_params, view.base, allow_filters=view.filters_allowed)
    goals = await accounts_of(request).goals.for_site(view.site.id)
    stats = Stats(store_of(request), view.site, now_dt(request), conversions.expand(state.filters_body(), goals))
    r = await _range(request, view, state, stats)
    paths = headlines.listed_paths(request.query_params.getlist(headlines.LISTED))
    found = await headlines.details(stats, r, paths)
    pages = headlines.with_details([headlines.Page(p, 0, 0, 0.0, 0) for p in paths], found)
    body = headlines.details_json(pages, state, view.filters_allowed)
    return JSONResponse(body, headers={**HEADERS, "Referrer-Policy": "no-referrer"})


# With a goal filter, as in Plausible: who converted, how often, and what share of all visitors.
GOAL_STATS: tuple[tuple[str, str], ...] = (
    ("visitors", "Unique conversions"),
    ("conversions", "Total conversions"),
    ("conversion_rate", "Conversion rate"),
)


async def _base_visitors(base: Stats, r: Range, goal: str | None) -> int:
    """The visitors a conversion rate is a share of (0 and no query without a goal filter)."""
    if goal is None:
        return 0
    return int((await base.totals(r, ["visitors"]))["visitors"] or 0)


def _conversions(totals: dict[str, Any], total: str, base: int) -> dict[str, Any]:
    converted = int(totals["visitors"] or 0)
    return {
        "visitors": converted,
        "conversions": int(totals[total] or 0),
        "conversion_rate": metric_value("conversion_rate", {"visitors": converted}, base),
    }


def _page_goal_stats(stats: Stats, state: State, goals: list[Any], tabs: list[Tab]) -> list[tuple[str, Stats]]:
    """Per defined page goal, the view's Stats filtered by it, when the goals tab is shown (same batch)."""
    if not any(t.dimension == "event:goal" and not t.fixed_filters for t in tabs):
        return []
    out = []
    for g in goals:
        if g.kind == "page":
            filters = conversions.expand([*state.filters_body(), ["is", "event:goal", [g.name]]], goals)
            one = Stats(stats.store, stats.site, stats.now, filters)
            one.batch = stats.batch
            out.append((g.name, one))
    return out


def _with_page_goals(
    results: list[tuple[list[Any], int]], tabs: list[Tab], goals: list[tuple[str, Stats]],
    reached: list[dict[str, Any]], visitors: Any,
) -> list[tuple[list[Any], int]]:
    """The goals tab with a row per page goal that converted: visitors, page views and conversion rate."""
    rows = [((name, ), (int(t["visitors"] or 0), int(t["pageviews"] or 0),
             metric_value("conversion_rate", {"visitors": t["visitors"] or 0}, visitors or 0)))
            for (name, _), t in zip(goals, reached, strict=True) if t["visitors"]]  # fmt: skip
    if not rows:
        return results
    out = list(results)
    for i, tab in enumerate(tabs):
        if tab.dimension == "event:goal" and not tab.fixed_filters:
            found, total = out[i]
            out[i] = (sorted([*found, *rows], key=lambda row: -(row[1][0] or 0)), total + len(rows))
    return out


def _tab_for(panel: Panel, state: State) -> Tab:
    if panel.key == "goals" and not state.get("tab_goals") and state.get("prop_key"):
        want = "prop:" + state.get("prop_key")
        return next((t for t in panel.tabs if t.key == want), panel.tabs[0])
    return selected_tab(panel, state)


def _points(series: list[tuple[str, Any, Any]], k: int, now: datetime | None, tz: str) -> list[chartmod.Point]:
    """Chart points; future buckets are not drawn, buckets below k are hidden on public links."""
    hide = suppress([v for _, _, v in series], k) if k > 0 else [False] * len(series)
    local_now = now.astimezone(zoneinfo.ZoneInfo(tz)).replace(tzinfo=None) if now else None
    out = []
    for (label, value, _), hidden in zip(series, hide, strict=True):
        if local_now is not None and chartmod.parse_label(label) > local_now:
            out.append(chartmod.Point(label, None))
        elif hidden:
            out.append(chartmod.Point(label, None, hidden=True))
        else:
            out.append(chartmod.Point(label, value))
    return out


def _panel(panel: Panel, tab: Tab, rows: list[Any], total: int, limit: int, state: State, view: View) -> dict[str, Any]:
    hidden_rows = 0
    if view.k > 0:
        hide = suppress([metrics[0] for _, metrics in rows], view.k)
        hidden_rows = sum(hide)
        rows = [row for row, h in zip(rows, hide, strict=True) if not h]
        total = len(rows)
    rows = rows[:limit]
    metrics = query_metrics(tab.columns)
    columns = [c for c in tab.columns]
    top = max((r[1][0] or 0 for r in rows), default=0) or 1
    out_rows = []
    for dims, values in rows:
        value = dims[0]
        text = display(tab.dimension, value) if value != "" else tab.empty_label
        by_metric = with_derived(dict(zip(metrics, values, strict=True)))
        link = None
        if view.filters_allowed and tab.param is not None:
            link = state.with_filter(tab.param, str(value), *((p, v) for p, _, v in tab.fixed_filters))
        head, tail = label_parts(text)
        out_rows.append({
            "label": text, "head": head, "tail": tail, "link": link,
            "bar": round(100 * (by_metric["visitors"] or 0) / top, 1),
            "cells": [fmt(c.metric, by_metric.get(c.metric)) for c in columns],
        })  # fmt: skip
    return {
        "key": panel.key,
        "title": panel.title,
        "tab": tab,
        "tabs": [(t.key, t.title, state.url(**{f"tab_{panel.key}": t.key, "more": None})) for t in panel.tabs],
        "columns": columns,
        "rows": out_rows,
        "more_url": state.url(more=panel.key) + f"#panel-{panel.key}"
        if total > len(out_rows) and limit < ROWS_MORE
        else None,
        "less_url": state.url(more=None) + f"#panel-{panel.key}" if limit == ROWS_MORE else None,
        "hidden_rows": hidden_rows,
        # The shown tab with every row, as CSV (web/downloads.py); members only.
        "csv_url": None if view.public else f"{view.base}/panels/{panel.key}.csv"
        + state.url(**{f"tab_{panel.key}": tab.key, "more": None})[len(state.base) :],
    }


# -- routes --------------------------------------------------------------------------------


@page
async def site_dashboard(request: Request) -> Response:
    site, role = await site_access(request, request.path_params["domain"])
    view = View(site, f"/sites/{site.domain}", public=False, k=0, role=role)
    context = await build(request, view)
    await csrf.prepare(request)
    return render(request, "dashboard.html", context)


async def realtime_json(request: Request, view: View) -> Response:
    """Current visitors as JSON, for the dashboard's refresh. Filters do not apply, as in Plausible."""
    visitors = await realtime.current_visitors(store_of(request), view.site, now_dt(request))
    body: dict[str, Any] = {"visitors": visitors, "text": str(visitors)}
    if view.k > 0 and 0 < visitors < view.k:
        body = {"visitors": None, "text": hidden_text(view.k)}
    return JSONResponse(body, headers={**HEADERS, "Referrer-Policy": "no-referrer"})


@page
async def site_headlines(request: Request) -> Response:
    site, role = await site_access(request, request.path_params["domain"])
    return await headlines_json(request, View(site, f"/sites/{site.domain}", public=False, k=0, role=role))


@page
async def site_realtime(request: Request) -> Response:
    site, role = await site_access(request, request.path_params["domain"])
    return await realtime_json(request, View(site, f"/sites/{site.domain}", public=False, k=0, role=role))
