"""`analytics bench --quick`: the whole run on a tiny scale, through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import cli

from analytics.devtools import bench

RUN_KEYS = ("requests_per_s", "accepted_per_s", "committed_per_s", "committed", "ok_202", "dropped_202",
            "rejected_503", "lost", "p50_ms", "p99_ms", "rss_peak_total_mb", "rss_peak_process_mb",
            "pss_peak_total_mb", "ratio_to_ceiling")  # fmt: skip
SET_KEYS = ("cold_ms", "warm_p50_ms", "warm_runs", "panels_cold_ms", "panels_warm_p50_ms")


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
    assert set(sets) == set(bench.query_sets())
    for name, figures in sets.items():
        assert set(SET_KEYS) <= set(figures), name
    assert set(sets["dashboard_30d"]["panels_cold_ms"]) == {n for n, _ in bench.PANELS}
    assert results["storage"]["bytes_per_event"] > 0
    assert results["export"]["status"] == "ok" and results["export"]["peak_rss_mb"] > 0
    assert set(results["targets"]) == set(bench.TARGETS)
    for line in ("ingest", "queries", "storage", "export", "targets"):
        assert line in proc.stdout


def test_sizes_and_lua() -> None:
    assert bench.parse_sizes("1m,10M,50k,2000") == [1_000_000, 10_000_000, 50_000, 2000]
    with pytest.raises(ValueError):
        bench.parse_sizes("lots")
    script = bench.lua_script()
    assert "function request()" in script and bench.SITE in script and "%(" not in script
