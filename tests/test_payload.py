"""Events API body parsing (reference §1): field names, limits and every 4xx message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analytics.errors import ApiError, BadRequest
from analytics.ingest import payload
from analytics.ingest.payload import Payload, decode, parse

URL = "https://blog.example.org/post"


def body(**fields: Any) -> dict[str, Any]:
    return {"n": "pageview", "u": URL, "d": "blog.example.org", **fields}


def bad(b: dict[str, Any]) -> str:
    with pytest.raises(BadRequest) as info:
        parse(b)
    assert info.value.status == 400
    return info.value.message


# -- names -----------------------------------------------------------------------------


def test_short_field_names() -> None:
    p = parse(
        {
            "n": "Signup",
            "u": URL,
            "d": "Blog.Example.org",
            "r": "https://news.ycombinator.com/",
            "p": {"plan": "pro"},
            "$": {"currency": "eur", "amount": "9.5"},
            "i": False,
            "h": 1,
            "w": 1280,
        }
    )
    assert p == Payload(
        name="Signup",
        url=URL,
        domains=("blog.example.org",),
        referrer="https://news.ycombinator.com/",
        props=(("plan", "pro"),),
        revenue=(9.5, "EUR"),
        interactive=False,
        hash_mode=True,
        scroll_depth=None,
        engaged_ms=None,
        width=1280,
    )


def test_long_field_names_equal_short_ones() -> None:
    long = parse(
        {
            "name": "Signup",
            "url": URL,
            "domain": "blog.example.org",
            "referrer": "https://news.ycombinator.com/",
            "props": {"plan": "pro"},
            "revenue": {"currency": "EUR", "amount": 9.5},
            "interactive": False,
            "hashMode": 1,
        }
    )
    short = parse(
        {
            "n": "Signup",
            "u": URL,
            "d": "blog.example.org",
            "r": "https://news.ycombinator.com/",
            "p": {"plan": "pro"},
            "$": {"currency": "EUR", "amount": 9.5},
            "i": False,
            "h": 1,
        }
    )
    assert long == short


def test_short_name_wins_over_long_and_null_falls_through() -> None:
    assert parse({**body(), "name": "other"}).name == "pageview"
    assert parse({"n": None, "name": "x", "u": URL, "d": "a.org"}).name == "x"


def test_legacy_meta_as_json_string() -> None:
    assert parse(body(m=json.dumps({"author": "ana", "n": 3}))).props == (("author", "ana"), ("n", "3"))
    assert parse(body(meta={"a": "b"})).props == (("a", "b"),)


def test_defaults() -> None:
    p = parse(body())
    assert (p.referrer, p.props, p.revenue, p.interactive, p.hash_mode) == (None, (), None, True, False)
    assert not p.is_engagement
    assert parse(body(n="engagement")).is_engagement


def test_name_is_stripped() -> None:
    assert parse(body(n="  Signup  ")).name == "Signup"


def test_comma_domain_list_is_deduplicated_and_lowercased() -> None:
    assert parse(body(d="a.org, B.org,a.org")).domains == ("a.org", "b.org")


# -- decoding --------------------------------------------------------------------------


def test_decode_accepts_json_object_bytes() -> None:
    assert decode(json.dumps(body()).encode()) == body()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "Request body is not valid JSON"),
        (b"n=pageview", "Request body is not valid JSON"),
        (b"\xff\xfe", "Request body is not valid JSON"),
        (b"[1, 2]", "Request body must be a JSON object"),
        (b'"pageview"', "Request body must be a JSON object"),
        (b"null", "Request body must be a JSON object"),
        (b"[" * 4000 + b"]" * 4000, "Request body is not valid JSON"),
    ],
)
def test_decode_errors(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        decode(raw)
    assert info.value.message == message


def test_decode_too_large_is_413() -> None:
    with pytest.raises(ApiError) as info:
        decode(b" " * (payload.MAX_BODY + 1))
    assert info.value.status == 413
    assert info.value.message == "Request body is larger than 8192 bytes"


# -- every 400 message -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"n": None}, "name is missing"),
        ({"n": ""}, "name must be a non-empty string"),
        ({"n": "   "}, "name must be a non-empty string"),
        ({"n": 5}, "name must be a non-empty string"),
        ({"n": "x" * 121}, "name is longer than 120 characters"),
        ({"u": None}, "url is missing"),
        ({"u": 5}, "url must be a string"),
        ({"u": ""}, "url must be a string"),
        ({"u": "https://a.org/" + "x" * 1987}, "url is longer than 2000 bytes"),
        ({"u": "https://a.org/" + "é" * 994}, "url is longer than 2000 bytes"),
        ({"u": "http://[::1/"}, "url is not a valid URL"),
        ({"u": "ftp://a.org/"}, "url must be an http or https URL"),
        ({"u": "javascript:alert(1)"}, "url must be an http or https URL"),
        ({"u": "/relative"}, "url must be an http or https URL"),
        ({"u": "https:///path"}, "url has no host"),
        ({"d": None}, "domain is missing"),
        ({"d": "  "}, "domain is missing"),
        ({"d": ["a.org"]}, "domain is missing"),
        ({"d": "a" * 1001}, "domain is longer than 1000 characters"),
        ({"d": "a.org,"}, "domain '' is not a valid domain"),
        ({"d": "a.org/x"}, "domain 'a.org/x' is not a valid domain"),
        ({"r": 5}, "referrer must be a string"),
        ({"p": [1]}, "props must be a JSON object"),
        ({"p": "not json"}, "props must be a JSON object"),
        ({"p": "[1]"}, "props must be a JSON object"),
        ({"p": {"k" * 301: "v"}}, "props key is longer than 300 characters"),
        ({"p": {"k": "v" * 2001}}, "props value for 'k' is longer than 2000 characters"),
        ({"$": 5}, "revenue must be an object with currency and amount"),
        ({"$": "{"}, "revenue must be an object with currency and amount"),
        ({"$": {"currency": "EURO", "amount": 1}}, "revenue.currency must be a 3-letter ISO 4217 code"),
        ({"$": {"currency": "E1R", "amount": 1}}, "revenue.currency must be a 3-letter ISO 4217 code"),
        ({"$": {"amount": 1}}, "revenue.currency must be a 3-letter ISO 4217 code"),
        ({"$": {"currency": "EUR", "amount": "ten"}}, "revenue.amount must be a number"),
        ({"$": {"currency": "EUR", "amount": True}}, "revenue.amount must be a number"),
        ({"$": {"currency": "EUR"}}, "revenue.amount must be a number"),
        ({"$": {"currency": "EUR", "amount": "nan"}}, "revenue.amount must be a number"),
        ({"i": "maybe"}, "interactive must be a boolean"),
        ({"i": 2}, "interactive must be a boolean"),
        ({"h": "yes"}, "h must be a boolean"),
        ({"e": "soon"}, "e must be a number"),
        ({"e": True}, "e must be a number"),
        ({"e": [1]}, "e must be a number"),
        ({"e": "inf"}, "e must be a number"),
        ({"e": -1}, "e (engaged time) must be between 0 and 30 days in milliseconds"),
        ({"e": 30 * 24 * 3600 * 1000}, "e (engaged time) must be between 0 and 30 days in milliseconds"),
        ({"sd": "deep"}, "sd must be a number"),
        ({"w": {}}, "w must be a number"),
    ],
)
def test_bad_request_messages(fields: dict[str, Any], message: str) -> None:
    assert bad(body(**fields)) == message


@pytest.mark.parametrize("field", ["e", "sd", "w"])
def test_huge_integers_are_a_400_not_a_crash(field: str) -> None:
    # json.loads gives arbitrary-precision ints; float() of them overflows.
    with pytest.raises(BadRequest):
        parse(body(**{field: 10**400}))


def test_huge_integer_prop_is_dropped_and_huge_revenue_rejected() -> None:
    assert parse(body(p={"big": 10**400, "ok": 1})).props == (("ok", "1"),)
    assert bad(body(**{"$": {"currency": "EUR", "amount": 10**400}})) == "revenue.amount must be a number"


# -- limits at the boundary ------------------------------------------------------------


def test_limits_accept_the_maximum() -> None:
    p = parse(
        body(
            n="x" * 120,
            u="https://a.org/" + "x" * (2000 - len("https://a.org/")),
            r="https://ref.org/" + "r" * 3000,
            p={"k" * 300: "v" * 2000},
        )
    )
    assert len(p.name) == 120
    assert len(p.url.encode()) == 2000
    assert p.referrer is not None and len(p.referrer) == 2000  # cut, not rejected
    assert p.props == (("k" * 300, "v" * 2000),)


def test_at_most_30_props_are_kept_in_order() -> None:
    props = {f"k{i}": f"v{i}" for i in range(45)}
    assert parse(body(p=props)).props == tuple((f"k{i}", f"v{i}") for i in range(30))


def test_props_values_are_flattened_and_nested_dropped() -> None:
    p = parse(body(p={"t": True, "f": False, "i": 3, "x": 1.5, "s": "s", "n": None, "l": [1], "o": {"a": 1}, "": "x", "e": ""}))
    assert p.props == (("t", "true"), ("f", "false"), ("i", "3"), ("x", "1.5"), ("s", "s"))


def test_empty_referrer_is_none() -> None:
    assert parse(body(r="")).referrer is None


# -- engagement fields -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sd", "expected"),
    [(0, 0), (42, 42), (100, 100), (101, 100), (254, 100), (255, None), (-5, None), ("70", 70), (55.9, 55)],
)
def test_scroll_depth_clamped_and_255_unknown(sd: Any, expected: int | None) -> None:
    assert parse(body(n="engagement", sd=sd)).scroll_depth == expected


@pytest.mark.parametrize("e", [0, 1, 3000, "3000", 30 * 24 * 3600 * 1000 - 1])
def test_engaged_ms_accepted_below_30_days(e: Any) -> None:
    assert parse(body(n="engagement", e=e)).engaged_ms == int(e)


@pytest.mark.parametrize(("w", "expected"), [(1280, 1280), (0, None), (-3, None), (100_000, None), ("375", 375)])
def test_width_out_of_range_is_ignored(w: Any, expected: int | None) -> None:
    assert parse(body(w=w)).width == expected


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), (0, False), (1, True), ("1", True), ("0", False), ("true", True), ("false", False)])
def test_flags(value: Any, expected: bool) -> None:
    assert parse(body(i=value)).interactive is expected
    assert parse(body(h=value)).hash_mode is expected


def test_revenue_currency_upper_and_amount_string() -> None:
    assert parse(body(revenue=json.dumps({"currency": "chf", "amount": "12"}))).revenue == (12.0, "CHF")


def test_http_and_uppercase_scheme_accepted() -> None:
    assert parse(body(u="HTTP://a.org/")).url == "HTTP://a.org/"
    assert parse(body(u="http://a.org")).url == "http://a.org"


def test_lone_surrogates_become_replacement_characters() -> None:
    # Valid JSON, invalid UTF-8: SQLite cannot store them and would fail the whole batch.
    raw = b'{"n": "Sign\\ud800up", "u": "https://a.org/\\udc00", "d": "a.org", "r": "https://r.org/\\ud800", "p": {"k\\ud800": "v\\udfff"}}'
    p = parse(decode(raw))
    for text in (p.name, p.url, p.referrer or "", *p.props[0]):
        text.encode("utf-8")  # does not raise
        assert "\ufffd" in text
    assert p.name.startswith("Sign") and p.name.endswith("up")


def test_surrogate_pair_escapes_are_kept_as_one_character() -> None:
    assert parse(decode(b'{"n": "\\ud83d\\ude00", "u": "https://a.org/", "d": "a.org"}')).name == "\U0001f600"


@pytest.mark.parametrize(
    ("wc", "expected"), [(450, 450), (1_000_000, 1_000_000), (0, None), (-1, None), (1_000_001, None), ("12", 12)]
)
def test_word_count_is_our_extension_and_an_implausible_one_reads_as_unknown(wc: Any, expected: int | None) -> None:
    assert parse(body(n="engagement", sd=80, e=1000, wc=wc)).words == expected
    assert parse(body(n="engagement", sd=80, e=1000)).words is None  # Plausible's trackers never send it


def test_a_word_count_that_is_no_number_is_a_400() -> None:
    with pytest.raises(BadRequest, match="wc must be a number"):
        parse(body(n="engagement", wc="many"))
