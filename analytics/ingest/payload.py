"""Parse and validate a Plausible Events API body (reference §1).

Everything here is attacker-controlled. The result holds only checked, capped
values; anything wrong raises `BadRequest` with a message naming the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from analytics.errors import ApiError, BadRequest

MAX_BODY = 8 * 1024
MAX_NAME = 120
MAX_URL_BYTES = 2000
MAX_REFERRER = 2000
MAX_DOMAIN = 1000
MAX_PROPS = 30
MAX_PROP_KEY = 300
MAX_PROP_VALUE = 2000
MAX_ENGAGED_MS = 30 * 24 * 3600 * 1000
MAX_WORDS = 1_000_000  # a page longer than this is an error or a lie

# Short and long names; the first present wins.
_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("n", "name"),
    "url": ("u", "url"),
    "domain": ("d", "domain"),
    "referrer": ("r", "referrer"),
    "props": ("p", "props", "m", "meta"),
    "revenue": ("$", "revenue"),
    "interactive": ("i", "interactive"),
    "hash_mode": ("h", "hashMode"),
    "scroll_depth": ("sd",),
    "engaged_ms": ("e",),
    "width": ("w",),
    "words": ("wc",),  # our extension: the page's length in words (engagement only)
}


@dataclass(frozen=True, slots=True)
class Payload:
    name: str
    url: str
    domains: tuple[str, ...]
    referrer: str | None
    props: tuple[tuple[str, str], ...]
    revenue: tuple[float, str] | None
    interactive: bool
    hash_mode: bool
    scroll_depth: int | None
    engaged_ms: int | None
    width: int | None
    words: int | None = None

    @property
    def is_engagement(self) -> bool:
        return self.name == "engagement"


class PayloadTooLarge(ApiError):
    def __init__(self) -> None:
        super().__init__(413, f"Request body is larger than {MAX_BODY} bytes")


def decode(raw: bytes) -> Mapping[str, Any]:
    """Bytes to a JSON object, whatever the Content-Type said."""
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object")
    return data


def _text(value: str) -> str:
    # JSON may escape lone surrogates ("\\ud800"); they are not UTF-8, and SQLite
    # would fail the whole batch on them. Make them U+FFFD instead.
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _get(body: Mapping[str, Any], field: str) -> Any:
    for key in _ALIASES[field]:
        if key in body and body[key] is not None:
            return _text(body[key]) if isinstance(body[key], str) else body[key]
    return None


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float, e.g. 10**400 from json.loads
        return False


def _int(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadRequest(f"{field} must be a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise BadRequest(f"{field} must be a number") from None
    if not isinstance(value, int | float) or not _finite(value):
        raise BadRequest(f"{field} must be a number")
    return int(value)


def _flag(value: Any, field: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    raise BadRequest(f"{field} must be a boolean")


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and _finite(value):
        return str(value)
    if isinstance(value, str):
        return value
    return None  # nested objects, lists and null are dropped, as Plausible does


def _props(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # the legacy `m`/`meta` field is a JSON string
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise BadRequest("props must be a JSON object") from None
    if not isinstance(value, dict):
        raise BadRequest("props must be a JSON object")
    pairs: list[tuple[str, str]] = []
    for key, raw in value.items():
        key, text = _text(key), _scalar(raw)
        text = _text(text) if text is not None else None
        if text is None or key == "" or text == "":
            continue
        if len(key) > MAX_PROP_KEY:
            raise BadRequest(f"props key is longer than {MAX_PROP_KEY} characters")
        if len(text) > MAX_PROP_VALUE:
            raise BadRequest(f"props value for {key[:40]!r} is longer than {MAX_PROP_VALUE} characters")
        pairs.append((key, text))
        if len(pairs) == MAX_PROPS:
            break
    return tuple(pairs)


def _revenue(value: Any) -> tuple[float, str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise BadRequest("revenue must be an object with currency and amount") from None
    if not isinstance(value, dict):
        raise BadRequest("revenue must be an object with currency and amount")
    currency = value.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise BadRequest("revenue.currency must be a 3-letter ISO 4217 code")
    amount = value.get("amount")
    if isinstance(amount, str):
        try:
            amount = float(amount)
        except ValueError:
            raise BadRequest("revenue.amount must be a number") from None
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not _finite(amount):
        raise BadRequest("revenue.amount must be a number")
    return float(amount), currency.upper()


def _domains(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("domain is missing")
    if len(value) > MAX_DOMAIN:
        raise BadRequest(f"domain is longer than {MAX_DOMAIN} characters")
    domains = []
    for part in value.split(","):
        part = part.strip().lower()
        if not part or not all(c.isalnum() or c in ".-:_" for c in part):
            raise BadRequest(f"domain {part[:100]!r} is not a valid domain")
        domains.append(part)
    return tuple(dict.fromkeys(domains))


def parse(body: Mapping[str, Any]) -> Payload:
    """Validate a decoded body; raises BadRequest naming the first bad field."""
    name = _get(body, "name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name is missing" if name is None else "name must be a non-empty string")
    if len(name) > MAX_NAME:
        raise BadRequest(f"name is longer than {MAX_NAME} characters")

    url = _get(body, "url")
    if not isinstance(url, str) or not url:
        raise BadRequest("url is missing" if url is None else "url must be a string")
    if len(url.encode("utf-8", "surrogatepass")) > MAX_URL_BYTES:
        raise BadRequest(f"url is longer than {MAX_URL_BYTES} bytes")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise BadRequest("url is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise BadRequest("url must be an http or https URL")
    if not hostname:
        raise BadRequest("url has no host")

    domains = _domains(_get(body, "domain"))

    referrer = _get(body, "referrer")
    if referrer is not None and not isinstance(referrer, str):
        raise BadRequest("referrer must be a string")
    referrer = referrer[:MAX_REFERRER] if referrer else None

    engaged = _int(_get(body, "engaged_ms"), "e")
    if engaged is not None and not 0 <= engaged < MAX_ENGAGED_MS:
        raise BadRequest("e (engaged time) must be between 0 and 30 days in milliseconds")
    scroll = _int(_get(body, "scroll_depth"), "sd")
    if scroll is not None:
        scroll = None if scroll == 255 or scroll < 0 else min(scroll, 100)
    width = _int(_get(body, "width"), "w")
    if width is not None and not 0 < width < 100_000:
        width = None
    words = _int(_get(body, "words"), "wc")
    if words is not None and not 0 < words <= MAX_WORDS:
        words = None  # an implausible length reads as unknown, as an odd width does

    return Payload(
        name=name.strip(),
        url=url,
        domains=domains,
        referrer=referrer,
        props=_props(_get(body, "props")),
        revenue=_revenue(_get(body, "revenue")),
        interactive=_flag(_get(body, "interactive"), "interactive", True),
        hash_mode=_flag(_get(body, "hash_mode"), "h", False),
        scroll_depth=scroll,
        engaged_ms=engaged,
        width=width,
        words=words,
    )
