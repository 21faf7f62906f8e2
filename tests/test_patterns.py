"""`matches` patterns (analytics/stats/patterns.py): RE2 syntax, linear time, refusals named."""

from __future__ import annotations

import subprocess
import sys

from analytics.stats import patterns


def test_search_follows_re2() -> None:
    assert patterns.search("^/blog", "/blog/a") and not patterns.search("^/blog", "/a/blog")
    assert patterns.search("(?i)^/BLOG", "/blog/a")  # case-insensitive through RE2's own flag
    assert patterns.search("é$", "/café")  # text, not bytes
    assert patterns.search("1", 2021)  # numbers match as text
    assert not patterns.search("x", None) and not patterns.search("(", "(")  # NULL and a bad pattern match nothing


def test_what_re2_cannot_run_is_named() -> None:
    assert patterns.problem("^/(a+)+$") is None
    assert patterns.problem("(unclosed") == "missing ): (unclosed"
    assert patterns.problem(r"(a)\1") == r"invalid escape sequence: \1"  # backreferences backtrack
    assert patterns.problem("/(?=x)") == "invalid perl operator: (?="  # and so does lookahead
    assert patterns.problem("(a{100}){100}") == "invalid repetition size: {100}"


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    """Python's `re` takes minutes here (13.9 s with 26 a's, doubling with each more); RE2 answers at once.

    In a subprocess with a timeout, so a regression fails instead of hanging the suite.
    """
    code = (
        "from analytics.stats import patterns\n"
        "assert not patterns.search('^/(a+)+$', '/' + 'a' * 40 + '!')\n"
        "assert patterns.search('^/(a+)+$', '/' + 'a' * 40)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=20, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
