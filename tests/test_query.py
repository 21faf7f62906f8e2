"""The typed query (analytics/stats/query.py): the filter tree and the dimensions it touches."""

from __future__ import annotations

from analytics.stats.query import OPERATORS, And, Condition, Not, Or, filter_dimensions


def test_filter_dimensions_walks_the_whole_tree() -> None:
    tree = And((
        Condition("is", "visit:source", ("Google",)),
        Or((Condition("contains", "event:page", ("/blog",)), Not(Condition("is", "visit:country", ("CH",))))),
        Not(Not(Condition("matches", "event:props:plan", ("^p",)))),
    ))  # fmt: skip
    assert filter_dimensions(tree) == {"visit:source", "event:page", "visit:country", "event:props:plan"}
    assert filter_dimensions(Condition("is", "visit:source", ("a",))) == {"visit:source"}
    assert filter_dimensions(None) == set()
    assert filter_dimensions(And(())) == set()


def test_filters_are_values() -> None:
    """Equal filters are equal and hash alike: identical plans of a batch run once (stats.run)."""
    a = And((Condition("is", "visit:source", ("a", "b")), Not(Condition("is", "event:page", ("/",), False))))
    b = And((Condition("is", "visit:source", ("a", "b")), Not(Condition("is", "event:page", ("/",), False))))
    assert a == b and hash(a) == hash(b)
    assert Condition("is", "event:page", ("/",)) != Condition("is", "event:page", ("/",), case_sensitive=False)


def test_operators() -> None:
    assert OPERATORS == ("is", "is_not", "contains", "contains_not", "matches", "matches_not")
