"""`--store clickhouse://` over real HTTP: collectors as real uvicorn processes, ClickHouse's HTTP interface
served by the real engine (chDB) behind `tests/clickhouse_http.py`, all on loopback.

Issue 12, points 1, 3 and 4: the HTTP transport counts exactly as SQLite does; a wrong
password stops the start with exit code 2; two collectors on one server count exactly;
a server that goes away gives 503s (ingest with Retry-After) while the collector stays up,
and once it is back nothing acknowledged is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_http import ClickHouseProcess
from conftest import CHROME_UA, LiveServer, cli
from server_support import DROPPED, SITE, Loader, children, event
from test_server import EXPECTED_PAGES, EXPECTED_TOTALS, SCRIPT, play_script
from web_support import token_of

OWNER, PASSWORD = "owner@example.org", "correct horse battery"
pytestmark = [
    pytest.mark.server,
    # conftest.start_server leaves its log file object to the garbage collector
    pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
def clickhouse(tmp_path: Path) -> Iterator[ClickHouseProcess]:
    server = ClickHouseProcess(tmp_path / "clickhouse").start()
    yield server
    server.stop()


def collector_dir(path: Path) -> tuple[Path, str]:
    """A data dir with the site, its owner and an API key (accounts stay in SQLite on every store)."""
    cli("sites", "add", SITE, "--timezone", "Europe/Zurich", data_dir=path)
    cli("users", "add", OWNER, "--password-stdin", input=PASSWORD + "\n", data_dir=path)
    return path, cli("keys", "add", OWNER, data_dir=path).stdout.strip()


def query(
    server: LiveServer, key: str, metrics: list[str], dimensions: list[str] | None = None, filters: list[Any] | None = None
) -> httpx.Response:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "site_id": SITE,
        "metrics": metrics,
        "date_range": [str((now - timedelta(days=1)).date()), str((now + timedelta(days=1)).date())],
        "dimensions": dimensions or [],
    }
    if filters:
        body["filters"] = filters
    return httpx.post(f"{server.url}/api/v2/query", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def results(
    server: LiveServer, key: str, metrics: list[str], dimensions: list[str] | None = None, filters: list[Any] | None = None
) -> Any:
    r = query(server, key, metrics, dimensions, filters)
    assert r.status_code == 200, r.text
    return sorted((row["dimensions"], row["metrics"]) for row in r.json()["results"])


TOTALS = ["visitors", "visits", "pageviews", "bounce_rate"]
# A filter every event passes: the same question answered from raw events instead of rollups.
EVERYTHING = ["is_not", "event:page", ["/no-such-page"]]


# -- 1. the HTTP path counts as SQLite does ----------------------------------------------------


def test_events_over_http_count_exactly_as_on_sqlite(
    tmp_path: Path, clickhouse: ClickHouseProcess, live_server_factory: Any
) -> None:
    ch_dir, ch_key = collector_dir(tmp_path / "ch" / "data")
    lite_dir, lite_key = collector_dir(tmp_path / "lite" / "data")
    proxies = ("--trusted-proxies", "127.0.0.1/32")
    on_ch: LiveServer = live_server_factory(*proxies, "--store", clickhouse.url(), data_dir=ch_dir)
    on_lite: LiveServer = live_server_factory(*proxies, data_dir=lite_dir)
    play_script([on_ch, on_lite])

    expected_totals = [([], [EXPECTED_TOTALS[m] for m in TOTALS])]
    expected_pages = sorted(([page], list(values)) for page, values in EXPECTED_PAGES.items())
    for server, key in ((on_ch, ch_key), (on_lite, lite_key)):
        assert results(server, key, TOTALS) == expected_totals, server.data_dir
        assert results(server, key, ["visitors", "pageviews"], ["event:page"]) == expected_pages
    # Views per visit, scroll depth and a goal: the same numbers as on SQLite, whatever they are. (Not
    # the duration: each server stamps events with its own clock as they arrive, a few ms apart, so a
    # mean of about half a second rounds either way; the frozen-clock suites compare it exactly.)
    for metrics, dims in ((["views_per_visit"], []), (["scroll_depth"], ["event:page"]),
                          (["visitors", "events"], ["event:goal"])):  # fmt: skip
        assert results(on_ch, ch_key, metrics, dims) == results(on_lite, lite_key, metrics, dims), metrics
    assert on_ch.stop() == 0
    assert "Traceback" not in on_ch.log.read_text()


def test_a_wrong_password_stops_the_start_with_exit_2(tmp_path: Path, clickhouse: ClickHouseProcess) -> None:
    data = tmp_path / "data"
    proc = cli("serve", "--store", clickhouse.url(password="not-the-pw"), data_dir=data, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "not-the-pw" not in proc.stderr
    assert f"database 'clickhouse://analytics@127.0.0.1:{clickhouse.port}/analytics' is not usable: " in proc.stderr
    assert "Authentication failed" in proc.stderr


# -- 3. the server goes away while the collector runs ---------------------------------------


def server_rows(clickhouse: ClickHouseProcess, sql: str) -> list[Any]:
    """The rows of `sql`, read over HTTP from the server itself (not through the collector)."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=clickhouse.port, username=clickhouse.user, password=clickhouse.password,
        database="analytics",
    )  # fmt: skip
    try:
        return list(client.query(sql).result_rows)
    finally:
        client.close()


