"""`analytics bench --quick`: the whole run on a tiny scale, through the real CLI; and the
dashboard query set, derived from the dashboard's panels and the catalog."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import cli

from analytics.catalog import DIMENSIONS
from analytics.devtools import bench, demo
from analytics.web.reports import Tab

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
    assert set(sets["dashboard_30d"]["panels_cold_ms"]) == {n for n, _ in bench.query_sets()["dashboard_30d"]}
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


# The panel names of the committed results (docs/bench-results.json): they stay.
COMMITTED_PANELS = {"top_stats", "series_day", "top_pages", "entry_pages", "exit_pages", "channels", "sources",
                    "utm_campaign", "countries", "browsers", "os", "devices", "goals"}  # fmt: skip


def test_dashboard_set_is_every_tab_of_every_panel() -> None:
    sets = bench.query_sets()
    names = [n for n, _ in sets["dashboard_30d"]]
    assert len(names) == len(set(names))
    assert COMMITTED_PANELS <= set(names)
    # Every catalog dimension with a dashboard tab is timed, with no edit in the bench.
    tabs = {bench._LEGACY_NAMES.get(d.tab, d.tab) for d in DIMENSIONS if d.tab}
    assert "languages" in tabs and tabs <= set(names)
    # Tabs the dashboard adds beyond the catalog: goal links, and a property key the site names.
    assert {"outbound", "downloads"} <= set(names)
    assert "prop:author" in {n for n, _ in bench.query_sets(("author",))["dashboard_12mo"]}
    for name, jobs in sets.items():
        if name.startswith("dashboard_"):
            assert [n for n, _ in jobs] == names, name


def test_filtered_dashboard_tabs_drill_down_as_on_the_page() -> None:
    def tab(set_name: str, name: str) -> Tab:
        job = dict(bench.query_sets()[set_name])[name]
        assert isinstance(job, functools.partial)
        (*_, found) = job.args
        assert isinstance(found, Tab)
        return found

    assert tab("dashboard_30d", "sources").dimension == "visit:source"
    assert tab("dashboard_30d_1filter", "sources").dimension == "visit:referrer"  # visit:source is LinkedIn
    assert tab("dashboard_30d", "outbound").fixed_filters == (("goal", "event:goal", "Outbound Link: Click"),)


def test_query_sets_run_on_demo_data(tmp_path: Path) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    db = tmp_path / "analytics.db"
    demo.generate(db, bench.SITE, 3000, 90, seed=1, now=now.timestamp(), progress=False)
    site, prop_keys = asyncio.run(bench._site(tmp_path))
    assert prop_keys == ()
    opts = bench.Options(warm_runs=1, budget=1.0)
    for name, jobs in bench.query_sets(prop_keys).items():
        figures = asyncio.run(bench._time_set(db, site, jobs, now, opts))
        assert figures["warm_runs"] == 1, name
        assert set(figures["panels_cold_ms"]) == set(figures["panels_warm_p50_ms"]) == {n for n, _ in jobs}, name
        assert all(v >= 0 for v in figures["panels_cold_ms"].values()), name
