"""Page URLs reduced to what may be stored (privacy.md, What is stored)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analytics.enrich.urls import MAX_PATH, CleanUrl, clean, path_matches


@pytest.mark.parametrize(
    ("url", "hostname", "path"),
    [
        ("https://blog.example.org/post", "blog.example.org", "/post"),
        ("https://blog.example.org", "blog.example.org", "/"),
        ("http://blog.example.org/", "blog.example.org", "/"),
        ("https://WWW.Blog.Example.ORG./Post", "blog.example.org", "/Post"),
        ("https://blog.example.org:8443/x", "blog.example.org", "/x"),
        ("https://user:secret@blog.example.org/x", "blog.example.org", "/x"),
        ("http://[2001:db8::1]/x", "2001:db8::1", "/x"),
        ("https://blog.example.org/caf%C3%A9", "blog.example.org", "/café"),
        ("https://blog.example.org/a%20b", "blog.example.org", "/a b"),
        # Control characters (encoded or not) never reach the store: no forged log lines or CSV rows.
        ("https://blog.example.org/a%0Ab%0D%00c%7F", "blog.example.org", "/abc"),
        ("https://blog.example.org/bad%FF", "blog.example.org", "/bad\ufffd"),
    ],
)
def test_host_and_path(url: str, hostname: str, path: str) -> None:
    c = clean(url)
    assert (c.hostname, c.path) == (hostname, path)


def test_query_dropped_from_path_but_kept_for_attribution() -> None:
    c = clean("https://blog.example.org/post?utm_source=news&email=ana@example.com&token=abc&ref=hn#top")
    assert c == CleanUrl(
        hostname="blog.example.org",
        path="/post",
        query={"utm_source": "news", "email": "ana@example.com", "token": "abc", "ref": "hn"},
    )


def test_first_value_of_a_repeated_parameter_and_blank_values_skipped() -> None:
    assert clean("https://a.org/?ref=one&ref=two&utm_medium=").query == {"ref": "one"}


def test_allowed_params_kept_in_path_in_the_owner_order() -> None:
    c = clean("https://a.org/search?email=x@y.z&q=a+b&lang=d%C3%A9&lang=fr", allowed_params=("lang", "q", "page"))
    assert c.path == "/search?lang=d%C3%A9&q=a%20b"


def test_allowed_param_absent_leaves_plain_path() -> None:
    assert clean("https://a.org/p?email=x", allowed_params=("lang",)).path == "/p"


@pytest.mark.parametrize(
    ("url", "hash_mode", "path"),
    [
        ("https://a.org/app#/settings/profile", True, "/app#/settings/profile"),
        ("https://a.org/app#/settings/profile", False, "/app"),
        ("https://a.org/#/", True, "/#/"),
        ("https://a.org/app#", True, "/app"),
        ("https://a.org/app?lang=de#/x", True, "/app?lang=de#/x"),
    ],
)
def test_fragment_only_in_hash_mode(url: str, hash_mode: bool, path: str) -> None:
    assert clean(url, hash_mode, allowed_params=("lang",)).path == path


def test_lengths_capped() -> None:
    c = clean("https://a.org/" + "x" * 5000 + "?q=" + "y" * 5000, allowed_params=("q",))
    assert len(c.path) == MAX_PATH
    assert len(c.query["q"]) == 500
    assert len(clean("https://" + "h" * 300 + ".org/").hostname) == 253


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("/admin", ["/admin"], True),
        ("/admin/", ["/admin"], True),  # a trailing / is optional
        ("/administration", ["/admin"], False),
        ("/admin/users", ["/admin/*"], True),
        ("/admin/users/1", ["/admin/*"], True),  # `*` matches across segments, as in data-exclude
        ("/admin/users/1", ["/admin/**"], True),  # `**` is the same
        ("/admin", ["/admin/*"], False),
        ("/blog/x", ["/admin/**"], False),
        ("/admin?lang=de", ["/admin"], True),
        ("/app#/secret", ["/app"], True),
        ("/x", ["", "  "], False),
        ("/x", [" /x "], True),
        ("/a/b", ["/*/b"], True),
        ("/a/x/b", ["/*/b"], True),
        ("/drafts/2026/post.html", ["/drafts/*.html"], True),
        ("/a.b", ["/a?b"], False),  # only `*` is special: ? and [ match themselves
        ("/a?b", ["/a?b"], False),  # (a query string never reaches the match)
        ("/[x]", ["/[x]"], True),
    ],
)
def test_excluded_path_patterns(path: str, patterns: list[str], expected: bool) -> None:
    assert path_matches(path, patterns) is expected


TRACKER = re.compile(r"exclude = RegExp\('\^\(' \+ \('' \+ data\.exclude\)\.replace\(/\\\*\+/g, '\.\*'\)")


@pytest.mark.parametrize("pattern", ["/admin", "/admin/*", "/admin/**", "/*/b", "/drafts/*-old", "/x/"])
@pytest.mark.parametrize("path", ["/admin", "/admin/", "/admin/u", "/admin/u/1", "/a/b", "/a/x/b", "/drafts/p-old", "/x", "/x/"])
def test_settings_and_the_tracker_read_a_pattern_alike(pattern: str, path: str) -> None:
    """Excluded paths in Settings and the tracker's data-exclude: one rule (issue 14)."""
    source = (Path(__file__).parent.parent / "tracker.js" / "src" / "script.js").read_text()
    assert TRACKER.search(source), "the tracker's data-exclude rule changed: change path_matches with it"
    tracker = re.compile("^(" + re.sub(r"\*+", ".*", pattern) + ")/?$")  # what script.js builds
    assert path_matches(path, [pattern]) is bool(tracker.search(path))
