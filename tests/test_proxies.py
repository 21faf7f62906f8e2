"""X-Forwarded-For is believed only from trusted proxies, walking right to left."""

from __future__ import annotations

import pytest

from analytics.config import SettingsError, parse_networks
from analytics.ingest.proxies import client_ip

TRUSTED = parse_networks("127.0.0.1/32, 10.0.0.0/8, ::1/128")


def test_no_trusted_proxies_ignores_the_header() -> None:
    assert client_ip("127.0.0.1", "198.51.100.77", ()) == "127.0.0.1"


def test_untrusted_peer_cannot_spoof() -> None:
    assert client_ip("203.0.113.9", "198.51.100.77", TRUSTED) == "203.0.113.9"
    assert client_ip("11.0.0.1", "198.51.100.77", TRUSTED) == "11.0.0.1"


def test_trusted_peer_single_hop() -> None:
    assert client_ip("127.0.0.1", "198.51.100.77", TRUSTED) == "198.51.100.77"
    assert client_ip("::1", "2001:db8::77", TRUSTED) == "2001:db8::77"
    assert client_ip("10.9.8.7", " 198.51.100.77 ", TRUSTED) == "198.51.100.77"


def test_rightmost_untrusted_hop_wins_over_client_supplied_prefix() -> None:
    # The client wrote "1.1.1.1" itself; our proxies appended the real hops.
    assert client_ip("127.0.0.1", "1.1.1.1, 198.51.100.77, 10.0.0.2", TRUSTED) == "198.51.100.77"


def test_all_hops_trusted_gives_the_leftmost() -> None:
    assert client_ip("127.0.0.1", "10.0.0.3, 10.0.0.2", TRUSTED) == "10.0.0.3"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("garbage", "127.0.0.1"),
        ("198.51.100.77, garbage", "127.0.0.1"),
        ("garbage, 198.51.100.77", "198.51.100.77"),
        ("198.51.100.77:8080", "127.0.0.1"),
        ("[2001:db8::1]:443", "127.0.0.1"),
        ("", "127.0.0.1"),
        (" , ,", "127.0.0.1"),
        ("unknown, 10.0.0.2", "10.0.0.2"),
    ],
)
def test_malformed_hops_stop_at_the_last_trusted_address(header: str, expected: str) -> None:
    assert client_ip("127.0.0.1", header, TRUSTED) == expected


def test_no_header_or_no_peer() -> None:
    assert client_ip("127.0.0.1", None, TRUSTED) == "127.0.0.1"
    assert client_ip(None, "1.2.3.4", TRUSTED) == ""
    assert client_ip("not-an-ip", "1.2.3.4", TRUSTED) == "not-an-ip"


def test_parse_networks() -> None:
    assert [str(n) for n in parse_networks(" 10.0.0.1/8 ,,::1 ")] == ["10.0.0.0/8", "::1/128"]
    assert parse_networks("") == ()
    with pytest.raises(SettingsError, match="'10.0.0.0/33' is not a CIDR"):
        parse_networks("10.0.0.0/33")
