"""Clock jumps (issue 15, point 7): housekeeping with a clock far ahead, then back.

A server started 800 days ahead must not delete raw events, and the salt of the
future day it created must be gone from accounts.db and its WAL once the clock
is right again (privacy.md, "Unlinkable after 48 hours").
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import Instance

from analytics.app import housekeep
from analytics.enrich.identity import utc_day
from analytics.model import DAY

PAGEVIEW = {"name": "pageview", "url": "https://blog.example.org/", "domain": "blog.example.org"}


def _bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def _events(instance: Instance) -> int:
    rows = await instance.store.fetchall("SELECT COUNT(*) FROM events")
    return int(rows[0][0])


async def test_a_jump_ahead_and_back_keeps_events_and_destroys_the_future_salt(
    instance: Instance, site: object, caplog: pytest.LogCaptureFixture
) -> None:
    accounts_db = instance.data_dir / "accounts.db"
    for ip in ("198.51.100.1", "198.51.100.2"):
        assert (await instance.send(PAGEVIEW, ip=ip)).status_code == 202
    today = utc_day(instance.clock.now())

    instance.clock.advance(800 * DAY)
    with caplog.at_level(logging.WARNING, logger="analytics"):
        await housekeep(instance.store, instance.accounts, instance.clock.now(), retention_months=25)
    assert await _events(instance) == 2  # nothing deleted on the word of a clock 800 days ahead
    assert "800 days ahead of the newest stored event" in caplog.text and "198.51.100" not in caplog.text
    assert (await instance.send(PAGEVIEW, ip="198.51.100.3")).status_code == 202
    future = (await instance.accounts.salts.for_day(today + 800))[today + 800]
    assert future in _bytes(accounts_db)

    instance.clock.advance(-800 * DAY)
    await housekeep(instance.store, instance.accounts, instance.clock.now(), retention_months=25)
    assert await instance.accounts.salts.days() == [today]
    await instance.accounts.salts.settled()
    assert future not in _bytes(accounts_db)
    assert await _events(instance) == 3
