"""`analytics bench --quick`: the whole run on a tiny scale, through the real CLI; and the
verdicts against the targets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import cli

from analytics.devtools import bench, bench_dashboard
from analytics.web import reports
from analytics.web.state import State

RUN_KEYS = ("requests_per_s", "accepted_per_s", "committed_per_s", "committed", "ok_202", "dropped_202",
            "rejected_503", "lost", "p50_ms", "p99_ms", "rss_peak_total_mb", "rss_peak_process_mb",
            "pss_peak_total_mb", "ratio_to_ceiling")  # fmt: skip
SET_KEYS = ("cold_ms", "warm_p50_ms", "warm_runs", "queries", "statements")


@pytest.mark.server
def test_quick_bench_writes_every_figure(tmp_path: Path) -> None:
    assert shutil.which("wrk"), "the ingest figures need wrk: apt-get install wrk"
    out = tmp_path / "results.json"
    proc = cli("bench", "--quick", "--json", str(out), "--workdir", str(tmp_path / "work"))
    results = json.loads(out.read_text())

    assert {"nproc", "ram_mb", "python", "sqlite", "load_before", "load_after"} <= set(results["machine"])
    assert all(results["beacon"][k] > 0 for k in ("raw_bytes", "gzip_bytes", "brotli_bytes"))
    ingest = results["ingest"]
    assert ingest["status"] == "ok" and ingest["ceiling_per_s"] > 0
    assert set(ingest["runs"]) == {"raw_asgi_1", "raw_asgi_2", "serve_1", "serve_2"}
    for name, run in ingest["runs"].items():
        assert set(RUN_KEYS) <= set(run), name
        assert run["requests"] > 0 and run["other_status"] == 0, name
    for name in ("serve_1", "serve_2"):
        assert ingest["runs"][name]["lost"] == 0  # a 202 means committed
    (size,) = results["queries"]
    sets = results["queries"][size]["sets"]
    assert set(sets) == set(bench_dashboard.query_sets())
    for name, figures in sets.items():
        assert set(SET_KEYS) <= set(figures), name
    assert sets["dashboard_30d"]["queries"] == len(bench_dashboard.query_sets()["dashboard_30d"].jobs)
    assert "before" not in sets["dashboard_30d"]  # the design before is timed for filtered views only
    # The page's own request: 2 top stats, 2 series, realtime, one tab per panel and the Headline listing.
    assert sets["page_30d"]["queries"] == 6 + len(reports.panels(State({}, ""), ())) == 11
    assert sets["headline_details_30d"]["queries"] == 1
    assert set(SET_KEYS) <= set(sets["dashboard_30d_broad"]["before"])
    assert results["storage"]["bytes_per_event"] > 0
    assert results["export"]["status"] == "ok" and results["export"]["peak_rss_mb"] > 0
    assert set(results["targets"]) == set(bench.TARGETS)
    for line in ("ingest", "queries", "storage", "export", "targets"):
        assert line in proc.stdout


def test_sizes() -> None:
    assert bench.parse_sizes("1m,10M,50k,2000") == [1_000_000, 10_000_000, 50_000, 2000]
    with pytest.raises(ValueError):
        bench.parse_sizes("lots")


def test_verdicts_read_each_target_at_its_size() -> None:
    def sets(ms: float) -> dict[str, object]:
        names = [name for name, _, _ in bench_dashboard.DASHBOARDS] + [name for name, _, _ in bench_dashboard.PAGES]
        return {"sets": {name: {"warm_p50_ms": ms} for name in names}}

    results = {"ingest": {"runs": {}}, "export": {}, "storage": {"bytes_per_event": 79.5},
               "queries": {"1000000": sets(250.0), "10000000": sets(2000.0)}}  # fmt: skip
    v = bench.verdicts(results)
    assert set(v) == set(bench.TARGETS)
    assert v["filtered_1m_p50_ms"] == {"value": 250.0, "met": True, "target": bench.TARGETS["filtered_1m_p50_ms"]}
    assert v["selective_10m_p50_ms"]["met"] is False and v["broad_10m_p50_ms"]["met"] is True
    assert v["page_30d_p50_ms"] == {"value": 2000.0, "met": False, "target": bench.TARGETS["page_30d_p50_ms"]}
    assert v["ingest_lost"]["met"] is None and v["bytes_per_event"]["met"] is True


def test_a_clickhouse_run_is_judged_by_clickhouse_targets() -> None:
    """With --store chdb://..., the queries and storage are ClickHouse's: issue 12's targets, not SQLite's;
    the collectors' memory target reads the SQLite collectors (chDB's engine lives in its collector)."""
    names = [name for name, _, _ in bench_dashboard.DASHBOARDS]
    sets = {name: {"warm_p50_ms": 250.0 if name in ("dashboard_30d", "dashboard_12mo") else 1200.0} for name in names}
    runs = {"serve_1": {"lost": 0, "rss_peak_total_mb": 98.0}, "serve_clickhouse_1": {"lost": 0, "rss_peak_total_mb": 474.0}}
    results = {"ingest": {"runs": runs}, "export": {"peak_rss_mb": 368.0}, "storage": {"bytes_per_event": 19.6},
               "queries": {"10000000": {"sets": sets}}}  # fmt: skip
    v = bench.verdicts(results, "chdb:///tmp/x")
    assert set(v) == (set(bench.TARGETS) - set(bench._SQLITE_READS)) | set(bench.CLICKHOUSE_TARGETS)
    assert v["ch_unfiltered_10m_p50_ms"]["value"] == 250.0 and v["ch_unfiltered_10m_p50_ms"]["met"] is True
    assert v["ch_filtered_10m_p50_ms"] == {"value": 1200.0, "met": False,
                                           "target": bench.CLICKHOUSE_TARGETS["ch_filtered_10m_p50_ms"]}  # fmt: skip
    assert v["ch_bytes_per_event"]["met"] is True
    assert v["ingest_rss_mb"]["value"] == 98.0 and v["ingest_lost"]["met"] is True
