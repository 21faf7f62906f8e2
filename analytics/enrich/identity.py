"""Daily salts and the visitor id (privacy.md, The identifier).

A visitor id is BLAKE2b keyed with the day's random salt over the site's domain,
the IP address and the user agent, truncated to 64 bits. Salts rotate at 00:00
UTC; the previous day's salt is kept so a session survives midnight, and older
salts are destroyed in accounts.db (secure_delete plus a WAL truncate).
"""

from __future__ import annotations

import hashlib
import secrets

from analytics.model import DAY

SALT_BYTES = 16


def utc_day(ts: float) -> int:
    """Days since 1970-01-01 UTC: the salt's key."""
    return int(ts // DAY)


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def visitor_id(salt: bytes, domain: str, ip: str, user_agent: str) -> int:
    """A signed 64-bit id, so SQLite stores it as an INTEGER."""
    h = hashlib.blake2b(digest_size=8, key=salt)
    # Length-prefix each part so ("ab", "c") and ("a", "bc") differ.
    for part in (domain, ip, user_agent):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
    return int.from_bytes(h.digest(), "big", signed=True)
