"""Daily salts and the visitor id (privacy.md, The identifier).

A visitor id is BLAKE2b keyed with the day's random salt over the site's domain,
the IP address and the user agent, truncated to 64 bits. Salts rotate at 00:00
UTC; the previous day's salt is kept so a session survives midnight, and older
salts are destroyed in accounts.db (secure_delete plus a WAL truncate).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets

from analytics.model import DAY

SALT_BYTES = 16


def utc_day(ts: float) -> int:
    """Days since 1970-01-01 UTC: the salt's key."""
    return int(ts // DAY)


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def canonical_ip(ip: str) -> str:
    """One spelling per address: `2001:0db8::0001` is `2001:db8::1`, and `::ffff:1.2.3.4` is `1.2.3.4`.

    A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6 and proxies
    write addresses in either form, so hashing the text as sent would count one
    person as two. Anything that is not an address is hashed as it came.
    """
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def visitor_id(salt: bytes, domain: str, ip: str, user_agent: str) -> int:
    """A signed 64-bit id, so SQLite stores it as an INTEGER; the address is hashed in `canonical_ip` form."""
    h = hashlib.blake2b(digest_size=8, key=salt)
    # Length-prefix each part so ("ab", "c") and ("a", "bc") differ.
    for part in (domain, canonical_ip(ip), user_agent):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
    return int.from_bytes(h.digest(), "big", signed=True)
