"""IP address to country, offline.

The lookup happens in memory for the request that carries the address; only
the returned country code is kept. Nothing here stores, logs or puts the IP
address into an exception message (see ``privacy.md``).

The default database is Geoacumen-Country, an open IP-to-country database
shipped inside the ``python-geoacumen`` package, so no download ever happens.
Operators may point to their own MaxMind (GeoLite2-Country/City) or DB-IP
``.mmdb`` file instead.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Mapping
from importlib.resources import as_file, files
from types import TracebackType
from typing import Any, Final, Protocol

import maxminddb  # type: ignore[import-untyped]
import pycountry

__all__ = ["GeoLookup", "country_name"]

# Geoacumen stores "None" and "Unknown" for ranges it has no country for;
# "XX"/"ZZ" are the user-assigned codes other databases use for "unknown".
_COUNTRY_CODE: Final = re.compile(r"[A-Z]{2}\Z")
_UNKNOWN_CODES: Final = frozenset({"XX", "ZZ"})


@functools.cache
def country_name(code: str) -> str:
    """The English name of an ISO 3166-1 code, e.g. "DE" -> "Germany", from pycountry.

    The common name where ISO's official one is long ("TW" -> "Taiwan", not
    "Taiwan, Province of China"); the code itself when it is not a country.
    """
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


class _Reader(Protocol):
    """What we use of maxminddb's readers (pure-Python and C extension)."""

    def get(self, ip_address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any: ...

    def close(self) -> None: ...


def _default_database() -> _Reader:
    """Open the Geoacumen-Country.mmdb that ships in python-geoacumen."""
    resource = files("geoacumen").joinpath("db", "Geoacumen-Country.mmdb")
    # as_file() hands back the file itself for an ordinary install and only
    # extracts it for a zipped one. Even then the mapping outlives the
    # temporary file, because the open file stays mapped after unlinking.
    with as_file(resource) as path:
        return _open(path)


def _open(path: str | os.PathLike[str]) -> _Reader:
    """Open an .mmdb memory-mapped, or raise ValueError naming the path.

    MODE_AUTO picks the C extension when installed and the pure-Python
    reader otherwise; both memory-map the file, so several worker processes
    share its pages instead of each loading a copy.
    """
    try:
        reader: _Reader = maxminddb.open_database(os.fspath(path), maxminddb.MODE_AUTO)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        # OSError: missing/unreadable/a directory; ValueError: empty file
        # (cannot be mapped); InvalidDatabaseError: not a MaxMind DB.
        raise ValueError(f"cannot open GeoIP database {os.fspath(path)!r}: {exc}") from exc
    return reader


def _iso_code(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("iso_code")
    if not isinstance(value, str):
        return ""
    code = value.upper()
    if not _COUNTRY_CODE.match(code) or code in _UNKNOWN_CODES:
        return ""
    return code


def _country_of(record: Any) -> str:
    """Read the country from the record layouts .mmdb files use.

    MaxMind GeoLite2, DB-IP and Geoacumen all put it in
    ``record["country"]["iso_code"]``. GeoLite2 leaves ``country`` out for
    some ranges (anycast, satellite) but keeps ``registered_country``. Some
    other free databases use a flat ``country`` / ``country_code`` string.
    """
    if not isinstance(record, Mapping):
        return ""
    for key in ("country", "registered_country", "country_code"):
        code = _iso_code(record.get(key))
        if code:
            return code
    return ""


class GeoLookup:
    """Country lookup against a memory-mapped .mmdb database.

    Thread-safe for lookups. Use one instance per process; it holds an open
    file and a memory map until :meth:`close`.
    """

    def __init__(self, mmdb_path: str | os.PathLike[str] | None = None) -> None:
        """Open ``mmdb_path``, or the bundled Geoacumen database if None.

        Raises ValueError, naming the path, if the file is missing or is not
        a readable MaxMind DB.
        """
        self._reader: _Reader | None = (
            _default_database() if mmdb_path is None else _open(mmdb_path)
        )

    def country(self, ip: str) -> str:
        """ISO 3166-1 alpha-2 code (upper-case) for ``ip``, or "" if unknown.

        Private, loopback, link-local, reserved and malformed addresses give
        "" without touching the database. Never raises.
        """
        reader = self._reader
        if reader is None or not isinstance(ip, str):
            return ""
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return ""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            # "::ffff:1.2.3.4" is how dual-stack sockets report IPv4 clients.
            address = address.ipv4_mapped
        if not address.is_global:
            return ""
        try:
            record = reader.get(address)
        except (ValueError, OSError, maxminddb.InvalidDatabaseError):
            # e.g. an IPv6 address against an IPv4-only database, or a file
            # that was truncated under us. Unknown is the honest answer.
            return ""
        return _country_of(record)

    def close(self) -> None:
        """Release the file and its memory map. Later lookups return ""."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def __enter__(self) -> GeoLookup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
