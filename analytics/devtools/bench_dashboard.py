"""`analytics bench`, queries: full dashboards and Stats API queries on demo data, then storage and export.

Each size is seeded with `analytics demo` over 90 days. A *full dashboard* is
what one page asks when every tab is open: top stats, the daily series,
every tab of every panel and the Headline check, made by the dashboard's own `reports.Stats` methods
in one `asyncio.gather`, so the store answers them as one batch, exactly as it
answers a page load. It is timed cold (fresh connections; the OS cache is not
dropped) and warm (p50 of up to 5 runs; slow sets stop after the budget), in
process: server time without HTTP.

The filters are the ones the issue names: a selective source (about 3 % of
visits) and a single page, the top channel (broad), two filters, and two
filters over 12 months. With `baseline`, every filtered dashboard of the
smallest size is also timed the way the store answered before filtered sets
were shared (`SQLiteStore(shared_sets=False)`): the same run's baseline.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

from analytics.devtools.bench_ingest import MB, SITE

if TYPE_CHECKING:
    from analytics.model import Site
    from analytics.store.base import Store
    from analytics.web.reports import Stats, Tab
    from analytics.web.state import Range, State


@dataclass(frozen=True, slots=True)
class Target:
    """What a timed query runs against: the store, the site and the clock of one run."""

    store: Store
    site: Site
    now: datetime


# One timed query: a name in the results, and the call that runs it.
Job = Callable[[Target, "Stats | None"], Awaitable[object]]

# Tab keys that the committed results (docs/bench-results.json) name differently.
LEGACY_NAMES = {"pages": "top_pages", "entry": "entry_pages", "exit": "exit_pages"}

# The demo's traffic: Xing brings about 3 % of visits, the page below about 3 % of events,
# Organic Search about a third of visits and 40 % of events.
SELECTIVE_SOURCE = ["is", "visit:source", ["Xing"]]
SELECTIVE_PAGE = ["is", "event:page", ["/blog/how-to-plan-corporate-blog/"]]
BROAD = ["is", "visit:channel", ["Organic Search"]]
CAMPAIGN = ["is", "visit:utm_campaign", ["thought-leadership"]]  # about 3 % of visits
TWO = [["is", "visit:source", ["Google"]], ["contains", "event:page", ["/blog/"]]]
# Full dashboards: (name, period, filters).
DASHBOARDS: list[tuple[str, str, list[list[Any]]]] = [
    ("dashboard_30d", "30d", []),
    ("dashboard_30d_source", "30d", [SELECTIVE_SOURCE]),
    ("dashboard_30d_campaign", "30d", [CAMPAIGN]),
    ("dashboard_30d_page", "30d", [SELECTIVE_PAGE]),
    ("dashboard_30d_broad", "30d", [BROAD]),
    ("dashboard_30d_2filters", "30d", TWO),
    ("dashboard_12mo", "12mo", []),
    ("dashboard_12mo_2filters", "12mo", TWO),
]
# The dashboard's own page loads (name, period, filters): what one request of the page asks.
PAGES: list[tuple[str, str, list[list[Any]]]] = [
    (name.replace("dashboard", "page"), period, filters) for name, period, filters in DASHBOARDS
]
# A few Stats API queries, as an integration would send them.
API: list[tuple[str, dict[str, Any]]] = [
    ("aggregate_30d", {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"],
                       "date_range": "30d"}),
    ("pages_12mo", {"metrics": ["visitors", "pageviews"], "date_range": "12mo", "dimensions": ["event:page"],
                    "pagination": {"limit": 100}}),
    ("timeseries_30d_1filter", {"metrics": ["visitors", "pageviews"], "date_range": "30d",
                                "dimensions": ["time:day"], "filters": [["is", "visit:country", ["DE"]]]}),
    ("sources_12mo_2filters", {"metrics": ["visitors", "visits", "bounce_rate"], "date_range": "12mo",
                               "dimensions": ["visit:source"], "filters": [["is", "visit:device", ["Mobile"]],
                                                                          ["contains", "event:page", ["/blog/"]]]}),
]  # fmt: skip


def dashboard(period: str, filters: list[list[Any]], prop_keys: Sequence[str] = ()) -> list[tuple[str, Job]]:
    """A dashboard's full panel set: top stats, the daily series, every tab of every panel and the Headline check.

    The panels and their tabs are the dashboard's own (`web.reports.panels`, built
    from the catalog and the site's property keys), and each query is made by the
    dashboard's own `reports.Stats` methods, so a new dimension's tab is timed
    here with no edit. A filter the dashboard has a URL parameter for ("is" on a
    catalog dimension) is also set in the view's state, so tabs drill down as
    they do on the page (sources -> referrers).
    """
    from analytics.web import reports

    state = _state(period, filters)
    jobs: list[tuple[str, Job]] = [
        ("top_stats", functools.partial(_top_stats, state, filters)),
        ("series_day", functools.partial(_series, state, filters, "day")),
    ]
    for panel in reports.panels(state, prop_keys):
        for tab in panel.tabs:
            jobs.append((LEGACY_NAMES.get(tab.key, tab.key), functools.partial(_tab, state, filters, tab)))
    jobs.append(("headlines", functools.partial(_headlines, state, filters)))
    return jobs


def _state(period: str, filters: list[list[Any]]) -> State:
    """The view's state: its period, and each filter the dashboard has a URL parameter for
    ("is" on a catalog dimension), so tabs drill down as they do on the page (sources -> referrers)."""
    from analytics.catalog import BY_NAME
    from analytics.web.state import State

    params = {"period": period}
    for op, dim, values in filters:
        if op == "is" and len(values) == 1 and dim in BY_NAME and BY_NAME[dim].param:
            params[str(BY_NAME[dim].param)] = values[0]
    return State(params, "")


def page_view(period: str, filters: list[list[Any]], prop_keys: Sequence[str] = ()) -> list[tuple[str, Job]]:
    """What the dashboard page asks in its own request: top stats and the daily series for the
    range and the previous one, realtime, the shown tab of every panel and the Headline check's
    listing. (Its details are a request of their own after the page: `headline_details`.)"""
    from analytics.web import reports

    state = _state(period, filters)
    jobs: list[tuple[str, Job]] = []
    for previous in (False, True):
        jobs.append((f"top_stats{'_previous' * previous}",
                     functools.partial(_top_stats, state, filters, previous=previous)))  # fmt: skip
        jobs.append((f"series_day{'_previous' * previous}",
                     functools.partial(_series, state, filters, "day", previous=previous)))  # fmt: skip
    jobs.append(("realtime", _realtime))
    for panel in reports.panels(state, prop_keys):
        tab = reports.selected_tab(panel, state)
        jobs.append((LEGACY_NAMES.get(tab.key, tab.key), functools.partial(_tab, state, filters, tab)))
    jobs.append(("headline_listing", functools.partial(_headlines, state, filters, details=False)))
    return jobs


def _view(
    state: State, filters: list[list[Any]], t: Target, stats: Stats | None, previous: bool = False
) -> tuple[Stats, Range]:
    from analytics.web.reports import Stats
    from analytics.web.state import resolve_range

    view = stats or Stats(t.store, t.site, t.now, filters)
    r = resolve_range(state.period, t.site.timezone, t.now, None)
    return view, r.previous() if previous else r


async def _top_stats(
    state: State, filters: list[list[Any]], t: Target, stats: Stats | None, previous: bool = False
) -> object:
    from analytics.web.reports import TOP_STATS

    view, r = _view(state, filters, t, stats, previous)
    return await view.totals(r, [m for m, _ in TOP_STATS])


async def _series(
    state: State, filters: list[list[Any]], interval: str, t: Target, stats: Stats | None, previous: bool = False
) -> object:
    view, r = _view(state, filters, t, stats, previous)
    return await view.series(r, interval, "visitors")


async def _realtime(t: Target, stats: Stats | None) -> object:
    from analytics.stats import realtime

    return await realtime.current_visitors(t.store, t.site, t.now)


async def _tab(state: State, filters: list[list[Any]], tab: Tab, t: Target, stats: Stats | None) -> object:
    from analytics.web.reports import ROWS_SHOWN

    view, r = _view(state, filters, t, stats)
    return await view.breakdown(r, tab, ROWS_SHOWN)


async def _headlines(
    state: State, filters: list[list[Any]], t: Target, stats: Stats | None, details: bool = True
) -> object:
    from analytics.web import headlines

    view, r = _view(state, filters, t, stats)
    return await (headlines.pages_in_view(view, r) if details else headlines.listing(view, r))


async def _headline_details(period: str, filters: list[list[Any]], t: Target, stats: Stats | None) -> object:
    """The details request the page makes after loading (the listed pages' channels and median
    times), timed with the listing that chooses the pages (unfiltered: rollups, a few ms)."""
    from analytics.web import headlines

    view, r = _view(_state(period, filters), filters, t, stats)
    listed, _ = headlines.flagged(await headlines.listing(view, r))
    return await headlines.details(view, r, [p.path for p in listed])


async def _api(body: dict[str, Any], t: Target, stats: Stats | None) -> object:
    from analytics.stats import run as stats_run
    from analytics.stats.parse import parse

    return await stats_run.run(t.store, parse({**body, "site_id": SITE}, t.site, t.now))


@dataclass(frozen=True, slots=True)
class QuerySet:
    """Timed together: a full dashboard (one batch, `filters` set on its view) or one API query."""

    jobs: list[tuple[str, Job]]
    filters: list[list[Any]] | None = None  # a dashboard's filters; None: an API query


def query_sets(prop_keys: Sequence[str] = ()) -> dict[str, QuerySet]:
    """Every timed set by name: the full dashboards, then the API queries."""
    sets = {name: QuerySet(dashboard(period, filters, prop_keys), filters) for name, period, filters in DASHBOARDS}
    for name, period, filters in PAGES:  # the page's own request, then its Headline details
        sets[name] = QuerySet(page_view(period, filters, prop_keys), filters)
    for name, period, filters in PAGES:
        details = functools.partial(_headline_details, period, filters)
        sets[name.replace("page", "headline_details", 1)] = QuerySet([("headline_details", details)])
    for name, body in API:
        sets[f"api_{name}"] = QuerySet([(name, functools.partial(_api, body))])
    return sets


async def _site(data: Path) -> tuple[Site, tuple[str, ...]]:
    """The bench site and the property keys its dashboard shows tabs for."""
    from analytics.accounts import Accounts

    async with Accounts.in_dir(data) as accounts:
        site = await accounts.sites.get(SITE)
        options = await accounts.sites.dashboard_options(site.id)
    return site, tuple(options.prop_keys)


async def time_set(
    db: Path,
    site: Site,
    qs: QuerySet,
    now: datetime,
    warm_runs: int,
    budget: float,
    *,
    shared: bool = True,
    store_url: str = "sqlite",
) -> dict[str, Any]:
    """Cold and warm p50 of one set; a dashboard on SQLite also reports its statements per run."""
    from analytics.devtools import chbench
    from analytics.store.sqlite.store import SQLiteStore
    from analytics.web.reports import Stats

    # Fresh connections: the cold run starts with SQLite's page cache empty (the OS cache is not dropped).
    sqlite = store_url == "sqlite"
    store: Any = SQLiteStore(db, readers=2, shared_sets=shared) if sqlite else chbench.open_store(store_url)
    await store.open()
    target = Target(store, site, now)
    statements: list[str] = []
    if sqlite:
        await store.trace(statements.append)
    try:

        async def once() -> float:
            statements.clear()
            began = time.perf_counter()
            if qs.filters is None:
                for _, job in qs.jobs:
                    await job(target, None)
            else:  # one view, one gather: one store batch, as a page load
                view = Stats(store, site, now, qs.filters)
                await asyncio.gather(*(job(target, view) for _, job in qs.jobs))
            return (time.perf_counter() - began) * 1000

        cold = await once()
        warm: list[float] = []
        spent = cold / 1000
        while len(warm) < warm_runs and (not warm or spent < budget):
            warm.append(await once())
            spent += warm[-1] / 1000
    finally:
        if sqlite:
            await store.trace(None)
        await store.close()
    return {
        "cold_ms": round(cold, 1),
        "warm_p50_ms": round(median(warm), 1),
        "warm_runs": len(warm),
        "queries": len(qs.jobs),
        "statements": len(statements) if sqlite else None,
    }


def queries(
    sizes: list[int],
    work: Path,
    *,
    warm_runs: int,
    budget: float,
    baseline: bool,
    progress: bool | None,
    store: str = "sqlite",
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Seed each size with the demo, time every set; storage and export on the largest."""
    from analytics.devtools import demo

    results: dict[str, Any] = {}
    storage: dict[str, Any] = {}
    export: dict[str, Any] = {"status": "pending"}
    now = datetime.now(UTC).replace(microsecond=0)
    for n in sizes:
        data = work / f"queries-{n}"
        db = data / "analytics.db"
        entry: dict[str, Any]
        if store == "sqlite":
            seeded = demo.generate(db, SITE, n, 90, seed=1, now=now.timestamp(), progress=progress)
            entry = {
                "seed_seconds": round(seeded.seconds, 1),
                "segment_seconds": round(seeded.segment_seconds, 1),
                "seed_events_per_s": round(n / seeded.seconds) if seeded.seconds else None,
                "seed_events_per_cpu_s": round(n / seeded.cpu_seconds) if seeded.cpu_seconds else None,
                "sessions": seeded.sessions,
                "sets": {},
            }
        else:  # ClickHouse: the same demo traffic written straight into its write path, then timed there
            from analytics.devtools import chbench

            data.mkdir(parents=True, exist_ok=True)
            asyncio.run(demo.ensure_site(data, SITE))
            site, _ = asyncio.run(_site(data))
            entry = {**chbench.seed(store, site, n, 90, now.timestamp(), bool(progress)), "sets": {}}
        site, prop_keys = asyncio.run(_site(data))
        for name, qs in query_sets(prop_keys).items():
            entry["sets"][name] = asyncio.run(time_set(db, site, qs, now, warm_runs, budget, store_url=store))
            if baseline and store == "sqlite" and n == min(sizes) and qs.filters:
                before = asyncio.run(time_set(db, site, qs, now, warm_runs, budget, shared=False))
                entry["sets"][name]["before"] = before  # the same run, each plan reading events alone
        results[str(n)] = entry
        if n == max(sizes):
            if store == "sqlite":
                storage = storage_figures(db, n)
            else:
                from analytics.devtools import chbench

                storage = chbench.storage(store, n)
            export = export_figures(data, now, store)
    return results, storage, export


