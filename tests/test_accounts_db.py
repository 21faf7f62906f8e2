"""accounts.db is its own SQLite file with its own connections and short write transactions.

So sign-in, a settings change and an API key check never wait for the event
database's write lock, which ingest batches, imports and housekeeping hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from api_support import running_app
from conftest import Instance
from web_support import EMAIL, PASSWORD, post_form, setup_admin, sign_in

from analytics.accounts import ratelimit
from analytics.accounts.db import migrations

BOUND = 5.0  # generous: each step takes milliseconds; only a wait on the held lock (15 s busy timeout) exceeds it
DOMAIN = "blog.example.org"


@contextlib.asynccontextmanager
async def event_db_write_lock(data_dir: Path) -> AsyncIterator[None]:
    """Hold analytics.db's write lock from outside, as a long ingest batch or import would."""
    # Wait out a write the app may have in flight (startup housekeeping) without blocking the
    # event loop: a blocking busy-wait here would stop that very write from finishing.
    conn = sqlite3.connect(data_dir / "analytics.db", isolation_level=None, timeout=0)
    for _ in range(400):
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError:
            await asyncio.sleep(0.05)
    else:
        conn.close()
        raise AssertionError("analytics.db stayed locked for 20 s")
    try:
        probe = sqlite3.connect(data_dir / "analytics.db", isolation_level=None, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            probe.execute("BEGIN IMMEDIATE")  # the lock is really held
        probe.close()
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def test_sign_in_settings_and_api_keys_never_wait_for_the_event_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_app(data_dir, api_rate_limit=100) as instance:
        accounts = instance.accounts
        await accounts.sites.add(DOMAIN, "Europe/Zurich")
        async with instance.client() as client:
            await setup_admin(client)
        key = await accounts.keys.add(EMAIL)

        event = {"n": "pageview", "u": f"https://{DOMAIN}/", "d": DOMAIN}
        async with event_db_write_lock(data_dir):
            # The held lock is the one ingest needs: an event waits for it (and is counted after).
            pending = asyncio.ensure_future(instance.send(event))
            await asyncio.sleep(0.5)
            assert not pending.done()

            async with instance.client(ip="198.51.100.3") as client:
                # Sign-in: the form (CSRF secret), a wrong password (failure counted), the right one.
                wrong = await asyncio.wait_for(sign_in(client, EMAIL, "not the password"), BOUND)
                assert wrong.status_code == 401
                r = await asyncio.wait_for(sign_in(client, EMAIL, PASSWORD), BOUND)
                assert r.status_code == 303 and r.headers["location"] == "/sites"

                # A settings change.
                form = {"timezone": "Asia/Kolkata", "honor_signals": "on", "allowed_params": "lang"}
                r = await asyncio.wait_for(post_form(client, f"/sites/{DOMAIN}/settings", form), BOUND)
                assert r.status_code == 303, r.text[:300]
            site = await accounts.sites.get(DOMAIN)
            assert (site.timezone, site.allowed_params) == ("Asia/Kolkata", ("lang",))

            # An API key check and a rate-limit hit (the query itself only reads analytics.db).
            found = await asyncio.wait_for(accounts.keys.find(key), BOUND)
            assert found is not None
            now = instance.clock.now()
            decision = await asyncio.wait_for(ratelimit.check(accounts.db, found[0], 100, now), BOUND)
            assert (decision.allowed, decision.remaining) == (True, 99)
            assert await ratelimit.usage(accounts.db, found[0], now) == 1
            assert not pending.done()
        assert (await asyncio.wait_for(pending, BOUND)).status_code == 202


async def test_accounts_db_is_set_up_like_the_event_database(instance: Instance) -> None:
    """WAL, synchronous=FULL, secure_delete and foreign keys on its writer; its own migrations."""
    conn = instance.accounts.db.writer
    values = []
    for pragma in ("journal_mode", "synchronous", "secure_delete", "foreign_keys", "user_version"):
        async with conn.execute(f"PRAGMA {pragma}") as cur:
            row = await cur.fetchone()
        assert row is not None
        values.append(row[0])
    assert values == ["wal", 2, 1, 1, migrations()[-1][0]]
    assert (instance.data_dir / "accounts.db").exists()


async def test_a_failed_write_leaves_nothing_and_the_next_one_works(instance: Instance) -> None:
    await instance.accounts.sites.add(DOMAIN)
    with pytest.raises(Exception, match="already exists"):
        await instance.accounts.sites.add(DOMAIN)
    assert [s.domain for s in await instance.accounts.sites.all()] == [DOMAIN]
    await instance.accounts.sites.add("other.example.org")
    assert len(await instance.accounts.sites.all()) == 2


async def test_a_read_sees_every_commit_before_it_while_other_reads_run(instance: Instance) -> None:
    """Reads share one connection. Three tasks keep reading on it while sites are
    added; a lookup right after each add must find the site. (With execute and
    fetch as two steps, a lookup could land inside another read's snapshot: the
    collector then called a just-added site "not registered".)"""
    db, sites = instance.accounts.db, instance.accounts.sites
    running = True

    async def keep_reading() -> None:
        while running:
            await db.fetchall("SELECT domain FROM sites")

    readers = [asyncio.create_task(keep_reading()) for _ in range(3)]
    try:
        missed = []
        for i in range(150):
            domain = f"s{i}.example.org"
            await sites.add(domain)
            if await sites.by_domain(domain) is None:
                missed.append(domain)
    finally:
        running = False
        await asyncio.gather(*readers)
    assert missed == []
