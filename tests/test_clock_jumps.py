"""Clock jumps (issue 15, point 7): housekeeping with a clock far ahead, then back.

A server started 800 days ahead must not delete raw events, and the salt of the
future day it created must be gone from accounts.db and its WAL once the clock
is right again (privacy.md, "Unlinkable after 48 hours").
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from api_support import running_app
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


async def test_a_future_salt_made_by_another_process_is_destroyed_within_a_round(tmp_path: Path) -> None:
    """A second instance on the same data dir (a worker, a CLI command) ingests while its clock is
    800 days ahead, then exits. This instance's cached salt pair never saw that day, yet its next
    housekeeping round destroys the future salt, from accounts.db and its WAL."""
    data_dir = tmp_path / "data"
    async with running_app(data_dir) as worker:
        await worker.accounts.sites.add("blog.example.org")
        assert (await worker.send(PAGEVIEW, ip="198.51.100.1")).status_code == 202
        today = utc_day(worker.clock.now())
        async with running_app(data_dir) as ahead:
            ahead.clock.advance(800 * DAY)
            assert (await ahead.send(PAGEVIEW, ip="198.51.100.2")).status_code == 202
            future = (await ahead.accounts.salts.for_day(today + 800))[today + 800]
        # The clock ahead destroyed today's salt as "older than yesterday": only the future one is on disk.
        assert await worker.accounts.salts.days() == [today + 800]
        await housekeep(worker.store, worker.accounts, worker.clock.now(), retention_months=25)
        assert await worker.accounts.salts.days() == [today]
        await worker.accounts.salts.settled()
        assert future not in _bytes(data_dir / "accounts.db")


async def test_no_salt_outlives_48_hours_across_jumps(instance: Instance, site: object) -> None:
    """The promise on a timeline with jumps both ways and ingest at every step: each salt used at
    (true) time t is gone from disk by t + 48 h, counting housekeeping's once-a-minute rounds."""
    accounts_db = instance.data_dir / "accounts.db"
    start = instance.clock.now()
    used: list[tuple[float, bytes]] = []  # (true time first used, salt)
    # (true seconds since start, clock offset): ahead 800 days, back, behind 3 days, back, then days pass.
    timeline = [(0, 0), (600, 800 * DAY), (1200, 0), (1800, -3 * DAY), (2400, 0)]
    timeline += [(h * 3600, 0) for h in range(6, 80, 6)]
    for n, (true, offset) in enumerate(timeline):
        instance.clock.set(start + true + offset)
        assert (await instance.send(PAGEVIEW, ip=f"198.51.100.{n % 250}")).status_code == 202
        day = utc_day(instance.clock.now())
        salt = (await instance.accounts.salts.for_day(day))[day]
        if all(salt != s for _, s in used):
            used.append((start + true, salt))
        await housekeep(instance.store, instance.accounts, instance.clock.now(), retention_months=25)
        await instance.accounts.salts.settled()
        on_disk = _bytes(accounts_db)
        for first_used, s in used:
            if start + true - first_used >= 48 * 3600:
                assert s not in on_disk, (true, offset, first_used - start)
    assert await _events(instance) == len(timeline)
