"""User-agent parsing and bot detection.

The collector calls :func:`is_bot` to drop automated traffic and :func:`parse`
to turn the ``User-Agent`` header into the few coarse fields we store: browser
and OS with their major versions, and a device class. The raw string itself is
never stored (see ``privacy.md``); it only lives in memory, including in the
bounded caches below, which :func:`cache_clear` empties.

Classification (mobile/tablet/desktop, spiders) is ``user_agents``' logic, but
the regex matching underneath it goes through ua-parser 1.x's fast resolver
instead of the legacy API that ``user_agents`` calls (see :class:`_UserAgent`).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Final, NamedTuple, TypeAlias

import ua_parser
import user_agents.parsers  # type: ignore[import-untyped]

__all__ = ["Device", "cache_clear", "cache_info", "is_bot", "parse", "screen_class"]

# Real browser UAs stay well under 600 characters, even in-app ones that
# append device details. Anything longer is treated as a bot, and parse()
# only looks at a prefix, so a hostile header cannot make the regexes or the
# caches (whose keys are the strings) expensive.
_MAX_UA_LENGTH: Final = 1024
_CACHE_SIZE: Final = 10_000


@dataclass(frozen=True, slots=True)
class Device:
    """The coarse, storable description of a user agent."""

    browser: str
    """e.g. "Chrome", "Firefox", "Safari", "Edge", "Samsung Internet", "Opera"; "" if unknown."""
    browser_version: str
    """Major version only, e.g. "131"; "" if unknown."""
    os: str
    """e.g. "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS"; "" if unknown."""
    os_version: str
    """major.minor where the OS has one ("14.2", "17.1"), else major ("10"); "" if unknown."""
    device: str
    """"Desktop", "Mobile" or "Tablet"."""


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

# Plausible shows one name per browser whatever the platform; these are the
# ua-parser families that Plausible's own mapping (and ours) folds together.
_BROWSER_NAMES: Final[dict[str, str]] = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Mobile Safari": "Safari",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Opera Mobile": "Opera",
    "Opera Mini": "Opera",
    "Other": "",
}

# Web views and in-app browsers. Plausible reports all of them as
# "Mobile App" without a version: the version would be the app's, which
# says nothing about the rendering engine.
_MOBILE_APP: Final = "Mobile App"
_APP_FAMILIES: Final = frozenset(
    {
        "Chrome Mobile WebView",
        "Mobile Safari UI/WKWebView",
        "Facebook",
        "Facebook Messenger",
        "Instagram",
        "Pinterest",
        "Snapchat",
        "TikTok",
        "Twitter",
        "Weibo",
        "WeChat Browser",
        "LinkedIn",
    }
)
# Apps whose marker ua-parser does not know (yet): without this Meta's new
# iOS in-app browser would be counted as Safari with no version.
_APP_MARKERS: Final = re.compile(r"MetaIAB |\[LinkedInApp\]")

_OS_NAMES: Final[dict[str, str]] = {
    "Mac OS X": "macOS",
    "Chrome OS": "ChromeOS",
    "Other": "",
}


@functools.cache
def _ua_parser() -> ua_parser.Parser:
    """Build the ua-parser 1.x parser once, on first use.

    ``BestAvailableResolver`` is the Rust-backed regex resolver when
    ``ua-parser[regex]`` is installed (it is a dependency), which is an order
    of magnitude faster than matching ~1,300 rules one by one with ``re``.
    The lazy matchers only hold the pattern strings, which is all the
    compiled resolvers need; the pure-Python fallback wants eager ones. No
    cache is added here: :func:`parse` and :func:`is_bot` have their own.
    """
    if ua_parser.BestAvailableResolver is ua_parser.BasicResolver:
        matchers = ua_parser.load_builtins()
    else:
        matchers = ua_parser.load_lazy_builtins()
    return ua_parser.Parser(ua_parser.BestAvailableResolver(matchers))


class _UserAgent(user_agents.parsers.UserAgent):  # type: ignore[misc]
    """``user_agents.UserAgent`` fed by the fast ua-parser 1.x API.

    ``user_agents.UserAgent.__init__`` calls ``ua_parser.user_agent_parser
    .Parse``, ua-parser's legacy API: a Python loop over every rule with
    ``re``, behind a 200-entry cache that is emptied when full. The rules are
    the same (both read ua-parser-builtins), only the engine differs, so we
    fill in the same three attributes from the new API and keep
    ``user_agents``' properties (``is_mobile``, ``is_tablet``, ``is_bot``...)
    unchanged.
    """

    def __init__(self, ua_string: str) -> None:
        # Deliberately not calling super().__init__(): that is the slow path.
        result = _ua_parser().parse(ua_string).with_defaults()
        browser, os, device = result.user_agent, result.os, result.device
        self.ua_string = ua_string
        self.browser = user_agents.parsers.parse_browser(
            browser.family, browser.major, browser.minor, browser.patch
        )
        self.os = user_agents.parsers.parse_operating_system(
            os.family, os.major, os.minor, os.patch
        )
        self.device = user_agents.parsers.parse_device(
            device.family, device.brand, device.model
        )


def _browser_name(agent: _UserAgent) -> str:
    family: str = agent.browser.family
    if family in _APP_FAMILIES or _APP_MARKERS.search(agent.ua_string):
        return _MOBILE_APP
    if family.startswith("Edge"):
        return "Edge"
    return _BROWSER_NAMES.get(family, family)


def _version(parts: tuple[int | str, ...], count: int) -> str:
    return ".".join(str(part) for part in parts[:count])


def _device_class(agent: _UserAgent) -> str:
    # Tablet first: user_agents also calls Chrome on an iPad "mobile".
    if agent.is_tablet:
        return "Tablet"
    if agent.is_mobile:
        return "Mobile"
    return "Desktop"


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_cached(ua: str) -> Device:
    agent = _UserAgent(ua)
    browser = _browser_name(agent)
    os_family: str = agent.os.family
    return Device(
        browser=browser,
        browser_version="" if browser == _MOBILE_APP else _version(agent.browser.version, 1),
        os=_OS_NAMES.get(os_family, os_family),
        os_version=_version(agent.os.version, 2),
        device=_device_class(agent),
    )


def parse(ua: str) -> Device:
    """Describe a user agent in the coarse terms the dashboard shows.

    Results are cached (LRU, 10,000 entries) because a parse costs tens of
    microseconds and a site sees the same few hundred strings over and over.
    iPadOS Safari sends a macOS user agent by default, so it is reported as
    macOS/Desktop; no parser can tell them apart from the header alone.
    """
    return _parse_cached(ua[:_MAX_UA_LENGTH])


# ---------------------------------------------------------------------------
# Bot detection
# ---------------------------------------------------------------------------

# Automation and HTTP libraries, lower-case. Real browsers never carry these
# markers; headless browsers and scripts do. Note that Playwright and
# Puppeteer drive headless Chromium whose UA says "HeadlessChrome", so our
# own browser tests are (correctly) counted as bots unless they override
# the user agent.
_AUTOMATION_MARKERS: Final = (
    "headless", "phantomjs", "slimerjs", "puppeteer", "playwright", "selenium",
    "webdriver", "cypress", "nightmare", "lighthouse",
    "python-requests", "python-urllib", "python-httpx", "aiohttp", "httpx/",
    "curl/", "wget", "go-http-client", "okhttp", "java/", "libwww", "lwp-",
    "httpie", "node-fetch", "undici", "axios/", "scrapy", "apache-httpclient",
    "guzzle", "reqwest/", "postmanruntime",
)  # fmt: skip


# Patterns from crawler-user-agents that match real people's browsers.
# "MetaIAB Facebook" ends the UA of Facebook's own in-app browser (iOS and
# Android, since late 2025); the list files it as Meta's link-preview
# fetcher, which identifies itself as facebookexternalhit / meta-externalagent.
_CRAWLER_FALSE_POSITIVES: Final = frozenset({"MetaIAB Facebook"})

# A pattern that is a plain literal, possibly with escaped punctuation.
_LITERAL_PATTERN: Final = re.compile(r"(?:[^\\.^$*+?()\[\]{}|]|\\[/.\- ()\[\]+?*!])+\Z")


_Trie: TypeAlias = "dict[str, _Trie]"


def _trie_regex(words: list[str]) -> str:
    """A regex matching any of ``words``, with shared prefixes merged.

    Python's ``re`` tries alternatives one after another at every position,
    so a flat alternation of ~1,500 literals costs ~400us per user agent.
    Merged into a trie, each position only tries the distinct next
    characters, which is ~15x faster. Since we only ask "does any match", a
    word that has another word as a prefix is dropped ("" marks a word end).
    """
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            if "" in node:
                break
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = {}

    def emit(node: _Trie) -> str:
        if "" in node:
            return ""
        alternatives = [re.escape(char) + emit(child) for char, child in sorted(node.items())]
        if len(alternatives) == 1:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")"

    return emit(root)


def _crawler_patterns() -> list[str]:
    """The regexes from crawler-user-agents' JSON, minus known false positives."""
    path = files("crawleruseragents").joinpath("crawler-user-agents.json")
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [entry["pattern"] for entry in entries if entry["pattern"] not in _CRAWLER_FALSE_POSITIVES]


