"""Stats API keys (analytics/accounts/keys.py): shown once, stored as a SHA-256 hash only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from analytics.accounts import Accounts
from analytics.accounts.keys import KEY_PREFIX, LAST_USED_STEP, hash_key
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


async def test_keys_are_listed_without_the_key_and_note_their_last_use(tmp_path: Path) -> None:
    clock = FrozenClock(1_772_442_000)
    async with Accounts(tmp_path / "accounts.db", clock=clock) as accounts:
        ann = await accounts.users.add("ann@example.org", "long enough")
        await accounts.users.add("bob@example.org", "long enough")
        key = await accounts.keys.add("ann@example.org", "reports")
        await accounts.keys.add("bob@example.org", "  ")
        listed = await accounts.keys.all()
        assert [(k.id, k.email, k.name, k.created_at, k.last_used_at) for k in listed] == [
            (1, "ann@example.org", "reports", 1_772_442_000, None),
            (2, "bob@example.org", "default", 1_772_442_000, None),
        ]
        assert key not in repr(listed) and key[:8] not in repr(listed)
        clock.advance(100)
        await accounts.keys.find(key)
        clock.advance(LAST_USED_STEP - 1)
        await accounts.keys.find(key)  # within the minute: not written again
        assert [k.last_used_at for k in await accounts.keys.all(ann.id)] == [1_772_442_100]
        clock.advance(1)
        await accounts.keys.find(key)
        assert [k.last_used_at for k in await accounts.keys.all(ann.id)] == [1_772_442_000 + 100 + LAST_USED_STEP]


async def test_a_revoked_key_stops_working_and_only_its_user_revokes_it_here(tmp_path: Path) -> None:
    async with Accounts(tmp_path / "accounts.db") as accounts:
        ann = await accounts.users.add("ann@example.org", "long enough")
        bob = await accounts.users.add("bob@example.org", "long enough")
        key = await accounts.keys.add("ann@example.org")
        assert not await accounts.keys.revoke(1, bob.id)  # not Bob's
        assert await accounts.keys.find(key) == (1, ann.id)
        assert await accounts.keys.revoke(1, ann.id)
        assert await accounts.keys.find(key) is None
        assert not await accounts.keys.revoke(1)  # gone already
        other = await accounts.keys.add("bob@example.org")
        assert await accounts.keys.find(other) == (2, bob.id)  # a revoked key's id is never given again
        assert await accounts.keys.revoke(2)  # the operator (no user given)
        assert await accounts.keys.find(other) is None
