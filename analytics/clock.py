"""An injectable clock, so tests cross midnight and expire sessions without sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Real time. `now()` is Unix seconds as a float."""

    def now(self) -> float:
        return time.time()

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: float | datetime) -> None:
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        self._t += seconds

    def set(self, when: float | datetime) -> None:
        self._t = when.timestamp() if isinstance(when, datetime) else float(when)
