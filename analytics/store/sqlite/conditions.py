"""Filters as SQL for SQLite, shared by the event compiler and the imported-history compiler.

Both compile the same `[op, dimension, values]` conditions; they differ only in
which expression a dimension is and in what surrounds the test (the event
compiler looks interned strings up, the imported tables hold text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analytics.stats.query import And, Condition, Filter, Not, Or

POSITIVE = ("is", "contains", "matches")


def match_sql(c: Condition, target: Callable[[], str], p: Callable[[Any], str]) -> str:
    """The test of `c` (its positive form) on the expression `target()` makes.

    `target` is called once per use: a bound-parameter expression must be bound
    each time it appears. `p` binds a value and returns its placeholder.
    """

    def value() -> str:
        return target() if c.case_sensitive else f"lower({target()})"

    def v(x: str) -> str:
        return p(x if c.case_sensitive else x.lower())

    if c.op in ("is", "is_not"):
        return f"{value()} IN ({', '.join(v(x) for x in c.values)})"
    if c.op in ("contains", "contains_not"):
        return "(" + " OR ".join(f"instr({value()}, {v(x)}) > 0" for x in c.values) + ")"
    flags = "" if c.case_sensitive else "(?i)"
    return "(" + " OR ".join(f"regexp({p(flags + x)}, {target()})" for x in c.values) + ")"


def filter_sql(f: Filter, condition: Callable[[Condition], str]) -> str:
    """A filter tree as SQL, each condition compiled by `condition`."""
    if isinstance(f, Condition):
        return condition(f)
    if isinstance(f, Not):
        return f"NOT ({filter_sql(f.item, condition)})"
    assert isinstance(f, And | Or)
    joiner = " AND " if isinstance(f, And) else " OR "
    return "(" + joiner.join(filter_sql(i, condition) for i in f.items) + ")"
