"""ClickHouse's HTTP interface in front of the real ClickHouse engine (chDB), for tests on loopback.

No current ClickHouse server can be installed on this machine, but chDB is the
ClickHouse engine itself (26.x). This module is a protocol adapter, not a fake:
every statement runs in that engine, on MergeTree tables in a data directory;
the adapter only translates what clickhouse-connect's HTTP client sends
(`_backend/http_sync.py`, `_backend/httpcommon.py`) into engine calls, and the
engine's answers into what that client reads:

- the statement from the `query` URL parameter and/or the body (POST), a
  multipart form (`query`, `param_*` fields) when bind values are long;
- `param_<name>` URL parameters bound server-side; every other URL parameter
  that is not transport (`database`, `query_id`, `wait_end_of_query`, ...) is a
  setting, `SET` on a handle used by this one request;
- credentials from HTTP basic auth, `X-ClickHouse-User` / `X-ClickHouse-Key` or
  the `user` / `password` parameters, checked against the one user the process
  was started with (wrong: status 403, code 516 AUTHENTICATION_FAILED, as
  ClickHouse answers);
- a request body encoded as `Content-Encoding` says (lz4 frames, zstd, gzip,
  deflate) and sent chunked or with a length;
- inserts `INSERT INTO t (cols) FORMAT Native` followed by the data: the data go
  to the engine as `INSERT ... FROM INFILE` (the way clickhouse-connect's own
  chDB backend inserts);
- answers in the statement's `FORMAT` (TabSeparated when it has none), lz4- or
  zstd-compressed as `Accept-Encoding` asks when `enable_http_compression` is on
  (the engine's default, or the request's setting), with `X-ClickHouse-Format`, `-Query-Id`, `-Timezone` and
  `-Summary` headers; errors as status 500 with `X-ClickHouse-Exception-Code`
  and the engine's `Code: N. DB::Exception: ...` text as the body; `GET /ping`.

Not covered: sessions (`session_id`), progress headers, external data tables,
TLS, streaming of large results (each answer is built whole). Calls into the
engine run one at a time (chDB serves one caller at a time).

Run as its own process, so a test can SIGKILL it and start it again on the
same directory: `python tests/clickhouse_http.py DATA_DIR PORT USER PASSWORD`.
It prints `ready` once it listens.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import lz4.frame

try:
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]  # Python 3.14
except ImportError:
    from backports import zstd  # type: ignore[no-redef,import-not-found,unused-ignore]

# URL parameters the HTTP layer consumes itself; everything else that is not `param_*` is a setting.
TRANSPORT = frozenset({
    "query", "database", "user", "password", "query_id", "session_id", "session_timeout", "session_check",
    "wait_end_of_query", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "enable_http_compression", "client_protocol_version", "compress", "decompress", "buffer_size",
    "default_format", "quota_key", "role",
})  # fmt: skip
_INSERT = re.compile(rb"\A\s*INSERT\s+INTO\s+(?P<target>[^\n]+?)\s+FORMAT\s+(?P<fmt>\w+)[ \t]*\r?\n?", re.IGNORECASE)
_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.IGNORECASE)
_CODE = re.compile(r"Code: (\d+)\.")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
AUTH_FAILED = 516


class Engine:
    """The chDB engine on one directory; one call at a time, each request on its own handle."""

    def __init__(self, path: str) -> None:
        self.path = path
        import chdb  # here: a test process that only starts this adapter never loads the engine

        self._connect = chdb.connect
        self.lock = threading.Lock()
        self.main = chdb.connect(path)  # holds the engine (and the directory's lock) for the process's life
        self.timezone = self.main.query("SELECT timezone()", "TabSeparated").bytes().decode().strip()
        self.version = self.main.query("SELECT version()", "TabSeparated").bytes().decode().strip()
        # Whether answers are compressed when a request does not say (1 in current ClickHouse).
        setting = self.main.query("SELECT getSetting('enable_http_compression')", "TabSeparated").bytes()
        self.compression = setting.decode().strip()

    def run(
        self, sql: str, fmt: str, params: dict[str, str], settings: dict[str, str], database: str | None
    ) -> tuple[bytes, dict[str, str]]:
        """Run one statement on a fresh handle (settings and USE stay per request); its bytes and summary."""
        with self.lock:
            handle = self._connect(self.path)
            try:
                if database:
                    handle.query(f"USE `{database.replace('`', '')}`", "TabSeparated")
                for name, value in settings.items():
                    if not _NAME.match(name):
                        raise ValueError(f"Code: 115. DB::Exception: Unknown setting '{name}'. (UNKNOWN_SETTING)")
                    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
                    handle.query(f"SET {name} = '{quoted}'", "TabSeparated")
                result = handle.query(sql, fmt, params=params)
                data = result.bytes() or b""
                summary = {
                    "read_rows": str(result.rows_read()),
                    "read_bytes": str(result.bytes_read()),
                    "elapsed_ns": str(int(result.elapsed() * 1e9)),
                }
                return data, summary
            finally:
                handle.close()


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, chunked or with a Content-Length, decoded as its Content-Encoding says."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()  # the CRLF after each chunk
        body = b"".join(parts)
    else:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    encoding = handler.headers.get("Content-Encoding", "").lower()
    if encoding == "lz4":  # clickhouse-connect sends one LZ4 frame per block
        out = bytearray()
        while body:
            dec = lz4.frame.LZ4FrameDecompressor()
            out += dec.decompress(body)
            body = dec.unused_data or b""
        return bytes(out)
    if encoding == "zstd":
        return bytes(zstd.decompress(body))
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding not in ("", "identity"):
        raise ValueError(f"Code: 1. DB::Exception: Unknown Content-Encoding: {encoding}. (UNSUPPORTED_METHOD)")
    return body


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body (clickhouse-connect's `query` and `param_*` when long)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        if part.get_filename():
            raise ValueError(
                "Code: 48. DB::Exception: external data is not supported by this adapter. (NOT_IMPLEMENTED)"
            )
        fields[str(part.get_param("name", header="content-disposition"))] = part.get_payload(decode=True).decode()
    return fields


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clickhouse-connect's connection pool expects
    disable_nagle_algorithm = True  # headers and body are two writes: without this, each answer waits ~40 ms
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: a test reads its own output
        pass

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/ping":
            self._send(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
            return
        self._handle(b"")

    def do_POST(self) -> None:
        try:
            body = read_body(self)
        except Exception as exc:
            self._error(exc)
            return
        self._handle(body)

    def _user(self, params: dict[str, str]) -> tuple[str, str]:
        """The user and key the request names (basic auth, X-ClickHouse-* headers, or URL parameters)."""
        user, key = self.headers.get("X-ClickHouse-User"), self.headers.get("X-ClickHouse-Key")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, key = base64.b64decode(auth[6:]).decode().partition(":")
        if user is None:
            user, key = params.get("user", "default"), params.get("password", "")
        return user, key or ""

    def _handle(self, body: bytes) -> None:
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        user, key = self._user(params)
        if (user, key) != (self.server.user, self.server.password):
            message = (
                f"Code: {AUTH_FAILED}. DB::Exception: {user}: Authentication failed: password is incorrect,"
                " or there is no user with such name. (AUTHENTICATION_FAILED)"
            )
            self._send(403, message.encode() + b"\n", {"X-ClickHouse-Exception-Code": str(AUTH_FAILED)})
            return
        try:
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                params.update(form_fields(content_type, body))
                body = b""
            self._run(params, body)
        except Exception as exc:
            self._error(exc)

    def _run(self, params: dict[str, str], body: bytes) -> None:
        engine = self.server.engine
        binds = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items() if k not in TRANSPORT and not k.startswith("param_")}
        text = params.get("query", "").encode()
        if text and body:
            text += b"\n"
        text += body
        headers = {
            "X-ClickHouse-Query-Id": params.get("query_id") or str(uuid.uuid4()),
            "X-ClickHouse-Timezone": engine.timezone,
        }
        insert = _INSERT.match(text)
        if insert and text[insert.end() :].strip():
            # Data after `FORMAT x`: ClickHouse parses it as the insert's rows; chDB reads them from a file.
            with tempfile.NamedTemporaryFile(suffix=".data", dir=self.server.spool) as f:
                f.write(text[insert.end() :])
                f.flush()
                target, fmt = insert["target"].decode(), insert["fmt"].decode()
                sql = f"INSERT INTO {target} FROM INFILE '{f.name}' FORMAT {fmt}"
                _, summary = engine.run(sql, "TabSeparated", binds, settings, params.get("database"))
            summary = {"written_rows": summary["read_rows"], "written_bytes": summary["read_bytes"],
                       "elapsed_ns": summary["elapsed_ns"]}  # fmt: skip
            self._send(200, b"", {**headers, "X-ClickHouse-Summary": json.dumps(summary)})
            return
        sql = text.decode()
        named = _FORMAT.search(sql)
        if named:
            fmt = named.group(1)
            data, summary = engine.run(sql, fmt, binds, settings, params.get("database"))
        else:
            # ClickHouse names the format of any statement that returns a result, even with no rows;
            # chDB has no headers, so run with names: only a statement with a result prints them.
            data, summary = engine.run(sql, "TabSeparatedWithNames", binds, settings, params.get("database"))
            fmt = "TabSeparated" if data else ""
            data = data[data.find(b"\n") + 1 :] if data else b""
        if fmt:
            headers["X-ClickHouse-Format"] = fmt
        headers["X-ClickHouse-Summary"] = json.dumps(summary)
        accept = self.headers.get("Accept-Encoding", "")
        if params.get("enable_http_compression", engine.compression) in ("1", "true") and data:
            if "lz4" in accept:
                data, headers["Content-Encoding"] = lz4.frame.compress(data), "lz4"
            elif "zstd" in accept:
                data, headers["Content-Encoding"] = bytes(zstd.compress(data)), "zstd"
        self._send(200, data, headers)

    def _error(self, exc: BaseException) -> None:
        text = str(exc).strip()
        start = text.find("Code: ")
        text = text[start:] if start > 0 else text
        code = _CODE.search(text)
        body = f"{text} (version {self.server.engine.version})\n".encode()
        self._send(500, body, {"X-ClickHouse-Exception-Code": code.group(1) if code else "1000"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        headers.setdefault("Content-Type", "text/plain; charset=UTF-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, engine: Engine, user: str, password: str, spool: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.engine = engine
        self.user = user
        self.password = password
        self.spool = spool


def main(argv: list[str]) -> None:
    data_dir, port, user, password = argv[1], int(argv[2]), argv[3], argv[4]
    os.makedirs(data_dir, exist_ok=True)
    engine = Engine(data_dir)
    # Insert bodies are spooled beside the data directory, inside the test's own
    # tmp_path: the tests end this process with a signal, so nothing here cleans up.
    spool = os.path.join(os.path.dirname(os.path.abspath(data_dir)), os.path.basename(data_dir) + "-spool")
    os.makedirs(spool, exist_ok=True)
    server = Server(port, engine, user, password, spool)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)


class ClickHouseProcess:
    """This adapter as a child process of a test: started, killed (by its own PID) and restarted on one directory."""

    def __init__(self, data_dir: Path, user: str = "analytics", password: str = "s3cret-pw") -> None:
        self.data_dir = data_dir
        self.user = user
        self.password = password
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    def url(self, database: str = "analytics", password: str | None = None) -> str:
        """The `--store` URL of this server."""
        return f"clickhouse://{self.user}:{self.password if password is None else password}@127.0.0.1:{self.port}/{database}"

    def start(self, port: int | None = None) -> ClickHouseProcess:
        """Start on `port` (a free one the first time, the same one after a kill) and wait for /ping."""
        self.port = port or self.port or _free_port()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, str(self.data_dir), str(self.port), self.user, self.password],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the ClickHouse adapter exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise AssertionError(f"the ClickHouse adapter did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: the server goes away at once, as a crashed or fenced-off server does."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the server still accepts connections (the kernel does) but never answers, as a hung one."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()  # a paused process would not act on SIGTERM
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
