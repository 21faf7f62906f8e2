"""The daily salt and the visitor id: keyed, site-scoped, 64 bits; a person is a new visitor each day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import Instance

from analytics.enrich import identity
from analytics.enrich.identity import canonical_ip, new_salt, visitor_id
from analytics.stats.parse import parse
from analytics.stats.run import run


def test_visitor_id_is_keyed_site_scoped_and_64_bit() -> None:
    salt = bytes(range(16))
    a = identity.visitor_id(salt, "a.org", "198.51.100.1", "UA")
    assert a == identity.visitor_id(salt, "a.org", "198.51.100.1", "UA")
    assert a != identity.visitor_id(salt, "b.org", "198.51.100.1", "UA")  # no cross-site linking
    assert a != identity.visitor_id(bytes(16), "a.org", "198.51.100.1", "UA")
    assert identity.visitor_id(salt, "a.or", "g198.51.100.1", "UA") != a  # parts can't slide into each other
    assert -(2**63) <= a < 2**63
    assert len(identity.new_salt()) == 16 and identity.new_salt() != identity.new_salt()


def test_utc_day_boundary() -> None:
    midnight = datetime(2026, 3, 3, tzinfo=UTC).timestamp()
    assert identity.utc_day(midnight - 1) + 1 == identity.utc_day(midnight)


async def test_same_person_is_a_new_visitor_each_day(instance: Instance, site: object) -> None:
    body = {"n": "pageview", "u": "https://blog.example.org/", "d": "blog.example.org"}
    for hour in (10, 11):  # same day, two visits: one visitor
        instance.clock.set(datetime(2026, 3, 2, hour, tzinfo=UTC))
        assert (await instance.send(body)).status_code == 202
    instance.clock.set(datetime(2026, 3, 3, 10, tzinfo=UTC))
    assert (await instance.send(body)).status_code == 202
    rows = await instance.store.fetchall("SELECT COUNT(DISTINCT visitor_id), COUNT(*) FROM sessions")
    assert rows == [(2, 3)]


def test_utc_day_counts_whole_days_since_the_epoch() -> None:
    assert [identity.utc_day(t) for t in (0, 86399.9, 86400, -1)] == [0, 0, 1, -1]
    assert identity.utc_day(datetime(2026, 3, 2, 23, 59, tzinfo=UTC).timestamp()) == 20514


# -- one spelling per address --------------------------------------------------------------------

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        ("2001:0db8::0001", "2001:db8::1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("::FFFF:0102:0304", "1.2.3.4"),
        ("1.2.3.4", "1.2.3.4"),
        (" 1.2.3.4 ", "1.2.3.4"),
        ("not an address", "not an address"),
    ],
)
def test_canonical_ip(sent: str, canonical: str) -> None:
    assert canonical_ip(sent) == canonical


def test_spellings_of_one_address_are_one_visitor() -> None:
    salt = new_salt()
    assert visitor_id(salt, "a.example", "2001:db8::1", UA) == visitor_id(salt, "a.example", "2001:0db8::0001", UA)
    assert visitor_id(salt, "a.example", "::ffff:1.2.3.4", UA) == visitor_id(salt, "a.example", "1.2.3.4", UA)
    assert visitor_id(salt, "a.example", "1.2.3.4", UA) != visitor_id(salt, "a.example", "1.2.3.5", UA)


async def test_ingest_counts_both_spellings_once(instance: Instance) -> None:
    site = await instance.accounts.sites.add("blog.example.org", "UTC")
    body = {"n": "pageview", "u": "https://blog.example.org/", "d": "blog.example.org"}
    for ip in ("2001:db8::1", "2001:0db8::0001", "::ffff:1.2.3.4", "1.2.3.4"):
        r = await instance.send(body, ip=ip)
        assert r.status_code == 202 and "x-analytics-dropped" not in r.headers
    query = parse({"metrics": ["visitors", "pageviews"], "date_range": "day"}, site, instance.clock.utcnow())
    result = await run(instance.store, query)
    assert result.rows == [((), (2, 4))]
