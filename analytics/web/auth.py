"""Sign-in sessions, server secrets and the sign-in rate limit.

The session cookie holds 256 random bits; accounts.db keeps only their
SHA-256, so a leaked database or backup cannot be turned into a cookie.
Sign-in attempts are reserved before the password is checked and throttled
per account (in accounts.db, so every worker process sees them) and per client
(in memory, under a keyed hash, so no IP address is ever written anywhere). Everything here reads and writes accounts
only, never waiting for the event store's writer.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import math
import secrets
from collections import deque

from starlette.requests import Request
from starlette.responses import Response

from analytics.accounts import Accounts
from analytics.accounts.passwords import hash_password, verify_password
from analytics.accounts.users import User
from analytics.ingest.proxies import client_ip
from analytics.store.base import Store
from analytics.web.render import SignInRequired, WebError, is_https, set_cookie

SESSION_COOKIE = "analytics_session"
SESSION_SECONDS = 30 * 86400
FAIL_WINDOW = 15 * 60  # per client address, any account
MAX_CLIENT_FAILURES = 20
ACCOUNT_WINDOW = 5 * 60  # per account: short, it slows a guesser down and then lets him (and the owner) try again
MAX_ACCOUNT_FAILURES = 5


@functools.cache
def _dummy_hash() -> str:
    # Verifying against this when the email is unknown keeps both answers equally slow.
    return hash_password(secrets.token_urlsafe(16))


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


def now_of(request: Request) -> float:
    return float(request.app.state.clock.now())


async def server_secret(request: Request, name: str) -> bytes:
    """A random 32-byte key kept in accounts.db, shared by all worker processes."""
    cache: dict[str, bytes] = request.app.state.__dict__.setdefault("_web_secrets", {})
    if name not in cache:
        cache[name] = await accounts_of(request).logins.secret(name, secrets.token_bytes(32))
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
        user = await accounts_of(request).logins.user_of(token, int(now_of(request)))
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
    await accounts_of(request).logins.start(token, user, int(now_of(request)), SESSION_SECONDS)
    set_cookie(request, response, SESSION_COOKIE, token, SESSION_SECONDS)


async def end_session(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        await accounts_of(request).logins.end(token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))


# -- sign-in ------------------------------------------------------------------------------


class ClientThrottle:
    """Recent attempts per client, in memory only, keyed by an HMAC of the address.

    `reserve` counts and adds in one step with no await in between, so on one
    event loop concurrent requests cannot all pass the same count.
    """

    def __init__(self, window: int = FAIL_WINDOW, keep: int = MAX_CLIENT_FAILURES * 2) -> None:
        self.window = window
        self._keep = keep
        self._key = secrets.token_bytes(16)
        self._failures: dict[bytes, deque[float]] = {}

    def _id(self, ip: str) -> bytes:
        return hmac.new(self._key, ip.encode(), hashlib.sha256).digest()[:16]

    def count(self, ip: str, now: float) -> int:
        q = self._failures.get(self._id(ip))
        if not q:
            return 0
        while q and q[0] <= now - self.window:
            q.popleft()
        return len(q)

    def add(self, ip: str, now: float) -> None:
        if len(self._failures) > 100_000:  # bounded memory under a spray from many addresses
            self._failures.clear()
        self._failures.setdefault(self._id(ip), deque(maxlen=self._keep)).append(now)

    def reserve(self, ip: str, now: float, limit: int) -> int | None:
        """Count an attempt unless `limit` are in the window; the attempts before it, or None when refused."""
        before = self.count(ip, now)
        if before >= limit:
            return None
        self.add(ip, now)
        return before

    def release(self, ip: str, now: float) -> None:
        """Forget the attempt reserved at `now` (its password was right)."""
        q = self._failures.get(self._id(ip))
        if q and now in q:
            q.remove(now)

    def forget(self, ip: str) -> None:
        self._failures.pop(self._id(ip), None)

    def retry_after(self, ip: str, now: float) -> int:
        """Whole seconds until the oldest attempt in the window leaves it."""
        q = self._failures.get(self._id(ip))
        return max(1, math.ceil(q[0] + self.window - now)) if q else 1


def _throttle(request: Request) -> ClientThrottle:
    throttle: ClientThrottle = request.app.state.__dict__.setdefault("_signin_throttle", ClientThrottle())
    return throttle


def _account_throttle(request: Request) -> ClientThrottle:
    """Attempts per (account, address), over the short account window."""
    state = request.app.state.__dict__
    throttle: ClientThrottle = state.setdefault(
        "_signin_account_throttle", ClientThrottle(ACCOUNT_WINDOW, MAX_ACCOUNT_FAILURES * 2)
    )
    return throttle


def client_address(request: Request) -> str:
    """The client's address (X-Forwarded-For only from trusted proxies), for in-memory throttles."""
    return client_ip(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        request.app.state.settings.proxy_networks,
    )


def _too_many(retry_after: int) -> WebError:
    seconds = max(1, retry_after)
    return WebError(
        429, f"Too many failed sign-in attempts. Try again in {seconds} s.", {"Retry-After": str(seconds)}
    )


async def check_password(request: Request, email: str, password: str) -> User:
    """Verify a sign-in, throttled per client and per account. Raises WebError 401 or 429.

    Every attempt is reserved before scrypt runs, so concurrent tries cannot
    overrun a limit: per client address (any account, in memory), per account
    and address (in memory, a short window), and per account (accounts.db, all
    worker processes). Past the account's limit only an address without recent
    failures on it gets a check: an attacker slows himself down, and the owner
    signing in from elsewhere still gets in.
    """
    accounts = accounts_of(request)
    now = now_of(request)
    ip = client_address(request)
    email = email.strip()[:320]
    pair = f"{email.casefold()}\n{ip}"
    clients, pairs = _throttle(request), _account_throttle(request)
    # Both in-memory reservations before the first await: atomic on this event loop.
    if clients.reserve(ip, now, MAX_CLIENT_FAILURES) is None:
        raise _too_many(clients.retry_after(ip, now))
    before = pairs.reserve(pair, now, MAX_ACCOUNT_FAILURES)
    if before is None:
        clients.release(ip, now)
        raise _too_many(pairs.retry_after(pair, now))
    try:
        reserved = await accounts.logins.reserve(
            email, int(now), ACCOUNT_WINDOW, MAX_ACCOUNT_FAILURES, fresh=before == 0
        )
    except BaseException:
        clients.release(ip, now)
        pairs.release(pair, now)
        raise
    if not reserved.granted:
        clients.release(ip, now)
        pairs.release(pair, now)
        raise _too_many(reserved.retry_after)

    found = await accounts.users.credentials(email) if email else None
    stored = found[1] if found else _dummy_hash()
    # scrypt takes tens of milliseconds of CPU: keep it off the event loop.
    ok = await asyncio.to_thread(verify_password, password[:1024], stored)
    if found is None or not ok:
        raise WebError(401, "Wrong email or password.")  # the reservations stay, as failures
    clients.release(ip, now)
    pairs.forget(pair)  # this address proved itself on this account
    await accounts.logins.release(reserved)
    return found[0]
