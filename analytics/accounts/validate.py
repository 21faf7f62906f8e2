"""Checks on what an operator types: domains, time zones, emails, passwords and settings lists."""

from __future__ import annotations

import re
import zoneinfo

from analytics.accounts.passwords import MIN_LENGTH, hash_password

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)*{_LABEL}(:\d{{1,5}})?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_PARAM = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,100}$")
_PROP_KEY = re.compile(r"^[^\s,]{1,300}$")
MAX_LIST = 50
MAX_PASSWORD = 1024  # sign-in checks only the first 1024 characters


class AdminError(ValueError):
    """A bad argument for an account operation; the message names it."""


def normalize_domain(domain: str) -> str:
    """The bare domain: no scheme, no `www.`, no trailing slash, lower case."""
    d = domain.strip().lower()
    for prefix in ("https://", "http://"):
        if d.startswith(prefix):
            d = d[len(prefix) :]
    d = d.rstrip("/")
    if d.startswith("www."):
        d = d[4:]
    if not _DOMAIN.match(d):
        raise AdminError(f"{domain!r} is not a valid domain, e.g. blog.example.org")
    return d


def check_timezone(tz: str) -> str:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise AdminError(f"{tz!r} is not a known time zone, e.g. Europe/Zurich") from None
    return tz


def email(value: str) -> str:
    """A checked email address, stripped."""
    value = value.strip()
    if not _EMAIL.match(value):
        raise AdminError(f"{value[:320]!r} is not an email address")
    return value


def password_hash(password: str) -> str:
    """The scrypt hash of a password long enough (and not absurdly long: scrypt reads it all)."""
    if len(password) < MIN_LENGTH:
        raise AdminError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_PASSWORD:
        raise AdminError(f"the password must have at most {MAX_PASSWORD} characters")
    return hash_password(password)


def credentials(address: str, password: str) -> tuple[str, str]:
    """A checked email and the password's scrypt hash."""
    return email(address), password_hash(password)


def parse_list(text: str, kind: str) -> tuple[str, ...]:
    """A comma or newline separated list from a settings form, validated per `kind`."""
    items: list[str] = []
    for raw in re.split(r"[,\n]", text):
        item = raw.strip()
        if not item or item in items:
            continue
        if kind == "param" and not _PARAM.match(item):
            raise AdminError(f"{item[:60]!r} is not a query parameter name")
        if kind == "path" and (not item.startswith("/") or len(item) > 300):
            raise AdminError(f"{item[:60]!r} is not a path pattern such as /admin/**")
        if kind == "prop" and not _PROP_KEY.match(item):
            raise AdminError(f"{item[:60]!r} is not a property name")
        items.append(item)
    if len(items) > MAX_LIST:
        raise AdminError(f"at most {MAX_LIST} entries")
    return tuple(items)
