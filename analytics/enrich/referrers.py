"""Turn a pageview's query string and Referer into a source and a channel (reference §5).

The source comes from, in order: ``utm_source``, ``source`` and ``ref`` in the page
URL, then the Referer header. Known referrer hosts and known parameter spellings map
to one display name through ``data/referrers.json``; everything else is kept as seen.
Channels follow GA4's default channel grouping, checked in the order of ``CHANNELS``.

Everything that can be computed ahead is computed at import: ``attribute()`` runs on
every ingested event, so it does only dictionary look-ups and one URL split.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final
from urllib.parse import unquote, urlsplit

CHANNELS: Final[tuple[str, ...]] = (
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Referral",
    "Direct",
)
DIRECT: Final = "Direct / None"

MAX_REFERRER = 500
MAX_SOURCE = 200
MAX_UTM = 500  # same cap as urls.MAX_QUERY_VALUE, so a value is never cut twice differently
# Only the start of a Referer can hold the scheme and host; bounding the input bounds the work.
_MAX_INPUT = 4096


@dataclass(frozen=True, slots=True)
class Attribution:
    """Where a pageview came from, as stored on the event."""

    source: str  # display name, e.g. "LinkedIn", "news.example.org"; DIRECT when none
    referrer: str  # referrer host (no www.) + path, no query/fragment; "" when none or self
    channel: str  # one of CHANNELS
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_content: str
    utm_term: str


@dataclass(frozen=True, slots=True)
class _Known:
    source: str
    kind: str  # search, ai, social, video, shopping, email, other


_SEPARATORS: Final = re.compile(r"[\s_-]+")


def _norm(value: str) -> str:
    # "Hacker News", "hacker-news" and "hacker_news" are one spelling of one source.
    return _SEPARATORS.sub("", value.strip().lower())


def _load_known() -> tuple[dict[str, _Known], dict[str, _Known], dict[str, _Known], dict[str, _Known]]:
    raw = json.loads(resources.files("analytics.data").joinpath("referrers.json").read_text("utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("referrers.json must hold an object")
    hosts: dict[str, _Known] = {}
    wildcards: dict[str, _Known] = {}
    apps: dict[str, _Known] = {}
    names: dict[str, _Known] = {}
    for key, entry in raw.items():
        if key.startswith("_"):
            continue  # documentation keys
        if not isinstance(entry, dict):
            raise ValueError(f"referrers.json: {key!r} must map to an object")
        known = _Known(source=str(entry["source"]), kind=str(entry["kind"]))
        # One source has one kind: the first entry that names it decides.
        known = names.setdefault(_norm(known.source), known)
        for alias in entry.get("aliases", ()):
            names.setdefault(_norm(str(alias)), known)
        key = key.lower()
        if key.startswith("android-app://"):
            apps[key[len("android-app://") :]] = known
        elif key.endswith(".*"):
            wildcards[key[:-2]] = known
        else:
            hosts[key] = known
    return hosts, wildcards, apps, names


_HOSTS, _WILDCARDS, _APPS, _NAMES = _load_known()

# Second-level labels under which country-code registries sell names (google.co.uk).
_SECOND_LEVEL: Final = frozenset({"co", "com", "net", "org", "ne", "or", "ac"})
_GENERIC_TLD: Final = frozenset({"com", "net", "org"})

_PAID_MEDIUM: Final = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$", re.IGNORECASE)
# GA4's shopping-campaign rule: "shop" not glued to a preceding letter (so not "workshop").
_SHOP_CAMPAIGN: Final = re.compile(r"(([^a-df-z]|^)shop|shopping)", re.IGNORECASE)
_DISPLAY_MEDIUM: Final = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIUM: Final = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
# "newsletter" is how most newsletter tools tag links, so it counts as email too.
_EMAIL_WORDS: Final = frozenset({"email", "e-mail", "e_mail", "e mail", "newsletter"})
_REFERRAL_MEDIUM: Final = frozenset({"referral", "app", "link"})

# Ad-click ids. Their presence marks the visit as paid; with no other source they also
# name the network. fbclid and igshid are left out on purpose: Meta adds them to
# organic links too, so they do not mean an ad was clicked.
_CLICK_IDS: Final[dict[str, str]] = {
    "gclid": "Google",
    "gbraid": "Google",
    "wbraid": "Google",
    "dclid": "Google",
    "msclkid": "Bing",
    "ttclid": "TikTok",
    "twclid": "Twitter",
    "li_fat_id": "LinkedIn",
    "sccid": "Snapchat",
    "epik": "Pinterest",
    "rdt_cid": "Reddit",
    "yclid": "Yandex",
    "qclid": "Quora",
}
_CLICK_ID_SOURCES: Final[dict[str, _Known]] = {k: _NAMES[_norm(v)] for k, v in _CLICK_IDS.items()}

_HOST_RE: Final = re.compile(r"[\w-]+(\.[\w-]+)*")  # \w admits IDN labels as browsers may send them
_APP_RE: Final = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
_PORT_RE: Final = re.compile(r":\d*$")


def _tld_like(labels: list[str]) -> bool:
    if len(labels) == 1:
        tld = labels[0]
        return (len(tld) == 2 and tld.isalpha()) or tld in _GENERIC_TLD
    if len(labels) == 2:
        return labels[0] in _SECOND_LEVEL and len(labels[1]) == 2 and labels[1].isalpha()
    return False


def _lookup_host(host: str) -> _Known | None:
    """Most specific match first, so gemini.google.com wins over google.*."""
    labels = host.split(".")[-10:]  # no real service sits deeper; bounds the loop
    for i in range(len(labels) - 1):
        known = _HOSTS.get(".".join(labels[i:]))
        if known is not None:
            return known
        known = _WILDCARDS.get(labels[i])
        if known is not None and _tld_like(labels[i + 1 :]):
            return known
    return None


def _bare(host: str) -> str:
    """Lower-case host without port, trailing dot or "www." (page_host may carry a port)."""
    host = host.strip().lower()
    if host.startswith("["):  # [v6]:port
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:  # a bare IPv6 address has several colons and no port
        host = _PORT_RE.sub("", host)
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _printable(raw: str) -> str:
    # As urls.py does for paths: readable, and no control characters in stored text.
    text = unquote(raw, errors="replace")
    return "".join(ch for ch in text if ch >= " " and ch != "\x7f")


def _split_referrer(referrer: str | None) -> tuple[str, str, bool] | None:
    """(host or app id, path, is_app) for an http(s) or android-app Referer, else None."""
    if not referrer:
        return None
    ref = referrer.strip()[:_MAX_INPUT]
    scheme = ref[:14].lower()
    if scheme.startswith("android-app://"):
        app = ref[14:].split("/", 1)[0].strip().lower()
        return (app, "", True) if len(app) <= 253 and _APP_RE.fullmatch(app) else None
    if not scheme.startswith(("http://", "https://")):
        return None  # about:, file:, chrome-extension:, javascript:, plain text
    try:
        parts = urlsplit(ref)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if not host:
        return None
    host = host.rstrip(".")
    if len(host) > 253 or not (_HOST_RE.fullmatch(host) or ":" in host and _is_ip(host)):
        return None
    return host, parts.path, False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _from_value(value: str) -> tuple[str, _Known | None]:
    """Map a utm_source/source/ref value to a known source, or keep it as given."""
    known = _NAMES.get(_norm(value))
    if known is None and "." in value and _HOST_RE.fullmatch(value):
        known = _lookup_host(_bare(value))  # utm_source=facebook.com
    return (known.source, known) if known is not None else (value, None)


def _channel(has_source: bool, source: str, kind: str, medium: str, campaign: str, paid: bool) -> str:
    if not (has_source or medium or campaign or paid):
        return "Direct"
    if "cross-network" in campaign:
        return "Cross-network"
    shop_campaign = _SHOP_CAMPAIGN.search(campaign) is not None
    # AI assistants answer questions the way search engines do, so they share its channels.
    search = kind in ("search", "ai")
    if paid:
        if kind == "shopping" or shop_campaign:
            return "Paid Shopping"
        if search:
            return "Paid Search"
        if kind == "social":
            return "Paid Social"
        if kind == "video":
            return "Paid Video"
    if medium in _DISPLAY_MEDIUM:
        return "Display"
    if paid:
        return "Paid Other"
    if kind == "shopping" or shop_campaign:
        return "Organic Shopping"
    if kind == "social" or medium in _SOCIAL_MEDIUM:
        return "Organic Social"
    if kind == "video" or "video" in medium:
        return "Organic Video"
    if search or medium == "organic":
        return "Organic Search"
    if kind == "email" or source in _EMAIL_WORDS or medium in _EMAIL_WORDS:
        return "Email"
    if medium == "affiliate":
        return "Affiliates"
    if medium == "audio":
        return "Audio"
    if source == "sms" or medium == "sms":
        return "SMS"
    if medium.endswith("push") or "mobile" in medium or "notification" in medium or source == "firebase":
        return "Mobile Push Notifications"
    if has_source or medium in _REFERRAL_MEDIUM:
        return "Referral"
    return "Direct"


def attribute(query: Mapping[str, str], referrer: str | None, page_host: str) -> Attribution:
    """Attribute one pageview.

    ``query`` holds the page URL's query parameters (first value of each, unfiltered);
    ``referrer`` is ``document.referrer`` as the browser sent it, possibly empty or
    garbage; ``page_host`` is the host of the viewed page, used to drop self-referrals
    (a ``www.`` difference still counts as self). Never raises on bad input.
    """
    utm = [query.get(f"utm_{k}", "")[:MAX_UTM] for k in ("source", "medium", "campaign", "content", "term")]

    ref_text = ""
    ref_source: tuple[str, _Known | None] | None = None
    split = _split_referrer(referrer)
    if split is not None:
        host, path, is_app = split
        if is_app:
            ref_text = f"android-app://{host}"[:MAX_REFERRER]
            known = _APPS.get(host)
            ref_source = (known.source if known else host, known)
        elif not _is_loopback(host) and _bare(host) != _bare(page_host):
            bare = _bare(host)
            path = _printable(path)
            ref_text = (bare + ("" if path in ("", "/") else path))[:MAX_REFERRER]
            known = _lookup_host(bare)
            ref_source = (known.source if known else bare, known)

    click_source: _Known | None = None
    paid = False
    for key, value in query.items():
        lowered = key.lower()
        if value and lowered in _CLICK_ID_SOURCES:
            paid = True
            click_source = click_source or _CLICK_ID_SOURCES[lowered]

    name: str | None = None
    known = None
    for param in ("utm_source", "source", "ref"):
        value = query.get(param, "").strip()[:MAX_SOURCE]
        if value:
            name, known = _from_value(value)
            break
    if name is None and ref_source is not None:
        name, known = ref_source
    if name is None and click_source is not None:
        # Ad clicks often arrive without a Referer (apps, strict referrer policies);
        # the click id still says which network paid for the visit.
        name, known = click_source.source, click_source

    medium = utm[1].strip().lower()
    paid = paid or _PAID_MEDIUM.match(medium) is not None
    channel = _channel(
        has_source=name is not None,
        source=(name or "").lower(),
        kind=known.kind if known else "",
        medium=medium,
        campaign=utm[2].strip().lower(),
        paid=paid,
    )
    return Attribution(name or DIRECT, ref_text, channel, *utm)


@cache
def _spam_hosts() -> frozenset[str]:
    # Loaded on first use: ~2,000 hosts that only the collector's spam check needs.
    text = resources.files("analytics.data").joinpath("spam_referrers.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def is_spam_referrer(referrer: str | None) -> bool:
    """True when the referrer's host (or any parent domain) is on the shipped spam list.

    Accepts a full URL or a bare host. The list is loaded once, lazily.
    """
    if not referrer:
        return False
    text = referrer.strip()[:_MAX_INPUT]
    if "://" in text:
        split = _split_referrer(text)
        if split is None or split[2]:
            return False
        host = split[0]
    else:
        host = _bare(text.split("/", 1)[0])
    if not host.isascii():
        try:  # the list holds IDNs in their xn-- form
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    spam = _spam_hosts()
    labels = host.lower().split(".")
    return any(".".join(labels[i:]) in spam for i in range(len(labels) - 1))
