"""The chart's SVG geometry (analytics/web/chart.py), without a browser.

The line, its breaks and the tooltip titles are also checked in test_web_reports.py.
"""

from __future__ import annotations

from datetime import datetime

from analytics.web import chart
from analytics.web.chart import Point, build


def test_nice_max_steps_are_1_2_or_5_times_a_power_of_ten() -> None:
    assert [chart.nice_max(v) for v in (0, -3, 1, 9, 21, 399, 401, 0.3)] == [4.0, 4.0, 2.0, 20.0, 40.0, 400.0, 800.0, 0.4]
    assert chart.nice_max(21, ticks=5) == 25.0


def test_labels() -> None:
    assert chart.parse_label("2026-03-02") == datetime(2026, 3, 2)
    assert chart.parse_label("2026-03-02 14:00:00") == datetime(2026, 3, 2, 14)
    assert chart.short_label("2026-03-02 14:00:00", "hour") == "14:00"
    assert chart.short_label("2026-03-02 14:00:00", "hour", multi_day=True) == "Mar 2 14:00"
    assert chart.short_label("2026-03-02", "day") == "Mar 2" and chart.short_label("2026-03-01", "month") == "Mar 2026"
    assert chart.long_label("2026-03-02", "week") == "Week of Mon, Mar 2, 2026"
    assert chart.long_label("2026-03-01", "month") == "March 2026"
    assert chart.long_label("2026-03-02 14:00:00", "hour") == "Mon, Mar 2, 2026, 14:00"


def test_geometry_of_a_simple_line() -> None:
    c = build("visitors", "day", [Point("2026-03-01", 0), Point("2026-03-02", 4)], None)
    assert c.current == ["M44.0,194.0 L712.0,10.0"]  # from the baseline to the top of the plot
    assert c.area == ["M44.0,194.0 L712.0,10.0 L712.0,194.0 L44.0,194.0 Z"]
    assert (c.dots, c.previous, c.empty) == ([], [], False)
    assert c.y_ticks == [(194.0, "0"), (148.0, "1"), (102.0, "2"), (56.0, "3"), (10.0, "4")]
    assert c.x_ticks == [(44.0, "Mar 1"), (712.0, "Mar 2")]
    assert [(h["x"], h["w"]) for h in c.hits] == [(44.0, 334.0), (378.0, 334.0)]  # hit areas split the plot


def test_one_point_is_a_dot_in_the_middle_and_formats_follow_the_metric() -> None:
    c = build("bounce_rate", "hour", [Point("2026-03-02 10:00:00", 50)], None)
    assert c.dots == [(378.0, 79.0)] and c.current == ["M378.0,79.0"] and c.area == []  # 50 of an 80 axis
    assert [t for _, t in c.y_ticks] == ["0%", "20%", "40%", "60%", "80%"]
    assert c.hits[0]["value"] == "50%" and c.hits[0]["title"] == "Mon, Mar 2, 2026, 10:00: 50%"


def test_many_points_get_at_most_six_axis_labels() -> None:
    points = [Point(f"2026-03-{d:02d}", d) for d in range(1, 31)]
    c = build("visitors", "day", points, points)
    assert [t for _, t in c.x_ticks] == ["Mar 1", "Mar 6", "Mar 11", "Mar 16", "Mar 21", "Mar 26"]
    assert len(c.previous) == 1 and len(c.hits) == 30
    zeros = build("visitors", "day", [Point("2026-03-01", 0), Point("2026-03-02", None)], None)
    assert zeros.empty and zeros.hits[1]["value"] == "–"
