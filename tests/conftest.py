"""Shared fixtures: real SQLite files, the in-process ASGI app, and real uvicorn processes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from analytics.accounts import Accounts
from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
ARTIFACTS = Path(os.environ.get("ANALYTICS_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))


CHROMIUM = "/usr/bin/chromium"  # the OS package; Playwright never downloads a browser here
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


def launch_chromium(playwright: Any, *extra_args: str) -> Any:
    """Headless Chromium from the OS. Missing is a failure, never a skip."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (tests/run.sh does)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (a module that needs other launch flags defines its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    """An app with its lifespan running, a frozen clock and real SQLite files."""

    app: Any
    clock: FrozenClock
    data_dir: Path

    @property
    def store(self) -> Any:
        return self.app.state.store

    @property
    def accounts(self) -> Accounts:
        accounts: Accounts = self.app.state.accounts
        return accounts

    def client(self, ip: str = "203.0.113.7") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def send(
        self, body: dict[str, Any], ip: str = "203.0.113.7", ua: str = CHROME_UA, **headers: str
    ) -> httpx.Response:
        async with self.client(ip) as c:
            return await c.post("/api/event", json=body, headers={"User-Agent": ua, **headers})


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[Instance]:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = create_app(Settings(data_dir=str(tmp_path / "data"), batch_ms=0.5), clock)
    async with app.router.lifespan_context(app):
        yield Instance(app, clock, tmp_path / "data")


# The event-store backends the shared suites run on: the same tests, identical expected numbers.
BACKENDS = ("sqlite", "chdb")


def store_url(backend: str, data_dir: Path) -> str:
    """The `store` setting for `backend` with its files under `data_dir` (chDB in data_dir/chdb)."""
    return "sqlite" if backend == "sqlite" else f"chdb://{data_dir / 'chdb'}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: a test using it (or `any_instance`) runs once per backend."""
    return str(request.param)


@pytest.fixture
async def any_instance(tmp_path: Path, backend: str) -> AsyncIterator[Instance]:
    """Like `instance`, on each event-store backend in turn."""
    data_dir = tmp_path / "data"
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = create_app(Settings(data_dir=str(data_dir), store=store_url(backend, data_dir), batch_ms=0.5), clock)
    async with app.router.lifespan_context(app):
        yield Instance(app, clock, data_dir)


@pytest.fixture
async def site(instance: Instance) -> Any:
    return await instance.accounts.sites.add("blog.example.org", "Europe/Zurich")


def cli(
    *args: str, data_dir: Path | None = None, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real `analytics` CLI in a subprocess."""
    cmd = [sys.executable, "-m", "analytics", *args]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}): {proc.stderr}")
    return proc


async def acli(
    *args: str, data_dir: Path | None = None, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`cli` from an async test whose app is running: in a thread, so the app's event loop
    keeps going (a loop blocked mid-transaction would hold a write lock the CLI waits for)."""
    return await asyncio.to_thread(cli, *args, data_dir=data_dir, input=input, check=check)


@dataclass
class LiveServer:
    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int | None = None) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


def start_server(data_dir: Path, *extra: str, port: int | None = None, env: dict[str, str] | None = None) -> LiveServer:
    """Start `analytics serve` as a real uvicorn process on loopback and wait until it answers."""
    port = port or free_port()
    log = data_dir.parent / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "analytics", "serve", "--data-dir", str(data_dir), "--port", str(port), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return LiveServer(proc, port, data_dir, log)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()}")


@pytest.fixture
def live_server_factory(tmp_path: Path) -> Iterator[Any]:
    """Start real servers; each is stopped (by its own PID) at the end of the test."""
    servers: list[LiveServer] = []

    def factory(*extra: str, data_dir: Path | None = None, **kw: Any) -> LiveServer:
        server = start_server(data_dir or tmp_path / "data", *extra, **kw)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def demo_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The requesting module's demo site in a real SQLite file: 6,000 events over 20 days up to its
    `NOW`, for its `DOMAIN`, from its `DEMO_SEED`."""
    from analytics.devtools import demo

    module = request.module
    db = tmp_path_factory.mktemp(module.DOMAIN) / "analytics.db"
    demo.generate(db, module.DOMAIN, 6000, 20, seed=module.DEMO_SEED, now=module.NOW.timestamp(), progress=False)
    return db


@pytest.fixture
async def demo_store(request: pytest.FixtureRequest, demo_file: Path) -> AsyncIterator[tuple[Any, Any]]:
    """An SQLite store on `demo_file` and the module's demo site."""
    from analytics.store.sqlite.store import SQLiteStore

    async with Accounts.in_dir(demo_file.parent) as accounts:
        site = await accounts.sites.get(request.module.DOMAIN)
    s = SQLiteStore(demo_file)
    await s.open()
    yield s, site
    await s.close()
