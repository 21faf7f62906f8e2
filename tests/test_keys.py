"""Stats API keys (analytics/accounts/keys.py): shown once, stored as a SHA-256 hash only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from analytics.accounts import Accounts
from analytics.accounts.keys import KEY_PREFIX, hash_key
from analytics.accounts.validate import AdminError
from analytics.clock import FrozenClock


async def test_a_key_is_stored_as_its_hash_and_found_by_it(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db", clock=FrozenClock(1_772_442_000)) as accounts:
        user = await accounts.users.add("ann@example.org", "long enough")
        key = await accounts.keys.add("ann@example.org", "n" * 150)
        assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 43
        rows = await accounts.db.fetchall("SELECT user_id, name, key_hash, prefix, created_at FROM api_keys")
        assert rows == [(user.id, "n" * 100, hashlib.sha256(key.encode()).digest(), key[:8], 1_772_442_000)]
        ((key_id,),) = await accounts.db.fetchall("SELECT id FROM api_keys")
        assert await accounts.keys.find(key) == (key_id, user.id)
        assert await accounts.keys.find(key + "x") is None and await accounts.keys.find("") is None
        assert await accounts.keys.add("ann@example.org") != key


async def test_a_key_needs_a_user(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as accounts:
        with pytest.raises(AdminError, match="no user 'bob@example.org'"):
            await accounts.keys.add("bob@example.org")


def test_hash_key() -> None:
    assert hash_key("ak_x") == hashlib.sha256(b"ak_x").digest() and len(hash_key("ak_x")) == 32
