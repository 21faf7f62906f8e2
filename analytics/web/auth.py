"""Sign-in sessions, server secrets and the sign-in rate limit.

The session cookie holds 256 random bits; the database keeps only their
SHA-256, so a leaked database or backup cannot be turned into a cookie.
Sign-in failures are throttled per account (in the database, so every worker
process sees them) and per client (in memory, under a keyed hash, so no IP
address is ever written anywhere).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from collections import deque

import aiosqlite
from starlette.requests import Request
from starlette.responses import Response

from analytics.accounts import admin
from analytics.accounts.admin import User
from analytics.accounts.passwords import hash_password, verify_password
from analytics.ingest.proxies import client_ip
from analytics.store.sqlite.store import SQLiteStore
from analytics.web.render import SignInRequired, WebError, is_https, set_cookie

SESSION_COOKIE = "analytics_session"
SESSION_SECONDS = 30 * 86400
FAIL_WINDOW = 15 * 60
MAX_ACCOUNT_FAILURES = 5
MAX_CLIENT_FAILURES = 20


@functools.cache
def _dummy_hash() -> str:
    # Verifying against this when the email is unknown keeps both answers equally slow.
    return hash_password(secrets.token_urlsafe(16))


def store_of(request: Request) -> SQLiteStore:
    store: SQLiteStore = request.app.state.store
    return store


def now_of(request: Request) -> float:
    return float(request.app.state.clock.now())


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def server_secret(request: Request, name: str) -> bytes:
    """A random 32-byte key kept in the database, shared by all worker processes."""
    cache: dict[str, bytes] = request.app.state.__dict__.setdefault("_web_secrets", {})
    if name in cache:
        return cache[name]
    store = store_of(request)
    candidate = secrets.token_bytes(32)

    async def job(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT OR IGNORE INTO web_secrets (name, value) VALUES (?, ?)", (name, candidate))

    await store.write(job)
    rows = await store.fetchall("SELECT value FROM web_secrets WHERE name = ?", (name,))
    cache[name] = bytes(rows[0][0])
    return cache[name]


def keyed(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


# -- sessions ---------------------------------------------------------------------------


async def current_user(request: Request) -> User | None:
    """The signed-in user, or None. Cached on the request."""
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    user = None
    token = request.cookies.get(SESSION_COOKIE, "")
    if token and len(token) <= 100:
        rows = await store_of(request).fetchall(
            "SELECT u.id, u.email FROM web_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ? AND s.expires_at > ?",
            (hash_token(token), int(now_of(request))),
        )
        if rows:
            user = User(rows[0][0], rows[0][1])
    request.state.user = user
    return user


async def require_user(request: Request) -> User:
    user = await current_user(request)
    if user is None:
        raise SignInRequired()
    return user


async def start_session(request: Request, response: Response, user: User) -> None:
    """A fresh session for every sign-in, so a planted cookie is never promoted."""
    token = secrets.token_urlsafe(32)
    now = int(now_of(request))

    async def job(conn: aiosqlite.Connection) -> None:
        await conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,))
        await conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (hash_token(token), user.id, now, now + SESSION_SECONDS),
        )

    await store_of(request).write(job)
    set_cookie(request, response, SESSION_COOKIE, token, SESSION_SECONDS)


async def end_session(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:

        async def job(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (hash_token(token),))

        await store_of(request).write(job)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))


# -- sign-in ------------------------------------------------------------------------------


class ClientThrottle:
    """Recent failures per client, in memory only, keyed by an HMAC of the address."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(16)
        self._failures: dict[bytes, deque[float]] = {}

    def _id(self, ip: str) -> bytes:
        return hmac.new(self._key, ip.encode(), hashlib.sha256).digest()[:16]

    def count(self, ip: str, now: float) -> int:
        q = self._failures.get(self._id(ip))
        if not q:
            return 0
        while q and q[0] <= now - FAIL_WINDOW:
            q.popleft()
        return len(q)

    def add(self, ip: str, now: float) -> None:
        if len(self._failures) > 100_000:  # bounded memory under a spray from many addresses
            self._failures.clear()
        self._failures.setdefault(self._id(ip), deque(maxlen=MAX_CLIENT_FAILURES * 2)).append(now)


def _throttle(request: Request) -> ClientThrottle:
    throttle: ClientThrottle = request.app.state.__dict__.setdefault("_signin_throttle", ClientThrottle())
    return throttle


def client_address(request: Request) -> str:
    """The client's address (X-Forwarded-For only from trusted proxies), for in-memory throttles."""
    return client_ip(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        request.app.state.settings.proxy_networks,
    )


def _too_many(retry_after: int) -> WebError:
    return WebError(
        429,
        "Too many failed sign-in attempts. Wait a few minutes, then try again.",
        {"Retry-After": str(max(1, retry_after))},
    )


async def check_password(request: Request, email: str, password: str) -> User:
    """Verify a sign-in, throttled per account and per client. Raises WebError 401 or 429."""
    store = store_of(request)
    now = now_of(request)
    ip = client_address(request)
    throttle = _throttle(request)
    if throttle.count(ip, now) >= MAX_CLIENT_FAILURES:
        raise _too_many(FAIL_WINDOW)
    email = email.strip()[:320]
    rows = await store.fetchall(
        "SELECT COUNT(*), MIN(ts) FROM signin_failures WHERE email = ? AND ts > ?", (email, int(now) - FAIL_WINDOW)
    )
    if rows[0][0] >= MAX_ACCOUNT_FAILURES:
        raise _too_many(int(rows[0][1]) + FAIL_WINDOW - int(now))

    found = await admin.user_credentials(store, email) if email else None
    stored = found[1] if found else _dummy_hash()
    # scrypt takes tens of milliseconds of CPU: keep it off the event loop.
    ok = await asyncio.to_thread(verify_password, password[:1024], stored)
    if found is None or not ok:
        throttle.add(ip, now)

        async def fail(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM signin_failures WHERE ts <= ?", (int(now) - FAIL_WINDOW,))
            await conn.execute("INSERT INTO signin_failures (email, ts) VALUES (?, ?)", (email, int(now)))

        await store.write(fail)
        raise WebError(401, "Wrong email or password.")

    async def clear(conn: aiosqlite.Connection) -> None:
        await conn.execute("DELETE FROM signin_failures WHERE email = ?", (email,))

    await store.write(clear)
    return found[0]