@functools.cache
def _automation_regex() -> re.Pattern[str]:
    # Searched in the lower-cased UA: a case-sensitive trie is ~10x faster
    # than the same words with IGNORECASE.
    return re.compile(_trie_regex(list(_AUTOMATION_MARKERS)))


@functools.cache
def _crawler_regex() -> re.Pattern[str]:
    """Compile every crawler-user-agents pattern into one regex, once.

    Lazy, so importing this module stays cheap. The list's patterns are
    case-sensitive by design, so no IGNORECASE.
    """
    literals: list[str] = []
    regexes: list[str] = []
    for pattern in _crawler_patterns():
        if _LITERAL_PATTERN.match(pattern):
            literals.append(re.sub(r"\\(.)", r"\1", pattern))
        else:
            regexes.append(f"(?:{pattern})")
    return re.compile("|".join([_trie_regex(literals), *regexes]))


def _is_absurd(ua: str) -> bool:
    stripped = ua.strip()
    if len(stripped) < 8 or len(ua) > _MAX_UA_LENGTH:
        return True
    if not any(char.isalpha() for char in stripped):
        return True
    # Every browser puts a platform "(...)" after "Mozilla/5.0"; a bare
    # "Mozilla/5.0" is a script pretending.
    return stripped.startswith("Mozilla/") and "(" not in stripped


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _is_bot_cached(ua: str) -> bool:
    # Cheapest checks first; real browsers go through all of them.
    if _automation_regex().search(ua.lower()) or _crawler_regex().search(ua):
        return True
    # user_agents' is_bot is exactly "ua-parser's device family is Spider";
    # asking ua-parser for the device alone costs a third of a full parse.
    device = _ua_parser()(ua, ua_parser.Domain.DEVICE).device
    return device is not None and device.family == "Spider"


