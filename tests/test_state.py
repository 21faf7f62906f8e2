"""Dashboard state in the URL (analytics/web/state.py), without a database.

Presets, previous ranges, intervals and the basic link round trip are also
checked in test_web_reports.py; here: the bounds and the remaining links.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from analytics.errors import BadRequest
from analytics.web import state
from analytics.web.state import Filter, Range, State, default_interval, resolve_range, today_in

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_parameters_are_kept_cut_and_unknown_ones_dropped() -> None:
    s = State({"period": "nonsense", "metric": "m" * 150, "tab_devices": "os", "utm": "x", "country": "C" * 3000},
              "/sites/a")  # fmt: skip
    assert s.period == "30d"  # an unknown period falls back to the default
    assert s.params == {"period": "nonsense", "metric": "m" * 100, "tab_devices": "os"}
    assert s.filters == (Filter("country", "visit:country", "C" * state.MAX_VALUE),)
    assert s.get("interval", "day") == "day" and s.filter_value("country") == "C" * 2000
    assert s.filter_value("source") is None


def test_filter_labels_and_bodies() -> None:
    s = State({"entry": "/a", "prop.author": "Ann"}, "/x")
    assert [(f.label, f.body()) for f in s.filters] == [
        ("Entry page", ["is", "visit:entry_page", ["/a"]]),
        ("Property author", ["is", "event:props:author", ["Ann"]]),
    ]
    assert State({"prop.": "x", "prop." + "k" * 301: "y"}, "/x").filters == ()  # no key, or one too long


def test_too_many_filters() -> None:
    params = {p: "x" for p in list(state.FILTER_PARAMS)[: state.MAX_FILTERS]}
    assert len(State(params, "/x").filters) == 12
    with pytest.raises(BadRequest, match="at most 12 filters"):
        State({**params, "prop.a": "x"}, "/x")


def test_links() -> None:
    s = State({"period": "7d", "more": "pages", "source": "Google"}, "/sites/a")
    assert s.url(more=None, prop_key="plan") == "/sites/a?period=7d&source=Google&prop_key=plan"
    assert s.url(prop__plan="pro") == "/sites/a?period=7d&more=pages&source=Google&prop.plan=pro"  # __ is a dot
    assert s.with_filter("page", "/b", ("goal", "Signup")) == "/sites/a?period=7d&source=Google&goal=Signup&page=%2Fb"
    assert s.without_filters() == "/sites/a?period=7d&more=pages"
    assert State({}, "/sites/a").url() == "/sites/a" and State({}, "/sites/a").without_filters() == "/sites/a"
    assert s.hidden_inputs(exclude=("more",)) == [("period", "7d"), ("source", "Google")]


def test_ranges() -> None:
    r = Range("custom", date(2026, 2, 1), date(2026, 2, 28))
    assert (r.days, r.body()) == (28, ["2026-02-01", "2026-02-28"])
    assert default_interval(r) == "day" and default_interval(Range("today", date(2026, 3, 2), date(2026, 3, 2))) == "hour"
    assert today_in("Pacific/Kiritimati", NOW) == date(2026, 3, 2) and today_in("Pacific/Niue", NOW) == date(2026, 3, 1)
    assert resolve_range("all", "UTC", NOW, date(2027, 1, 1)).first == date(2026, 3, 2)  # never after today
    with pytest.raises(BadRequest, match="unknown period; use one of today, yesterday"):
        resolve_range("fortnight", "UTC", NOW, None)
    with pytest.raises(BadRequest, match="a custom range may span at most 20 years"):
        resolve_range("custom", "UTC", NOW, None, "1990-01-01", "2026-01-01")
    with pytest.raises(BadRequest, match="YYYY-MM-DD"):
        resolve_range("custom", "UTC", NOW, None, None, "2026-01-01")
