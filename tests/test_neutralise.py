"""CSV formula neutralisation: every formula start, line feed and full-width forms included,
and the import's `unneutralise` gives back the exact value through a real CSV file."""

from __future__ import annotations

import csv
import io

import pytest

from analytics.transfer.layout import neutralise, unneutralise

STARTS = ["=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠"]


@pytest.mark.parametrize("start", STARTS, ids=[f"U+{ord(c):04X}" for c in STARTS])
def test_every_formula_start_is_neutralised_and_restored(start: str) -> None:
    for value in (start + "cmd|' /C calc'!A0", start, "'" + start + "x", "''" + start):
        cell = neutralise(value)
        assert cell == "'" + value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(["2026-01-01", cell])
        (row,) = csv.reader(io.StringIO(buf.getvalue(), newline=""))
        assert unneutralise(row[1]) == value


@pytest.mark.parametrize("value", ["a=b", "/=x", "'x", "x\n=1", "％", "", "１"])
def test_other_values_pass_unchanged(value: str) -> None:
    assert neutralise(value) == value
    assert unneutralise(value) == value
