"""Reduce a page URL to what may be stored (privacy.md, What is stored).

Only host and path are kept. Query parameters survive only when the site owner
allows them by name; utm_*, ref and source are read for attribution and stored
as their own fields, never in the path. The fragment is kept only in hash mode.
"""

from __future__ import annotations

import fnmatch
import functools
import re
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
    """Whether `path` is excluded by one of `patterns`: the tracker's `data-exclude` rule.

    `*` (or `**`) matches any characters, `/` included, and a trailing `/` is optional:
    `/admin/*` excludes everything under /admin/, `/preview` also /preview/. Site
    settings and the tracker share this one rule, so a path pattern means the same
    wherever it is written (Plausible's `*` stops at a `/`; the tracker's budget does not
    allow that, see tracker.js/README.md). Every other character matches itself.
    """
    bare = path.split("?", 1)[0].split("#", 1)[0]
    tried = (bare, bare[:-1]) if len(bare) > 1 and bare.endswith("/") else (bare,)
    return any(_pattern(p).match(t) for p in patterns if p.strip() for t in tried)


@functools.lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    """A compiled pattern. fnmatch's translation (atomic groups, so a path of hostile
    length cannot make it backtrack), with `?` and `[` kept literal: only `*` is special."""
    glob = re.sub(r"\*+", "*", pattern.strip()).replace("[", "[[]").replace("?", "[?]")
    return re.compile(fnmatch.translate(glob))
