"""Medians from histograms: a backend counts, the median is read here, once for every backend.

A histogram plan (stats.plan.histogram_plan) returns, per group key followed by
a whole number of engaged seconds, how many page visits spent exactly that long
on the page. The median of a group is read off its counts in order: the middle
value, or the mean of the two middle values for an even count, as
`statistics.median` gives for the expanded list.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from analytics.stats.metrics import MEDIAN

Groups = dict[tuple[Any, ...], dict[str, float]]


def median(counts: dict[int, int]) -> float:
    """The median of a multiset given as value -> count (counts > 0, at least one value)."""
    n = sum(counts.values())
    low, high = (n - 1) // 2, n // 2  # the middle positions, 0-based; equal when n is odd
    seen, found = 0, list[int]()
    for value in sorted(counts):
        seen += counts[value]
        while len(found) < 2 and [low, high][len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


def medians(histogram: Groups) -> dict[tuple[Any, ...], float]:
    """Per group key, the median engaged seconds of its page visits."""
    by_key: dict[tuple[Any, ...], dict[int, int]] = defaultdict(dict)
    for key, sums in histogram.items():
        count = int(sums.get("page_visits", 0))
        if count > 0:
            seconds = by_key[key[:-1]]
            seconds[int(key[-1])] = seconds.get(int(key[-1]), 0) + count
    return {key: median(counts) for key, counts in by_key.items()}


def with_medians(groups: Groups, histogram: Groups) -> Groups:
    """`groups` with each key's median added as the `MEDIAN` sum (a copy: batches share group dicts)."""
    out = {key: dict(sums) for key, sums in groups.items()}
    for key, value in medians(histogram).items():
        out.setdefault(key, {})[MEDIAN] = value
    return out
