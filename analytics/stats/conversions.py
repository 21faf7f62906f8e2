"""Goals in queries: a page goal ("Visit /blog/*") as the conditions that find its page views.

A custom-event goal is the `event:goal` dimension as it is: events of that
name. A page goal is a visit to pages matching a path pattern, by the one rule
the excluded paths in Settings and the tracker's `data-exclude` use
(`enrich.urls.path_matches`): `*` (or `**`) stands for any characters, `/`
included, and a trailing `/` on the path is optional. As a filter
it becomes "a pageview whose path matches", so visitors, visits and every
breakdown under it count the visits that reached such a page. The pattern is
turned into an anchored RE2 expression here, once, for every backend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol


class GoalLike(Protocol):
    """A defined goal, as accounts.goals.Goal has it (stats does not import accounts)."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def name(self) -> str: ...


def pattern(path: str) -> str:
    """The RE2 expression for a page goal's path pattern: the whole path, `*` any characters, a final `/` optional."""
    return "^" + ".*".join(re.escape(part) for part in re.split(r"\*+", path)) + "/?$"


def page_goal(name: str, goals: Sequence[GoalLike]) -> GoalLike | None:
    """The page goal shown as `name`, if one is defined."""
    return next((g for g in goals if g.kind == "page" and g.name == name), None)


def expand(filters: list[list[Any]], goals: Sequence[GoalLike]) -> list[list[Any]]:
    """Dashboard filters with each `is event:goal` naming a page goal replaced by its page-view conditions."""
    out: list[list[Any]] = []
    for f in filters:
        if len(f) >= 3 and f[0] == "is" and f[1] == "event:goal" and len(f[2]) == 1:
            goal = page_goal(str(f[2][0]), goals)
            if goal is not None:
                views = [["is", "event:name", ["pageview"]], ["matches", "event:page", [pattern(goal.value)]]]
                out.append(["and", views])
                continue
        out.append(f)
    return out


def without_goal(filters: list[list[Any]]) -> list[list[Any]]:
    """The filters without their goal condition: the visitors a conversion rate is a share of."""
    return [f for f in filters if not (len(f) >= 3 and f[1] == "event:goal")]
