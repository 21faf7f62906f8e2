"""A read deadline for request bodies, so a slow or stalled client cannot hold a worker.

uvicorn times out idle keep-alive connections but not a body that never
finishes: a client could send headers, then one byte a minute, and keep a
handler waiting forever. `BodyDeadline` wraps every HTTP request's `receive`:
the body must keep arriving at an average of at least `MIN_RATE` bytes a second
after a `GRACE` allowance, or the handler's read raises `RequestTimeout` (408).
A large upload over a slow but working link passes; a trickle or a stall does not.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics.errors import ApiError

GRACE = 10.0  # seconds any body may take, however small: a mobile network's worst pause
MIN_RATE = 16 * 1024  # bytes per second a body must average beyond the grace period


class RequestTimeout(ApiError):
    def __init__(self) -> None:
        super().__init__(408, "The request body was not received in time", {"Connection": "close"})


class BodyDeadline:
    """ASGI middleware: a body read that would pass the deadline raises `RequestTimeout` instead."""

    def __init__(self, app: ASGIApp, grace: float = GRACE, min_rate: float = MIN_RATE) -> None:
        self.app = app
        self.grace = grace
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        received = 0
        done = False

        async def timed_receive() -> Message:
            nonlocal received, done
            if done:  # after the body: a wait for disconnect may last as long as the response
                return await receive()
            left = start + self.grace + received / self.min_rate - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), max(left, 0.0))
            except TimeoutError:
                raise RequestTimeout() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        await self.app(scope, timed_receive, send)
