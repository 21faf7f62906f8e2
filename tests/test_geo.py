"""Tests for analytics.enrich.geo: the bundled Geoacumen database and operator files."""

from __future__ import annotations

from pathlib import Path

import geoacumen  # type: ignore[import-untyped]
import maxminddb  # type: ignore[import-untyped]
import pytest

from analytics.enrich import geo
from analytics.enrich.geo import GeoLookup


@pytest.fixture(scope="module")
def lookup() -> GeoLookup:
    return GeoLookup()


# Ranges whose country is not in doubt, checked against the shipped database.
@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("217.0.0.1", "DE"),  # Deutsche Telekom 217.0.0.0/13
        ("80.146.0.1", "DE"),  # Deutsche Telekom 80.128.0.0/11
        ("93.192.0.1", "DE"),  # Deutsche Telekom 93.192.0.0/10
        ("195.186.0.1", "CH"),  # Swisscom (Bluewin)
        ("138.188.0.1", "CH"),  # Swisscom
        ("178.197.128.1", "CH"),  # Swisscom mobile
        ("90.0.0.1", "FR"),  # Orange France
        ("212.58.244.1", "GB"),  # BBC
        ("133.1.1.1", "JP"),  # Japanese academic network 133.0.0.0/8
        ("8.8.8.8", "US"),  # Google Public DNS
        ("2003::1", "DE"),  # Deutsche Telekom 2003::/19
        ("2003:e0::1", "DE"),
        ("2a02:1210::1", "CH"),  # Swisscom
        ("2001:8e0::1", "CH"),  # Swisscom
        ("2a01:cb00::1", "FR"),  # Orange France
        ("2001:4860:4860::8888", "US"),  # Google Public DNS
        ("::ffff:217.0.0.1", "DE"),  # IPv4-mapped, as dual-stack sockets report it
        (" 217.0.0.1 ", "DE"),  # stray whitespace from a header
    ],
)
def test_public_addresses(lookup: GeoLookup, ip: str, country: str) -> None:
    assert lookup.country(ip) == country


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "127.0.0.1",
        "169.254.1.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "192.0.2.1",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
    ],
)
def test_private_and_special_addresses_are_unknown(lookup: GeoLookup, ip: str) -> None:
    assert lookup.country(ip) == ""


@pytest.mark.parametrize(
    "ip",
    ["", " ", "abc", "999.1.1.1", "1.2.3", "217.0.0.1:443", "010.0.0.1", "1.2.3.4.5", "::g", "\x00", "ä" * 100],
)
def test_garbage_is_unknown(lookup: GeoLookup, ip: str) -> None:
    assert lookup.country(ip) == ""


def test_non_string_input_does_not_raise(lookup: GeoLookup) -> None:
    assert lookup.country(None) == ""  # type: ignore[arg-type]
    assert lookup.country(3627732993) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize("ip", ["43.73.16.68", "138.136.168.94", "91.198.174.192"])
def test_geoacumen_placeholders_are_not_countries(lookup: GeoLookup, ip: str) -> None:
    # Geoacumen stores the strings "None" and "Unknown" as iso_code for
    # public ranges it cannot place; they must not leak out as countries.
    with maxminddb.open_database(geoacumen.db_path) as reader:
        assert reader.get(ip)["country"]["iso_code"] in {"None", "Unknown"}
    assert lookup.country(ip) == ""


def test_default_database_is_the_bundled_one() -> None:
    with GeoLookup(geoacumen.db_path) as explicit, GeoLookup(Path(geoacumen.db_path)) as as_path:
        assert explicit.country("217.0.0.1") == as_path.country("217.0.0.1") == "DE"


def test_close_is_idempotent_and_later_lookups_are_unknown() -> None:
    lookup = GeoLookup()
    assert lookup.country("217.0.0.1") == "DE"
    lookup.close()
    lookup.close()
    assert lookup.country("217.0.0.1") == ""


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "text", "truncated"])
def test_bad_database_path_raises_value_error_naming_it(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.mmdb"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a database\n")
    elif kind == "truncated":
        path.write_bytes(Path(geoacumen.db_path).read_bytes()[:4096])
    with pytest.raises(ValueError, match="GeoIP database") as info:
        GeoLookup(path)
    assert str(path) in str(info.value)


# -- An operator's own database ----------------------------------------------
#
# No .mmdb writer is installed, so write a minimal one by hand (the format is
# documented at https://maxmind.github.io/MaxMind-DB/): an IPv4 tree with a
# single node splitting 0.0.0.0/1 from 128.0.0.0/1.


def _ctrl(type_: int, size: int) -> bytes:
    if type_ <= 7:
        return bytes([(type_ << 5) | size])
    return bytes([size, type_ - 7])  # extended type


