"""The domain's shared types (analytics/model.py): visit attributes from the catalog, events."""

from __future__ import annotations

import pytest

from analytics.catalog import ATTR_DEFAULTS, SESSION_ATTRS
from analytics.model import BUCKET, DAY, Event, SessionAttrs


def test_session_attrs_take_the_catalog_defaults_and_order() -> None:
    a = SessionAttrs(source="LinkedIn", country="CH")
    assert a.values == tuple({"source": "LinkedIn", "country": "CH"}.get(n, ATTR_DEFAULTS[n]) for n in SESSION_ATTRS)
    assert (a.source, a["country"], a.channel, a.language) == ("LinkedIn", "CH", "Direct", "")
    assert SessionAttrs().values == tuple(ATTR_DEFAULTS[n] for n in SESSION_ATTRS)


def test_session_attrs_are_immutable_values() -> None:
    a, b = SessionAttrs(source="x"), SessionAttrs(source="x")
    assert a == b and hash(a) == hash(b) and a != SessionAttrs(source="y") and a != ("x",)
    assert len({a, b}) == 1
    with pytest.raises(AttributeError, match="immutable"):
        a.source = "y"  # type: ignore[misc]
    assert repr(SessionAttrs(source="x", screen="Laptop")) == "SessionAttrs(source='x', screen='Laptop')"
    assert repr(SessionAttrs()) == "SessionAttrs()"


def test_unknown_attributes_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown visit attribute 'city'"):
        SessionAttrs(city="Bern")
    with pytest.raises(AttributeError):
        SessionAttrs().city  # noqa: B018
    with pytest.raises(KeyError):
        SessionAttrs()["city"]


def test_event_kind() -> None:
    def kind(name: str) -> str:
        return Event(site_id=1, ts=0, day=0, visitor_id=1, prev_visitor_id=None, name=name, hostname="h", path="/",
                     attrs=SessionAttrs()).kind  # fmt: skip

    assert [kind(n) for n in ("pageview", "engagement", "Signup", "Outbound Link: Click")] == [
        "pageview", "engagement", "custom", "custom",
    ]  # fmt: skip


def test_buckets_divide_every_day_and_zone() -> None:
    assert (BUCKET, DAY) == (900, 86400)
    assert DAY % BUCKET == 0 and (5 * 3600 + 45 * 60) % BUCKET == 0  # Kathmandu, +5:45
