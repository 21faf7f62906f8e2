"""`Accounts` (analytics/accounts/repository.py): where accounts.db lives, opening and closing it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from analytics.accounts import Accounts
from analytics.accounts.db import Unusable
from analytics.accounts.repository import EVENTS_FILE_NAME, FILE_NAME


def test_a_data_dir_holds_accounts_db_beside_analytics_db(tmp_path: Path) -> None:
    accounts = Accounts.in_dir(tmp_path)
    assert (accounts.path, accounts.legacy) == (tmp_path / FILE_NAME, tmp_path / EVENTS_FILE_NAME)
    assert (FILE_NAME, EVENTS_FILE_NAME) == ("accounts.db", "analytics.db")
    assert Accounts(tmp_path / "x.db").legacy is None


async def test_open_creates_only_accounts_db_and_close_releases_it(tmp_path: Path) -> None:
    async with Accounts.in_dir(tmp_path / "data") as accounts:
        await accounts.sites.add("blog.example.org")
        assert sorted(p.name for p in (tmp_path / "data").glob("*.db")) == ["accounts.db"]  # no analytics.db made
    with pytest.raises(AssertionError, match="accounts database is not open"):
        await accounts.sites.get("blog.example.org")
    async with Accounts.in_dir(tmp_path / "data") as again:  # the next open keeps the data
        assert [s.domain for s in await again.sites.all()] == ["blog.example.org"]


async def test_an_unusable_file_is_named_and_closed(tmp_path: Path) -> None:
    bad = tmp_path / "accounts.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(Unusable) as exc:
        await Accounts(bad).open()
    assert exc.value.path == bad and "not a database" in str(exc.value)


async def test_a_failing_take_over_closes_accounts_db(tmp_path: Path) -> None:
    legacy = tmp_path / "analytics.db"
    legacy.write_bytes(b"\x00" * 4096)  # garbage where release 0.1's database would be
    accounts = Accounts.in_dir(tmp_path)
    with pytest.raises(sqlite3.DatabaseError):
        await accounts.open()
    assert accounts.db._writer is None and accounts.db._reader is None
