"""A request body must keep arriving: a stalled or trickling client gets a 408 within a bounded
time on a real server (`analytics serve`, uvicorn with httptools), and never holds a worker."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from analytics.ingest.deadline import GRACE

HEAD = (
    "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\nContent-Type: {ctype}\r\n"
    "Content-Length: 4000\r\n\r\n"
)
LIMIT = GRACE + 8  # the deadline, plus a loaded machine's slack


def _slow_client(port: int, path: str, ctype: str, pace: Callable[[socket.socket], None]) -> tuple[float, bytes]:
    """Send the headers of a 4000-byte body, then `pace` the body; the seconds until the answer, and it."""
    with socket.create_connection(("127.0.0.1", port), timeout=LIMIT + 5) as sock:
        sock.sendall(HEAD.format(path=path, ctype=ctype).encode())
        start = time.monotonic()
        stop = threading.Event()
        sender = threading.Thread(target=lambda: _until(stop, sock, pace), daemon=True)
        sender.start()
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith((b"}", b"</html>")):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        finally:
            stop.set()
            sender.join(timeout=5)
        return time.monotonic() - start, answer


def _until(stop: threading.Event, sock: socket.socket, pace: Callable[[socket.socket], None]) -> None:
    try:
        while not stop.is_set():
            pace(sock)
    except OSError:  # the server closed the connection: the point of the test
        pass


def _trickle(sock: socket.socket) -> None:
    sock.sendall(b" ")  # whitespace: a valid prefix of a JSON body, one byte every half second
    time.sleep(0.5)


def test_stalled_and_trickled_bodies_get_408(live_server_factory: Any) -> None:
    server = live_server_factory()
    stalled_once = {"sent": False}

    def stall(sock: socket.socket) -> None:
        if not stalled_once["sent"]:
            sock.sendall(b"{")
            stalled_once["sent"] = True
        time.sleep(0.2)

    results: dict[str, tuple[float, bytes]] = {}
    cases = {
        "stall-event": ("/api/event", "text/plain", stall),
        "trickle-event": ("/api/event", "text/plain", _trickle),
        "trickle-login-form": ("/login", "application/x-www-form-urlencoded", _trickle),
    }
    threads = [
        threading.Thread(target=lambda k=k, c=c: results.__setitem__(k, _slow_client(server.port, *c)))
        for k, c in cases.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=LIMIT + 10)
    assert set(results) == set(cases)
    for name, (seconds, answer) in results.items():
        assert GRACE - 1 < seconds < LIMIT, (name, seconds)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), (name, answer[:200])
        if "form" in name:  # a page: an HTML error page
            assert b"The request body was not received in time" in body, name
        else:
            assert body == b'{"error":"The request body was not received in time"}', name
    # The server still answers, on a new connection.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
