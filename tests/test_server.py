"""System tests on real `analytics serve` processes: durability, shutdown, workers, privacy.

Issue 3 items 2 and 7 and its "Done when": a 202 means committed, even under
SIGKILL; SIGTERM commits everything accepted; 1 and 2 workers count the same;
no IP address or user agent reaches any log or file; expired salts are gone
from the file bytes.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import BACKENDS, CHROME_UA, Instance, LiveServer, cli, start_server, store_url
from server_support import (
    DROPPED,
    PROBE_UA,
    SITE,
    Loader,
    children,
    event,
    files_under,
    find,
    ip_forms,
    stats,
    stored_paths,
)

PRIVATE_IPS = ("198.51.100.77", "2001:db8::77")
# The server tests below ignore ResourceWarning: conftest.start_server leaves its
# log file object to the garbage collector.


def add_site(data: Path) -> None:
    cli("sites", "add", SITE, "--timezone", "Europe/Zurich", data_dir=data)


# -- 1. SIGKILL mid-load loses no accepted event ----------------------------------------


@pytest.mark.server
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_mid_load_loses_no_accepted_event(tmp_path: Path, live_server_factory: Any, backend: str) -> None:
    data = tmp_path / "data"
    store = store_url(backend, data)
    add_site(data)
    server: LiveServer = live_server_factory("--store", store, data_dir=data)
    loader = Loader(server.url, clients=6).start()
    try:
        loader.wait_for(1500, timeout=4)  # bounded: at most ~4 s of load
        server.proc.send_signal(signal.SIGKILL)  # while the clients are still posting
        server.proc.wait(timeout=10)
    finally:
        loader.stop()
    assert server.proc.returncode == -signal.SIGKILL
    accepted = set(loader.accepted)
    assert len(accepted) >= 50, loader.statuses
    assert len(accepted) == len(loader.accepted)
    print(f"sigkill {backend}: {len(accepted)} accepted, {loader.errors} connection errors, {loader.statuses}")

    # The restarted server recovers (SQLite's WAL, chDB's parts), migrates and serves.
    restarted: LiveServer = live_server_factory("--store", store, data_dir=data)
    r = httpx.post(f"{restarted.url}/api/event", json=event("/after-restart"), headers={"User-Agent": CHROME_UA}, timeout=5)
    assert r.status_code == 202 and DROPPED not in r.headers
    assert restarted.stop() == 0
    paths = stored_paths(data, store)  # read once the server let go (chDB: one process per directory)
    missing = accepted - set(paths)
    assert not missing, f"{len(missing)} events answered 202 but not committed, e.g. {sorted(missing)[:5]}"
    assert set(paths) <= {*loader.attempted, "/after-restart"}  # nothing invented
    assert len(paths) == len(set(paths))  # nothing doubled
    assert "/after-restart" in paths


# -- 2. SIGTERM commits everything accepted and exits 0 --------------------------------


@pytest.mark.server
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_sigterm_commits_every_accepted_event_and_exits_0(tmp_path: Path, live_server_factory: Any) -> None:
    data = tmp_path / "data"
    add_site(data)
    server: LiveServer = live_server_factory(data_dir=data)
    loader = Loader(server.url, clients=6, prefix="/term").start()
    try:
        loader.wait_for(150, timeout=5)
        server.proc.send_signal(signal.SIGTERM)  # mid-load
        rc = server.proc.wait(timeout=30)
    finally:
        loader.stop()
    assert rc == 0, server.log.read_text()
    accepted = set(loader.accepted)
    assert len(accepted) >= 50, loader.statuses
    paths = set(stored_paths(data))
    assert accepted <= paths, f"{len(accepted - paths)} accepted events lost on SIGTERM"
    assert paths <= set(loader.attempted)
    assert not (data / "analytics.db-wal").exists() or (data / "analytics.db-wal").stat().st_size == 0
    assert "Traceback" not in server.log.read_text()


# -- 3. One worker and two workers count the same --------------------------------------

# (visitor ip, [(event name, path, extra fields)]): hand-computed below.
SCRIPT: list[tuple[str, list[tuple[str, str, dict[str, Any]]]]] = [
    ("198.51.100.11", [("pageview", "/", {}), ("pageview", "/about", {}), ("engagement", "/about", {"sd": 50, "e": 4000})]),
    ("198.51.100.12", [("pageview", "/pricing", {})]),
    ("198.51.100.13", [("pageview", "/", {}), ("Signup", "/", {"p": {"plan": "pro"}})]),
    ("198.51.100.14", [("pageview", "/blog/a", {}), ("engagement", "/blog/a", {"sd": 90, "e": 12000})]),
    ("198.51.100.15", [("pageview", "/blog/a", {}), ("pageview", "/blog/b", {}), ("pageview", "/", {})]),
    ("198.51.100.16", [("pageview", "/pricing", {}), ("Outbound Link: Click", "/pricing", {"i": False, "p": {"url": "https://x.org/"}})]),
    ("2001:db8::7", [("pageview", "/about", {}), ("pageview", "/about", {})]),
]
EXPECTED_TOTALS = {"visitors": 7, "visits": 7, "pageviews": 11, "bounce_rate": 43}  # bounces: .12, .14, .16 -> 3/7
EXPECTED_PAGES = {"/": (3, 3), "/about": (2, 3), "/pricing": (2, 2), "/blog/a": (2, 2), "/blog/b": (1, 1)}


def play_script(servers: list[LiveServer]) -> None:
    """Interleave the visitors; every request on a new connection, so the kernel spreads them over workers."""
    steps = max(len(events) for _, events in SCRIPT)
    for step in range(steps):
        for ip, events in SCRIPT:
            if step >= len(events):
                continue
            name, path, extra = events[step]
            for server in servers:
                r = httpx.post(
                    f"{server.url}/api/event",
                    json=event(path, name, **extra),
                    headers={"User-Agent": CHROME_UA, "X-Forwarded-For": ip, "Content-Type": "text/plain"},
                    timeout=10,
                )
                assert r.status_code == 202 and DROPPED not in r.headers, (server.port, name, path, r.status_code, r.text)
    # A visitor with DNT is dropped on both.
    for server in servers:
        r = httpx.post(f"{server.url}/api/event", json=event("/"), headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.99", "DNT": "1"}, timeout=10)
        assert r.status_code == 202 and r.headers[DROPPED] == "1"


@pytest.mark.server
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_one_and_two_workers_count_the_same(tmp_path: Path, live_server_factory: Any) -> None:
    dirs = {n: tmp_path / f"w{n}" / "data" for n in (1, 2)}
    for d in dirs.values():
        add_site(d)
    one: LiveServer = live_server_factory("--trusted-proxies", "127.0.0.1/32", data_dir=dirs[1])
    two: LiveServer = live_server_factory("--trusted-proxies", "127.0.0.1/32", "--workers", "2", data_dir=dirs[2])
    assert len(children(two.proc.pid)) >= 2  # really two worker processes
    play_script([one, two])
    assert one.stop() == 0 and two.stop() == 0

    metrics = ["visitors", "visits", "pageviews", "bounce_rate"]
    results = {}
    for n, d in dirs.items():
        for raw in (False, True):  # rollups and raw events agree too
            totals = await stats(d, metrics, force_raw=raw)
            pages = await stats(d, ["visitors", "pageviews"], ["event:page"], force_raw=raw)
            results[(n, raw)] = (totals, pages)
    first = results[(1, False)]
    for key, value in results.items():
        assert value == first, key
    (totals, pages) = first
    assert totals == [((), tuple(EXPECTED_TOTALS[m] for m in metrics))]
    assert {dims[0]: tuple(vals) for dims, vals in pages} == EXPECTED_PAGES

    for d in dirs.values():
        assert sorted(stored_paths(d)) == sorted(p for _, evs in SCRIPT for _, p, _ in evs)


# -- 4 and 5. No IP or user agent in logs or files -------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def private_traffic(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """A server behind a trusted proxy gets traffic from distinctive IPs and a distinctive UA, then stops.

    Once per event-store backend: the chDB directory is scanned like the SQLite files."""
    data = tmp_path_factory.mktemp("privacy") / "data"
    store = store_url(request.param, data)
    add_site(data)
    server = start_server(data, "--trusted-proxies", "127.0.0.1/32", "--log-level", "debug", "--store", store)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            for ip in PRIVATE_IPS:
                headers = {"User-Agent": PROBE_UA, "X-Forwarded-For": ip, "Referer": f"https://{SITE}/"}
                for path in ("/", "/about", "/pricing"):
                    r = c.post("/api/event", json=event(path, r="https://news.example.com/"), headers=headers)
                    assert r.status_code == 202 and DROPPED not in r.headers
                c.post("/api/event", json=event("/", "engagement", sd=40, e=5000), headers=headers)
                c.post("/api/event", json=event("/", "Signup", p={"plan": "pro"}), headers=headers)
                # Error paths and drops, which must not log the request either.
                assert c.post("/api/event", content=b"not json", headers=headers).status_code == 400
                assert c.post("/api/event", json=event("/", d="unknown.example.net"), headers=headers).status_code == 400
                assert c.post("/api/event", json=event("/"), headers={**headers, "Sec-GPC": "1"}).headers[DROPPED] == "1"
                assert c.get("/no-such-page", headers=headers).status_code == 404
                c.get("/js/script.js", headers=headers)
                c.get("/api/health", headers=headers)
    finally:
        rc = server.stop()
        server.proc.stdout and server.proc.stdout.close()
    assert rc == 0
    assert len(stored_paths(data, store)) == 2 * 5
    yield server


@pytest.mark.server
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_log_line_carries_ip_or_user_agent(private_traffic: LiveServer) -> None:
    log = private_traffic.log.read_text()
    assert "serving on" in log  # the log was captured
    for ip in PRIVATE_IPS:
        assert ip not in log
    assert PROBE_UA not in log and "Zq7Canary" not in log
    assert "POST /api/event" not in log and "GET /js/script.js" not in log  # no access log at all
    assert "Traceback" not in log


@pytest.mark.server
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_ip_or_user_agent_anywhere_in_the_data_dir(private_traffic: LiveServer) -> None:
    files = files_under(private_traffic.data_dir, private_traffic.log)
    names = {p.name for p in files}
    assert "accounts.db" in names, names
    chdb = private_traffic.data_dir / "chdb"
    events = files_under(chdb) if chdb.is_dir() else [private_traffic.data_dir / "analytics.db"]
    assert chdb.is_dir() or "analytics.db" in names, names
    needles = [b for ip in PRIVATE_IPS for b in ip_forms(ip)]
    needles += [PROBE_UA.encode(), b"Zq7Canary", PROBE_UA.encode("utf-16-le")]
    assert find(needles, files) == []
    # Nor the salts: the event store never sees them (they live in accounts.db only).
    with contextlib.closing(sqlite3.connect(private_traffic.data_dir / "accounts.db")) as conn:
        salts = [bytes(r[0]) for r in conn.execute("SELECT salt FROM salts")]
    assert salts and find(salts, events) == []
    # The scan is able to find things: the stored page path is there (in chDB's column files too).
    assert find([b"/pricing"], events) != [], [(p.name, p.stat().st_size) for p in files]


def _db_files(data: Path) -> list[Path]:
    """Both databases with their WAL and shared-memory files: salts live in accounts.db."""
    names = [f"{db}{suffix}" for db in ("analytics.db", "accounts.db") for suffix in ("", "-wal", "-shm")]
    return [data / n for n in names if (data / n).exists()]


async def test_expired_salts_are_unrecoverable_from_file_bytes(instance: Instance, site: Any) -> None:
    """Salts over four UTC days: each one older than yesterday is gone from the db and WAL bytes."""
    seen: dict[int, bytes] = {}
    day0 = int(instance.clock.now() // 86400)
    for offset in range(4):
        if offset:
            instance.clock.set(datetime.fromtimestamp((day0 + offset) * 86400, UTC) + timedelta(minutes=30))
        for i in range(3):
            r = await instance.send(event(f"/day{offset}/{i}"), ip=f"198.51.100.{10 + i}")
            assert r.status_code == 202 and DROPPED not in r.headers
        rows = await instance.accounts.db.fetchall("SELECT day, salt FROM salts ORDER BY day")
        today = day0 + offset
        assert [d for d, _ in rows] == ([today - 1, today] if offset else [today])
        seen.update({d: bytes(s) for d, s in rows})
        await instance.accounts.salts.settled()  # the WAL copies go off the beacon's path

        files = _db_files(instance.data_dir)
        live = {d: s for d, s in seen.items() if d >= today - 1}
        expired = {d: s for d, s in seen.items() if d < today - 1}
        assert all(len(s) == 16 for s in seen.values())
        # The scan finds what is there (live salts, in the db or the WAL) ...
        for s in live.values():
            assert find([s], files), "a live salt should be readable in the files"
        # ... and finds no trace of what was destroyed.
        assert find(list(expired.values()), files) == [], f"expired salts recoverable on day +{offset}"
    assert len(seen) == 4
