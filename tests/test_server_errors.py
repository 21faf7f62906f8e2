"""No 500s, out of process: the CLI exits 2 on a range it cannot export, and a real uvicorn keeps a
keep-alive connection working after an error while its log holds no request values.
"""

from __future__ import annotations

import json
import logging
import resource
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import cli, free_port
from starlette.requests import Request
from starlette.routing import Route
from web_support import start_threaded

from analytics.app import create_app
from analytics.config import Settings

SITE = "blog.example.org"


def test_cli_export_past_2107_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli("sites", "add", SITE, data_dir=data)
    out = tmp_path / "x.zip"
    proc = cli("export", SITE, "--from", "2108-01-01", "--to", "2108-01-02", "-o", str(out), data_dir=data, check=False)
    assert (proc.returncode, proc.stderr.strip().splitlines()[-1]) == (
        2,
        "Error: a zip export can only hold days up to 2107-12-31; choose an earlier range (or NDJSON)",
    )
    assert not out.exists() and not Path(str(out) + ".part").exists()
    proc = cli("export", SITE, "--from", "0001-01-01", "--to", "0001-01-02", "-o", str(out), data_dir=data, check=False)
    assert (proc.returncode, proc.stderr.strip().splitlines()[-1]) == (
        2,
        "Error: export range 0001-01-01..0001-01-02: dates must lie between 1970-01-01 and 9998-12-31",
    )
    proc = cli("export", SITE, "--from", "2108-01-01", "--to", "2108-01-02", "--format", "ndjson", "-o", "-",
               data_dir=data)  # fmt: skip
    assert proc.stdout == ""


# -- a real server: the connection survives an error, and its log holds no request values -----------


def _exchange(sock: Any, request: bytes) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request on an open socket and read exactly its response (Content-Length framed)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(v) for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "content-length")
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    assert len(body) == length
    return int(lines[0].split()[1]), body


def test_keep_alive_connection_survives_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def boom(request: Request) -> Any:
        raise ValueError(f"attacker text {request.query_params.get('q')}")

    app = create_app(Settings(data_dir=str(tmp_path / "data"), batch_ms=0.5))
    app.router.routes.append(Route("/boom/{token}", boom))  # an unhandled error, as a bug would raise
    server = start_threaded(app, free_port())
    try:
        bad = json.dumps({"site_id": SITE, "metrics": ["visitors"], "date_range": ["0001-01-01", "0001-01-02"]})
        with caplog.at_level(logging.DEBUG), socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            status, body = _exchange(sock, b"GET /boom/t0k3n?q=s3cr3t HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (status, body) == (500, b'{"error":"Internal error"}')
            status, body = _exchange(
                sock,
                b"POST /api/v2/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(bad)}\r\n\r\n{bad}".encode(),
            )
            assert status == 401  # no key: refused before the body's dates are read, on the same connection
            status, body = _exchange(sock, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (status, body) == (200, b'{"status":"ok"}')
    finally:
        server.stop()
    logged = "\n".join(r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
                       for r in caplog.records)  # fmt: skip
    assert "unhandled ValueError on GET /boom/{token}" in logged
    assert "s3cr3t" not in logged and "t0k3n" not in logged and "attacker text" not in logged


# -- a full disk: 503 on every route that writes, on a real server ---------------------------------


@pytest.mark.server
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_full_disk_gets_503_everywhere_and_the_connection_stays_usable(tmp_path: Path, live_server_factory: Any) -> None:
    """The server's files may not grow (RLIMIT_FSIZE set on the running process, as a full disk would
    refuse their growth): sign-in page, Stats API (its rate-limit write), ingest and sign-in post all
    answer 503 with Retry-After, JSON for the API and a page for the dashboard, on one keep-alive
    connection; the log names only the route. Once there is room again, everything works."""
    data = tmp_path / "data"
    cli("sites", "add", SITE, data_dir=data)
    cli("users", "add", "owner@example.org", "--password-stdin", input="correct horse battery\n", data_dir=data)
    key = cli("keys", "add", "owner@example.org", data_dir=data).stdout.strip()
    server = live_server_factory(data_dir=data)
    query = json.dumps({"site_id": SITE, "metrics": ["visitors"], "date_range": "7d"})
    event = json.dumps({"n": "pageview", "u": f"https://{SITE}/s3cr3t-path", "d": SITE})
    requests = {
        "login": b"GET /login HTTP/1.1\r\nHost: x\r\nCookie: analytics_anon=t0k3n\r\n\r\n",
        "api": (f"POST /api/v2/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(query)}\r\n\r\n{query}").encode(),
        "event": (f"POST /api/event HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0\r\n"
                  f"Content-Type: text/plain\r\nContent-Length: {len(event)}\r\n\r\n{event}").encode(),
        "health": b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n",
    }  # fmt: skip
    unlimited = resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE)
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        assert _exchange(sock, requests["api"])[0] == 200  # the files are warm, the key works
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (1, unlimited[1]))  # no file may grow
        try:
            answers = {name: _exchange(sock, raw) for name, raw in requests.items()}
        finally:
            resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, unlimited)
        assert {name: status for name, (status, _) in answers.items()} == {
            "login": 503, "api": 503, "event": 503, "health": 200,
        }  # fmt: skip
        assert json.loads(answers["api"][1]) == {"error": "The server cannot store data right now (its disk may be full); retry later"}
        assert b"The server cannot store data right now (its disk may be full); retry later." in answers["login"][1]
        assert _exchange(sock, requests["api"])[0] == 200  # room again, same connection
        assert _exchange(sock, requests["event"])[0] == 202
    server.stop()
    log = server.log.read_text()  # written while there was room: the log line itself is tested in test_app.py
    assert "Traceback" not in log and "s3cr3t" not in log and "t0k3n" not in log and key not in log