def storage_figures(db: Path, events: int) -> dict[str, Any]:
    wal = db.with_name(db.name + "-wal")
    size = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    from analytics.store.sqlite import dbfile

    tables = dbfile.table_bytes(db)
    return {
        "events": events,
        "db_bytes": db.stat().st_size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        "bytes_per_event": round(size / events, 1) if events else None,
        "table_bytes_per_event": {k: round(v / events, 2) for k, v in tables.items() if events and v / events >= 0.05},
    }


def _hwm(pid: int) -> int:
    """Peak resident bytes of a running process, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmHWM:")), 0)
    except OSError:
        return 0


def export_figures(data: Path, now: datetime, store: str = "sqlite") -> dict[str, Any]:
    """A 12-month export of the largest site through the CLI, in a child process: time and peak RSS."""
    last = now.date()
    first = last - timedelta(days=365)
    target = data / "export.zip"
    cmd = [sys.executable, "-m", "analytics", "export", SITE, "--from", first.isoformat(), "--to", last.isoformat(),
           "-o", str(target), "--data-dir", str(data)]  # fmt: skip
    began = time.perf_counter()
    env = {**os.environ, "ANALYTICS_STORE": store}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    # The child's own high-water mark (VmHWM, reset by exec), polled until it exits: the
    # rusage of a child also counts this process's memory, copied at fork before the exec.
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _hwm(proc.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
        return {"status": f"failed: {err}"}
    return {
        "status": "ok",
        "range": [first.isoformat(), last.isoformat()],
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak / MB, 1),
        "zip_bytes": target.stat().st_size,
    }
