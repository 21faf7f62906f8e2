"""Tests for analytics.enrich.useragents: parsing, bot detection, screen classes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.resources import files

import pytest
import ua_parser.regex
import user_agents  # type: ignore[import-untyped]

from analytics.enrich import useragents
from analytics.enrich.useragents import Device, is_bot, parse, screen_class

# Real user agents of current browsers (late 2026). Chrome-based browsers
# send "reduced" UAs: Android is frozen at "Android 10; K", Windows 11 says
# "Windows NT 10.0" and macOS is frozen at 10_15_7. Safari on iOS 26 reports
# "iPhone OS 18_6". Brave sends Chrome's UA unchanged.
CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
FB_IOS_METAIAB = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/22G100 Safari/604.1 MetaIAB Facebook"
HEADLESS_CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/142.0.7444.0 Safari/537.36"

REAL_BROWSERS: list[tuple[str, Device]] = [
    # Desktop
    (CHROME_WINDOWS, Device("Chrome", "142", "Windows", "10", "Desktop")),  # also Brave
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0",
        Device("Edge", "142", "Windows", "10", "Desktop"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0",
        Device("Firefox", "145", "Windows", "10", "Desktop"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36 OPR/125.0.0.0",
        Device("Opera", "125", "Windows", "10", "Desktop"),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15",
        Device("Safari", "26", "macOS", "10.15", "Desktop"),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
        Device("Chrome", "142", "macOS", "10.15", "Desktop"),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:145.0) Gecko/20100101 Firefox/145.0",
        Device("Firefox", "145", "macOS", "10.15", "Desktop"),
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0",
        Device("Firefox", "145", "Linux", "", "Desktop"),
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0",
        Device("Firefox", "145", "Ubuntu", "", "Desktop"),
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
        Device("Chrome", "142", "Linux", "", "Desktop"),
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
        Device("Chrome", "142", "ChromeOS", "14541.0", "Desktop"),
    ),
    # Android
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
        Device("Chrome", "142", "Android", "10", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
        Device("Chrome", "142", "Android", "10", "Tablet"),  # no "Mobile": a tablet
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; CUBOT P80) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
        Device("Chrome", "142", "Android", "13", "Mobile"),  # "bot" in the brand name
    ),
    (
        "Mozilla/5.0 (Android 15; Mobile; rv:145.0) Gecko/145.0 Firefox/145.0",
        Device("Firefox", "145", "Android", "15", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36 EdgA/142.0.0.0",
        Device("Edge", "142", "Android", "10", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/29.0 Chrome/136.0.0.0 Mobile Safari/537.36",
        Device("Samsung Internet", "29", "Android", "10", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36 OPR/92.0.0.0",
        Device("Opera", "92", "Android", "10", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36",
        Device("Amazon Silk", "120", "Android", "9", "Tablet"),
    ),
    # iOS / iPadOS
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1",
        Device("Safari", "26", "iOS", "18.6", "Mobile"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
        Device("Safari", "17", "iOS", "17.1", "Mobile"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/142.0.7444.77 Mobile/15E148 Safari/604.1",
        Device("Chrome", "142", "iOS", "18.6", "Mobile"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/145.0 Mobile/15E148 Safari/605.1.15",
        Device("Firefox", "145", "iOS", "18.6", "Mobile"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 EdgiOS/142.3595.66 Mobile/15E148 Safari/605.1.15",
        Device("Edge", "142", "iOS", "18.6", "Mobile"),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1",
        Device("Safari", "26", "iOS", "18.6", "Tablet"),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/142.0.7444.77 Mobile/15E148 Safari/604.1",
        Device("Chrome", "142", "iOS", "18.6", "Tablet"),
    ),
    # In-app browsers: "Mobile App" without a version, as Plausible shows them.
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.31.1450",
        Device("Mobile App", "", "iOS", "18.6", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/142.0.7444.102 Mobile Safari/537.36 [LinkedInApp]/4.1.1120",
        Device("Mobile App", "", "Android", "14", "Mobile"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 404.0.0.37.70 (iPhone15,2; iOS 18_6; en_US; en; scale=3.00; 1179x2556; 812345678; IABMV/1)",
        Device("Mobile App", "", "iOS", "18.6", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/142.0.7444.102 Mobile Safari/537.36 Instagram 404.0.0.37.70 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 8; shiba; shiba; en_US; 712345678)",
        Device("Mobile App", "", "Android", "14", "Mobile"),
    ),
    (FB_IOS_METAIAB, Device("Mobile App", "", "iOS", "18.6", "Mobile")),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21F90 [FBAN/FBIOS;FBAV/470.0.0.39.108;FBBV/612345678;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/614070000]",
        Device("Mobile App", "", "iOS", "17.5", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 16; Pixel 10 Pro XL Build/CP1A.260305.018; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/146.0.7680.174 Mobile Safari/537.36 MetaIAB Facebook",
        Device("Mobile App", "", "Android", "16", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/142.0.7444.102 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/538.0.0.52.63;]",
        Device("Mobile App", "", "Android", "14", "Mobile"),
    ),
]
REAL_UAS = [ua for ua, _ in REAL_BROWSERS]


@pytest.mark.parametrize(("ua", "expected"), REAL_BROWSERS)
def test_parse_real_browsers(ua: str, expected: Device) -> None:
    assert parse(ua) == expected


@pytest.mark.parametrize("ua", REAL_UAS)
def test_real_browsers_are_not_bots(ua: str) -> None:
    assert is_bot(ua) is False


def test_fast_resolver_agrees_with_user_agents_legacy_path() -> None:
    # Our _UserAgent swaps ua-parser's legacy engine for the fast one; the
    # rules are the same, so user_agents' own answers must not change.
    for ua in [*REAL_UAS, HEADLESS_CHROME, "Googlebot/2.1 (+http://www.google.com/bot.html)"]:
        ours, legacy = useragents._UserAgent(ua), user_agents.parse(ua)
        assert (ours.browser, ours.os, ours.device) == (legacy.browser, legacy.os, legacy.device)
        assert (ours.is_mobile, ours.is_tablet, ours.is_pc, ours.is_bot) == (
            legacy.is_mobile,
            legacy.is_tablet,
            legacy.is_pc,
            legacy.is_bot,
        )


def test_uses_the_rust_regex_resolver() -> None:
    assert isinstance(useragents._ua_parser().resolver, ua_parser.regex.Resolver)


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.7444.59 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ],
)
def test_crawlers_are_bots(ua: str) -> None:
    assert is_bot(ua) is True


@pytest.mark.parametrize(
    "ua",
    [
        # Playwright/Puppeteer's headless Chromium: our own browser tests
        # send this and are, correctly, dropped as bots.
        HEADLESS_CHROME,
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Playwright/1.49",
        "Mozilla/5.0 (X11; Linux x86_64) Selenium/4.26 webdriver",
        "python-requests/2.32.3",
        "Python-urllib/3.11",
        "python-httpx/0.28.1",
        "curl/8.5.0",
        "Wget/1.21.4",
        "Go-http-client/2.0",
        "okhttp/4.12.0",
        "Java/17.0.2",
        "libwww-perl/6.72",
        "HTTPie/3.2.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "axios/1.7.7",
        "Scrapy/2.11.2 (+https://scrapy.org)",
        "Apache-HttpClient/4.5.14 (Java/17.0.9)",
    ],
)
def test_automation_is_bot(ua: str) -> None:
    assert is_bot(ua) is True


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; ExampleIndexer/1.0)",
        "Mozilla/5.0 (compatible; FooScraper/2.0)",
        "Mozilla/5.0 (compatible; Acme-Crawler/1.0; +https://acme.example)",
        "Mozilla/5.0 (X11; Linux) Ourspider/1.0",
    ],
)
def test_spiders_only_user_agents_knows_are_bots(ua: str) -> None:
    # Neither the crawler list nor our markers catch these: this exercises
    # the user_agents/ua-parser "Spider" rule on its own.
    assert not useragents._crawler_regex().search(ua)
    assert not useragents._automation_regex().search(ua.lower())
    assert user_agents.parse(ua).is_bot is True
    assert is_bot(ua) is True


@pytest.mark.parametrize(
    "ua",
    ["", " ", "a", "Mozilla", "        x", "12345678901234", "/// --- ;;; ()", "Mozilla/5.0", "Mozilla/5.0 (" + "a" * 1100 + ")"],
)
def test_empty_and_absurd_user_agents_are_bots(ua: str) -> None:
    assert is_bot(ua) is True


def _crawler_entries() -> list[dict[str, object]]:
    path = files("crawleruseragents").joinpath("crawler-user-agents.json")
    entries: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return entries


def test_every_crawler_list_example_is_a_bot() -> None:
    missed = [
        instance
        for entry in _crawler_entries()
        if entry["pattern"] not in useragents._CRAWLER_FALSE_POSITIVES
        for instance in entry["instances"]  # type: ignore[attr-defined]
        if not is_bot(instance)
    ]
    assert missed == []


def test_trie_regex_matches_like_the_plain_alternation() -> None:
    patterns = useragents._crawler_patterns()
    plain = re.compile("|".join(patterns))
    fast = useragents._crawler_regex()
    samples = [*REAL_UAS, HEADLESS_CHROME]
    samples += [i for e in _crawler_entries() for i in e["instances"]]  # type: ignore[attr-defined]
    # Truncations exercise partial matches of the merged prefixes.
    samples += [s[:n] for s in samples[:200] for n in (10, 25, 60)]
    for sample in samples:
        assert bool(fast.search(sample)) == bool(plain.search(sample)), sample


def test_trie_regex_prefix_handling() -> None:
    regex = re.compile(useragents._trie_regex(["Bot", "Botany", "Ahrefs", "Ahref.s", "A+b"]))
    assert regex.search("xxBotxx")
    assert regex.search("Ahrefs") and regex.search("Ahref.s") and regex.search("A+b")
    assert not regex.search("Ahrefxs") and not regex.search("Ab") and not regex.search("bot")


def test_metaiab_facebook_is_excluded_from_the_crawler_list() -> None:
    # crawler-user-agents lists "MetaIAB Facebook" as a bot, but it is the
    # suffix of Facebook's own in-app browser; Meta's fetchers stay bots.
    assert "MetaIAB Facebook" in {e["pattern"] for e in _crawler_entries()}
    assert "MetaIAB Facebook" not in useragents._crawler_patterns()
    assert is_bot(FB_IOS_METAIAB) is False
    assert is_bot("facebookexternalhit/1.1") is True


def test_parse_is_cached() -> None:
    useragents.cache_clear()
    before = useragents.cache_info().parse
    assert before.currsize == 0
    first = parse(CHROME_WINDOWS)
    second = parse(CHROME_WINDOWS)
    after = useragents.cache_info().parse
    assert first is second
    assert after.hits == before.hits + 1
    assert after.misses == before.misses + 1
    assert after.maxsize == 10_000


def test_is_bot_is_cached_and_cache_clear_drops_strings() -> None:
    useragents.cache_clear()
    is_bot(CHROME_WINDOWS)
    is_bot(CHROME_WINDOWS)
    assert useragents.cache_info().is_bot.hits == 1
    useragents.cache_clear()
    info = useragents.cache_info()
    assert info.parse.currsize == info.is_bot.currsize == 0


def test_junk_is_not_cached() -> None:
    useragents.cache_clear()
    assert is_bot("") and is_bot("x" * 5000)
    assert useragents.cache_info().is_bot.currsize == 0


def test_long_user_agents_are_parsed_from_a_prefix() -> None:
    ua = CHROME_WINDOWS + " " + "x" * 100_000
    assert parse(ua) == Device("Chrome", "142", "Windows", "10", "Desktop")
    cached = useragents.cache_info().parse.currsize
    assert cached >= 1


@pytest.mark.parametrize("ua", ["", "\x00\x01", "Mozilla/5.0 (", "()()()", "é" * 50])
def test_parse_never_fails_on_junk(ua: str) -> None:
    device = parse(ua)
    assert device.device in {"Desktop", "Mobile", "Tablet"}


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (None, ""),
        (-1, ""),
        (0, ""),
        (1, "Mobile"),
        (375, "Mobile"),
        (575, "Mobile"),
        (576, "Tablet"),
        (991, "Tablet"),
        (992, "Laptop"),
        (1439, "Laptop"),
        (1440, "Desktop"),
        (3840, "Desktop"),
        (100_000, "Desktop"),
        (100_001, ""),
        (True, ""),
        (1024.0, ""),
        ("1024", ""),
    ],
)
def test_screen_class(width: object, expected: str) -> None:
    assert screen_class(width) == expected  # type: ignore[arg-type]


def test_imports_and_first_use_raise_no_warnings() -> None:
    # pytest's filterwarnings only covers test bodies; import time (and
    # ua-parser's lazy loading on first parse) is checked in a fresh process.
    code = (
        "import analytics.enrich.useragents as u, analytics.enrich.geo as g\n"
        f"u.parse({CHROME_WINDOWS!r}); u.is_bot({CHROME_WINDOWS!r})\n"
        "g.GeoLookup().country('217.0.0.1')\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
