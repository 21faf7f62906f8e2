"""The reader's primary language from Accept-Language (analytics/enrich/languages.py)."""

from __future__ import annotations

import pytest

from analytics.enrich import languages
from analytics.enrich.languages import primary_language


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("de-CH,de;q=0.9,en;q=0.8", "de"),
        ("en-US", "en"),
        ("FR-ca", "fr"),  # tags are case-insensitive
        ("en;q=0.5, fr;q=0.9", "fr"),  # the highest q wins, not the first entry
        ("de;q=0.8, fr;q=0.8", "de"),  # a tie keeps the earlier entry
        ("*, de;q=0.5", "de"),  # the wildcard is no language
        ("xx, de;q=0.1", "de"),  # neither is an unknown code
        ("deu, de;q=0.2", "de"),  # three letters are not ISO 639-1
        ("en;q=0, de;q=0.3", "de"),  # q=0 means "not acceptable"
        ("en;q=1.5, de;q=0.3", "de"),  # q above 1 is invalid
        ("en;q=abc, de;q=0.3", "de"),  # an unreadable q drops its entry
        ("en;level=1", "en"),  # parameters other than q leave q at 1
        (" , ;q=0.9, en ", "en"),
        ("", ""),
        (None, ""),
        ("*", ""),
        ("zz-ZZ;q=0.9", ""),
        ("en;q=-1", ""),
        ("\x00\xff;;;,,,", ""),
    ],
)
def test_primary_language(header: str | None, code: str) -> None:
    assert primary_language(header) == code


def test_a_long_header_is_cut_before_it_costs_anything() -> None:
    padding = ",".join(["xx"] * languages.MAX_ENTRIES)
    assert primary_language(padding + ",de") == ""  # entry 21 is never read
    assert primary_language(",".join(["xx"] * (languages.MAX_ENTRIES - 1)) + ",de") == "de"
    assert primary_language("x" * 5000 + ",de") == ""  # only the first 1,000 characters are read


def test_codes_are_iso_639_1() -> None:
    codes = languages.codes()
    assert {"de", "en", "fr", "ja", "zh"} <= codes
    assert all(len(c) == 2 and c.isalpha() and c.islower() for c in codes)
    assert "deu" not in codes


def test_names() -> None:
    assert [languages.name(c) for c in ("de", "en", "ja", "fr")] == ["German", "English", "Japanese", "French"]
    assert languages.name("") == ""
    assert languages.name("zz") == "zz"  # unknown codes read as themselves
