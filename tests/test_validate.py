"""Checks on what an operator types (analytics/accounts/validate.py)."""

from __future__ import annotations

import pytest

from analytics.accounts.passwords import verify_password
from analytics.accounts.validate import AdminError, check_timezone, credentials, normalize_domain, parse_list


@pytest.mark.parametrize(
    ("given", "domain"),
    [
        ("blog.example.org", "blog.example.org"),
        ("  HTTPS://www.Example.org/ ", "example.org"),
        ("http://shop.example.org", "shop.example.org"),
        ("localhost:8080", "localhost:8080"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_normalize_domain(given: str, domain: str) -> None:
    assert normalize_domain(given) == domain


@pytest.mark.parametrize("bad", ["", "exa mple.org", "-a.org", "a_b.org", "a.org/path", "a" * 64 + ".org", "a.org:123456", "ü.org"])
def test_bad_domains_name_themselves(bad: str) -> None:
    with pytest.raises(AdminError, match="is not a valid domain, e.g. blog.example.org"):
        normalize_domain(bad)


def test_check_timezone() -> None:
    assert check_timezone("Asia/Kolkata") == "Asia/Kolkata"
    for bad in ("Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(AdminError, match="is not a known time zone"):
            check_timezone(bad)


def test_credentials() -> None:
    email, hashed = credentials("  ann@example.org ", "long enough")
    assert email == "ann@example.org" and verify_password("long enough", hashed)
    with pytest.raises(AdminError, match="'ann' is not an email address"):
        credentials("ann", "long enough")
    with pytest.raises(AdminError, match="at least 8 characters"):
        credentials("ann@example.org", "short")


def test_parse_list() -> None:
    assert parse_list("lang, ref\nlang,,  q[0] ", "param") == ("lang", "ref", "q[0]")  # commas or lines, no repeats
    assert parse_list("/admin/**\n/preview/*", "path") == ("/admin/**", "/preview/*")
    assert parse_list("author,plan", "prop") == ("author", "plan")
    assert parse_list("", "param") == ()
    for text, kind, message in (("a b", "param", "'a b' is not a query parameter name"),
                                ("admin", "path", "'admin' is not a path pattern such as /admin/\\*\\*"),
                                ("/" + "a" * 300, "path", "is not a path pattern"),
                                ("a\tb", "prop", "is not a property name"),
                                (",".join(f"p{i}" for i in range(51)), "param", "at most 50 entries")):  # fmt: skip
        with pytest.raises(AdminError, match=message):
            parse_list(text, kind)
