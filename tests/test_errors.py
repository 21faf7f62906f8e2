"""Errors carry their status (analytics/errors.py)."""

from __future__ import annotations

from analytics.errors import ApiError, BadRequest, NotFound, Unavailable


def test_statuses_bodies_and_headers() -> None:
    assert (BadRequest("bad x").status, BadRequest("bad x").body(), BadRequest("x").headers) == (400, {"error": "bad x"}, {})
    assert (NotFound().status, NotFound().message) == (404, "Not found")
    busy = Unavailable()
    assert (busy.status, busy.message, busy.headers) == (503, "Server busy, retry later", {"Retry-After": "1"})
    assert Unavailable("later", retry_after=30).headers == {"Retry-After": "30"}
    teapot = ApiError(418, "no coffee", {"X-A": "1"})
    assert (teapot.status, str(teapot), teapot.body(), teapot.headers) == (418, "no coffee", {"error": "no coffee"}, {"X-A": "1"})
    assert isinstance(BadRequest("x"), ApiError) and isinstance(Unavailable(), ApiError)
