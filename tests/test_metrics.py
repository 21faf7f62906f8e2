"""The metric table and its formulas (analytics/stats/metrics.py), without a database."""

from __future__ import annotations

import pytest

from analytics.stats.metrics import METRICS, NEEDS, metric_value, needed_sums

SUMS = {"visitors": 4.0, "visits": 6.0, "pageviews": 9.0, "bounces": 2.0, "duration": 250.0, "events": 3.0,
        "time_total": 49_000.0, "page_visits": 7.0, "scroll_total": 130.0, "scroll_visits": 3.0}  # fmt: skip


def test_every_metric_has_its_sums() -> None:
    assert set(METRICS) == set(NEEDS)
    assert needed_sums(["bounce_rate", "visit_duration"]) == {"bounces", "duration", "visits"}
    assert needed_sums(["percentage", "conversion_rate", "visitors"]) == {"visitors"}
    assert needed_sums([]) == set()
    with pytest.raises(KeyError):
        needed_sums(["visitorz"])


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("visitors", 4),
        ("visits", 6),
        ("pageviews", 9),
        ("events", 3),
        ("views_per_visit", 1.5),  # 9 / 6, two decimals
        ("bounce_rate", 33),  # 100 * 2 / 6 = 33.3, whole percent
        ("visit_duration", 42),  # 250 / 6 = 41.7, whole seconds
        ("time_on_page", 7),  # 49 engaged seconds (stored in ms) over 7 page visits
        ("scroll_depth", 43),  # 130 / 3 = 43.3
        ("percentage", 40.0),  # 100 * 4 / 10 total visitors, one decimal
        ("conversion_rate", 40.0),
    ],
)
def test_formulas(metric: str, value: float) -> None:
    result = metric_value(metric, SUMS, 10)
    assert result == value and type(result) is type(value)


def test_empty_groups_give_zeros_not_errors() -> None:
    without_data = ("scroll_depth", "time_on_page_median")
    assert [metric_value(m, {}, 0) for m in METRICS if m not in without_data] == [0, 0, 0, 0.0, 0, 0, 0, 0, 0.0, 0.0,
                                                                                  0, 0.0, 0]  # fmt: skip
    assert metric_value("scroll_depth", {}, 0) is None  # no scroll recorded is not a depth of 0
    assert metric_value("time_on_page_median", {}, 0) is None  # no page visit has no median
    assert metric_value("time_on_page_median", {"page_visits": 3, "time_median": 12.5}, 0) == 12
    assert metric_value("scroll_depth", {"scroll_total": 0, "scroll_visits": 0}, 0) is None


def test_rounding() -> None:
    assert metric_value("views_per_visit", {"pageviews": 10, "visits": 3}, 0) == 3.33
    assert metric_value("percentage", {"visitors": 1}, 3) == 33.3
    assert metric_value("conversion_rate", {"visitors": 1}, 3) == 33.33
    assert metric_value("bounce_rate", {"bounces": 1, "visits": 8}, 0) == 12  # 12.5: Python rounds half to even
    assert metric_value("read_rate", {"reads": 1, "pageviews": 3}, 0) == 33.3
    assert metric_value("visits", {"visits": 2.0}, 0) == 2 and type(metric_value("visits", {"visits": 2.0}, 0)) is int


def test_unknown_metric() -> None:
    with pytest.raises(KeyError):
        metric_value("visitorz", SUMS, 1)
