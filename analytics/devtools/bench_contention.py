"""`analytics bench`, contention: beacon latency while a large import and four exports run.

Heavy work must not stall ingest (issue 15): a 1M-row CSV import once held the
single writer for 25 s, and four 20-year exports slowed beacons to 30 s. This
section measures it against a real `analytics serve` on loopback:

1. a data dir with an export site full of demo traffic over ten years, an empty
   import site, and a third site the beacons go to;
2. the beacon's latency alone (the baseline), one beacon every 20 ms on one
   keep-alive connection;
3. the same beacons while the import site uploads a `imported_pages.csv` of
   `rows` rows through the settings form and four 20-year exports of the export
   site download through the dashboard (two at a time: the others wait for a slot,
   or come back after a 429);
4. p50, p99 and the worst beacon in both phases, their ratio, and the target
   (p99 under load <= 100 ms).

Module-level imports are the standard library's only, like the rest of the bench.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path
from statistics import quantiles
from typing import Any

EXPORT_SITE, IMPORT_SITE, BEACON_SITE = "bench.example", "import.example", "beacons.example"
EMAIL, PASSWORD = "bench@example.org", "bench password 2026"
TARGET_P99_MS = 100.0
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def import_zip(path: Path, rows: int) -> Path:
    """A Plausible-layout zip whose `imported_pages.csv` has `rows` daily rows over about 20 years."""
    pages = max(1, rows // 7300)
    first = date(2006, 1, 1)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("imported_pages.csv", "w", force_zip64=True) as out:
            out.write(b"date,hostname,page,visits,visitors,pageviews,total_scroll_depth,"
                      b"total_scroll_depth_visits,total_time_on_page,total_time_on_page_visits\r\n")  # fmt: skip
            lines = []
            for i in range(rows):
                day = (first + timedelta(days=i // pages)).isoformat()
                lines.append(f"{day},{IMPORT_SITE},/post/{i % pages},3,2,4,120,2,90,2\r\n")
                if len(lines) >= 10000:
                    out.write("".join(lines).encode())
                    lines = []
            out.write("".join(lines).encode())
    return path


def _prepare(data: Path, export_events: int) -> None:
    from analytics.accounts import Accounts
    from analytics.devtools import demo

    demo.generate(data / "analytics.db", EXPORT_SITE, export_events, 3650, seed=3, progress=False)

    async def accounts() -> None:
        async with Accounts.in_dir(data) as acc:
            user = await acc.users.add(EMAIL, PASSWORD)
            for domain in (EXPORT_SITE, IMPORT_SITE, BEACON_SITE):
                site = await acc.sites.by_domain(domain) or await acc.sites.add(domain, "UTC")
                await acc.users.set_role(site.id, user.id, "owner")

    asyncio.run(accounts())


class _Beacons(threading.Thread):
    """One beacon every `every` seconds on a keep-alive connection, each one's latency recorded."""

    def __init__(self, port: int, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.port, self.every = port, every
        self.latencies: list[float] = []
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        i = 0
        while not self.stop.is_set():
            i += 1
            body = json.dumps({"n": "pageview", "u": f"https://{BEACON_SITE}/p{i % 50}", "d": BEACON_SITE})
            headers = {"Content-Type": "text/plain", "User-Agent": _UA,
                       "X-Forwarded-For": f"198.51.{i // 250 % 250}.{i % 250 + 1}"}  # fmt: skip
            began = time.perf_counter()
            try:
                conn.request("POST", "/api/event", body, headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 202
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            spent = time.perf_counter() - began
            self.latencies.append(spent)
            self.failures += not ok
            time.sleep(max(0.0, self.every - spent))
        conn.close()


def _figures(latencies: list[float]) -> dict[str, Any]:
    if len(latencies) < 2:
        return {"beacons": len(latencies)}
    cuts = quantiles(latencies, n=100, method="inclusive")
    return {"beacons": len(latencies), "p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2),
            "max_ms": round(max(latencies) * 1000, 2)}  # fmt: skip


def _signed_in(base: str) -> Any:
    import httpx

    client = httpx.Client(base_url=base, timeout=600)
    token = _CSRF.search(client.get("/login").text)
    r = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf": token.group(1) if token else ""})
    if r.status_code != 303:
        raise RuntimeError(f"bench sign-in failed: {r.status_code}")
    return client


def _guarded(fn: Any, out: dict[str, Any], *args: Any) -> None:
    """Run a load thread's work; a failure is a figure (`status`), not a traceback on stderr."""
    try:
        fn(*args, out)
    except Exception as exc:
        out["status"] = f"failed: {type(exc).__name__}: {exc}"


def _upload(base: str, archive: Path, out: dict[str, Any]) -> None:
    client = _signed_in(base)
    try:
        token = _CSRF.search(client.get(f"/sites/{IMPORT_SITE}/settings").text)
        began = time.perf_counter()
        with open(archive, "rb") as fp:
            r = client.post(f"/sites/{IMPORT_SITE}/imports", data={"csrf": token.group(1) if token else ""},
                            files={"file": ("history.zip", fp, "application/zip")})  # fmt: skip
        out.update(status=r.status_code, seconds=round(time.perf_counter() - began, 2))
    finally:
        client.close()


def _export(base: str, out: dict[str, Any]) -> None:
    client = _signed_in(base)
    try:
        began, refused, size = time.perf_counter(), 0, 0
        while True:
            with client.stream("GET", f"/sites/{EXPORT_SITE}/export?period=custom&from=2007-01-01&to=2026-12-31") as r:
                if r.status_code == 429:  # both slots taken for the whole wait: come back soon
                    refused += 1
                    time.sleep(1)
                    continue
                size = sum(len(chunk) for chunk in r.iter_bytes())
                out.update(status=r.status_code, seconds=round(time.perf_counter() - began, 2), bytes=size,
                           refused_429=refused)  # fmt: skip
                return
    finally:
        client.close()


def run(
    work: Path,
    *,
    import_rows: int = 1_000_000,
    export_events: int = 200_000,
    exports: int = 4,
    baseline_s: float = 3.0,
) -> dict[str, Any]:
    """The contention figures (see the module docstring) for a server started in `work`."""
    data = work / "contention"
    data.mkdir(parents=True, exist_ok=True)
    _prepare(data, export_events)
    archive = import_zip(work / "contention-import.zip", import_rows)
    port = _port()
    log = open(work / "contention-serve.log", "wb")
    cmd = [sys.executable, "-m", "analytics", "serve", "--data-dir", str(data), "--port", str(port),
           "--trusted-proxies", "127.0.0.1/32", "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # until the app has started (its store open), not just the socket
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the contention server did not start")
            time.sleep(0.1)
        warm = _Beacons(port)  # the first beacons load the country database and warm the caches
        warm.start()
        time.sleep(1.0)
        warm.stop.set()
        warm.join()
        idle = _Beacons(port)
        idle.start()
        time.sleep(baseline_s)
        idle.stop.set()
        idle.join()

        loaded = _Beacons(port)
        loaded.start()
        upload: dict[str, Any] = {}
        downloads: list[dict[str, Any]] = [{} for _ in range(exports)]
        workers = [threading.Thread(target=_guarded, args=(_upload, upload, base, archive))] if import_rows else []
        workers += [threading.Thread(target=_guarded, args=(_export, out, base)) for out in downloads]
        began = time.perf_counter()
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=1800)
        loaded.stop.set()
        loaded.join()
        busy_s = round(time.perf_counter() - began, 2)
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
    alone, under = _figures(idle.latencies), _figures(loaded.latencies)
    p99 = under.get("p99_ms")
    return {
        "import_rows": import_rows,
        "export_events": export_events,
        "baseline": {**alone, "failures": idle.failures},
        "under_load": {**under, "failures": loaded.failures, "seconds": busy_s},
        "p99_ratio": round(p99 / alone["p99_ms"], 2) if p99 and alone.get("p99_ms") else None,
        "import": upload,
        "exports": downloads,
        "target": f"beacon p99 <= {TARGET_P99_MS:g} ms under load",
        "met": None if p99 is None else p99 <= TARGET_P99_MS,
    }


def lines(result: dict[str, Any]) -> list[str]:
    """The section's lines for `bench.table`."""
    if "baseline" not in result:
        return [f"contention {result.get('status', 'not run')}"]
    b, u, imp = result["baseline"], result["under_load"], result["import"]
    took = ", ".join(f"{e.get('seconds')} s" for e in result["exports"])
    return [
        f"contention beacon p50/p99/max {b.get('p50_ms')}/{b.get('p99_ms')}/{b.get('max_ms')} ms alone;"
        f" {u.get('p50_ms')}/{u.get('p99_ms')}/{u.get('max_ms')} ms during a {result['import_rows']:,}-row import"
        f" ({imp.get('seconds')} s, status {imp.get('status')}) and four exports ({took})",
        f"  p99 ratio {result['p99_ratio']}x, failures {u.get('failures')}, target {result['target']}:"
        f" {'met' if result['met'] else 'MISSED'}",
    ]
