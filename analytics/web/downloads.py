"""Downloads of a dashboard view: the "Export CSV" zip, and one panel as CSV.

Both follow the view: its range and its filters, named in the file name
(`example.com_2026-11-01_2026-11-30_source-Google.zip`).

- **Unfiltered**, the export is Plausible's CSV export (`imported_*.csv`, daily
  rows from the rollups, `transfer.export`), streamed: a complete history that
  imports back into this service or Plausible.
- **Filtered**, it is the view's report, not history: rollups cannot be
  filtered, and daily rows of a subset imported as history would double or hide
  visits. So it uses the layout of the dashboard itself, as Plausible's
  dashboard export does: `visitors.csv` (one row per day: date, visitors,
  visits, pageviews, views_per_visit, bounce_rate, visit_duration) and one
  `<tab>.csv` per panel tab (the dimension's value, then the tab's metrics over
  the range). Our import does not take it for history: it holds no
  `imported_*.csv`, so the upload form answers "holds no Plausible CSV export files".
- **A panel** (`/sites/<domain>/panels/<panel>.csv`) is the file that panel's
  shown tab would have in the filtered zip, all rows (up to 10,000).

Every text cell is neutralised against spreadsheet formulas. Exports share a
process's export slots (`transfer.slots`): at most two at once, the next
waits briefly, then gets a 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from analytics.model import Site
from analytics.store.base import Store
from analytics.transfer import export
from analytics.transfer.slots import ExportSlots
from analytics.web.auth import accounts_of, store_of
from analytics.web.pages import now_dt, site_access
from analytics.web.render import HEADERS, WebError, page
from analytics.web.reports import Stats, Tab, display, panels, query_metrics, selected_tab, with_derived
from analytics.web.state import Range, State, resolve_range

ALL_ROWS = 10000
DAILY = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration")


def slots_of(request: Request) -> ExportSlots:
    """The process's export slots, made on first use."""
    state = request.app.state
    slots: ExportSlots | None = getattr(state, "export_slots", None)
    if slots is None:
        slots = state.export_slots = ExportSlots()
    return slots


class _SlotResponse(StreamingResponse):
    """A streamed download that gives its export slot back when it ends, however it ends."""

    def __init__(self, *args: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _view(request: Request) -> tuple[Site, State, Range, datetime]:
    site, _ = await site_access(request, request.path_params["domain"])
    state = State(request.query_params, "")
    now = now_dt(request)
    earliest = None
    if state.period == "all":
        created = await accounts_of(request).sites.created_at(site.id)
        earliest = await Stats(store_of(request), site, now).earliest(created)
    r = resolve_range(state.period, site.timezone, now, earliest, state.get("from"), state.get("to"))
    return site, state, r, now


def _attachment(name: str) -> dict[str, str]:
    return {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}


def _filters(state: State) -> list[tuple[str, str]]:
    return [(f.param, f.value) for f in state.filters]


# -- one tab as CSV ------------------------------------------------------------------------


def tab_metrics(tab: Tab) -> list[str]:
    """The tab's metrics in column order, visitors first (as the panel shows them)."""
    return ["visitors", *(c.metric for c in tab.columns if c.metric != "visitors")]


def tab_header(tab: Tab) -> list[str]:
    """The file's header: the dimension's short name (`source`, `page`, a property key), then the metrics."""
    return [tab.dimension.split(":")[-1], *tab_metrics(tab)]


async def tab_rows(stats: Stats, r: Range, tab: Tab) -> list[list[Any]]:
    """Every row of a tab over the range, as the panel labels it, with its metrics' values."""
    # A tab that hides its empty row asks for one row more: the API's page ends at ALL_ROWS.
    rows, _ = await stats.breakdown(r, tab, ALL_ROWS - 1 if tab.hide_empty else ALL_ROWS)
    asked, shown = query_metrics(tab.columns), tab_metrics(tab)
    out = []
    for dims, values in rows:
        value = dims[0]
        label = display(tab.dimension, value) if value != "" else tab.empty_label
        # Derived columns (reader rate) from their parts, as the panel computes them.
        named = with_derived(dict(zip(asked, values, strict=True)))
        out.append([label, *("" if named.get(m) is None else named[m] for m in shown)])
    return out


async def view_files(
    store: Store, site: Site, state: State, r: Range, now: datetime, prop_keys: Sequence[str]
) -> list[tuple[str, bytes]]:
    """A filtered view's export: `visitors.csv` by day, then one file per panel tab, as one store batch."""
    stats = Stats(store, site, now, state.filters_body())
    tabs: dict[str, Tab] = {}
    for panel in panels(state, prop_keys):
        for tab in panel.tabs:
            tabs.setdefault(tab.key, tab)
    daily, *tables = await asyncio.gather(
        stats.run({"metrics": list(DAILY), "date_range": r.body(), "dimensions": ["time:day"],
                   "include": {"imports": True, "time_labels": True}}),
        *(tab_rows(stats, r, tab) for tab in tabs.values()),
    )  # fmt: skip
    found = {str(dims[0]): values for dims, values in daily.rows}
    days = [[label, *found.get(label, (0,) * len(DAILY))] for label in daily.time_labels or []]
    files = [("visitors.csv", export.csv_bytes(["date", *DAILY], days))]
    for (key, tab), rows in zip(tabs.items(), tables, strict=True):
        files.append((f"{export.slug(key)}.csv", export.csv_bytes(tab_header(tab), rows)))
    return files


# -- routes ----------------------------------------------------------------------------------


@page
async def site_export(request: Request) -> Response:
    """The view's range (and filters) as a zip: Plausible's CSV export, or the filtered view's report."""
    site, state, r, now = await _view(request)
    store = store_of(request)
    name = export.filename(site, r.first, r.last, filters=_filters(state))
    export.check_zip_range(r.first, r.last)  # before the response starts: a clear 400, not a cut-off zip
    slots = slots_of(request)
    if state.filters:
        options = await accounts_of(request).sites.dashboard_options(site.id)
        async with slots.slot():
            files = await view_files(store, site, state, r, now, options.prop_keys)
        return Response(export.zip_bytes(files, r.first), media_type="application/zip", headers=_attachment(name))
    await slots.take()
    try:
        return _SlotResponse(
            export.iter_zip(store, site, r.first, r.last),
            media_type="application/zip",
            headers=_attachment(name),
            release=slots.give,
        )
    except BaseException:
        slots.give()
        raise


@page
async def panel_csv(request: Request) -> Response:
    """One panel's shown tab over the view's range and filters, all rows, as CSV."""
    site, state, r, now = await _view(request)
    options = await accounts_of(request).sites.dashboard_options(site.id)
    panel = next((p for p in panels(state, options.prop_keys) if p.key == request.path_params["panel"]), None)
    if panel is None:
        raise WebError(404, "There is no such panel.")
    tab = selected_tab(panel, state)
    rows = await tab_rows(Stats(store_of(request), site, now, state.filters_body()), r, tab)
    name = export.filename(site, r.first, r.last, "csv", _filters(state), suffix=tab.key)
    return Response(
        export.csv_bytes(tab_header(tab), rows), media_type="text/csv; charset=utf-8", headers=_attachment(name)
    )