def stored_pages(clickhouse: ClickHouseProcess) -> list[str]:
    """Every stored event's page."""
    return [str(r[0]) for r in server_rows(clickhouse, "SELECT page FROM events")]


def test_a_server_that_goes_away_gives_503s_and_loses_nothing_acknowledged(
    tmp_path: Path, clickhouse: ClickHouseProcess, live_server_factory: Any
) -> None:
    data, key = collector_dir(tmp_path / "data")
    server: LiveServer = live_server_factory("--store", clickhouse.url(), data_dir=data)
    loader = Loader(server.url, clients=4, prefix="/before").start()
    try:
        loader.wait_for(300, timeout=20)
        clickhouse.kill()  # mid-load: batches in flight fail
        before_outage = set(loader.accepted)
        time.sleep(1)
    finally:
        loader.stop()
    accepted = set(loader.accepted)
    assert len(before_outage) >= 100, loader.statuses
    assert loader.statuses.get(503, 0) > 0, loader.statuses  # the load ran into the outage
    assert set(loader.statuses) <= {202, 503}, loader.statuses  # never a 500

    # While it is gone: ingest 503 with Retry-After and a JSON message, the API and the dashboard a clear 503.
    start = time.monotonic()
    r = httpx.post(f"{server.url}/api/event", json=event("/during"), headers={"User-Agent": CHROME_UA}, timeout=30)
    assert (r.status_code, r.json()) == (503, {"error": "The event could not be stored; retry later"})
    assert r.headers["retry-after"] == "5"  # the store's own advice (StoreUnavailable), not the queue's 1 s
    r = query(server, key, ["visitors"])
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"].startswith("The event store is unavailable (")
    with httpx.Client(base_url=server.url, timeout=30) as web:
        token = token_of(web.get("/login").text)
        r = web.post("/login", data={"email": OWNER, "password": PASSWORD, "csrf": token})
        assert r.status_code == 303, r.text[:300]  # accounts are SQLite: signing in still works
        r = web.get(f"/sites/{SITE}")
    assert r.status_code == 503 and "text/html" in r.headers["content-type"]
    assert "The event store is unavailable (" in r.text and "Traceback" not in r.text
    assert time.monotonic() - start < 10  # answered at once, not after a network timeout
    assert server.proc.poll() is None and httpx.get(f"{server.url}/api/health", timeout=5).status_code == 200

    # Back on the same directory and port: ingest works again without restarting the collector.
    clickhouse.start()
    deadline = time.monotonic() + 20
    while True:
        r = httpx.post(f"{server.url}/api/event", json=event("/after"), headers={"User-Agent": CHROME_UA}, timeout=30)
        if r.status_code == 202 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 202 and DROPPED not in r.headers, r.text
    counted = results(server, key, ["pageviews"], filters=[EVERYTHING])  # the raw events, as the API counts them
    assert server.stop() == 0
    log = server.log.read_text()
    assert "Traceback" not in log and "s3cret-pw" not in log

    pages = stored_pages(clickhouse)
    missing = accepted - set(pages)
    assert not missing, f"{len(missing)} events answered 202 but not stored, e.g. {sorted(missing)[:5]}"
    assert set(pages) <= {*loader.attempted, "/after"}  # nothing invented
    assert len(pages) == len(set(pages))  # nothing doubled
    assert counted == [([], [len(pages)])]
    print(f"outage: {len(accepted)} accepted, {len(pages)} stored, {loader.statuses}")


# -- 2. several collectors, one server ---------------------------------------------------------


def alternate(servers: list[LiveServer]) -> None:
    """Play test_server's SCRIPT with each visitor's events alternating between the collectors."""
    steps = max(len(events) for _, events in SCRIPT)
    for step in range(steps):
        for n, (ip, events) in enumerate(SCRIPT):
            if step >= len(events):
                continue
            name, path, extra = events[step]
            server = servers[(step + n) % len(servers)]
            r = httpx.post(
                f"{server.url}/api/event",
                json=event(path, name, **extra),
                headers={"User-Agent": CHROME_UA, "X-Forwarded-For": ip, "Content-Type": "text/plain"},
                timeout=10,
            )
            assert r.status_code == 202 and DROPPED not in r.headers, (server.port, name, path, r.status_code, r.text)


def visit_ids_per_visitor(clickhouse: ClickHouseProcess) -> list[int]:
    """How many visit ids each visitor's events carry (one each when no visit was split)."""
    rows = server_rows(clickhouse, "SELECT uniqExact(session_id) FROM events GROUP BY visitor_id")
    return sorted(int(r[0]) for r in rows)



@pytest.mark.parametrize("layout", ["two serve processes", "--workers 2"])
def test_two_collectors_on_one_server_count_exactly(
    tmp_path: Path, clickhouse: ClickHouseProcess, live_server_factory: Any, layout: str
) -> None:
    """Two `serve` processes share one ClickHouse server (and one accounts.db, so one salt), and each
    visitor's events alternate between them: visits, bounces and visitors are exact on both.
    With `--workers 2` the kernel hands each new connection to either worker."""
    data, key = collector_dir(tmp_path / "data")
    options = ("--trusted-proxies", "127.0.0.1/32", "--store", clickhouse.url())
    if layout == "--workers 2":
        collectors = [live_server_factory(*options, "--workers", "2", data_dir=data)]
        assert len(children(collectors[0].proc.pid)) >= 2
    else:
        collectors = [live_server_factory(*options, data_dir=data) for _ in range(2)]
    alternate(collectors)
    assert visit_ids_per_visitor(clickhouse) == [1] * len(SCRIPT)

    expected_totals = [([], [EXPECTED_TOTALS[m] for m in TOTALS])]
    expected_pages = sorted(([page], list(values)) for page, values in EXPECTED_PAGES.items())
    for server in collectors:  # either collector answers, from rollups and from raw events alike
        for filters in ([], [EVERYTHING]):
            assert results(server, key, TOTALS, filters=filters) == expected_totals, (server.port, filters)
            assert results(server, key, ["visitors", "pageviews"], ["event:page"], filters) == expected_pages
        durations = [results(server, key, ["visit_duration"], filters=f) for f in ([], [EVERYTHING])]
        assert durations[0] == durations[1]
    for server in collectors:
        assert server.stop() == 0
        assert "Traceback" not in server.log.read_text()


def test_a_server_that_hangs_gives_503s_within_the_query_budget(
    tmp_path: Path, clickhouse: ClickHouseProcess, live_server_factory: Any
) -> None:
    """A server that takes connections but never answers (SIGSTOP: hung, or cut off behind a proxy) holds no
    request longer than the query budget plus a margin; once it answers again, so does the collector."""
    data, key = collector_dir(tmp_path / "data")
    server: LiveServer = live_server_factory("--store", clickhouse.url(), "--query-timeout", "1", data_dir=data)
    headers = {"User-Agent": CHROME_UA}
    r = httpx.post(f"{server.url}/api/event", json=event("/before"), headers=headers, timeout=30)
    assert r.status_code == 202 and DROPPED not in r.headers
    clickhouse.pause()
    try:
        start = time.monotonic()
        r = httpx.post(f"{server.url}/api/event", json=event("/during"), headers=headers, timeout=60)
        assert (r.status_code, r.json()) == (503, {"error": "The event could not be stored; retry later"})
        assert r.headers["retry-after"] == "5"
        r = query(server, key, ["visitors"])
        assert r.status_code == 503 and r.json()["error"].startswith("The event store is unavailable ("), r.text
        elapsed = time.monotonic() - start
        assert elapsed < 20, elapsed  # two calls, each at most the 1 s budget + the 5 s margin (plus a retry)
        assert httpx.get(f"{server.url}/api/health", timeout=5).status_code == 200
    finally:
        clickhouse.resume()
    deadline = time.monotonic() + 20
    while True:
        r = httpx.post(f"{server.url}/api/event", json=event("/after"), headers=headers, timeout=30)
        if r.status_code == 202 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 202 and DROPPED not in r.headers, r.text
    assert results(server, key, ["pageviews"], ["event:page"]) != []
    assert server.stop() == 0
    pages = stored_pages(clickhouse)
    assert {"/before", "/after"} <= set(pages) <= {"/before", "/during", "/after"}
