"""The injectable clock (analytics/clock.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from analytics.clock import Clock, FrozenClock


def test_the_real_clock_is_now() -> None:
    before = time.time()
    now = Clock().now()
    assert before <= now <= time.time()
    assert abs(Clock().utcnow().timestamp() - time.time()) < 5 and Clock().utcnow().tzinfo is UTC


def test_the_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    assert clock.now() == clock.now() == 1772442000.0
    clock.advance(90.5)
    assert clock.now() == 1772442090.5
    clock.set(datetime(2026, 3, 3, tzinfo=UTC))
    assert clock.utcnow() == datetime(2026, 3, 3, tzinfo=UTC)
    clock.set(12)
    assert clock.now() == 12.0 and FrozenClock(5).now() == 5.0
