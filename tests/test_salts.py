"""Salts rotate at 00:00 UTC, yesterday's is kept, older ones are deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import Instance

from analytics.enrich import identity as salts


def test_visitor_id_is_keyed_site_scoped_and_64_bit() -> None:
    salt = bytes(range(16))
    a = salts.visitor_id(salt, "a.org", "198.51.100.1", "UA")
    assert a == salts.visitor_id(salt, "a.org", "198.51.100.1", "UA")
    assert a != salts.visitor_id(salt, "b.org", "198.51.100.1", "UA")  # no cross-site linking
    assert a != salts.visitor_id(bytes(16), "a.org", "198.51.100.1", "UA")
    assert salts.visitor_id(salt, "a.or", "g198.51.100.1", "UA") != a  # parts can't slide into each other
    assert -(2**63) <= a < 2**63
    assert len(salts.new_salt()) == 16 and salts.new_salt() != salts.new_salt()


def test_utc_day_boundary() -> None:
    midnight = datetime(2026, 3, 3, tzinfo=UTC).timestamp()
    assert salts.utc_day(midnight - 1) + 1 == salts.utc_day(midnight)


async def test_rotation_keeps_two_days_and_deletes_older(instance: Instance, site: object) -> None:
    kept = instance.accounts.salts
    start = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
    instance.clock.set(start)
    day = salts.utc_day(start.timestamp())
    first = await kept.for_day(day)
    assert list(first) == [day]
    for n in (1, 2, 3):
        instance.clock.set(start + timedelta(days=n))
        current = await kept.for_day(day + n)
        assert sorted(current) == [day + n - 1, day + n]
        assert await kept.days() == [day + n - 1, day + n]
    assert current[day + 2] != current[day + 3]


async def test_same_person_is_a_new_visitor_each_day(instance: Instance, site: object) -> None:
    body = {"n": "pageview", "u": "https://blog.example.org/", "d": "blog.example.org"}
    for hour in (10, 11):  # same day, two visits: one visitor
        instance.clock.set(datetime(2026, 3, 2, hour, tzinfo=UTC))
        assert (await instance.send(body)).status_code == 202
    instance.clock.set(datetime(2026, 3, 3, 10, tzinfo=UTC))
    assert (await instance.send(body)).status_code == 202
    rows = await instance.store.fetchall("SELECT COUNT(DISTINCT visitor_id), COUNT(*) FROM sessions")
    assert rows == [(2, 3)]
