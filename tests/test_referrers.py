"""Tests for analytics.enrich.referrers: sources, referrer text, channels, spam list."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.enrich.referrers import CHANNELS, DIRECT, Attribution, attribute, is_spam_referrer

SITE = "blog.example.eu"


def att(referrer: str | None = None, page_host: str = SITE, **query: str) -> Attribution:
    return attribute(query, referrer, page_host)


def test_interface() -> None:
    assert CHANNELS == (
        "Cross-network", "Paid Shopping", "Paid Search", "Paid Social", "Paid Video", "Display",
        "Paid Other", "Organic Shopping", "Organic Social", "Organic Video", "Organic Search", "Email",
        "Affiliates", "Audio", "SMS", "Mobile Push Notifications", "Referral", "Direct",
    )  # fmt: skip
    assert DIRECT == "Direct / None"
    names = [f.name for f in dataclasses.fields(Attribution)]
    assert names == ["source", "referrer", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"]
    a = att()
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.source = "x"  # type: ignore[misc]
    assert not hasattr(a, "__dict__")  # slots


REFERRER_SOURCES = [
    # social
    ("https://www.linkedin.com/", "LinkedIn", "Organic Social"),
    ("https://de.linkedin.com/feed/", "LinkedIn", "Organic Social"),
    ("https://lnkd.in/eXyZ123", "LinkedIn", "Organic Social"),
    ("android-app://com.linkedin.android", "LinkedIn", "Organic Social"),
    ("https://www.xing.com/news", "Xing", "Organic Social"),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fblog.example.eu%2F&h=AT0", "Facebook", "Organic Social"),
    ("https://lm.facebook.com/", "Facebook", "Organic Social"),
    ("http://m.facebook.com/", "Facebook", "Organic Social"),
    ("https://www.facebook.com/", "Facebook", "Organic Social"),
    ("https://fb.com/", "Facebook", "Organic Social"),
    ("https://l.instagram.com/?u=https%3A%2F%2Fblog.example.eu", "Instagram", "Organic Social"),
    ("https://www.instagram.com/", "Instagram", "Organic Social"),
    ("https://t.co/AbCdE12345", "Twitter", "Organic Social"),
    ("https://twitter.com/", "Twitter", "Organic Social"),
    ("https://x.com/someone/status/1790000000000000000", "Twitter", "Organic Social"),
    ("https://www.threads.net/", "Threads", "Organic Social"),
    ("https://www.threads.com/@someone", "Threads", "Organic Social"),
    ("https://bsky.app/profile/someone.bsky.social", "Bluesky", "Organic Social"),
    ("https://bsky.social/", "Bluesky", "Organic Social"),
    ("https://mastodon.social/@someone/112233", "Mastodon", "Organic Social"),
    ("https://mastodon.online/", "Mastodon", "Organic Social"),
    ("https://mstdn.social/", "Mastodon", "Organic Social"),
    ("https://fosstodon.org/@someone", "Mastodon", "Organic Social"),
    ("https://chaos.social/", "Mastodon", "Organic Social"),
    ("https://web.whatsapp.com/", "WhatsApp", "Organic Social"),
    ("https://wa.me/", "WhatsApp", "Organic Social"),
    ("https://www.whatsapp.com/", "WhatsApp", "Organic Social"),
    ("https://t.me/somechannel", "Telegram", "Organic Social"),
    ("https://web.telegram.org/k/", "Telegram", "Organic Social"),
    ("https://www.reddit.com/r/selfhosted/comments/abc/xyz/", "Reddit", "Organic Social"),
    ("https://old.reddit.com/", "Reddit", "Organic Social"),
    ("https://www.tiktok.com/", "TikTok", "Organic Social"),
    ("https://www.pinterest.com/", "Pinterest", "Organic Social"),
    ("https://www.pinterest.de/pin/123/", "Pinterest", "Organic Social"),
    ("https://news.ycombinator.com/item?id=40000000", "Hacker News", "Organic Social"),
    ("https://lobste.rs/s/abcdef", "Lobsters", "Organic Social"),
    # video
    ("https://www.youtube.com/", "YouTube", "Organic Video"),
    ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube", "Organic Video"),
    ("https://youtu.be/dQw4w9WgXcQ", "YouTube", "Organic Video"),
    # search
    ("https://www.google.com/", "Google", "Organic Search"),
    ("https://www.google.de/", "Google", "Organic Search"),
    ("https://www.google.co.uk/", "Google", "Organic Search"),
    ("https://www.google.com.au/", "Google", "Organic Search"),
    ("https://google.fr/", "Google", "Organic Search"),
    ("https://images.google.nl/", "Google", "Organic Search"),
    ("android-app://com.google.android.googlequicksearchbox/https/www.google.com", "Google", "Organic Search"),
    ("https://www.bing.com/", "Bing", "Organic Search"),
    ("https://duckduckgo.com/", "DuckDuckGo", "Organic Search"),
    ("https://www.ecosia.org/", "Ecosia", "Organic Search"),
    ("https://www.qwant.com/", "Qwant", "Organic Search"),
    ("https://www.startpage.com/", "Startpage", "Organic Search"),
    ("https://search.yahoo.com/", "Yahoo", "Organic Search"),
    ("https://de.search.yahoo.com/search?p=x", "Yahoo", "Organic Search"),
    ("https://search.yahoo.co.jp/", "Yahoo", "Organic Search"),
    ("https://search.brave.com/", "Brave", "Organic Search"),
    ("https://yandex.ru/", "Yandex", "Organic Search"),
    ("https://ya.ru/", "Yandex", "Organic Search"),
    ("https://www.baidu.com/", "Baidu", "Organic Search"),
    ("https://search.seznam.cz/", "Seznam", "Organic Search"),
    # AI assistants: their own sources, in the search channels
    ("https://chatgpt.com/", "ChatGPT", "Organic Search"),
    ("https://chat.openai.com/", "ChatGPT", "Organic Search"),
    ("https://www.perplexity.ai/", "Perplexity", "Organic Search"),
    ("https://gemini.google.com/app", "Gemini", "Organic Search"),
    ("https://copilot.microsoft.com/", "Copilot", "Organic Search"),
    # webmail
    ("https://mail.google.com/", "Gmail", "Email"),
    ("android-app://com.google.android.gm", "Gmail", "Email"),
    ("https://outlook.live.com/", "Outlook.com", "Email"),
    ("https://mail.yahoo.com/", "Yahoo Mail", "Email"),
    ("https://3c.gmx.net/mail/client/dereferrer", "GMX", "Email"),
    ("https://www.gmx.de/", "GMX", "Email"),
    ("https://navigator.web.de/", "Web.de", "Email"),
    ("https://mail.proton.me/", "Proton Mail", "Email"),
    # shopping, other well-known, unknown
    ("https://www.amazon.de/dp/B000", "Amazon", "Organic Shopping"),
    ("https://github.com/owner/repo", "GitHub", "Referral"),
    ("https://en.wikipedia.org/wiki/Web_analytics", "Wikipedia", "Referral"),
    ("https://news.example.org/2024/post?x=1#frag", "news.example.org", "Referral"),
    ("https://www.some-blog.de/", "some-blog.de", "Referral"),
    ("android-app://com.example.reader", "com.example.reader", "Referral"),
]


@pytest.mark.parametrize(("referrer", "source", "channel"), REFERRER_SOURCES)
def test_referrer_sources(referrer: str, source: str, channel: str) -> None:
    a = att(referrer)
    assert (a.source, a.channel) == (source, channel)


@pytest.mark.parametrize(
    ("referrer", "text"),
    [
        ("https://www.google.com/", "google.com"),
        ("https://www.google.com", "google.com"),
        ("https://news.example.org/a/b?utm_source=x#frag", "news.example.org/a/b"),
        ("https://WWW.Example.ORG/Path/", "example.org/Path/"),
        ("https://example.org:8443/x", "example.org/x"),
        ("https://example.org/caf%C3%A9", "example.org/café"),
        ("android-app://com.google.android.gm", "android-app://com.google.android.gm"),
        ("https://example.org/" + "a" * 10_000, ("example.org/" + "a" * 10_000)[:500]),
    ],
)
def test_referrer_text(referrer: str, text: str) -> None:
    assert att(referrer).referrer == text


@pytest.mark.parametrize(
    ("referrer", "page_host"),
    [
        ("https://blog.example.eu/post/1", "blog.example.eu"),
        ("https://www.blog.example.eu/", "blog.example.eu"),
        ("https://blog.example.eu/", "www.blog.example.eu"),
        ("https://BLOG.example.eu./", "blog.example.eu"),
        ("http://blog.example.eu:8000/", "blog.example.eu:8000"),
        ("http://localhost:8000/", SITE),
        ("http://app.localhost/", SITE),
        ("http://127.0.0.1/", SITE),
        ("http://127.8.9.10:3000/admin", SITE),
        ("http://[::1]:3000/", SITE),
        ("http://0.0.0.0/", SITE),
    ],
)
def test_self_and_loopback_are_no_source(referrer: str, page_host: str) -> None:
    assert att(referrer, page_host) == Attribution(DIRECT, "", "Direct", "", "", "", "", "")
    tagged = att(referrer, page_host, utm_source="newsletter")
    assert (tagged.source, tagged.referrer, tagged.channel) == ("newsletter", "", "Email")


def test_sibling_subdomain_is_not_self() -> None:
    a = att("https://docs.example.eu/start", SITE)
    assert (a.source, a.referrer, a.channel) == ("docs.example.eu", "docs.example.eu/start", "Referral")


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ({"utm_source": "linkedin", "source": "twitter", "ref": "hn"}, "LinkedIn"),
        ({"source": "twitter", "ref": "hn"}, "Twitter"),
        ({"ref": "hn"}, "Hacker News"),
        ({"ref": "producthunt-weekly"}, "producthunt-weekly"),
        ({"utm_source": "   ", "ref": "mastodon"}, "Mastodon"),
        ({}, "Google"),
    ],
)
def test_source_precedence(query: dict[str, str], source: str) -> None:
    a = attribute(query, "https://www.google.com/", SITE)
    assert a.source == source
    assert a.referrer == "google.com"  # the Referer is still recorded


@pytest.mark.parametrize(
    ("value", "source"),
    [
        ("linkedin", "LinkedIn"),
        ("LinkedIn", "LinkedIn"),
        ("LINKEDIN", "LinkedIn"),
        ("li", "LinkedIn"),
        ("fb", "Facebook"),
        ("ig", "Instagram"),
        ("tw", "Twitter"),
        ("x", "Twitter"),
        ("X", "Twitter"),
        ("facebook.com", "Facebook"),
        ("chatgpt.com", "ChatGPT"),
        ("hacker_news", "Hacker News"),
        ("Hacker News", "Hacker News"),
        ("newsletter", "newsletter"),
        ("  Spring Newsletter ", "Spring Newsletter"),
        ("n" * 300, "n" * 200),
    ],
)
def test_param_values(value: str, source: str) -> None:
    assert att(utm_source=value).source == source
    assert att(ref=value).source == source


def test_utm_values_kept_exactly() -> None:
    a = att(
        "https://www.linkedin.com/",
        utm_source="Newsletter",
        utm_medium="E-Mail",
        utm_campaign="Frühjahr 2024 / Launch",
        utm_content="Banner_A",
        utm_term="privacy analytics",
    )
    assert a == Attribution(
        "Newsletter", "linkedin.com", "Email", "Newsletter", "E-Mail", "Frühjahr 2024 / Launch", "Banner_A", "privacy analytics"
    )
    assert att(utm_source="s" * 10_000).utm_source == "s" * 500


CHANNEL_CASES = [
    ({"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "pmax-Cross-Network"}, None, "Google", "Cross-network"),
    ({"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "summer_shopping"}, None, "Google", "Paid Shopping"),
    ({"utm_source": "amazon", "utm_medium": "paid"}, None, "Amazon", "Paid Shopping"),
    ({"gclid": "Cj0KCQjw"}, "https://www.google.com/", "Google", "Paid Search"),
    ({"gclid": "Cj0KCQjw"}, None, "Google", "Paid Search"),
    ({"msclkid": "abc123"}, "https://www.bing.com/", "Bing", "Paid Search"),
    ({"utm_source": "google", "utm_medium": "ppc"}, None, "Google", "Paid Search"),
    ({"utm_source": "linkedin", "utm_medium": "cpc"}, None, "LinkedIn", "Paid Social"),
    ({"li_fat_id": "0a1b2c"}, None, "LinkedIn", "Paid Social"),
    ({"utm_source": "fb", "utm_medium": "paid_social"}, "https://l.facebook.com/", "Facebook", "Paid Social"),
    ({"utm_source": "youtube", "utm_medium": "cpv"}, None, "YouTube", "Paid Video"),
    ({"utm_source": "adnetwork", "utm_medium": "display"}, None, "adnetwork", "Display"),
    ({"utm_medium": "banner"}, None, DIRECT, "Display"),
    ({"utm_source": "adnetwork", "utm_medium": "retargeting"}, None, "adnetwork", "Paid Other"),
    ({"utm_source": "podcast-sponsor", "utm_medium": "Paid"}, None, "podcast-sponsor", "Paid Other"),
    ({"utm_source": "partner", "utm_campaign": "eshop-launch"}, None, "partner", "Organic Shopping"),
    ({}, "https://www.facebook.com/", "Facebook", "Organic Social"),
    ({"fbclid": "IwAR0abc"}, "https://l.facebook.com/", "Facebook", "Organic Social"),
    ({"utm_source": "forum", "utm_medium": "social-media"}, None, "forum", "Organic Social"),
    ({"utm_source": "conference", "utm_medium": "video"}, None, "conference", "Organic Video"),
    ({"utm_source": "portal", "utm_medium": "organic"}, None, "portal", "Organic Search"),
    ({"utm_source": "mailchimp", "utm_medium": "newsletter"}, None, "mailchimp", "Email"),
    ({"utm_source": "email"}, None, "email", "Email"),
    ({"utm_source": "brevo", "utm_medium": "E-Mail"}, None, "brevo", "Email"),
    ({"utm_source": "partner-blog", "utm_medium": "affiliate"}, None, "partner-blog", "Affiliates"),
    ({"utm_source": "podcast-network", "utm_medium": "audio"}, None, "podcast-network", "Audio"),
    ({"utm_source": "sms"}, None, "sms", "SMS"),
    ({"utm_source": "twilio", "utm_medium": "SMS"}, None, "twilio", "SMS"),
    ({"utm_source": "onesignal", "utm_medium": "web-push"}, None, "onesignal", "Mobile Push Notifications"),
    ({"utm_source": "app", "utm_medium": "notification"}, None, "app", "Mobile Push Notifications"),
    ({"utm_source": "firebase"}, None, "firebase", "Mobile Push Notifications"),
    ({}, "https://news.example.org/", "news.example.org", "Referral"),
    ({"utm_source": "meetup", "utm_campaign": "workshop"}, None, "meetup", "Referral"),
    ({"utm_medium": "referral"}, None, DIRECT, "Referral"),
    ({}, None, DIRECT, "Direct"),
    ({"fbclid": "IwAR0abc"}, None, DIRECT, "Direct"),
    ({"gclid": ""}, None, DIRECT, "Direct"),
    ({"utm_medium": "something"}, None, DIRECT, "Direct"),
]


@pytest.mark.parametrize(("query", "referrer", "source", "channel"), CHANNEL_CASES)
def test_channels(query: dict[str, str], referrer: str | None, source: str, channel: str) -> None:
    a = attribute(query, referrer, SITE)
    assert (a.source, a.channel) == (source, channel)


def test_every_channel_is_covered() -> None:
    assert {case[3] for case in CHANNEL_CASES} == set(CHANNELS)


@pytest.mark.parametrize(
    "referrer",
    [
        None,
        "",
        "not a url",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "about:blank",
        "file:///etc/passwd",
        "ftp://example.com/",
        "chrome-extension://abcdef/page.html",
        "https://",
        "http://",
        "http://[::1",
        "http://exa mple.com/",
        "https://%%%/",
        "https://example.com:99999999/",
        "android-app://",
        "android-app://../../etc",
        "\x00\x01\x02",
        "x" * 100_000,
        "https://" + "a." * 200 + "com/",
        "https://example.com/\x00\n\r<script>",
    ],
)
def test_garbage_never_raises(referrer: str | None) -> None:
    a = att(referrer)
    assert a.channel in CHANNELS
    assert len(a.referrer) <= 500
    assert "\x00" not in a.referrer and "\n" not in a.referrer


@pytest.mark.parametrize(
    ("referrer", "source"),
    [
        ("not a url", DIRECT),
        ("javascript:alert(1)", DIRECT),
        ("HTTPS://WWW.GOOGLE.DE/", "Google"),
        ("http://user:secret@news.example.org/x", "news.example.org"),
        ("https://google.com.evil.example/", "google.com.evil.example"),
        ("https://google.evil/", "google.evil"),
    ],
)
def test_odd_but_decidable_referrers(referrer: str, source: str) -> None:
    assert att(referrer).source == source


@settings(max_examples=300, deadline=None)
@given(
    referrer=st.one_of(st.none(), st.text(), st.text().map(lambda t: "https://" + t)),
    page_host=st.text(max_size=50),
    query=st.dictionaries(st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "ref", "source", "gclid"]), st.text()),
)
def test_attribute_total(referrer: str | None, page_host: str, query: dict[str, str]) -> None:
    a = attribute(query, referrer, page_host)
    assert a.channel in CHANNELS
    assert len(a.referrer) <= 500 and len(a.source) <= 253


@pytest.mark.parametrize(
    ("referrer", "spam"),
    [
        ("semalt.com", True),
        ("https://semalt.com/", True),
        ("http://www.darodar.com/path?x=1", True),
        ("https://forum.semalt.com/", True),
        ("https://a.b.buttons-for-website.com/", True),
        ("ilovevitaly.com", True),
        ("https://qiwi.xyz/", True),  # listed as "QIWI.xyz"
        ("https://research.ifmo.ru/", True),  # a listed subdomain ...
        ("https://ifmo.ru/", False),  # ... does not condemn its parent
        ("https://notsemalt.com/", False),
        ("https://semalt.com.example.org/", False),
        ("https://www.google.com/", False),
        ("example.org", False),
        ("android-app://com.google.android.gm", False),
        ("not a url", False),
        ("", False),
        (None, False),
    ],
)
def test_is_spam_referrer(referrer: str | None, spam: bool) -> None:
    assert is_spam_referrer(referrer) is spam


def test_spam_list_shipped_with_licence_header() -> None:
    text = resources.files("analytics.data").joinpath("spam_referrers.txt").read_text("utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("Public Domain" in line for line in header)
    hosts = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(hosts) > 1500


def test_referrers_json_is_consistent() -> None:
    data = json.loads(resources.files("analytics.data").joinpath("referrers.json").read_text("utf-8"))
    kinds: dict[str, str] = {}
    for key, entry in data.items():
        if key.startswith("_"):
            continue
        assert key == key.lower().strip()
        assert entry["kind"] in {"search", "ai", "social", "video", "shopping", "email", "other"}
        assert kinds.setdefault(entry["source"], entry["kind"]) == entry["kind"], key
    required = {
        "LinkedIn", "Xing", "Facebook", "Instagram", "Twitter", "Threads", "Bluesky", "Mastodon", "WhatsApp",
        "Telegram", "Reddit", "YouTube", "TikTok", "Pinterest", "Google", "Bing", "DuckDuckGo", "Ecosia", "Qwant",
        "Startpage", "Yahoo", "Brave", "Yandex", "Baidu", "ChatGPT", "Perplexity", "Gemini", "Copilot", "Gmail",
        "Outlook.com", "Yahoo Mail", "GMX", "Web.de", "Proton Mail", "Hacker News", "GitHub", "Wikipedia",
    }  # fmt: skip
    assert required <= kinds.keys()
