"""Helpers for tests that drive real `analytics serve` processes (tests/test_server.py)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from analytics.accounts import Accounts
from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.store.sqlite.store import SQLiteStore

SITE = "blog.example.org"
DROPPED = "x-analytics-dropped"
# A real browser UA with a marker no library would ever produce: easy to find in bytes.
PROBE_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15 Zq7Canary/4.2"
)


def event(path: str, name: str = "pageview", **extra: Any) -> dict[str, Any]:
    return {"n": name, "u": f"https://{SITE}{path}", "d": SITE, **extra}


_CHDB_PATHS = (
    "import json, sys, clickhouse_connect\n"
    "c = clickhouse_connect.get_client(dsn='chdb://' + sys.argv[1])\n"
    "print(json.dumps([r[0] for r in c.query('SELECT page FROM events').result_rows]))\n"
    "c.close()\n"
)


def stored_paths(data_dir: Path, store: str = "sqlite") -> list[str]:
    """Page paths of every committed event, read straight from the SQLite file or the chDB directory.

    chDB is read in a child process: the engine allows one directory per process, and the test
    process must not hold this one (nor be held to it) when a server opens it next.
    """
    if store.startswith("chdb://"):
        proc = subprocess.run(
            [sys.executable, "-c", _CHDB_PATHS, store.removeprefix("chdb://")],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return list(json.loads(proc.stdout))
    # closing(): a sqlite3 connection left to the garbage collector would keep the WAL alive.
    with contextlib.closing(sqlite3.connect(data_dir / "analytics.db", timeout=15)) as conn:
        rows = conn.execute("SELECT s.value FROM events e JOIN strings s ON s.id = e.page").fetchall()
    return [r[0] for r in rows]


class Loader:
    """Client threads posting events with distinct paths; records which got a counted 202."""

    def __init__(self, url: str, clients: int, prefix: str = "/load") -> None:
        self.url = url
        self.clients = clients
        self.prefix = prefix
        self.accepted: list[str] = []
        self.attempted: list[str] = []
        self.errors = 0
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]

    def _run(self, n: int) -> None:
        i = 0
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while not self._stop.is_set():
                path = f"{self.prefix}/{n}/{i}"
                i += 1
                with self._lock:
                    self.attempted.append(path)
                try:
                    r = client.post(
                        "/api/event",
                        json=event(path),
                        headers={"User-Agent": PROBE_UA, "Content-Type": "text/plain", "X-Forwarded-For": f"198.51.100.{n}"},
                    )
                except httpx.HTTPError:
                    with self._lock:
                        self.errors += 1
                    if self._stop.wait(0.02):
                        return
                    continue
                with self._lock:
                    self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
                    if r.status_code == 202 and DROPPED not in r.headers:
                        self.accepted.append(path)

    def start(self) -> Loader:
        for t in self._threads:
            t.start()
        return self

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def wait_for(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self._threads), "a client thread hung"


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (uvicorn's worker processes)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; fields follow the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


async def stats(data_dir: Path, metrics: list[str], dimensions: list[str] | None = None, force_raw: bool = False) -> list[Any]:
    """Run the stats pipeline on a data dir for yesterday..tomorrow (site time zone)."""
    async with Accounts.in_dir(data_dir) as accounts:
        site = await accounts.sites.get(SITE)
    store = SQLiteStore(data_dir / "analytics.db", readers=1)
    await store.open()
    try:
        now = datetime.now(UTC)
        body = {
            "site_id": SITE,
            "metrics": metrics,
            "date_range": [str((now - timedelta(days=1)).date()), str((now + timedelta(days=1)).date())],
            "dimensions": dimensions or [],
        }
        query = parse(body, site, now)
        result = await stats_run.run(store, query, raw=force_raw)
        return sorted(result.rows)
    finally:
        await store.close()


def ip_forms(ip: str) -> list[bytes]:
    """Every way an address could sit in a file: text, expanded text and packed bytes."""
    addr = ipaddress.ip_address(ip)
    forms = {str(addr).encode(), addr.exploded.encode(), addr.packed}
    if addr.version == 6:
        forms.add(addr.exploded.replace(":", "").encode())
    return sorted(forms)


def files_under(*roots: Path) -> list[Path]:
    out = []
    for root in roots:
        if root.is_file():
            out.append(root)
        elif root.is_dir():
            out.extend(p for p in root.rglob("*") if p.is_file())
    return out


def find(needles: Iterable[bytes], files: Iterable[Path]) -> list[tuple[str, bytes]]:
    """(file, needle) for each needle found in each file's bytes."""
    hits = []
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            if needle in data:
                hits.append((path.name, needle))
    return hits
