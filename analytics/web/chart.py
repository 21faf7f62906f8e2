"""The time-series chart as SVG geometry: our own small code, rendered on the server.

The template draws the paths; each bucket also gets an invisible hit area that
carries its values as data attributes (for the hover tooltip in app.js) and a
<title> (for the browser's own tooltip and screen readers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from analytics.web.reports import fmt

WIDTH, HEIGHT = 720.0, 220.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 8.0, 10.0, 26.0
X_LABELS = 6
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Point:
    label: str  # the stats label, e.g. "2026-03-02" or "2026-03-02 14:00:00"
    value: float | int | None  # None: not drawn (future, hidden or no data)
    hidden: bool = False  # suppressed on a public link


@dataclass
class Chart:
    metric: str
    interval: str
    width: float = WIDTH
    height: float = HEIGHT
    current: list[str] = field(default_factory=list)  # SVG path data, one per unbroken run
    area: list[str] = field(default_factory=list)
    previous: list[str] = field(default_factory=list)
    dots: list[tuple[float, float]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    baseline: float = HEIGHT - BOTTOM
    plot_left: float = LEFT
    plot_right: float = WIDTH - RIGHT
    empty: bool = True


def nice_max(value: float, ticks: int = 4) -> float:
    """A round axis maximum at or above `value`, so each of `ticks` steps is 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return float(ticks)
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if raw <= step * power + 1e-9:
            return float(step * power * ticks)
    return float(10 * power * ticks)  # pragma: no cover - the loop always returns


def parse_label(label: str) -> datetime:
    return (
        datetime.fromisoformat(label)
        if " " in label
        else datetime.combine(date.fromisoformat(label[:10]), datetime.min.time())
    )


def short_label(label: str, interval: str, multi_day: bool = False) -> str:
    when = parse_label(label)
    day = f"{_MONTHS[when.month - 1]} {when.day}"
    if interval == "hour":
        return f"{day} {when:%H:00}" if multi_day else f"{when:%H:00}"
    if interval == "month":
        return f"{_MONTHS[when.month - 1]} {when.year}"
    return day


def long_label(label: str, interval: str) -> str:
    when = parse_label(label)
    day = f"{when:%a}, {_MONTHS[when.month - 1]} {when.day}, {when.year}"
    if interval == "hour":
        return f"{day}, {when:%H:00}"
    if interval == "week":
        return f"Week of {day}"
    if interval == "month":
        return f"{when:%B} {when.year}"
    return day


def _runs(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for x, y in points:
        if y is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((x, y))
    if current:
        runs.append(current)
    return runs


def _path(run: list[tuple[float, float]]) -> str:
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in run)


def build(
    metric: str, interval: str, current: Sequence[Point], previous: Sequence[Point] | None, hidden_text: str = "",
    compared: str = "previous period",
) -> Chart:
    """The chart of `current`, with `previous` (what it is compared with, called `compared`) as a second line."""
    chart = Chart(metric, interval)
    n = len(current)
    if n == 0:
        return chart
    values = [p.value for p in current if p.value is not None]
    values += [p.value for p in previous or () if p.value is not None]
    top = nice_max(float(max(values, default=0)))
    plot_w = chart.plot_right - chart.plot_left
    plot_h = chart.baseline - TOP
    step = plot_w / (n - 1) if n > 1 else 0.0

    def x_of(i: int) -> float:
        return chart.plot_left + (i * step if n > 1 else plot_w / 2)

    def y_of(v: float | int | None) -> float | None:
        return None if v is None else chart.baseline - (float(v) / top) * plot_h

    chart.empty = not any(values)
    for run in _runs([(x_of(i), y_of(p.value)) for i, p in enumerate(current)]):
        chart.current.append(_path(run))
        if len(run) > 1:
            chart.area.append(
                _path(run) + f" L{run[-1][0]:.1f},{chart.baseline:.1f} L{run[0][0]:.1f},{chart.baseline:.1f} Z"
            )
        else:
            chart.dots.append(run[0])
    if previous is not None:
        prev_points = [(x_of(i), y_of(p.value)) for i, p in enumerate(previous[:n])]
        chart.previous = [_path(run) for run in _runs(prev_points) if len(run) > 1]

    for j in range(5):
        value = top * j / 4
        chart.y_ticks.append(
            (chart.baseline - plot_h * j / 4, fmt(metric, round(value, 2) if value % 1 else int(value)))
        )
    multi_day = interval == "hour" and current[0].label[:10] != current[-1].label[:10]
    every = max(1, math.ceil(n / X_LABELS))
    chart.x_ticks = [(x_of(i), short_label(current[i].label, interval, multi_day)) for i in range(0, n, every)]

    half = step / 2 if n > 1 else plot_w / 2
    for i, p in enumerate(current):
        prev = previous[i] if previous is not None and i < len(previous) else None
        shown = hidden_text if p.hidden else fmt(metric, p.value) if p.value is not None else "–"
        prev_shown = None
        if prev is not None:
            prev_shown = hidden_text if prev.hidden else fmt(metric, prev.value) if prev.value is not None else "–"
        left = max(chart.plot_left, x_of(i) - half)
        right = min(chart.plot_right, x_of(i) + half)
        title = f"{long_label(p.label, interval)}: {shown}"
        if prev is not None:
            title += f" ({compared}, {long_label(prev.label, interval)}: {prev_shown})"
        chart.hits.append({
            "x": left, "w": max(right - left, 1.0), "cx": x_of(i), "cy": y_of(p.value),
            "label": long_label(p.label, interval), "value": shown,
            "prev_label": long_label(prev.label, interval) if prev is not None else "",
            "prev_value": prev_shown, "title": title,
        })  # fmt: skip
    return chart
