"""`analytics bench`: measure this box. Ingest, queries, beacon, storage and export, in one run.

- Ingest: `wrk` (from the OS packages) with a generated Lua script posts realistic
  `/api/event` bodies (many visitors, user agents, paths and referrers) over
  loopback to a bare uvicorn ASGI app that answers 202 (the ceiling, `raw_app`
  below) and to `analytics serve` with 1 and 2 workers, one after the other.
  Committed events are counted in the database after each server stops.
- Queries: `analytics demo` data over 90 days; the dashboard's full panel set
  (top stats, the daily series and every tab of every panel, as `web.reports`
  builds them from the catalog) and a few Stats API queries, cold (fresh
  connections) and warm (p50), timed in-process one query after the other
  through the dashboard's own `reports.Stats` and the stats pipeline: server
  time, without HTTP.
- Beacon sizes, bytes per stored event, and a 12-month export's time and peak RSS.

Keep module-level imports to the standard library: uvicorn imports this module
to serve `raw_app`, and the ceiling must not pay for anything else.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # module-level imports stay standard-library only (see above)
    from analytics.model import Site
    from analytics.store.base import Store
    from analytics.web.reports import Stats, Tab
    from analytics.web.state import Range, State

SITE = "bench.example"
MB = 1024 * 1024


async def raw_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """The ceiling: a bare ASGI app that reads the body and answers 202."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 202, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


@dataclass
class Options:
    events: list[int] = field(default_factory=lambda: [1_000_000, 10_000_000])
    quick: bool = False
    duration: float = 15.0  # seconds of load per ingest target
    tail: float = 2.0  # seconds after the load for its last answers
    history: int = 1_000_000  # demo events already in the database when ingest starts: a site with a past
    connections: int = 64
    threads: int = 2
    warm_runs: int = 5
    budget: float = 120.0  # seconds per query set before warm runs stop early
    workdir: Path | None = None
    progress: bool | None = None
    store: str = "sqlite"  # chdb:///dir or clickhouse://...: queries and storage on ClickHouse (devtools/chbench.py)

    @classmethod
    def quick_run(cls) -> Options:
        return cls(events=[20_000], quick=True, duration=1.0, tail=1.0, history=10_000, warm_runs=1, budget=3.0)


# -- the machine -------------------------------------------------------------------


def machine() -> dict[str, Any]:
    from analytics.store.sqlite import dbfile

    mem = _meminfo()
    cpu = ""
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "ram_mb": round(mem.get("MemTotal", 0) / 1024),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": dbfile.sqlite_version(),
        "wrk": _wrk_version(),
        "load_before": list(os.getloadavg()),
    }


def _meminfo() -> dict[str, int]:
    try:
        return {ln.split(":")[0]: int(ln.split()[1]) for ln in open("/proc/meminfo")}
    except OSError:
        return {}


def _wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout + out.stderr).split("Copyright")[0].strip() or "wrk"


def beacon_sizes() -> dict[str, int]:
    from analytics.ingest import beacon

    b = beacon.current()
    return {"raw_bytes": len(b.body), "gzip_bytes": len(b.gzip), "brotli_bytes": len(b.brotli)}


# -- ingest --------------------------------------------------------------------------

