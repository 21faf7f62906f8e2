"""The reader's primary language, from the `Accept-Language` header.

Only the ISO 639-1 code of the preferred language is kept (`de-CH,de;q=0.9,en;q=0.8`
becomes `de`); the rest of the header, its regions and its order, is dropped.
Codes are checked against ISO 639-1 as shipped by `pycountry`, so nothing but
a known two-letter code is ever stored.
"""

from __future__ import annotations

import functools

import pycountry

# Browsers send a handful of entries; anything longer is cut, so a hostile header costs nothing.
MAX_ENTRIES = 20


@functools.cache
def codes() -> frozenset[str]:
    """Every ISO 639-1 code."""
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


def primary_language(header: str | None) -> str:
    """The ISO 639-1 code of the most preferred language, or "" when none is valid."""
    if not header:
        return ""
    best, best_q = "", 0.0
    for entry in header[:1000].split(",")[:MAX_ENTRIES]:
        tag, _, params = entry.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        code = tag.strip().split("-", 1)[0].lower()
        if q > best_q and 0 < q <= 1 and code in codes():
            best, best_q = code, q  # ties keep the earlier entry, as browsers order by preference
    return best


@functools.cache
def name(code: str) -> str:
    """The English name of a language code, e.g. "de" -> "German"; the code itself if unknown."""
    lang = pycountry.languages.get(alpha_2=code) if code else None
    return str(lang.name) if lang is not None else code