def _encode(value: object) -> bytes:
    if isinstance(value, str):
        raw = value.encode()
        return _ctrl(2, len(raw)) + raw
    if isinstance(value, dict):
        return _ctrl(7, len(value)) + b"".join(_encode(k) + _encode(v) for k, v in value.items())
    if isinstance(value, list):
        return _ctrl(11, len(value)) + b"".join(_encode(v) for v in value)
    if isinstance(value, tuple):  # (type, int) for the unsigned types
        type_, number = value
        assert isinstance(type_, int) and isinstance(number, int)
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return _ctrl(type_, len(raw)) + raw
    raise TypeError(value)


def _write_mmdb(path: Path, low: dict[str, object], high: dict[str, object]) -> None:
    node_count = 1
    data_low, data_high = _encode(low), _encode(high)
    # A record past node_count points into the data section, which starts
    # after the tree and a 16-byte separator.
    left, right = node_count + 16, node_count + 16 + len(data_low)
    tree = left.to_bytes(3, "big") + right.to_bytes(3, "big")
    metadata = {
        "node_count": (6, node_count),
        "record_size": (5, 24),
        "ip_version": (5, 4),
        "database_type": "GeoLite2-City",
        "languages": ["en"],
        "binary_format_major_version": (5, 2),
        "binary_format_minor_version": (5, 0),
        "build_epoch": (9, 1_700_000_000),
        "description": {"en": "test"},
    }
    path.write_bytes(
        tree + bytes(16) + data_low + data_high + b"\xab\xcd\xefMaxMind.com" + _encode(metadata)
    )


def test_operator_database_in_geolite2_city_layout(tmp_path: Path) -> None:
    path = tmp_path / "GeoLite2-City.mmdb"
    _write_mmdb(
        path,
        # The full GeoLite2-City shape: country next to city and location.
        {
            "city": {"names": {"en": "Berlin"}},
            "continent": {"code": "EU"},
            "country": {"iso_code": "DE", "names": {"en": "Germany"}},
            "location": {"time_zone": "Europe/Berlin"},
        },
        # Anycast ranges carry only the registered country.
        {"registered_country": {"iso_code": "US"}},
    )
    with GeoLookup(str(path)) as lookup:
        assert lookup.country("81.2.69.160") == "DE"
        assert lookup.country("200.1.2.3") == "US"
        # An IPv6 address against an IPv4-only database: unknown, no error.
        assert lookup.country("2003::1") == ""
        assert lookup.country("10.0.0.1") == ""


@pytest.mark.parametrize(
    ("record", "country"),
    [
        ({"country": {"iso_code": "DE"}}, "DE"),  # MaxMind, DB-IP, Geoacumen
        ({"country": {"iso_code": "ch"}}, "CH"),
        ({"country": {"iso_code": "None"}}, ""),  # Geoacumen placeholders
        ({"country": {"iso_code": "Unknown"}}, ""),
        ({"country": {"iso_code": "ZZ"}}, ""),  # "unknown" in some databases
        ({"country": {"iso_code": 49}}, ""),
        ({"country": {}, "registered_country": {"iso_code": "US"}}, "US"),
        ({"country": "FR"}, "FR"),  # flat layouts
        ({"country_code": "JP"}, "JP"),
        ({"city": {"names": {"en": "Nowhere"}}}, ""),
        ({}, ""),
        (None, ""),
        ("DE", ""),
    ],
)
def test_record_layouts(record: object, country: str) -> None:
    assert geo._country_of(record) == country


def test_mmdb_writer_helper_round_trips(tmp_path: Path) -> None:
    # Guards the hand-written file above against silently testing nothing.
    path = tmp_path / "t.mmdb"
    _write_mmdb(path, {"country": {"iso_code": "DE"}}, {"x": "y"})
    with maxminddb.open_database(str(path)) as reader:
        assert reader.metadata().node_count == 1
        assert reader.get("1.1.1.1") == {"country": {"iso_code": "DE"}}
        assert reader.get("129.0.0.1") == {"x": "y"}


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("DE", "Germany"),
        ("CH", "Switzerland"),
        ("US", "United States"),
        ("TW", "Taiwan"),  # the common name, not "Taiwan, Province of China"
        ("KR", "South Korea"),
        ("IR", "Iran"),
        ("CZ", "Czechia"),
        ("XX", "XX"),  # not a country: the code itself
        ("", ""),
        ("DEU", "DEU"),  # only two-letter codes are stored
    ],
)
def test_country_names_come_from_pycountry(code: str, name: str) -> None:
    assert geo.country_name(code) == name