_LUA = """-- Generated by `analytics bench`: realistic POST /api/event bodies for wrk.
local domain = %(domain)s
local paths = {%(paths)s}
local refs = {%(refs)s}
local uas = {%(uas)s}
local widths = {%(widths)s}
local links = {%(links)s}
local visitors = 60000
local threads = {}
ok, dropped, s503, other = 0, 0, 0, 0
-- After the measured phase every connection sends one request whose body never
-- arrives: it never completes, so every event sent in the phase has its answer
-- counted before wrk stops, and nothing after the phase enters the latencies.
local hang = "POST /api/event HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: 64\\r\\n\\r\\n{"
local phase_end = 0
-- Engagement goes to visitors who just had a pageview (it never starts a visit by itself).
local recent, slot, filled = {}, 0, 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  math.randomseed(1000 + id)
  local t0 = os.time()
  while os.time() == t0 do end  -- start on a second boundary: the phase lasts exactly args[1] s
  phase_end = os.time() + tonumber(args[1])
end

function request()
  if os.time() >= phase_end then return hang end
  -- A visitor is an (address, user agent) pair; the same ones come back, so visits get longer.
  local v = math.random(visitors)
  local u = v %% #uas + 1
  local ip = (11 + v * 7919 %% 190) .. "." .. (v * 31 %% 256) .. "." .. (v %% 256) .. "." .. (1 + v %% 253)
  local url = '"u":"https://' .. domain .. paths[math.random(#paths)] .. '","d":"' .. domain .. '"'
  local r = math.random()
  local body
  if r < 0.62 then
    body = '{"n":"pageview",' .. url .. ',"r":' .. refs[math.random(#refs)] .. ',"w":' .. widths[u] .. '}'
    slot = slot %% 1000 + 1
    filled = math.min(filled + 1, 1000)
    recent[slot] = v
  elseif r < 0.96 and filled > 100 then
    -- Not the latest 50: their pageview may still be in flight.
    v = recent[(slot - 51 - math.random(0, filled - 101)) %% 1000 + 1]
    u = v %% #uas + 1
    ip = (11 + v * 7919 %% 190) .. "." .. (v * 31 %% 256) .. "." .. (v %% 256) .. "." .. (1 + v %% 253)
    body = '{"n":"engagement",' .. url .. ',"sd":' .. math.random(5, 100) .. ',"e":' .. math.random(500, 90000) .. '}'
  else
    body = '{"n":"Outbound Link: Click",' .. url .. ',"p":{"url":"' .. links[math.random(#links)] .. '"}}'
  end
  return wrk.format("POST", "/api/event",
    {["Content-Type"] = "text/plain", ["User-Agent"] = uas[u], ["X-Forwarded-For"] = ip}, body)
end

function response(status, headers, body)
  if status == 202 then
    if headers["x-analytics-dropped"] or headers["X-Analytics-Dropped"] then dropped = dropped + 1 else ok = ok + 1 end
  elseif status == 503 then s503 = s503 + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local t = {ok = 0, dropped = 0, s503 = 0, other = 0}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + th:get(k) end
  end
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"ok":%%d,' ..
    '"dropped":%%d,"s503":%%d,"other":%%d,"socket_errors":%%d,"timeouts":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), t.ok, t.dropped,
    t.s503, t.other, e.connect + e.read + e.write, e.timeout))
end
"""


def lua_script() -> str:
    """The wrk script, built from the demo's blog: its pages (power law), referrers, browsers, links."""
    from analytics.devtools import demo

    def lua(items: list[str]) -> str:
        return ", ".join(json.dumps(x) for x in items)

    weighted = demo.STATIC_PAGES + tuple((p, 60 / (r + 1) ** 1.1) for r, p in enumerate(demo.articles()))
    paths = [p for p, w in weighted for _ in range(max(1, round(w * 4)))]
    refs = [json.dumps(ref) if ref else "null" for w, _, ref, _, _ in demo.SOURCES for _ in range(round(w * 2))]
    return _LUA % {
        "domain": json.dumps(SITE), "paths": lua(paths), "refs": lua(refs),
        "uas": lua([ua for _, _, ua, _ in demo.DEVICES]), "widths": ", ".join(str(w) for *_, w in demo.DEVICES),
        "links": lua(list(demo.OUTBOUND)),
    }  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_tree(pid: int) -> tuple[int, int, int]:
    """Resident bytes of `pid` and its descendants: RSS total, largest RSS, PSS total.

    RSS counts pages shared between worker processes (libraries, the mapped
    country database) once per process; PSS splits them, so it adds up.
    """
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        children.setdefault(int(fields["PPid"]), []).append(int(entry))
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    todo, sizes, pss = [pid], [], 0
    while todo:
        p = todo.pop()
        sizes.append(rss.get(p, 0))
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                pss += sum(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("Pss:"))
        except OSError:
            pass
    return sum(sizes), max(sizes), pss


