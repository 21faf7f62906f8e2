"""Daily salts in accounts.db (analytics/accounts/salts.py): today's created once, yesterday's kept,
older ones destroyed down to the bytes of the file and its WAL."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from conftest import Instance

from analytics.accounts import Accounts
from analytics.accounts.salts import Salts

DAY = 20514  # 2026-03-02


async def test_rotation_keeps_two_days_and_deletes_older(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as accounts:
        salts = accounts.salts
        first = await salts.for_day(DAY)
        assert list(first) == [DAY] and len(first[DAY]) == 16
        seen = [first[DAY]]
        for n in (1, 2, 3):
            current = await salts.for_day(DAY + n)
            assert sorted(current) == [DAY + n - 1, DAY + n]
            assert current[DAY + n - 1] == seen[-1]  # yesterday's is the one handed out yesterday
            assert await salts.days() == [DAY + n - 1, DAY + n]
            seen.append(current[DAY + n])
        assert len(set(seen)) == 4  # a fresh random salt every day


async def test_every_worker_gets_the_same_salt_for_a_day(tmp_path: Path) -> None:
    """Worker processes share accounts.db: the first to ask creates the day's salt, the rest read it."""
    async with Accounts(tmp_path / "accounts.db") as a, Accounts(tmp_path / "accounts.db") as b:
        assert await a.salts.for_day(DAY) == await b.salts.for_day(DAY)
        again = Salts(a.db)
        assert await again.for_day(DAY) == await a.salts.for_day(DAY)
        assert await a.salts.days() == [DAY]


async def test_the_result_is_a_copy(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as accounts:
        got = await accounts.salts.for_day(DAY)
        got.clear()
        assert list(await accounts.salts.for_day(DAY)) == [DAY]


async def test_a_destroyed_salt_leaves_no_byte_in_the_file_or_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    async with Accounts(path) as accounts:
        old = (await accounts.salts.for_day(DAY))[DAY]
        await accounts.salts.for_day(DAY + 1)
        assert old in _bytes(path)  # still yesterday's: kept

        await accounts.salts.for_day(DAY + 2)
        assert await accounts.salts.days() == [DAY + 1, DAY + 2]
        await accounts.salts.settled()  # the WAL is emptied off the caller's path
        assert old not in _bytes(path)


def _bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_a_salt_dated_in_the_future_is_destroyed_when_the_clock_returns(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    async with Accounts(path) as accounts:
        await accounts.salts.for_day(DAY)
        ahead = await accounts.salts.for_day(DAY + 800)  # the clock jumped ahead
        assert ahead[DAY + 800] in _bytes(path)
        back = await accounts.salts.for_day(DAY)
        assert list(back) == [DAY] and await accounts.salts.days() == [DAY]
        await accounts.salts.settled()
        assert list(ahead) == [DAY + 800] and ahead[DAY + 800] not in _bytes(path)


async def test_a_jump_of_one_day_ahead_and_back_leaves_no_salt_of_tomorrow(tmp_path: Path) -> None:
    """Tomorrow's salt is in the cached pair after the jump; going back must still destroy it."""
    path = tmp_path / "accounts.db"
    async with Accounts(path) as accounts:
        await accounts.salts.for_day(DAY)
        tomorrow = (await accounts.salts.for_day(DAY + 1))[DAY + 1]
        assert sorted(await accounts.salts.for_day(DAY)) == [DAY]
        await accounts.salts.settled()
        assert await accounts.salts.days() == [DAY] and tomorrow not in _bytes(path)


async def test_midnight_never_waits_for_a_reader_and_the_old_salt_still_goes(instance: Instance, site: Any) -> None:
    """A backup holding a read transaction over midnight: ingest stays answered, the salt is destroyed later."""
    body = {"n": "pageview", "d": "blog.example.org", "u": "https://blog.example.org/"}
    assert (await instance.send(body)).status_code == 202
    path = instance.data_dir / "accounts.db"
    first_day = int(instance.clock.now() // 86400)
    old = (await instance.accounts.salts.for_day(first_day))[first_day]

    backup = sqlite3.connect(path, isolation_level=None)
    backup.execute("BEGIN")
    backup.execute("SELECT COUNT(*) FROM salts").fetchall()  # holds a snapshot: no TRUNCATE checkpoint can finish
    try:
        instance.clock.advance(2 * 86400)  # two midnights: the first day's salt must be destroyed
        r = await asyncio.wait_for(instance.send(body), 5.0)  # before: it waited on the checkpoint, minutes
        assert r.status_code == 202
        assert await instance.accounts.salts.days() == [first_day + 2]
        assert instance.accounts.salts.unclean  # its page images are still in the WAL
    finally:
        backup.execute("ROLLBACK")
        backup.close()
    await asyncio.wait_for(instance.accounts.salts.settled(), 10.0)
    assert not instance.accounts.salts.unclean and old not in _bytes(path)
