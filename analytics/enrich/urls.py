"""Reduce a page URL to what may be stored (privacy.md, What is stored).

Only host and path are kept. Query parameters survive only when the site owner
allows them by name; utm_*, ref and source are read for attribution and stored
as their own fields, never in the path. The fragment is kept only in hash mode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

MAX_PATH = 1024
MAX_HOST = 253
MAX_QUERY_VALUE = 500


@dataclass(frozen=True, slots=True)
class CleanUrl:
    hostname: str
    path: str
    query: dict[str, str]  # first value of every parameter, for attribution only


def _printable(raw: str) -> str:
    # Decode percent-escapes for readability, drop control characters so a
    # path can never forge log lines or break a CSV row.
    text = unquote(raw, errors="replace")
    return "".join(ch for ch in text if ch >= " " and ch != "\x7f")


def _clean_path(raw: str) -> str:
    text = _printable(raw or "/")
    return (text if text.startswith("/") else "/" + text)[:MAX_PATH]


def clean(url: str, hash_mode: bool = False, allowed_params: Iterable[str] = ()) -> CleanUrl:
    """Split a validated http(s) URL into stored host and path, and the query for attribution."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    host = host[:MAX_HOST]

    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        query.setdefault(key, value[:MAX_QUERY_VALUE])

    path = _clean_path(parts.path)
    allowed = [p for p in allowed_params if p in query]
    if allowed:
        path += "?" + urlencode([(p, query[p]) for p in allowed], quote_via=quote)
    if hash_mode and parts.fragment:
        path += "#" + _printable(parts.fragment)
    return CleanUrl(hostname=host, path=path[:MAX_PATH], query=query)


def path_matches(path: str, patterns: Iterable[str]) -> bool:
    """Plausible-style exclusion patterns: `*` matches within a segment, `**` across."""
    import fnmatch

    bare = path.split("?", 1)[0].split("#", 1)[0]
    for pattern in patterns:
        pattern = pattern.strip()
        if not pattern:
            continue
        if "**" in pattern:
            if fnmatch.fnmatchcase(bare, pattern.replace("**", "*")):
                return True
        elif fnmatch.fnmatchcase(bare, pattern) and bare.count("/") == pattern.count("/"):
            return True
    return False
