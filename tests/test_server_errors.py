"""No 500s, out of process: the CLI exits 2 on a range it cannot export, and a real uvicorn keeps a
keep-alive connection working after an error while its log holds no request values.
"""

from __future__ import annotations

import json
import logging
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
