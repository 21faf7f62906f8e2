"""The bench's contention section (analytics/devtools/bench_contention.py) on a tiny scale,
against a real `analytics serve` on loopback: while an import uploads and four exports
download, every beacon is answered 202, the import lands whole, and every export completes.
Latency is a figure of the bench, not asserted here (the machine is shared)."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import pytest

from analytics.devtools import bench_contention


def test_import_zip_holds_the_rows_asked_for(tmp_path: Path) -> None:
    path = bench_contention.import_zip(tmp_path / "x.zip", 7301)
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("imported_pages.csv").decode().split("\r\n")
    assert lines[0].startswith("date,hostname,page,visits,visitors,pageviews")
    assert len(lines) == 7301 + 2  # header, rows, and the empty string after the last line end
    assert lines[1] == "2006-01-01,import.example,/post/0,3,2,4,120,2,90,2"


@pytest.mark.server
def test_beacons_are_answered_while_an_import_and_exports_run(tmp_path: Path) -> None:
    result = bench_contention.run(tmp_path, import_rows=3000, export_events=2000, baseline_s=0.5)
    assert result["baseline"]["failures"] == 0 and result["baseline"]["beacons"] > 0
    under = result["under_load"]
    assert under["failures"] == 0 and under["beacons"] > 0
    assert result["import"]["status"] == 303  # back to the settings page: imported
    assert [e["status"] for e in result["exports"]] == [200, 200, 200, 200]
    assert len({e["bytes"] for e in result["exports"]}) == 1  # four identical exports
    with sqlite3.connect(tmp_path / "contention" / "analytics.db") as db:
        assert db.execute("SELECT rows FROM site_imports").fetchall() == [(3000,)]
        assert db.execute("SELECT COUNT(*) FROM imported_pages").fetchone() == (3000,)
    lines = bench_contention.lines(result)
    assert lines[0].startswith("contention beacon p50/p99/max") and "3,000-row import" in lines[0]
