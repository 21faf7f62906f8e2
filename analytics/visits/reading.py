"""Reads: when a pageview counts as read, decided once, when its engagement arrives.

A pageview is read when the reader scrolled at least `read_scroll` percent of
it (75 by default) and was engaged with it for at least max(10 s, `read_share`
percent (30 by default) of its reading time at 230 words per minute). Both
percentages are per-site settings. The page's length in words comes from the
tracker with the engagement (`wc`); without it (a Plausible tracker) the 10 s
minimum alone applies.

The decision is made on the write path, for the engagement event that crosses
both thresholds, so rollups and raw events record the same reads: the event
row is marked `read`, and the same transaction credits the rollups. A change
of the thresholds applies to pageviews engaged from then on.
"""

from __future__ import annotations

from dataclasses import dataclass

WORDS_PER_MINUTE = 230
MIN_ENGAGED_MS = 10_000
IDLE_WINDOW_S = 30  # the tracker's: engaged time stops 30 s after the reader's last action
DEFAULT_SCROLL = 75
DEFAULT_SHARE = 30


@dataclass(frozen=True, slots=True)
class Rule:
    """The thresholds one site reads pageviews by."""

    scroll: int = DEFAULT_SCROLL  # percent of the page
    share: int = DEFAULT_SHARE  # percent of the reading time

    def needed_ms(self, words: int | None) -> int:
        """Engaged milliseconds a pageview of `words` words needs to be read."""
        reading_ms = (words or 0) * 60_000 // WORDS_PER_MINUTE
        return max(MIN_ENGAGED_MS, reading_ms * self.share // 100)

    def is_read(self, depth: int, engaged_ms: int, words: int | None) -> bool:
        return depth >= self.scroll and engaged_ms >= self.needed_ms(words)


def check_thresholds(scroll: int, share: int) -> str | None:
    """Why a site's read thresholds are not acceptable, or None."""
    if not 1 <= scroll <= 100:
        return "The scroll depth for a read must be between 1 and 100 %."
    if not 0 <= share <= 100:
        return "The share of the reading time for a read must be between 0 and 100 %."
    return None