class _Server:
    """A server process on loopback, its resident memory sampled while it runs."""

    def __init__(self, cmd: list[str], port: int, health: str, log: Path) -> None:
        self.port, self.log = port, log
        self.proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        self.peak_total = self.peak_process = self.peak_pss = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(f"GET {health} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                    if s.recv(64).split(b" ")[1] in (b"200", b"202"):
                        break
            except (OSError, IndexError):
                time.sleep(0.1)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            total, largest, pss = _rss_tree(self.proc.pid)
            self.peak_total, self.peak_process = max(self.peak_total, total), max(self.peak_process, largest)
            self.peak_pss = max(self.peak_pss, pss)

    def stop(self) -> None:
        self._stop.set()
        self._sampler.join()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the store commits what it accepted
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _wrk(url: str, script: Path, opts: Options) -> dict[str, Any]:
    phase = max(1, round(opts.duration))
    # Up to 1 s to reach a second boundary, then the phase, then the tail for the phase's last answers.
    seconds = phase + 1 + round(opts.tail)
    cmd = ["wrk", f"-t{opts.threads}", f"-c{opts.connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(script), url, "--", str(phase)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=opts.duration + 120, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-1000:]} {out.stderr[-1000:]}")
    result: dict[str, Any] = json.loads(line[6:])
    return result


def _ingest_run(
    kind: str, workers: int, script: Path, opts: Options, work: Path, history: Path | None, store: str = "sqlite"
) -> dict[str, Any]:
    port = _free_port()
    data = work / f"ingest-{kind}-{workers}{'' if store == 'sqlite' else '-clickhouse'}"
    data.mkdir(parents=True, exist_ok=True)
    before = 0
    if kind == "raw":
        cmd = [sys.executable, "-m", "uvicorn", "analytics.devtools.bench:raw_app", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning"]  # fmt: skip
        health = "/"
    else:
        if store != "sqlite":  # ClickHouse starts empty: no history is copied in (docs/performance.md)
            store = f"chdb://{data / 'chdb'}" if store.startswith("chdb://") else store
            _add_site(data / "analytics.db")
        elif history is not None:
            shutil.copyfile(history, data / "analytics.db")
            shutil.copyfile(history.with_name("accounts.db"), data / "accounts.db")  # the site lives there
            before = opts.history
        else:
            _add_site(data / "analytics.db")
        cmd = [sys.executable, "-m", "analytics", "serve", "--data-dir", str(data), "--port", str(port),
               "--workers", str(workers), "--trusted-proxies", "127.0.0.1/32", "--log-level", "warning",
               "--store", store]  # fmt: skip
        health = "/api/health"
    server = _Server(cmd, port, health, work / f"{data.name}.log")
    try:
        w = _wrk(f"http://127.0.0.1:{port}/api/event", script, opts)
    finally:
        server.stop()
    seconds = max(1, round(opts.duration))  # the measured phase (see the Lua script)
    committed = None
    if kind == "serve" and store != "sqlite":
        from analytics.devtools import chbench

        committed = chbench.event_count(store)
    elif kind == "serve":
        from analytics.store.sqlite import dbfile

        committed = dbfile.event_count(data / "analytics.db") - before
    return {
        "workers": workers,
        "requests": w["requests"],
        "requests_per_s": round(w["requests"] / seconds),
        "accepted_per_s": round((w["ok"] + w["dropped"]) / seconds),
        "committed_per_s": None if committed is None else round(committed / seconds),
        "committed": committed,
        "ok_202": w["ok"],
        "dropped_202": w["dropped"],
        "rejected_503": w["s503"],
        "other_status": w["other"],
        "socket_errors": w["socket_errors"] + w["timeouts"],
        "lost": None if committed is None else w["ok"] - committed,
        "p50_ms": round(w["p50_us"] / 1000, 2),
        "p99_ms": round(w["p99_us"] / 1000, 2),
        "rss_peak_total_mb": round(server.peak_total / MB, 1),
        "rss_peak_process_mb": round(server.peak_process / MB, 1),
        "pss_peak_total_mb": round(server.peak_pss / MB, 1),
    }


def _add_site(db: Path) -> None:
    from analytics.accounts import Accounts

    async def add() -> None:
        async with Accounts.in_dir(db.parent) as accounts:
            await accounts.sites.add(SITE, "Europe/Berlin")

    asyncio.run(add())


def ingest(opts: Options, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"tool": _wrk_version(), "connections": opts.connections, "threads": opts.threads,
                           "duration_s": max(1, round(opts.duration)), "runs": {}}  # fmt: skip
    if out["tool"] is None:
        out["status"] = "wrk not installed (apt-get install wrk)"
        return out
    script = work / "bench_event.lua"
    script.write_text(lua_script())
    history = None
    out["history_events"] = opts.history
    if opts.history:
        from analytics.devtools import demo

        history = work / "ingest-history" / "analytics.db"
        demo.generate(history, SITE, opts.history, 30, seed=2, progress=opts.progress)
    for kind, workers in (("raw", 1), ("raw", 2), ("serve", 1), ("serve", 2)):
        out["runs"][f"{'raw_asgi' if kind == 'raw' else 'serve'}_{workers}"] = _ingest_run(
            kind, workers, script, opts, work, history
        )
    if opts.store != "sqlite":  # one worker: chDB allows one process per directory
        out["runs"]["serve_clickhouse_1"] = _ingest_run("serve", 1, script, opts, work, None, opts.store)
    runs = out["runs"]
    ceiling = max(runs["raw_asgi_1"]["accepted_per_s"], runs["raw_asgi_2"]["accepted_per_s"]) or 1
    out["ceiling_per_s"] = ceiling
    for run in runs.values():
        run["ratio_to_ceiling"] = round(run["accepted_per_s"] / ceiling, 3)
    out["status"] = "ok"
    return out


# -- queries -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """What a timed query runs against: the store, the site and the clock of one run."""

    store: Store
    site: Site
    now: datetime


# One timed query: a name in the results, and the call that runs it.
Job = Callable[[Target], Awaitable[object]]

# Tab keys that the committed results (docs/bench-results.json) name differently.
_LEGACY_NAMES = {"pages": "top_pages", "entry": "entry_pages", "exit": "exit_pages"}

FILTERS: dict[str, list[list[Any]]] = {
    "": [],
    "_1filter": [["is", "visit:source", ["LinkedIn"]]],
    "_2filters": [["is", "visit:source", ["LinkedIn"]], ["contains", "event:page", ["/blog/"]]],
}
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
    """A dashboard's full panel set: top stats, the daily series and every tab of every panel.

    The panels and their tabs are the dashboard's own (`web.reports.panels`, built
    from the catalog and the site's property keys), and each query is made by the
    dashboard's own `reports.Stats` methods, so a new dimension's tab is timed
    here with no edit. A filter the dashboard has a URL parameter for ("is" on a
    catalog dimension) is also set in the view's state, so tabs drill down as
    they do on the page (sources -> referrers).
    """
    from analytics.catalog import BY_NAME
    from analytics.web import reports
    from analytics.web.state import State

    params = {"period": period}
    for op, dim, values in filters:
        if op == "is" and len(values) == 1 and dim in BY_NAME and BY_NAME[dim].param:
            params[str(BY_NAME[dim].param)] = values[0]
    state = State(params, "")
    jobs: list[tuple[str, Job]] = [
        ("top_stats", functools.partial(_top_stats, state, filters)),
        ("series_day", functools.partial(_series, state, filters, "day")),
    ]
    for panel in reports.panels(state, prop_keys):
        for tab in panel.tabs:
            jobs.append((_LEGACY_NAMES.get(tab.key, tab.key), functools.partial(_tab, state, filters, tab)))
    return jobs


def _view(state: State, filters: list[list[Any]], t: Target) -> tuple[Stats, Range]:
    from analytics.web.reports import Stats
    from analytics.web.state import resolve_range

    return Stats(t.store, t.site, t.now, filters), resolve_range(state.period, t.site.timezone, t.now, None)


async def _top_stats(state: State, filters: list[list[Any]], t: Target) -> object:
    from analytics.web.reports import TOP_STATS

    stats, r = _view(state, filters, t)
    return await stats.totals(r, [m for m, _ in TOP_STATS])


async def _series(state: State, filters: list[list[Any]], interval: str, t: Target) -> object:
    stats, r = _view(state, filters, t)
    return await stats.series(r, interval, "visitors")


async def _tab(state: State, filters: list[list[Any]], tab: Tab, t: Target) -> object:
    from analytics.web.reports import ROWS_SHOWN

    stats, r = _view(state, filters, t)
    return await stats.breakdown(r, tab, ROWS_SHOWN)


async def _api(body: dict[str, Any], t: Target) -> object:
    from analytics.stats import run as stats_run
    from analytics.stats.parse import parse

    return await stats_run.run(t.store, parse({**body, "site_id": SITE}, t.site, t.now))


def query_sets(prop_keys: Sequence[str] = ()) -> dict[str, list[tuple[str, Job]]]:
    """Every timed query set by name: the dashboard per period and filter set, and the API queries."""
    sets: dict[str, list[tuple[str, Job]]] = {}
    for period in ("30d", "12mo"):
        for suffix, filters in FILTERS.items():
            sets[f"dashboard_{period}{suffix}"] = dashboard(period, filters, prop_keys)
    for name, body in API:
        sets[f"api_{name}"] = [(name, functools.partial(_api, body))]
    return sets


async def _site(data: Path) -> tuple[Site, tuple[str, ...]]:
    """The bench site and the property keys its dashboard shows tabs for."""
    from analytics.accounts import Accounts

    async with Accounts.in_dir(data) as accounts:
        site = await accounts.sites.get(SITE)
        options = await accounts.sites.dashboard_options(site.id)
    return site, tuple(options.prop_keys)


async def _time_set(db: Path, site: Site, jobs: list[tuple[str, Job]], now: datetime, opts: Options) -> dict[str, Any]:
    from analytics.devtools import chbench
    from analytics.store.sqlite.store import SQLiteStore

    # Fresh connections: the cold run starts with SQLite's page cache empty (the OS cache is not dropped).
    store: Any = SQLiteStore(db, readers=2) if opts.store == "sqlite" else chbench.open_store(opts.store)
    await store.open()
    target = Target(store, site, now)
    try:

        async def once() -> tuple[float, dict[str, float]]:
            per = {}
            began = time.perf_counter()
            for name, job in jobs:
                t = time.perf_counter()
                await job(target)
                per[name] = round((time.perf_counter() - t) * 1000, 2)
            return (time.perf_counter() - began) * 1000, per

        cold, cold_panels = await once()
        warm: list[float] = []
        warm_panels: list[dict[str, float]] = []
        spent = cold / 1000
        while len(warm) < opts.warm_runs and (not warm or spent < opts.budget):
            ms, per = await once()
            warm.append(ms)
            warm_panels.append(per)
            spent += ms / 1000
    finally:
        await store.close()
    return {
        "cold_ms": round(cold, 1),
        "warm_p50_ms": round(median(warm), 1),
        "warm_runs": len(warm),
        "panels_cold_ms": cold_panels,
        "panels_warm_p50_ms": {n: round(median(p[n] for p in warm_panels), 2) for n, _ in jobs},
    }


def queries(opts: Options, work: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Seed each size with the demo, time every query set; storage and export on the largest."""
    from analytics.devtools import demo

    results: dict[str, Any] = {}
    storage: dict[str, Any] = {}
    export: dict[str, Any] = {"status": "pending"}
    now = datetime.now(UTC).replace(microsecond=0)
    for n in opts.events:
        data = work / f"queries-{n}"
        db = data / "analytics.db"
        seeded = demo.generate(db, SITE, n, 90, seed=1, now=now.timestamp(), progress=opts.progress)
        entry: dict[str, Any] = {
            "seed_seconds": round(seeded.seconds, 1),
            "seed_events_per_s": round(n / seeded.seconds) if seeded.seconds else None,
            "seed_events_per_cpu_s": round(n / seeded.cpu_seconds) if seeded.cpu_seconds else None,
            "sessions": seeded.sessions,
            "sets": {},
        }
        site, prop_keys = asyncio.run(_site(data))
        if opts.store != "sqlite":  # ClickHouse: the same demo copied over, then timed there
            from analytics.devtools import chbench

            entry["clickhouse"] = chbench.seed(db, opts.store, site)
        for name, jobs in query_sets(prop_keys).items():
            entry["sets"][name] = asyncio.run(_time_set(db, site, jobs, now, opts))
        results[str(n)] = entry
        if n == max(opts.events):
            storage = storage_figures(db, n)
            if opts.store != "sqlite":
                storage = {"sqlite": storage, **chbench.storage(opts.store, n)}
            export = export_figures(data, now)
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


def export_figures(data: Path, now: datetime) -> dict[str, Any]:
    """A 12-month export of the largest site through the CLI, in a child process: time and peak RSS."""
    last = now.date()
    first = last - timedelta(days=365)
    target = data / "export.zip"
    cmd = [sys.executable, "-m", "analytics", "export", SITE, "--from", first.isoformat(), "--to", last.isoformat(),
           "-o", str(target), "--data-dir", str(data)]  # fmt: skip
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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


# -- the run -------------------------------------------------------------------------

TARGETS = {
    "ingest_ratio_2_workers": ">= 0.40 of the raw-ASGI ceiling",
    "ingest_lost": "0",
    "ingest_p99_ms": "<= 50 at 64 connections",
    "ingest_rss_mb": "<= 200",
    "dashboard_30d_p50_ms": "<= 150 (largest size)",
    "dashboard_12mo_p50_ms": "<= 500",
    "dashboard_filtered_p50_ms": "<= 1000 (slowest filtered view)",
    "export_peak_rss_mb": "<= 150",
    "bytes_per_event": "<= 80",
}


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    """Each target with the measured figure and whether it is met (None when not measured)."""

    def check(value: Any, ok: Callable[[Any], bool]) -> dict[str, Any]:
        return {"value": value, "met": None if value is None else ok(value)}

    runs = results["ingest"].get("runs", {})
    s2 = runs.get("serve_2", {})
    serve = [r for k, r in runs.items() if k.startswith("serve")]
    largest = results["queries"].get(str(max(int(k) for k in results["queries"]))) if results["queries"] else None
    sets = largest["sets"] if largest else {}
    filtered = [v["warm_p50_ms"] for k, v in sets.items() if "filter" in k]
    out = {
        "ingest_ratio_2_workers": check(s2.get("ratio_to_ceiling"), lambda v: v >= 0.40),
        "ingest_lost": check(max((r["lost"] for r in serve), default=None), lambda v: v == 0),
        "ingest_p99_ms": check(s2.get("p99_ms"), lambda v: v <= 50),
        "ingest_rss_mb": check(max((r["rss_peak_total_mb"] for r in serve), default=None), lambda v: v <= 200),
        "dashboard_30d_p50_ms": check(sets.get("dashboard_30d", {}).get("warm_p50_ms"), lambda v: v <= 150),
        "dashboard_12mo_p50_ms": check(sets.get("dashboard_12mo", {}).get("warm_p50_ms"), lambda v: v <= 500),
        "dashboard_filtered_p50_ms": check(max(filtered, default=None), lambda v: v <= 1000),
        "export_peak_rss_mb": check(results["export"].get("peak_rss_mb"), lambda v: v <= 150),
        "bytes_per_event": check(results["storage"].get("bytes_per_event"), lambda v: v <= 80),
    }
    for name, v in out.items():
        v["target"] = TARGETS[name]
    return out


def run(opts: Options) -> dict[str, Any]:
    work = opts.workdir or Path(tempfile.mkdtemp(prefix="analytics-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "quick": opts.quick}
    results["machine"] = machine()
    results["beacon"] = beacon_sizes()
    t = time.perf_counter()
    results["ingest"] = ingest(opts, work)
    results["ingest"]["elapsed_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    results["queries"], results["storage"], results["export"] = queries(opts, work)
    results["elapsed_queries_s"] = round(time.perf_counter() - t, 1)
    from analytics.devtools import bench_contention  # beacon latency during an import and exports

    results["contention"] = {"status": "not in --quick"} if opts.quick else bench_contention.run(work)
    results["machine"]["load_after"] = list(os.getloadavg())
    results["targets"] = verdicts(results)
    if opts.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return results


def table(results: dict[str, Any]) -> str:
    """The figures as plain text: one line each."""
    m = results["machine"]
    lines = [
        f"machine   {m['nproc']} CPU ({m['cpu']}), {m['ram_mb']} MB RAM, Python {m['python']}, SQLite {m['sqlite']}",
        f"load      before {' '.join(f'{x:.2f}' for x in m['load_before'])}"
        f"  after {' '.join(f'{x:.2f}' for x in m.get('load_after', []))}",
        f"beacon    {results['beacon']['raw_bytes']} B raw, {results['beacon']['gzip_bytes']} B gzip -9,"
        f" {results['beacon']['brotli_bytes']} B brotli",
    ]
    ing = results["ingest"]
    if ing.get("status") == "ok":
        lines.append(
            f"ingest    wrk {ing['threads']} threads, {ing['connections']} connections, {ing['duration_s']} s each"
        )
        for name, r in ing["runs"].items():
            committed = "" if r["committed"] is None else f", {r['committed_per_s']:,}/s committed, lost {r['lost']}"
            lines.append(
                f"  {name:<11} {r['accepted_per_s']:>7,}/s accepted ({r['ratio_to_ceiling']:.0%} of ceiling)"
                f"{committed}, 503s {r['rejected_503']}, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms,"
                f" RSS {r['rss_peak_total_mb']} MB (PSS {r['pss_peak_total_mb']} MB)"
            )
    else:
        lines.append(f"ingest    {ing.get('status')}")
    for n, q in results["queries"].items():
        lines.append(
            f"queries   {int(n):,} events over 90 days (demo wrote {q['seed_events_per_s']:,}/s,"
            f" {q['seed_events_per_cpu_s']:,} per CPU-second)"
        )
        for name, s in q["sets"].items():
            lines.append(f"  {name:<28} cold {s['cold_ms']:>9,.1f} ms   warm p50 {s['warm_p50_ms']:>9,.1f} ms")
    st = results["storage"]
    lines.append(f"storage   {st.get('bytes_per_event')} bytes/event after {st.get('events', 0):,} events (db + wal)")
    ex = results["export"]
    if ex.get("status") == "ok":
        lines.append(
            f"export    12 months in {ex['seconds']} s, peak RSS {ex['peak_rss_mb']} MB, {ex['zip_bytes']:,} B zip"
        )
    else:
        lines.append(f"export    {ex.get('status')}")
    lines += bench_contention_lines(results.get("contention", {}))
    lines.append("targets")
    for name, v in results["targets"].items():
        mark = {True: "met", False: "MISSED", None: "n/a"}[v["met"]]
        lines.append(f"  {name:<26} {str(v['value']):>10}  {mark:<6} (target {v['target']})")
    return "\n".join(lines)


def bench_contention_lines(result: dict[str, Any]) -> list[str]:
    from analytics.devtools import bench_contention

    return bench_contention.lines(result)


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        mult = {"k": 1000, "m": 1_000_000}.get(part[-1:], 1)
        number = part[:-1] if mult > 1 else part
        if not re.fullmatch(r"\d+(\.\d+)?", number):
            raise ValueError(f"{part!r} is not a number of events, e.g. 1000000 or 1m")
        sizes.append(int(float(number) * mult))
    return sizes
