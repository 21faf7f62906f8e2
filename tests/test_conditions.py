"""store/sqlite/conditions.py: a filter's SQL, every value bound, on real SQLite."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from analytics.stats.query import And, Condition, Not, Or
from analytics.store.sqlite.compiler import regexp
from analytics.store.sqlite.conditions import filter_sql, match_sql

ROWS = ["/blog/Reading", "/blog/writing", "/about", "=cmd'; DROP TABLE t;--"]


def select(where_of: Any) -> list[str]:
    conn = sqlite3.connect(":memory:")
    conn.create_function("regexp", 2, regexp, deterministic=True)
    conn.execute("CREATE TABLE t (path TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [(r,) for r in ROWS])
    params: list[Any] = []

    def p(value: Any) -> str:
        params.append(value)
        return "?"

    sql = where_of(p)
    found = [r[0] for r in conn.execute(f"SELECT path FROM t WHERE {sql} ORDER BY rowid", params)]
    conn.close()
    return found


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (Condition("is", "event:page", ("/about",)), ["/about"]),
        (Condition("contains", "event:page", ("blog",)), ["/blog/Reading", "/blog/writing"]),
        (Condition("contains", "event:page", ("READ",), case_sensitive=False), ["/blog/Reading"]),
        (Condition("matches", "event:page", ("^/blog/[rw]",)), ["/blog/writing"]),
        (Condition("matches", "event:page", ("^/blog/r",), case_sensitive=False), ["/blog/Reading"]),
        (Condition("is", "event:page", ("=cmd'; DROP TABLE t;--",)), ["=cmd'; DROP TABLE t;--"]),
    ],
)
def test_match_sql_binds_every_value(condition: Condition, expected: list[str]) -> None:
    assert select(lambda p: match_sql(condition, lambda: "path", p)) == expected


def test_filter_sql_combines_and_or_not() -> None:
    blog = Condition("contains", "event:page", ("blog",))
    about = Condition("is", "event:page", ("/about",))
    writing = Condition("contains", "event:page", ("writing",))

    def one(c: Condition) -> Any:
        return lambda p: filter_sql(c, lambda x: match_sql(x, lambda: "path", p))

    assert select(lambda p: filter_sql(Or((blog, about)), lambda x: match_sql(x, lambda: "path", p))) == ROWS[:3]
    assert select(lambda p: filter_sql(And((blog, Not(writing))), lambda x: match_sql(x, lambda: "path", p))) == [
        "/blog/Reading"
    ]
    assert select(one(about)) == ["/about"]
