"""Daily salts in accounts.db (analytics/accounts/salts.py): today's created once, yesterday's kept,
older ones destroyed down to the bytes of the file and its WAL."""

from __future__ import annotations

from pathlib import Path

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
        assert old not in _bytes(path)


def _bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