def is_bot(ua: str) -> bool:
    """True if the user agent is a crawler, script, headless browser or junk.

    Combines ``user_agents``' spider detection, every pattern of the
    crawler-user-agents list, automation/HTTP-library markers and a sanity
    check (empty, shorter than 8 characters, no letters, absurdly long).
    Results are cached like :func:`parse`.
    """
    if _is_absurd(ua):
        # Not cached: junk strings would only push real ones out.
        return True
    return _is_bot_cached(ua)


# ---------------------------------------------------------------------------
# Caches
# ---------------------------------------------------------------------------


class CacheInfo(NamedTuple):
    """Statistics of the two caches, as ``functools`` reports them."""

    parse: functools._CacheInfo
    is_bot: functools._CacheInfo


def cache_info() -> CacheInfo:
    """Hit/miss statistics of the :func:`parse` and :func:`is_bot` caches."""
    return CacheInfo(_parse_cached.cache_info(), _is_bot_cached.cache_info())


def cache_clear() -> None:
    """Drop every cached user-agent string.

    The caches hold raw user agents in memory only, never on disk; clearing
    them when the daily salt rotates bounds how long any string lingers.
    """
    _parse_cached.cache_clear()
    _is_bot_cached.cache_clear()


# ---------------------------------------------------------------------------
# Screen size
# ---------------------------------------------------------------------------

# Plausible's screen-size classes, from window.innerWidth in CSS pixels.
_SCREEN_CLASSES: Final = ((576, "Mobile"), (992, "Tablet"), (1440, "Laptop"))
# No display is this wide; larger values are forged or broken.
_MAX_SCREEN_WIDTH: Final = 100_000


def screen_class(width: int | None) -> str:
    """Plausible's screen class for a viewport width.

    < 576 "Mobile", < 992 "Tablet", < 1440 "Laptop", else "Desktop";
    "" for None, non-integers, zero, negative or absurdly large widths
    (the value comes from the browser and is attacker-controlled).
    """
    if not isinstance(width, int) or isinstance(width, bool):
        return ""
    if width <= 0 or width > _MAX_SCREEN_WIDTH:
        return ""
    for limit, name in _SCREEN_CLASSES:
        if width < limit:
            return name
    return "Desktop"
