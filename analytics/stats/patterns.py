"""`matches` patterns: RE2 syntax and semantics, matched in linear time.

Python's `re` backtracks: `^/(a+)+$` against a planted path of 26 a's and a
`!` took 13.9 s holding the GIL. RE2 (the engine behind ClickHouse's `match`,
which Plausible's `matches` uses) guarantees time linear in the input, and
refuses what it cannot do that way (backreferences, lookaround), so the
parser answers 400 for those instead of the query running away.
"""

from __future__ import annotations

import functools
from typing import Any

import re2  # type: ignore[import-untyped]

# Bounds the memory of one compiled pattern (RE2's default is 8 MiB); a larger
# program fails to compile, which the parser reports as an invalid pattern.
MAX_MEM = 1 << 20


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_MEM
    options.log_errors = False  # RE2 would write each refused pattern to stderr
    return options


_OPTIONS = _options()


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def problem(pattern: str) -> str | None:
    """Why RE2 cannot compile `pattern`, or None when it can."""
    try:
        _compile(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


def search(pattern: str, value: Any) -> bool:
    """Whether `pattern` matches anywhere in `value` (None and bad patterns match nothing).

    Case-insensitive patterns arrive with RE2's `(?i)` prefix.
    """
    if value is None:
        return False
    try:
        compiled = _compile(pattern)
    except re2.error:
        return False
    return compiled.search(str(value)) is not None
