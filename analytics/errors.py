"""Errors carry their HTTP status; one handler renders them as JSON or HTML."""

from __future__ import annotations

import math
from typing import Any


class ApiError(Exception):
    """A client error with the status it deserves and a message naming the problem."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class NotFound(ApiError):
    def __init__(self, message: str = "Not found") -> None:
        super().__init__(404, message)


class Unavailable(ApiError):
    """The ingest queue is full: the client should retry, nothing was stored."""

    def __init__(self, message: str = "Server busy, retry later", retry_after: int = 1) -> None:
        super().__init__(503, message, {"Retry-After": str(retry_after)})


class QueryTimeout(ApiError):
    """A read ran past the query budget (`query_timeout`) and was stopped, so it cannot hold a reader.

    The backend maps its own interruption to this; the one handler renders it as
    a 503 JSON body for the API and an error page for the dashboard.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(
            503,
            f"The query ran longer than {seconds:g} seconds and was stopped;"
            " try a shorter date range or fewer filters, or retry later",
            {"Retry-After": str(max(1, math.ceil(seconds)))},
        )
        self.seconds = seconds


class StorageError(Exception):
    """A database that cannot be opened or used (not a database, read-only, gone); `path` names it."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(reason)
        self.path = path
