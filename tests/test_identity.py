"""The visitor id hashes one spelling per IP address, so one person is one visitor."""

from __future__ import annotations

import pytest
from conftest import Instance

from analytics.enrich.identity import canonical_ip, new_salt, visitor_id
from analytics.stats.parse import parse
from analytics.stats.run import run

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
